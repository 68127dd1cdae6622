/*
 * fuzz_mt940.c - libFuzzer harness for the MT940 parser and its dialect handling: any bytes,
 * parsed as UTF-8 and as ISO-8859-1, tolerant and strict, through a sink that checks what it is
 * given (lines numbered from 1, a zero amount only when the zero_amount deviation was recorded,
 * text never NULL, a decoded :86: for every line, a statement's end balanced or not but never
 * without balances), and checks that strict never accepts a file in which a deviation was
 * tolerated. Run by fuzz/run.sh (seeds: the SEEDS line below).
 */
// SEEDS: fixtures/formats/mt940/* fixtures/formats/mt940-dialects/*.sta fixtures/formats/world/*/bank/client/* fixtures/formats/world/*/trustee/cash/* fixtures/statements/*/bank/client/* fixtures/statements/*/trustee/cash/*
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "mt940_86.h"
#include "statement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
has_code(const struct deviations *dv, const char *code)
{
	for (int i = 0; dv != NULL && i < dv->n; i++)
		if (strcmp(dv->d[i].code, code) == 0)
			return true;
	return false;
}

static enum perr
on_line(void *arg, const struct stmt_header *h, const struct stmt_line *l)
{
	const struct deviations *dv = arg;

	if ((l->amount_minor == 0 && !has_code(dv, "zero_amount")) || l->line_no != h->line_count
	    || l->narrative == NULL || l->reference == NULL || l->customer_ref == NULL || l->bank_ref == NULL
	    || l->info == NULL || l->info->eref.p == NULL || l->info->name.p == NULL)
		abort();
	if (l->info->kind != INFO86_TEXT && strlen(l->info->purpose.p) > strlen(l->narrative))
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

static enum perr
parse(const uint8_t *data, size_t size, int enc, bool strict, struct deviations *dv)
{
	struct stmt_sink sink = { .arg = dv, .line = on_line, .end = on_end };
	struct parse_opts o = { .path = "fuzz.sta", .encoding = enc ? ENC_LATIN1 : ENC_UTF8,
		.deviations = dv, .strict = strict };
	FILE *fp = fmemopen((void *)data, size, "rb");
	enum perr e;

	if (fp == NULL)
		return PERR_IO;
	e = mt940_parse(fp, &o, &sink);
	fclose(fp);
	return e;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int enc = 0; enc < 2; enc++) {
		struct deviations dv;
		enum perr loose, strict;

		memset(&dv, 0, sizeof dv);
		loose = parse(data, size, enc, false, &dv);
		strict = parse(data, size, enc, true, NULL);
		/* strict accepts exactly the files the tolerant parse accepts without deviations */
		if (strict == PERR_OK && (loose != PERR_OK || dv.n != 0))
			abort();
		if (loose == PERR_OK && dv.n == 0 && strict != PERR_OK)
			abort();
		for (int i = 0; i < dv.n; i++)
			if (dv.d[i].count < 1 || dv.d[i].first_line < 1 || dv.d[i].code == NULL || dv.d[i].what == NULL)
				abort();
	}
	return 0;
}
