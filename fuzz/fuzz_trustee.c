/*
 * fuzz_trustee.c - libFuzzer harness for the trustee unit register parser: any bytes, as UTF-8 and
 * as ISO-8859-1, through a sink that checks every row it is given (units never negative, one
 * as_of_date per register). Run by fuzz/run.sh (seeds: the SEEDS line below).
 */
// SEEDS: fixtures/formats/trustee/* fixtures/formats/world/*/trustee/register/* fixtures/statements/*/trustee/register/*
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "statement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	bool any;
	date_t as_of;
};

static enum perr
on_row(void *arg, const struct register_row *r)
{
	struct seen *s = arg;

	if (r->units < 0 || r->offering_id[0] == '\0' || r->investor_id[0] == '\0')
		abort();
	if (s->any && s->as_of != r->as_of_date)
		abort();
	s->any = true;
	s->as_of = r->as_of_date;
	return PERR_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int enc;

	for (enc = 0; enc < 2; enc++) {
		struct seen s = { 0 };
		struct register_sink sink = { .arg = &s, .row = on_row };
		struct parse_opts o = { .path = "fuzz.csv", .encoding = enc ? ENC_LATIN1 : ENC_UTF8 };
		FILE *fp = fmemopen((void *)data, size, "rb");

		if (fp == NULL)
			return 0;
		(void)trustee_parse(fp, &o, &sink);
		fclose(fp);
	}
	return 0;
}
