/*
 * test_trustee.c - the trustee unit register parser: good registers (including an empty one and a
 * zero holding) and every rejection with its exact message.
 */
#include "formats_test.h"

#include "bizdate.h"

static void
test_good(void **state)
{
	struct rec r;
	date_t d;

	(void)state;
	assert_int_equal(run_parser("trustee_register", "trustee/good.csv", ENC_UTF8, NULL, &r), PERR_OK);
	assert_int_equal(r.reg_rows, 3);
	assert_int_equal(r.units_sum, 107);
	date_parse_iso("2026-11-24", &d);
	assert_int_equal(r.as_of, d);
	assert_int_equal(run_parser("trustee_register", "trustee/empty.csv", ENC_UTF8, NULL, &r), PERR_OK);
	assert_int_equal(r.reg_rows, 0);
}

static void
test_rejections(void **state)
{
	(void)state;
	expect_error("trustee_register", "trustee/bad-header.csv", PERR_PARSE,
	    "1: trustee register: header field 1 is \"as_of\", expected \"as_of_date\" "
	    "(header as_of_date,offering_id,investor_id,units)");
	expect_error("trustee_register", "trustee/bad-duplicate.csv", PERR_PARSE,
	    "4: trustee register: holding of INV0001 in OFF-A is given twice (first on line 2)");
	expect_error("trustee_register", "trustee/bad-negative.csv", PERR_PARSE,
	    "2: trustee register: units: \"-5\" is not a whole non-negative number");
	expect_error("trustee_register", "trustee/bad-two-dates.csv", PERR_PARSE,
	    "3: trustee register: as_of_date: 2026-11-25 differs from 2026-11-24 on line 2, expected one date "
	    "per register");
	expect_error("trustee_register", "trustee/bad-date.csv", PERR_PARSE,
	    "2: trustee register: as_of_date: date \"2026-13-24\" is not a valid date, expected YYYY-MM-DD");
	expect_error("trustee_register", "trustee/bad-column-count.csv", PERR_PARSE,
	    "2: trustee register: row has 3 fields, expected 4 (as_of_date,offering_id,investor_id,units)");
	expect_error("trustee_register", "trustee/bad-stray-quote.csv", PERR_PARSE,
	    "2: trustee register: stray quote or text after a closing quote (strict CSV)");
	expect_error("trustee_register", "trustee/bad-overflow.csv", PERR_MONEY_OVERFLOW,
	    "2: trustee register: units: \"99999999999999999999\" is too large");
	expect_error("trustee_register", "trustee/bad-no-header.csv", PERR_PARSE,
	    "1: trustee register: the file is empty, expected the header as_of_date,offering_id,investor_id,units");
	expect_error("trustee_register", "trustee/bad-truncated.csv", PERR_PARSE,
	    "2: trustee register: the last line has no line ending: the file is truncated");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_rejections),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
