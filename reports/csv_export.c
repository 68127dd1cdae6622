/*
 * csv_export.c - rows of the report's side files: fields by src/csvout.c (RFC 4180, libcsv's
 * writer, the OWASP formula-injection rule), CRLF row ends.
 */
#include "csv_export.h"

#include "csvout.h"

void
csv_field(FILE *fp, const char *s, bool first, bool external)
{
	if (!first)
		fputc(',', fp);
	csv_put(fp, s, external);
}

void
csv_end_row(FILE *fp)
{
	fputs("\r\n", fp);
}
