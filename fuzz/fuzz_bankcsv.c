/*
 * fuzz_bankcsv.c - libFuzzer harness for the layout-driven bank CSV parser: any bytes through
 * each shipped layout (formats/NAME.layout, loaded once): month-name dates, amounts carrying a
 * currency, extract and skip patterns, derived openings, newest-first rows read twice, multi-line
 * cells, blank preamble lines. Checks what every sink may rely on: amounts never 0, each
 * statement's line numbers exactly 1..n (in any order: newest-first rows arrive descending), the
 * header invariant at the end. Run by fuzz/run.sh ($FUZZ_FORMATS_DIR, default ./formats).
 */
// SEEDS: fixtures/formats/sgbank-corp/* fixtures/formats/eubank-semicolon/* fixtures/formats/world/*/bank/operating/* fixtures/statements/*/bank/operating/* fixtures/formats/dbs-posb/* fixtures/formats/ocbc/* fixtures/formats/uob/* fixtures/formats/gate/*.csv
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "statement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct format *formats[16];
static int nformats = -1;

/* The lines of the statement in progress: how many, and the sum of their numbers. */
struct seen {
	int64_t n, sum_no;
};

static enum perr
on_line(void *arg, const struct stmt_header *h, const struct stmt_line *l)
{
	struct seen *s = arg;

	if (l->amount_minor == 0 || l->line_no < 1 || l->narrative == NULL || l->reference == NULL)
		abort();
	if (h->line_count != s->n + 1)
		abort();
	s->n++;
	s->sum_no += l->line_no;
	return PERR_OK;
}

static enum perr
on_end(void *arg, const struct stmt_header *h)
{
	struct seen *s = arg;

	if (!stmt_header_sane(h, true) || h->line_count != s->n || s->sum_no != s->n * (s->n + 1) / 2
	    || h->opening.date > h->closing.date)
		abort();
	s->n = s->sum_no = 0;
	return PERR_OK;
}

static void
load_layouts(void)
{
	const char *dir = getenv("FUZZ_FORMATS_DIR") ? getenv("FUZZ_FORMATS_DIR") : "formats";
	DIR *d = opendir(dir);
	struct dirent *de;

	nformats = 0;
	if (d == NULL)
		abort();
	while ((de = readdir(d)) != NULL && nformats < 16) {
		size_t n = strlen(de->d_name);
		char name[256];

		if (n <= 7 || strcmp(de->d_name + n - 7, ".layout") != 0)
			continue;
		snprintf(name, sizeof name, "%.*s", (int)(n - 7), de->d_name);
		if (format_open(dir, name, &formats[nformats]) != PERR_OK)
			abort();     /* a shipped layout must load */
		nformats++;
	}
	closedir(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen seen;
	struct stmt_sink sink = { .arg = &seen, .line = on_line, .end = on_end };
	int i;

	if (nformats < 0)
		load_layouts();
	for (i = 0; i < nformats; i++) {
		struct parse_opts o = { .path = "fuzz.csv", .encoding = ENC_UTF8 };
		FILE *fp = fmemopen((void *)data, size, "rb");

		if (fp == NULL)
			return 0;
		seen.n = seen.sum_no = 0;
		(void)bankcsv_parse(fp, formats[i]->layout, &o, &sink);
		fclose(fp);
	}
	return 0;
}
