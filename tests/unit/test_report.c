/*
 * test_report.c - unit tests of the report's pure helpers (reports/report_data.h, csv_export.h):
 * CSV quoting and the OWASP formula-injection prefix, cutting long text on a UTF-8 boundary,
 * age buckets, and the first expected date that is still pending.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bizdate.h"
#include "csv_export.h"
#include "csvout.h"
#include "report_data.h"

/* One CSV row of the given fields (external = OWASP rule on), as a string the caller frees. */
static char *
row_of(const char *const *f, int n, bool external)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	for (int i = 0; i < n; i++)
		csv_field(fp, f[i], i == 0, external);
	csv_end_row(fp);
	fclose(fp);
	return buf;
}

static void
test_csv_plain_and_quoting(void **state)
{
	const char *f[] = { "a", "b,c", "say \"hi\"", NULL, "line\nbreak", "" };
	char *s = row_of(f, 6, true);

	assert_string_equal(s, "a,\"b,c\",\"say \"\"hi\"\"\",,\"line\nbreak\",\r\n");
	free(s);
}

static void
test_csv_owasp_prefix(void **state)
{
	const char *f[] = { "=1+2", "+SUM(A1)", "-10", "@cmd", "\tx", "\rx", "ok=1", "=a,\"b\"" };
	char *s = row_of(f, 8, true);

	assert_string_equal(s, "\"'=1+2\",\"'+SUM(A1)\",\"'-10\",\"'@cmd\",\"'\tx\",\"'\rx\",ok=1,\"'=a,\"\"b\"\"\"\r\n");
	free(s);
	/* Our own numbers are not external text: "-1000.00" stays a number. */
	const char *g[] = { "-1000.00" };
	s = row_of(g, 1, false);
	assert_string_equal(s, "-1000.00\r\n");
	free(s);
}

static void
test_formula_like(void **state)
{
	assert_true(csv_formula_like("=x"));
	assert_true(csv_formula_like("+x"));
	assert_true(csv_formula_like("-x"));
	assert_true(csv_formula_like("@x"));
	assert_true(csv_formula_like("\tx"));
	assert_true(csv_formula_like("\rx"));
	assert_false(csv_formula_like("x=1"));
	assert_false(csv_formula_like(""));
	assert_false(csv_formula_like(NULL));
}

static void
test_cell_text_utf8_cut(void **state)
{
	char buf[64];
	/* "ab" then U+00E9 (2 bytes) then U+4E2D (3 bytes). */
	const char *s = "ab\xc3\xa9\xe4\xb8\xad";

	assert_ptr_equal(rd_cell_text(s, 7, buf), s);
	assert_string_equal(rd_cell_text(s, 6, buf), "ab\xc3\xa9 [truncated]");
	assert_string_equal(rd_cell_text(s, 5, buf), "ab\xc3\xa9 [truncated]");
	assert_string_equal(rd_cell_text(s, 3, buf), "ab [truncated]");
	assert_string_equal(rd_cell_text(s, 0, buf), " [truncated]");
}

static void
test_age_buckets(void **state)
{
	assert_int_equal(rd_age_bucket(0), 0);
	assert_int_equal(rd_age_bucket(1), 0);
	assert_int_equal(rd_age_bucket(2), 1);
	assert_int_equal(rd_age_bucket(5), 1);
	assert_int_equal(rd_age_bucket(6), 2);
	assert_int_equal(rd_age_bucket(30), 2);
	assert_int_equal(rd_age_bucket(31), 3);
	assert_int_equal(rd_type_index("UNMATCHED_STATEMENT"), 0);
	assert_int_equal(rd_type_index("SETTLEMENT_BLOCKED"), 16);
	assert_int_equal(rd_type_index("PAYMENT_REJECTED"), 17);
	assert_int_equal(rd_type_index("PAYMENT_STATUS_CONFLICT"), RD_N_TYPES - 1);
	assert_int_equal(rd_type_index("NOPE"), -1);
}

static void
test_pending_from(void **state)
{
	date_t hol[] = { date_from_ymd(2026, 12, 25) };
	struct calendar cal = { hol, 1 };
	struct calendar none = { NULL, 0 };
	date_t wed = date_from_ymd(2026, 11, 25);
	date_t from;

	/* Window 3 from Wednesday 25th: Friday 20th + 3 = Wednesday 25th (still pending). */
	from = rd_pending_from(&none, wed, 3);
	assert_int_equal(from, date_from_ymd(2026, 11, 20));
	assert_true(calendar_add_business_days(&none, from, 3) >= wed);
	assert_true(calendar_add_business_days(&none, from - 1, 3) < wed);
	/* Across a holiday: Monday 28 Dec 2026, window 3: 25th is a holiday. */
	date_t mon = date_from_ymd(2026, 12, 28);
	from = rd_pending_from(&cal, mon, 3);
	assert_true(calendar_add_business_days(&cal, from, 3) >= mon);
	assert_true(calendar_add_business_days(&cal, from - 1, 3) < mon);
	/* Property: for every day of a year and windows 1..10, the bound is the tightest. */
	for (date_t d = date_from_ymd(2026, 1, 1); d < date_from_ymd(2027, 1, 1); d++) {
		for (int w = 1; w <= 10; w++) {
			from = rd_pending_from(&cal, d, w);
			assert_true(calendar_add_business_days(&cal, from, w) >= d);
			assert_true(calendar_add_business_days(&cal, from - 1, w) < d);
		}
	}
	assert_int_equal(rd_pending_from(&cal, wed, 0), wed);
}

static void
test_parse_strict(void **state)
{
	int64_t v;
	date_t d;

	assert_int_equal(rd_parse_i64("-123", "x", &v), PERR_OK);
	assert_int_equal(v, -123);
	assert_int_equal(rd_parse_i64("9223372036854775807", "x", &v), PERR_OK);
	assert_int_equal(rd_parse_i64("9223372036854775808", "x", &v), PERR_MONEY_OVERFLOW);
	assert_int_equal(rd_parse_i64("12a", "x", &v), PERR_DB);
	assert_int_equal(rd_parse_i64(" 1", "x", &v), PERR_DB);
	assert_int_equal(rd_parse_i64("", "x", &v), PERR_DB);
	assert_int_equal(rd_parse_i64(NULL, "x", &v), PERR_DB);
	assert_int_equal(rd_parse_date("2026-11-25", "x", &d), PERR_OK);
	assert_int_equal(d, date_from_ymd(2026, 11, 25));
	assert_int_equal(rd_parse_date("2026-11-25 00:00", "x", &d), PERR_DB);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_plain_and_quoting),
		cmocka_unit_test(test_csv_owasp_prefix),
		cmocka_unit_test(test_formula_like),
		cmocka_unit_test(test_cell_text_utf8_cut),
		cmocka_unit_test(test_age_buckets),
		cmocka_unit_test(test_pending_from),
		cmocka_unit_test(test_parse_strict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
