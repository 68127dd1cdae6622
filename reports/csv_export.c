/*
 * csv_export.c - RFC 4180 fields with the OWASP formula-injection rule (see csv_export.h).
 */
#include "csv_export.h"

#include <string.h>

#include "report_data.h"

void
csv_field(FILE *fp, const char *s, bool first, bool external)
{
	bool prefix, quote;

	if (!first)
		fputc(',', fp);
	if (s == NULL)
		return;
	prefix = external && rd_formula_like(s);
	quote = prefix || strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		fputc('"', fp);
	if (prefix)
		fputc('\'', fp);
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '"')
			fputc('"', fp);
		fputc(*p, fp);
	}
	if (quote)
		fputc('"', fp);
}

void
csv_end_row(FILE *fp)
{
	fputs("\r\n", fp);
}
