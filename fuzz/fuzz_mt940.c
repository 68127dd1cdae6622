/*
 * fuzz_mt940.c - libFuzzer harness for the MT940 parser: any bytes, parsed as UTF-8 and as
 * ISO-8859-1, through a sink that checks what it is given (amounts never 0, lines numbered from 1,
 * a statement's end balanced or not but never without balances). Run by fuzz/run.sh (seeds: the SEEDS line below).
 */
// SEEDS: fixtures/formats/mt940/* fixtures/formats/world/*/bank/client/* fixtures/formats/world/*/trustee/cash/* fixtures/statements/*/bank/client/* fixtures/statements/*/trustee/cash/*
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "statement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum perr
on_line(void *arg, const struct stmt_header *h, const struct stmt_line *l)
{
	(void)arg;
	if (l->amount_minor == 0 || l->line_no != h->line_count || l->narrative == NULL || l->reference == NULL)
		abort();
	return PERR_OK;
}

static enum perr
on_end(void *arg, const struct stmt_header *h)
{
	(void)arg;
	if (!stmt_header_sane(h, true))
		abort();
	(void)stmt_balanced(h, NULL);
	return PERR_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stmt_sink sink = { .line = on_line, .end = on_end };
	int enc;

	for (enc = 0; enc < 2; enc++) {
		struct parse_opts o = { .path = "fuzz.sta", .encoding = enc ? ENC_LATIN1 : ENC_UTF8 };
		FILE *fp = fmemopen((void *)data, size, "rb");

		if (fp == NULL)
			return 0;
		(void)mt940_parse(fp, &o, &sink);
		fclose(fp);
	}
	return 0;
}
