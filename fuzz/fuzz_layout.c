/*
 * fuzz_layout.c - libFuzzer harness for the layout language: any bytes as a .layout file; a
 * layout that loads is then used to parse CSV, so whatever the language accepts the parser can
 * run: the bytes after a line "%%" (a seed under fuzz/seeds/layout/ pairs a layout using the newer
 * keys - order, extract, skip, amount_currency, control totals, multiline_cells - with a file for
 * it), else a small fixed CSV. Run by fuzz/run.sh (seeds: the SEEDS line below).
 */
// SEEDS: formats/*.layout fuzz/seeds/layout/*
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "statement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char sample[] =
	"\"Account Statement\"\r\n\"Account Number\",\"0123456790\"\r\n\"Currency\",\"SGD\"\r\n"
	"2026-11-24,DEPOSIT,15.00,115.00\r\n2026-11-24,FEE,-5.00,110.00\r\n\"Closing Balance\",\"110.00\"\r\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct layout *lay = NULL;
	struct stmt_sink sink = { 0 };
	struct parse_opts o = { .path = "sample.csv", .encoding = ENC_UTF8 };
	const char *csv = sample, *sep;
	size_t csv_len = sizeof sample - 1, lay_len = size;
	FILE *fp;

	sep = size >= 4 ? memmem(data, size, "\n%%\n", 4) : NULL;
	if (sep != NULL) {
		lay_len = (size_t)(sep - (const char *)data) + 1;
		csv = sep + 4;
		csv_len = size - lay_len - 3;
	}
	if (layout_parse("fuzz.layout", (const char *)data, lay_len, &lay) != PERR_OK)
		return 0;
	fp = csv_len > 0 ? fmemopen((void *)csv, csv_len, "rb") : NULL;
	if (fp != NULL) {
		(void)bankcsv_parse(fp, lay, &o, &sink);
		fclose(fp);
	}
	layout_free(lay);
	return 0;
}
