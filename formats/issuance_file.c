/*
 * issuance_file.c - builds the trustee's DABS issuance CSV (see issuance_file.h for the format).
 */
#include "issuance_file.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvout.h"
#include "money.h"

/* Non-empty, no control characters other than what quoting protects (none allowed at all here). */
static bool
text_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

enum perr
issuance_csv_build(const struct issuance_row *rows, size_t n, char **out, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f;

	*out = NULL;
	*len = 0;
	for (size_t i = 0; i < n; i++) {
		const struct issuance_row *r = &rows[i];
		int64_t amount;

		if (!text_ok(r->issuance_id) || !text_ok(r->offering_id) || !text_ok(r->investor_id) ||
		    !text_ok(r->settlement_date))
			return perr_set(PERR_INTERNAL, "issuance file: row %zu (%s) has an empty field or a control character",
			    i + 1, r->issuance_id ? r->issuance_id : "?");
		if (r->currency == NULL || currency_find(r->currency) == NULL)
			return perr_set(PERR_CURRENCY, "issuance file: %s has unknown currency %s",
			    r->issuance_id, r->currency ? r->currency : "(none)");
		if (r->units <= 0 || r->unit_price_minor <= 0)
			return perr_set(PERR_INTERNAL, "issuance file: %s has units %lld and unit price %lld, expected both > 0",
			    r->issuance_id, (long long)r->units, (long long)r->unit_price_minor);
		if (!money_mul(r->units, r->unit_price_minor, &amount) || amount != r->amount_minor)
			return perr_set(PERR_CONSERVATION, "issuance file: %s amount %lld != %lld units x %lld",
			    r->issuance_id, (long long)r->amount_minor, (long long)r->units,
			    (long long)r->unit_price_minor);
	}
	if ((f = open_memstream(&buf, &size)) == NULL)
		return perr_set(PERR_NOMEM, "issuance file: open_memstream failed");
	fputs(ISSUANCE_CSV_HEADER "\n", f);
	for (size_t i = 0; i < n; i++) {
		const struct issuance_row *r = &rows[i];
		int exp = currency_find(r->currency)->exponent;
		char price[MONEY_BUFSZ], amount[MONEY_BUFSZ];

		csv_put(f, r->issuance_id, false);
		fputc(',', f);
		csv_put(f, r->offering_id, false);
		fputc(',', f);
		csv_put(f, r->investor_id, false);
		fprintf(f, ",%lld,%s,%s,%s,", (long long)r->units,
		    money_format(r->unit_price_minor, exp, price),
		    money_format(r->amount_minor, exp, amount), r->currency);
		csv_put(f, r->settlement_date, false);
		fputc('\n', f);
	}
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return perr_set(PERR_NOMEM, "issuance file: writing to memory failed");
	}
	if (fclose(f) != 0) {
		free(buf);
		return perr_set(PERR_NOMEM, "issuance file: writing to memory failed");
	}
	*out = buf;
	*len = size;
	return PERR_OK;
}
