/*
 * fuzz_pain002.c - libFuzzer harness for the pain.002.001.03 reader (formats/pain002.c): any bytes
 * either fail with a "path:line: ..." message and nothing returned, or give a report whose
 * invariants hold (group status first, every transaction named by an EndToEndId of 1-35
 * characters, codes from the schema's lists, some status somewhere). Leaks, crashes and hangs are
 * what libFuzzer and the sanitizers catch. Run by fuzz/run.sh.
 */
// SEEDS: fixtures/formats/pain002/*.xml fixtures/statements/*/bank/status/*.xml
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pain002.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
code_ok(const char *c)
{
	static const char *const codes[] = { "", "ACCP", "ACSC", "ACSP", "ACTC", "ACWC", "PART", "PDNG", "RCVD", "RJCT" };

	for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
		if (strcmp(c, codes[i]) == 0)
			return 1;
	return 0;
}

static void
check(const struct pain002_report *r)
{
	int any = 0;

	if (r->n_statuses == 0 || r->statuses[0].level != PAIN002_GROUP || r->msg_id[0] == '\0'
	    || r->orgnl_msg_id[0] == '\0' || strncmp(r->orgnl_msg_nm_id, "pain.001.", 9) != 0)
		abort();
	for (size_t i = 0; i < r->n_statuses; i++) {
		const struct pain002_status *s = &r->statuses[i];

		if (!code_ok(s->status) || s->reason_code == NULL || s->reason_text == NULL || s->status_time == NULL)
			abort();
		if ((s->level == PAIN002_TX) != (s->end_to_end_id[0] != '\0'))
			abort();
		if (s->level != PAIN002_GROUP && s->pmtinf_id[0] == '\0')
			abort();
		if (i > 0 && s->level == PAIN002_GROUP)
			abort();
		if (s->line < 1)
			abort();
		any |= s->status[0] != '\0';
	}
	if (!any)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pain002_report *r = NULL;
	enum perr e = pain002_parse((const char *)data, size, "fuzz.xml", &r);

	if (e == PERR_OK) {
		if (r == NULL)
			abort();
		check(r);
		pain002_free(r);
	} else if (r != NULL || strncmp(perr_detail(), "fuzz.xml:", 9) != 0) {
		abort();
	}
	return 0;
}
