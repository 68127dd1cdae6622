/*
 * money.c - exact parsing, formatting and checked arithmetic of minor-unit amounts, and the one
 * currency table of the program.
 */
#include "money.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Every active ISO 4217 currency with its minor units, sorted by code: generated from ICU with
 * ISO 4217's corrections by tools/gencurrencies.c (`make currencies`). The ledger import, the
 * layouts, MT940, the trustee register, the report and the database's currency table (seeded by
 * `pipeline db init` from currency_at()) all read this one table.
 */
static const struct currency currencies[] = {
#include "currencies.inc"
};

#define N_CURRENCIES (sizeof currencies / sizeof currencies[0])

const struct money_style money_style_plain = {
	.decimal_sep = '.', .thousands_sep = 0, .allow_parens = false,
	.allow_trailing_minus = false, .allow_sign = true, .allow_empty_decimals = false,
};

const struct money_style money_style_mt940 = {
	.decimal_sep = ',', .thousands_sep = 0, .allow_parens = false,
	.allow_trailing_minus = false, .allow_sign = false, .allow_empty_decimals = true,
};

static int
currency_cmp(const void *key, const void *elem)
{
	return memcmp(key, ((const struct currency *)elem)->code, 3);
}

/* O(log N): a binary search of the sorted table. */
const struct currency *
currency_find(const char *code)
{
	if (code == NULL || strlen(code) != 3)
		return NULL;
	return bsearch(code, currencies, N_CURRENCIES, sizeof currencies[0], currency_cmp);
}

size_t
currency_count(void)
{
	return N_CURRENCIES;
}

const struct currency *
currency_at(size_t i)
{
	return i < N_CURRENCIES ? &currencies[i] : NULL;
}

bool
money_add(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return false;
	*out = r;
	return true;
}

bool
money_sub(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;

	if (__builtin_sub_overflow(a, b, &r))
		return false;
	*out = r;
	return true;
}

bool
money_mul(int64_t a, int64_t b, int64_t *out)
{
	int64_t r;

	if (__builtin_mul_overflow(a, b, &r))
		return false;
	*out = r;
	return true;
}

static enum perr
bad(const char *s, size_t len, const char *why)
{
	return perr_set(PERR_MONEY_FORMAT, "amount \"%.*s\" is not a valid amount: %s",
	    (int)(len > 64 ? 64 : len), s, why);
}

/*
 * Grammar, in the given style: [sign] ( "(" body ")" | body ) [trailing "-"]
 * body: digits with optional thousands separators in groups of three, then optionally the decimal
 * separator and 0..exponent digits (at least one unless allow_empty_decimals).
 */
enum perr
money_parse(const char *s, size_t len, int exponent, const struct money_style *st, int64_t *out)
{
	size_t i = 0, end = len;
	bool negative = false, parens = false, any_digit = false, seen_sep = false;
	int group_len = 0, decimals = 0;
	int64_t value = 0;

	if (exponent < 0 || exponent > 4)
		return perr_set(PERR_CURRENCY, "currency exponent %d is out of range", exponent);
	if (len == 0)
		return bad(s, len, "empty");
	if (st->allow_trailing_minus && s[end - 1] == '-') {
		negative = true;
		end--;
	}
	if (i < end && (s[i] == '+' || s[i] == '-')) {
		if (!st->allow_sign || negative)
			return bad(s, len, "a sign is not expected here");
		negative = s[i] == '-';
		i++;
	}
	if (i < end && s[i] == '(') {
		if (!st->allow_parens || negative)
			return bad(s, len, "parentheses are not expected here");
		if (s[end - 1] != ')' || end - i < 3)
			return bad(s, len, "unbalanced parentheses");
		parens = negative = true;
		i++;
		end--;
	}
	/* integer part */
	for (; i < end; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9') {
			if (!money_mul(value, 10, &value) || !money_add(value, c - '0', &value))
				return perr_set(PERR_MONEY_OVERFLOW, "amount \"%.*s\" is too large",
				    (int)(len > 64 ? 64 : len), s);
			any_digit = true;
			group_len++;
			continue;
		}
		if (st->thousands_sep != 0 && c == st->thousands_sep) {
			if (!any_digit || (seen_sep ? group_len != 3 : group_len > 3))
				return bad(s, len, "thousands separators must separate groups of three digits");
			seen_sep = true;
			group_len = 0;
			continue;
		}
		if (c == st->decimal_sep)
			break;
		return bad(s, len, "unexpected character");
	}
	if (!any_digit)
		return bad(s, len, "no digits before the decimal separator");
	if (seen_sep && group_len != 3)
		return bad(s, len, "thousands separators must separate groups of three digits");
	if (i < end) {          /* at the decimal separator */
		i++;
		if (i == end && !st->allow_empty_decimals)
			return bad(s, len, "no digits after the decimal separator");
		for (; i < end; i++) {
			char c = s[i];

			if (c < '0' || c > '9')
				return bad(s, len, "unexpected character in the decimals");
			if (++decimals > exponent)
				return bad(s, len, exponent == 0 ? "the currency has no minor units"
				    : "more decimals than the currency allows");
			if (!money_mul(value, 10, &value) || !money_add(value, c - '0', &value))
				return perr_set(PERR_MONEY_OVERFLOW, "amount \"%.*s\" is too large",
				    (int)(len > 64 ? 64 : len), s);
		}
	}
	for (; decimals < exponent; decimals++)
		if (!money_mul(value, 10, &value))
			return perr_set(PERR_MONEY_OVERFLOW, "amount \"%.*s\" is too large",
			    (int)(len > 64 ? 64 : len), s);
	(void)parens;
	*out = negative ? -value : value;
	return PERR_OK;
}

char *
money_format(int64_t minor, int exponent, char *buf)
{
	uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
	uint64_t scale = 1;
	int i;

	for (i = 0; i < exponent; i++)
		scale *= 10;
	if (exponent == 0)
		snprintf(buf, MONEY_BUFSZ, "%s%llu", minor < 0 ? "-" : "", (unsigned long long)mag);
	else
		snprintf(buf, MONEY_BUFSZ, "%s%llu.%0*llu", minor < 0 ? "-" : "",
		    (unsigned long long)(mag / scale), exponent, (unsigned long long)(mag % scale));
	return buf;
}
