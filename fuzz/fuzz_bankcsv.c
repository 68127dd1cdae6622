/*
 * fuzz_bankcsv.c - libFuzzer harness for the layout-driven bank CSV parser: any bytes through
 * each shipped layout (formats/NAME.layout, loaded once). Run by fuzz/run.sh ($FUZZ_FORMATS_DIR, default ./formats).
 */
// SEEDS: fixtures/formats/sgbank-corp/* fixtures/formats/eubank-semicolon/* fixtures/formats/world/*/bank/operating/* fixtures/statements/*/bank/operating/*
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "statement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct format *formats[8];
static int nformats = -1;

static enum perr
on_line(void *arg, const struct stmt_header *h, const struct stmt_line *l)
{
	(void)arg;
	if (l->amount_minor == 0 || l->line_no != h->line_count || l->narrative == NULL)
		abort();
	return PERR_OK;
}

static enum perr
on_end(void *arg, const struct stmt_header *h)
{
	(void)arg;
	if (!stmt_header_sane(h, true))
		abort();
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
	while ((de = readdir(d)) != NULL && nformats < 8) {
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
	struct stmt_sink sink = { .line = on_line, .end = on_end };
	int i;

	if (nformats < 0)
		load_layouts();
	for (i = 0; i < nformats; i++) {
		struct parse_opts o = { .path = "fuzz.csv", .encoding = ENC_UTF8 };
		FILE *fp = fmemopen((void *)data, size, "rb");

		if (fp == NULL)
			return 0;
		(void)bankcsv_parse(fp, formats[i]->layout, &o, &sink);
		fclose(fp);
	}
	return 0;
}
