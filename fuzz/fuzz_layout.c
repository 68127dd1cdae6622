/*
 * fuzz_layout.c - libFuzzer harness for the layout language: any bytes as a .layout file; a
 * layout that loads is then used to parse a small fixed CSV, so whatever the language accepts the
 * parser can run. Run by fuzz/run.sh (seeds: the SEEDS line below).
 */
// SEEDS: formats/*.layout
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
	FILE *fp;

	if (layout_parse("fuzz.layout", (const char *)data, size, &lay) != PERR_OK)
		return 0;
	fp = fmemopen((void *)sample, sizeof sample - 1, "rb");
	if (fp != NULL) {
		(void)bankcsv_parse(fp, lay, &o, &sink);
		fclose(fp);
	}
	layout_free(lay);
	return 0;
}
