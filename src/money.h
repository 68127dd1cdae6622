/*
 * money.h - exact money: an int64 count of minor units with an ISO 4217 currency.
 *
 * No floating point anywhere. Every arithmetic helper checks for overflow before it happens and
 * returns false instead of wrapping. Parsing is strict: a value with more decimals than the
 * currency allows is an error, never rounded.
 */
#ifndef PIPELINE_MONEY_H
#define PIPELINE_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"

struct currency {
	char code[4];   /* "SGD" */
	int exponent;   /* ISO 4217 minor units: SGD 2, JPY 0, BHD 3, CLF 4 */
};

/*
 * The currency for an ISO 4217 code (exactly three upper-case letters), or NULL if it is not an
 * active ISO 4217 currency with a minor unit. Static.
 */
const struct currency *currency_find(const char *code);

/* The table in code order, for seeding the database: currency_at(0 .. currency_count()-1). Static. */
size_t currency_count(void);
const struct currency *currency_at(size_t i);

/*
 * How an amount is written. The default (money_style_plain) is "-1234.56": optional leading
 * minus, '.' decimal separator, no thousands separator.
 */
struct money_style {
	char decimal_sep;        /* '.' or ',' */
	char thousands_sep;      /* 0 for none, or ',', '.', ' ', '\'' ; must differ from decimal_sep */
	bool allow_parens;       /* "(1,234.56)" is negative */
	bool allow_trailing_minus; /* "1234.56-" is negative */
	bool allow_sign;         /* leading '+' or '-' */
	bool allow_empty_decimals; /* "9," or "9." (MT940) */
};

extern const struct money_style money_style_plain;   /* "-1234.56" */
extern const struct money_style money_style_mt940;   /* "1234,56", "9,"; no sign */

/*
 * Parses s[0..len) as an amount with `exponent` decimals in the given style into *out (minor units).
 * Returns PERR_OK, PERR_MONEY_FORMAT (with a detail saying what was expected) or PERR_MONEY_OVERFLOW.
 * Fewer decimals than the exponent are allowed ("1500.5" = 150050 cents); more are an error.
 * Thousands separators must be in groups of three.
 */
enum perr money_parse(const char *s, size_t len, int exponent, const struct money_style *style,
    int64_t *out);

/* Checked arithmetic: true and *out set on success, false (and *out untouched) on overflow. */
bool money_add(int64_t a, int64_t b, int64_t *out);
bool money_sub(int64_t a, int64_t b, int64_t *out);
bool money_mul(int64_t a, int64_t b, int64_t *out);

/*
 * Formats minor units as a plain decimal string in major units ("-1234.56", "0.05", "1500" for
 * exponent 0) into buf (at least MONEY_BUFSZ bytes). Returns buf.
 */
#define MONEY_BUFSZ 32
char *money_format(int64_t minor, int exponent, char *buf);

#endif
