/*
 * csvout.c - one RFC 4180 field at a time, quoted by libcsv's writer (see csvout.h).
 */
#include "csvout.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

bool
csv_formula_like(const char *s)
{
	return s != NULL && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
	    s[0] == '\t' || s[0] == '\r');
}

void
csv_put(FILE *fp, const char *s, bool defuse)
{
	bool prefix;
	size_t n;
	char *buf;

	if (s == NULL)
		return;
	prefix = defuse && csv_formula_like(s);
	if (!prefix && strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, fp);
		return;
	}
	if (!prefix) {
		csv_fwrite(fp, s, strlen(s));
		return;
	}
	n = strlen(s);
	buf = xmalloc(n + 2);
	buf[0] = '\'';
	memcpy(buf + 1, s, n + 1);
	csv_fwrite(fp, buf, n + 1);
	free(buf);
}
