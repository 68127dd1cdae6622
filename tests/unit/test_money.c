/*
 * test_money.c - money.c on its edges: every accepted style, every rejection, overflow at the
 * int64 boundary, exponent 0, 3 and 4 currencies, formatting round trips, and the currency table
 * (src/currencies.inc) against ICU's currency data and ISO 4217's minor units.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <unicode/ucurr.h>
#include <unicode/uenum.h>
#include <unicode/ustring.h>

#include "money.h"

static int64_t
ok(const char *s, int exp, const struct money_style *st)
{
	int64_t v = 0x5a5a;

	assert_int_equal(money_parse(s, strlen(s), exp, st, &v), PERR_OK);
	return v;
}

static void
bad(const char *s, int exp, const struct money_style *st, enum perr want, const char *msg)
{
	int64_t v = 0x5a5a;

	assert_int_equal(money_parse(s, strlen(s), exp, st, &v), want);
	assert_int_equal(v, 0x5a5a);            /* untouched on failure */
	if (msg)
		assert_non_null(strstr(perr_detail(), msg));
}

static void
test_plain(void **state)
{
	(void)state;
	assert_int_equal(ok("1500.00", 2, &money_style_plain), 150000);
	assert_int_equal(ok("1500", 2, &money_style_plain), 150000);
	assert_int_equal(ok("1500.5", 2, &money_style_plain), 150050);
	assert_int_equal(ok("-0.01", 2, &money_style_plain), -1);
	assert_int_equal(ok("+7.10", 2, &money_style_plain), 710);
	assert_int_equal(ok("0", 2, &money_style_plain), 0);
	assert_int_equal(ok("150000", 0, &money_style_plain), 150000);     /* JPY */
	assert_int_equal(ok("1.234", 3, &money_style_plain), 1234);        /* BHD */
	bad("12.345", 2, &money_style_plain, PERR_MONEY_FORMAT, "more decimals than the currency allows");
	bad("1500.5", 0, &money_style_plain, PERR_MONEY_FORMAT, "the currency has no minor units");
	bad("", 2, &money_style_plain, PERR_MONEY_FORMAT, "empty");
	bad("1,500.00", 2, &money_style_plain, PERR_MONEY_FORMAT, "unexpected character");
	bad("12.", 2, &money_style_plain, PERR_MONEY_FORMAT, "no digits after");
	bad(".5", 2, &money_style_plain, PERR_MONEY_FORMAT, "no digits before");
	bad("1e5", 2, &money_style_plain, PERR_MONEY_FORMAT, NULL);
	bad(" 12", 2, &money_style_plain, PERR_MONEY_FORMAT, NULL);
	bad("12 ", 2, &money_style_plain, PERR_MONEY_FORMAT, NULL);
	bad("--1", 2, &money_style_plain, PERR_MONEY_FORMAT, NULL);
	bad("(1.00)", 2, &money_style_plain, PERR_MONEY_FORMAT, "parentheses are not expected");
	bad("1.00-", 2, &money_style_plain, PERR_MONEY_FORMAT, NULL);
}

static void
test_styles(void **state)
{
	const struct money_style us = { '.', ',', true, true, true, false };
	const struct money_style eu = { ',', '.', false, true, true, false };

	(void)state;
	assert_int_equal(ok("1,234.56", 2, &us), 123456);
	assert_int_equal(ok("(1,234.56)", 2, &us), -123456);
	assert_int_equal(ok("1,234,567.00", 2, &us), 123456700);
	assert_int_equal(ok("1234.56-", 2, &us), -123456);
	assert_int_equal(ok("1.234,56", 2, &eu), 123456);
	assert_int_equal(ok("1234,56", 2, &eu), 123456);
	assert_int_equal(ok("-1.234,56", 2, &eu), -123456);
	bad("1,23,4.00", 2, &us, PERR_MONEY_FORMAT, "groups of three");
	bad("1234,567.00", 2, &us, PERR_MONEY_FORMAT, "groups of three");
	bad(",123.00", 2, &us, PERR_MONEY_FORMAT, "groups of three");
	bad("(1.00", 2, &us, PERR_MONEY_FORMAT, "unbalanced parentheses");
	bad("-(1.00)", 2, &us, PERR_MONEY_FORMAT, NULL);
	/* MT940: comma decimal, "9," allowed, no sign */
	assert_int_equal(ok("1234,56", 2, &money_style_mt940), 123456);
	assert_int_equal(ok("9,", 2, &money_style_mt940), 900);
	assert_int_equal(ok("9,5", 2, &money_style_mt940), 950);
	bad("12,3,4", 2, &money_style_mt940, PERR_MONEY_FORMAT, NULL);
	bad("-9,00", 2, &money_style_mt940, PERR_MONEY_FORMAT, "a sign is not expected");
}

static void
test_overflow(void **state)
{
	(void)state;
	assert_int_equal(ok("92233720368547758.07", 2, &money_style_plain), INT64_MAX);
	assert_int_equal(ok("-92233720368547758.07", 2, &money_style_plain), -INT64_MAX);
	bad("92233720368547758.08", 2, &money_style_plain, PERR_MONEY_OVERFLOW, "too large");
	bad("99999999999999999999", 0, &money_style_plain, PERR_MONEY_OVERFLOW, "too large");
	/* overflow while scaling the missing decimals */
	bad("922337203685477581", 2, &money_style_plain, PERR_MONEY_OVERFLOW, "too large");
}

static void
test_arithmetic(void **state)
{
	int64_t r = 7;

	(void)state;
	assert_true(money_add(1, 2, &r));
	assert_int_equal(r, 3);
	assert_false(money_add(INT64_MAX, 1, &r));
	assert_int_equal(r, 3);
	assert_false(money_sub(INT64_MIN, 1, &r));
	assert_true(money_sub(0, INT64_MAX, &r));
	assert_int_equal(r, -INT64_MAX);
	assert_true(money_mul(3037000499LL, 3037000499LL, &r));
	assert_false(money_mul(3037000500LL, 3037000500LL, &r));
	assert_false(money_mul(INT64_MIN, -1, &r));
	assert_true(money_mul(-5, 7, &r));
	assert_int_equal(r, -35);
}

static void
test_format(void **state)
{
	char buf[MONEY_BUFSZ];

	(void)state;
	assert_string_equal(money_format(150000, 2, buf), "1500.00");
	assert_string_equal(money_format(-1, 2, buf), "-0.01");
	assert_string_equal(money_format(5, 2, buf), "0.05");
	assert_string_equal(money_format(0, 2, buf), "0.00");
	assert_string_equal(money_format(150000, 0, buf), "150000");
	assert_string_equal(money_format(1234, 3, buf), "1.234");
	assert_string_equal(money_format(INT64_MIN, 2, buf), "-92233720368547758.08");
	assert_string_equal(money_format(INT64_MAX, 2, buf), "92233720368547758.07");
}

static void
test_currency(void **state)
{
	(void)state;
	assert_int_equal(currency_find("SGD")->exponent, 2);
	assert_int_equal(currency_find("JPY")->exponent, 0);
	assert_int_equal(currency_find("KRW")->exponent, 0);
	assert_int_equal(currency_find("BHD")->exponent, 3);
	assert_int_equal(currency_find("EUR")->exponent, 2);
	assert_null(currency_find("sgd"));
	assert_null(currency_find("XYZ"));
	assert_null(currency_find("SGDX"));
	assert_null(currency_find(NULL));
}

/* ISO 4217 minor units, typed from the standard's list one (not from ICU). */
static const struct { const char *code; int minor; } iso[] = {
	{ "PLN", 2 }, { "HUF", 2 }, { "DKK", 2 }, { "NOK", 2 }, { "SEK", 2 }, { "NZD", 2 },
	{ "INR", 2 }, { "THB", 2 }, { "IDR", 2 }, { "PHP", 2 }, { "TWD", 2 }, { "VND", 0 },
	{ "JPY", 0 }, { "KRW", 0 }, { "CLP", 0 }, { "ISK", 0 }, { "XAF", 0 }, { "UYI", 0 },
	{ "BHD", 3 }, { "KWD", 3 }, { "JOD", 3 }, { "OMR", 3 }, { "TND", 3 }, { "LYD", 3 },
	{ "IQD", 3 }, { "CLF", 4 }, { "UYW", 4 }, { "SGD", 2 }, { "MYR", 2 }, { "CNY", 2 },
	/* where ICU's display digits (0) are not ISO's minor unit */
	{ "AFN", 2 }, { "ALL", 2 }, { "IRR", 2 }, { "KPW", 2 }, { "LAK", 2 }, { "LBP", 2 },
	{ "MGA", 2 }, { "MMK", 2 }, { "RSD", 2 }, { "SOS", 2 }, { "SYP", 2 }, { "YER", 2 }, { "SLL", 2 },
};

static void
test_currency_iso(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof iso / sizeof iso[0]; i++) {
		const struct currency *c = currency_find(iso[i].code);

		if (c == NULL)
			fail_msg("%s is not in the currency table", iso[i].code);
		if (c->exponent != iso[i].minor)
			fail_msg("%s has %d minor units, ISO 4217 says %d", iso[i].code, c->exponent, iso[i].minor);
	}
	/* withdrawn, metals and test codes (no minor unit), and codes that are not currencies */
	assert_null(currency_find("HRK"));
	assert_null(currency_find("VEF"));
	assert_null(currency_find("XAU"));
	assert_null(currency_find("XDR"));
	assert_null(currency_find("XTS"));
	assert_null(currency_find("XXX"));
	assert_null(currency_find("ABC"));
	assert_null(currency_find("CNH"));
}

/* The ISO minor unit the table should have for a code ICU knows, given ICU's default digits. */
static int
iso_minor(const char *code, int icu_digits)
{
	for (size_t i = 0; i < sizeof iso / sizeof iso[0]; i++)
		if (strcmp(iso[i].code, code) == 0)
			return iso[i].minor;
	return icu_digits;
}

/* Every code ICU calls a common, non-deprecated ISO currency is in the table, and nothing else is. */
static void
test_currency_icu(void **state)
{
	UErrorCode st = U_ZERO_ERROR;
	UEnumeration *en = ucurr_openISOCurrencies(UCURR_COMMON | UCURR_NON_DEPRECATED, &st);
	const char *code;
	int32_t len;
	size_t from_icu = 0, i;

	(void)state;
	assert_true(U_SUCCESS(st));
	while ((code = uenum_next(en, &len, &st)) != NULL) {
		UChar u[4];
		UErrorCode s2 = U_ZERO_ERROR;
		const struct currency *c = currency_find(code);
		int d;

		if (strcmp(code, "HRK") == 0 || strcmp(code, "VEF") == 0) {
			assert_null(c);
			continue;
		}
		u_charsToUChars(code, u, 4);
		d = ucurr_getDefaultFractionDigits(u, &s2);
		assert_true(U_SUCCESS(s2));
		if (c == NULL)
			fail_msg("ICU currency %s is not in src/currencies.inc (make currencies)", code);
		if (c->exponent != iso_minor(code, d))
			fail_msg("%s: table %d, expected %d (ICU %d)", code, c->exponent, iso_minor(code, d), d);
		from_icu++;
	}
	uenum_close(en);
	assert_true(from_icu > 150);
	/* the rest are ISO fund codes (ICU's uncommon ones) or codes newer than ICU */
	for (i = 0; i < currency_count(); i++) {
		const struct currency *c = currency_at(i);
		UChar u[4];
		UErrorCode s2 = U_ZERO_ERROR;

		if (i > 0)
			assert_true(strcmp(currency_at(i - 1)->code, c->code) < 0);
		u_charsToUChars(c->code, u, 4);
		assert_true(c->exponent >= 0 && c->exponent <= 4);
		(void)ucurr_getDefaultFractionDigits(u, &s2);
		assert_true(U_SUCCESS(s2));
	}
	assert_int_equal(currency_count(), from_icu + 12);
	assert_null(currency_at(currency_count()));
}

static void
test_currency_parse(void **state)
{
	int64_t v;

	(void)state;
	assert_int_equal(money_parse("1.2345", 6, currency_find("CLF")->exponent, &money_style_plain, &v), PERR_OK);
	assert_int_equal(v, 12345);
	assert_int_equal(money_parse("1.23456", 7, currency_find("CLF")->exponent, &money_style_plain, &v),
	    PERR_MONEY_FORMAT);
	assert_int_equal(money_parse("1500", 4, currency_find("VND")->exponent, &money_style_plain, &v), PERR_OK);
	assert_int_equal(v, 1500);
	assert_int_equal(money_parse("1500.5", 6, currency_find("VND")->exponent, &money_style_plain, &v),
	    PERR_MONEY_FORMAT);
	assert_int_equal(money_parse("1.005", 5, currency_find("JOD")->exponent, &money_style_plain, &v), PERR_OK);
	assert_int_equal(v, 1005);
	assert_int_equal(money_parse("250000.50", 9, currency_find("IDR")->exponent, &money_style_plain, &v), PERR_OK);
	assert_int_equal(v, 25000050);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_styles),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_arithmetic),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_currency),
		cmocka_unit_test(test_currency_iso),
		cmocka_unit_test(test_currency_icu),
		cmocka_unit_test(test_currency_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
