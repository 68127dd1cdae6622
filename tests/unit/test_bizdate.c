/*
 * test_bizdate.c - civil date arithmetic and the business-day calendar (weekends, holidays,
 * year ends, leap days).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bizdate.h"

static date_t
D(const char *s)
{
	date_t d;

	assert_int_equal(date_parse_iso(s, &d), PERR_OK);
	return d;
}

static void
test_parse_format(void **state)
{
	char buf[DATE_BUFSZ];
	date_t d;
	int y, m, dd;

	(void)state;
	assert_int_equal(D("1970-01-01"), 0);
	assert_string_equal(date_format_iso(D("2026-11-25"), buf), "2026-11-25");
	assert_string_equal(date_format_iso(D("2024-02-29"), buf), "2024-02-29");
	assert_int_equal(date_parse_iso("2026-02-29", &d), PERR_DATE);
	assert_int_equal(date_parse_iso("2026-13-01", &d), PERR_DATE);
	assert_int_equal(date_parse_iso("2026-11-5", &d), PERR_DATE);
	assert_int_equal(date_parse_iso("2026/11/05", &d), PERR_DATE);
	assert_int_equal(date_parse_iso("2026-11-05x", &d), PERR_DATE);
	assert_int_equal(date_parse_iso("", &d), PERR_DATE);
	assert_true(date_valid(2000, 2, 29));
	assert_false(date_valid(1900, 2, 29));
	/* round trip over 100 years */
	for (d = D("2000-01-01"); d < D("2100-01-01"); d++) {
		date_to_ymd(d, &y, &m, &dd);
		assert_int_equal(date_from_ymd(y, m, dd), d);
	}
}

static void
test_weekdays(void **state)
{
	(void)state;
	assert_int_equal(date_weekday(D("2026-11-23")), 0);   /* Monday */
	assert_int_equal(date_weekday(D("2026-11-26")), 3);   /* Thursday */
	assert_int_equal(date_weekday(D("2026-11-29")), 6);   /* Sunday */
	assert_int_equal(date_weekday(D("1969-12-31")), 2);   /* before the epoch: Wednesday */
}

static void
test_calendar(void **state)
{
	date_t hol[] = { D("2026-12-25"), D("2027-01-01") };
	struct calendar cal = { hol, 2 };

	(void)state;
	assert_true(calendar_is_business_day(&cal, D("2026-11-25")));
	assert_false(calendar_is_business_day(&cal, D("2026-11-28")));
	assert_false(calendar_is_business_day(&cal, D("2026-12-25")));
	/* Monday's previous business day is Friday */
	assert_int_equal(calendar_prev_business_day(&cal, D("2026-11-23")), D("2026-11-20"));
	/* across Christmas (Friday) and the weekend */
	assert_int_equal(calendar_next_business_day(&cal, D("2026-12-24")), D("2026-12-28"));
	/* across the year end and New Year's Day */
	assert_int_equal(calendar_next_business_day(&cal, D("2026-12-31")), D("2027-01-04"));
	assert_int_equal(calendar_add_business_days(&cal, D("2026-11-18"), 3), D("2026-11-23"));
	assert_int_equal(calendar_add_business_days(&cal, D("2026-11-23"), -1), D("2026-11-20"));
	assert_int_equal(calendar_add_business_days(&cal, D("2026-11-23"), 0), D("2026-11-23"));
	assert_int_equal(calendar_business_days_between(&cal, D("2026-11-23"), D("2026-11-25")), 2);
	assert_int_equal(calendar_business_days_between(&cal, D("2026-11-20"), D("2026-11-23")), 1);
	assert_int_equal(calendar_business_days_between(&cal, D("2026-11-25"), D("2026-11-23")), 0);
	assert_int_equal(calendar_business_days_between(&cal, D("2026-12-24"), D("2027-01-04")), 5);  /* 28, 29, 30, 31 Dec, 4 Jan */
}

static void
test_today(void **state)
{
	date_t sg, utc;

	(void)state;
	assert_int_equal(date_today_in_zone("Asia/Singapore", &sg), PERR_OK);
	assert_int_equal(date_today_in_zone("UTC", &utc), PERR_OK);
	assert_true(sg - utc >= 0 && sg - utc <= 1);           /* Singapore is 8 hours ahead */
	assert_int_equal(date_today_in_zone("Mars/Base", &sg), PERR_CONFIG);
	assert_int_equal(date_today_in_zone("../../etc/passwd", &sg), PERR_CONFIG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_weekdays),
		cmocka_unit_test(test_calendar),
		cmocka_unit_test(test_today),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
