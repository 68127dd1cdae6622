/*
 * test_money.c - money.c on its edges: every accepted style, every rejection, overflow at the
 * int64 boundary, exponent 0 and 3 currencies, and formatting round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
