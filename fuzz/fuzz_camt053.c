/*
 * fuzz_camt053.c - libFuzzer harness for the camt.053/camt.054 parser: any bytes, through a sink
 * that checks what it is given (amounts never 0, lines numbered from 1, ISO fields never NULL, a
 * statement's end with its balances unless it is a notification). Run by fuzz/run.sh.
 */
// SEEDS: fixtures/formats/camt053/* fixtures/formats/camt054/*
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum perr
on_line(void *arg, const struct stmt_header *h, const struct stmt_line *l)
{
	(void)arg;
	if (l->amount_minor == 0 || l->line_no != h->line_count || l->narrative == NULL || l->reference == NULL
	    || l->iso == NULL || l->iso->end_to_end_id == NULL || l->iso->msg_id == NULL || l->iso->details < 1)
		abort();
	return PERR_OK;
}

static enum perr
on_pending(void *arg, const struct stmt_header *h, const struct stmt_line *l)
{
	(void)arg;
	if (l->amount_minor == 0 || h->pending_count < 1 || l->iso == NULL)
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
	struct stmt_sink sink = { .line = on_line, .end = on_end, .pending = on_pending };
	struct parse_opts o = { .path = "fuzz.xml", .encoding = ENC_UTF8 };
	FILE *fp = fmemopen((void *)data, size, "rb");

	if (fp == NULL)
		return 0;
	(void)camt_parse(fp, &o, &sink);
	fclose(fp);
	return 0;
}
