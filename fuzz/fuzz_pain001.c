/*
 * fuzz_pain001.c - libFuzzer harness for the outbound file writers (formats/pain001.c and
 * formats/issuance_file.c): the input's lines become the message fields and payments, hostile text
 * included. A build must either fail cleanly (nothing allocated) or produce a document whose every
 * payment appears once, with no control character but LF and no '&' that does not start an entity.
 * Run by fuzz/run.sh.
 */
// SEEDS: fixtures/settle/fuzz/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "issuance_file.h"
#include "pain001.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXF 64

static void
check_xml(const char *doc, size_t len, size_t n)
{
	size_t count = 0;
	const char *p = doc;

	if (strlen(doc) != len || strncmp(doc, "<?xml", 5) != 0)
		abort();
	if (len < 12 || strcmp(doc + len - 12, "</Document>\n") != 0)
		abort();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)doc[i];

		if ((c < 0x20 && c != '\n') || c == 0x7f)
			abort();
		if (c == '&' && strncmp(doc + i, "&amp;", 5) && strncmp(doc + i, "&lt;", 4) &&
		    strncmp(doc + i, "&gt;", 4) && strncmp(doc + i, "&quot;", 6) && strncmp(doc + i, "&apos;", 6))
			abort();
	}
	while ((p = strstr(p, "<CdtTrfTxInf>")) != NULL) {
		count++;
		p++;
	}
	if (count != n)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *f[MAXF], *doc = NULL;
	size_t nf = 0, len = 0, np;
	struct pain001_payment pay[MAXF / 6];
	struct issuance_row rows[MAXF / 6];
	struct pain001_msg m;

	memcpy(buf, data, size);
	buf[size] = '\0';
	for (char *s = buf, *nl; nf < MAXF; s = nl + 1) {
		f[nf++] = s;
		if ((nl = strchr(s, '\n')) == NULL)
			break;
		*nl = '\0';
	}
	if (nf < 7) {
		free(buf);
		return 0;
	}
	memset(&m, 0, sizeof m);
	m.msg_id = f[0];
	m.creation_time = f[1];
	m.initiating_party = f[2];
	m.debtor_name = f[3];
	m.debtor_account = f[4];
	m.debtor_bic = f[5][0] ? f[5] : NULL;
	m.execution_date = f[6];
	m.debtor_currency = "SGD";
	np = (nf - 7) / 6;
	for (size_t i = 0; i < np; i++) {
		char **g = &f[7 + 6 * i];

		pay[i].end_to_end_id = g[0];
		pay[i].amount_minor = strtoll(g[1], NULL, 10);
		pay[i].currency = g[2];
		pay[i].creditor_name = g[3];
		pay[i].creditor_account = g[4];
		pay[i].remittance = g[5][0] ? g[5] : NULL;
		rows[i].issuance_id = g[0];
		rows[i].offering_id = g[3];
		rows[i].investor_id = g[4];
		rows[i].units = pay[i].amount_minor;
		rows[i].unit_price_minor = 3;
		rows[i].amount_minor = (pay[i].amount_minor > 0 && pay[i].amount_minor < INT64_MAX / 3)
		    ? pay[i].amount_minor * 3 : 0;
		rows[i].currency = g[2];
		rows[i].settlement_date = g[5];
	}
	m.payments = pay;
	m.n_payments = np;
	if (pain001_build(&m, &doc, &len) == PERR_OK) {
		check_xml(doc, len, np);
		free(doc);
	} else if (doc != NULL) {
		abort();
	}
	doc = NULL;
	if (issuance_csv_build(rows, np, &doc, &len) == PERR_OK) {
		size_t lines = 0;

		for (size_t i = 0; i < len; i++)
			lines += doc[i] == '\n';
		if (lines < np + 1 || strlen(doc) != len)
			abort();
		free(doc);
	} else if (doc != NULL) {
		abort();
	}
	free(buf);
	return 0;
}
