/*
 * test_layout_features.c - what the layout language reads of real account-activity exports: the
 * three Singapore bank layouts (dbs-posb, ocbc, uob: newest-first rows, derived openings, month
 * names, a pattern taking the account out of a cell, multi-line cells, Pending rows skipped), and
 * each new feature on a small in-memory layout with every rejection's exact message.
 */
#include "formats_test.h"

#include <unistd.h>

#include "bizdate.h"
#include "layout.h"

static date_t
iso(const char *s)
{
	date_t d = 0;

	assert_int_equal(date_parse_iso(s, &d), PERR_OK);
	return d;
}

/* Line numbers arrive newest first; the recorder keeps arrival order: find line n. */
static const struct rec_line *
line_no(const struct rec *r, int64_t n)
{
	int i;

	for (i = 0; i < r->nlines; i++)
		if (r->lines[i].l.line_no == n)
			return &r->lines[i];
	fail_msg("no line %lld", (long long)n);
	return NULL;
}

static void
test_dbs_good(void **state)
{
	struct rec r;

	(void)state;
	assert_int_equal(run_parser("dbs-posb", "dbs-posb/good.csv", ENC_UTF8, NULL, &r), PERR_OK);
	assert_int_equal(r.ends, 1);
	assert_string_equal(r.h[0].account, "123-45678-9");          /* taken out of "POSB Savings Account ..." */
	assert_string_equal(r.h[0].currency, "SGD");
	assert_string_equal(r.h[0].statement_no, "20261124");
	assert_int_equal(r.h[0].closing.amount_minor, 1047000);     /* Ledger Balance */
	assert_int_equal(r.h[0].opening.amount_minor, 1122500);     /* closing - lines */
	assert_int_equal(r.h[0].opening.date, iso("2026-11-22"));   /* the oldest row */
	assert_int_equal(r.h[0].closing.date, iso("2026-11-24"));
	assert_true(stmt_balanced(&r.h[0], NULL));
	assert_int_equal(r.nlines, 3);                              /* the Pending row is skipped */
	assert_int_equal(line_no(&r, 1)->l.amount_minor, -500);     /* oldest: 22 Nov service charge */
	assert_int_equal(line_no(&r, 1)->l.src_line, 10);
	assert_int_equal(line_no(&r, 3)->l.amount_minor, 125000);
	assert_string_equal(line_no(&r, 3)->reference, "TRF-OFF-A-REFUND-INV0042");
	assert_string_equal(line_no(&r, 3)->l.type_code, "ICT");
	assert_int_equal(line_no(&r, 3)->l.entry_date, iso("2026-11-24"));
}

static void
test_dbs_rejections(void **state)
{
	(void)state;
	expect_error("dbs-posb", "dbs-posb/bad-order.csv", PERR_PARSE, "10: dbs-posb: Transaction Date: date "
	    "2026-11-25 is after the previous row's 2026-11-23: the rows are not newest first");
	expect_error("dbs-posb", "dbs-posb/bad-account.csv", PERR_PARSE, "1: dbs-posb: preamble row 1 field 2 "
	    "(account): \"POSB Savings Account\" does not match the extract pattern ([0-9]{3}-[0-9]{5,6}-[0-9]) "
	    "(layout line 23)");
	expect_error("dbs-posb", "dbs-posb/bad-month.csv", PERR_PARSE, "9: dbs-posb: Transaction Date: date "
	    "\"23 Nvm 2026\" is not a valid date, expected DD MON YYYY");
	expect_error("dbs-posb", "dbs-posb/bad-header.csv", PERR_PARSE, "6: dbs-posb: header row field 8 is "
	    "\"Withdrawal\", expected \"Debit Amount\"");
	expect_error("dbs-posb", "dbs-posb/bad-truncated.csv", PERR_PARSE, "2: dbs-posb: end of file before "
	    "preamble row 3: the file is truncated");
}

static void
test_ocbc(void **state)
{
	struct rec r, o;

	(void)state;
	assert_int_equal(run_parser("ocbc", "ocbc/good.csv", ENC_UTF8, NULL, &r), PERR_OK);
	assert_int_equal(r.ends, 1);
	assert_string_equal(r.h[0].account, "601-234567-001");
	assert_int_equal(r.h[0].closing.amount_minor, 774550);      /* "SGD 7,745.50" */
	assert_int_equal(r.h[0].opening.amount_minor, 700000);
	assert_int_equal(r.h[0].opening.date, iso("2026-11-23"));
	assert_int_equal(r.h[0].closing.date, iso("2026-11-24"));
	assert_int_equal(r.nlines, 2);
	/* newest first detected from the dates; a three-line cell reads as one line of text */
	assert_string_equal(line_no(&r, 2)->narrative, "FAST PAYMENT from DABS PLATFORM TRF-OFF-B-PAYOUT-0007");
	assert_string_equal(line_no(&r, 2)->reference, "TRF-OFF-B-PAYOUT-0007");
	assert_int_equal(line_no(&r, 2)->l.src_line, 7);
	assert_int_equal(line_no(&r, 1)->l.amount_minor, -25450);
	assert_int_equal(line_no(&r, 1)->l.src_line, 10);
	/* the same rows oldest first: the same statement, the same numbers */
	assert_int_equal(run_parser("ocbc", "ocbc/good-oldest-first.csv", ENC_UTF8, NULL, &o), PERR_OK);
	assert_int_equal(o.h[0].opening.amount_minor, r.h[0].opening.amount_minor);
	assert_int_equal(o.h[0].opening.date, r.h[0].opening.date);
	assert_string_equal(o.h[0].statement_no, r.h[0].statement_no);
	assert_int_equal(line_no(&o, 1)->l.amount_minor, -25450);
	assert_int_equal(line_no(&o, 2)->l.amount_minor, 100000);
	expect_error("ocbc", "ocbc/bad-currency.csv", PERR_PARSE, "3: ocbc: preamble row 3 field 2 (closing): "
	    "currency \"USD\" differs from the statement's currency SGD");
	expect_error("ocbc", "ocbc/bad-unterminated.csv", PERR_PARSE, "11: ocbc: end of file inside a quoted "
	    "field that starts at line 10: the file is truncated");
	expect_error("ocbc", "ocbc/bad-order.csv", PERR_PARSE, "10: ocbc: Transaction date: date 2026-11-23 is "
	    "before the previous row's 2026-11-24: the rows are not oldest first (as the first and last rows say)");
}

static void
test_uob(void **state)
{
	struct rec r;

	(void)state;
	assert_int_equal(run_parser("uob", "uob/good.csv", ENC_UTF8, NULL, &r), PERR_OK);
	assert_int_equal(r.ends, 1);
	assert_string_equal(r.h[0].account, "3123456789");
	assert_int_equal(r.h[0].opening.amount_minor, 500000);     /* the oldest row's balance - amount */
	assert_int_equal(r.h[0].closing.amount_minor, 1298000);    /* the newest row's balance */
	assert_int_equal(r.h[0].opening.date, iso("2026-11-22"));
	assert_int_equal(r.h[0].closing.date, iso("2026-11-24")); /* "... To 24 Nov 2026" */
	assert_string_equal(r.h[0].statement_no, "20261124");
	assert_true(stmt_balanced(&r.h[0], NULL));
	assert_int_equal(line_no(&r, 1)->l.amount_minor, 500000);
	assert_int_equal(line_no(&r, 3)->l.amount_minor, 300000);
	assert_string_equal(line_no(&r, 3)->reference, "TRF-OFF-C-0003");
	expect_error("uob", "uob/bad-running-balance.csv", PERR_PARSE, "8: uob: Available Balance: running balance "
	    "9990.00 does not follow from the previous (later) row's balance and that row's amount, expected 9980.00");
	expect_error("uob", "uob/bad-period.csv", PERR_PARSE, "3: uob: preamble row 3 field 2 (closing_date): "
	    "\"November 2026\" does not match the extract pattern To ([0-9]{2} [A-Za-z]{3} [0-9]{4})$ (layout line 22)");
	expect_error("uob", "uob/bad-dates.csv", PERR_PARSE, "9: uob: the opening date 2026-11-22 is after the "
	    "closing date 2026-11-20, expected opening <= closing");
	expect_error("uob", "uob/bad-currency.csv", PERR_PARSE, "4: uob: preamble row 4 field 2 (currency): "
	    "currency \"XYZ\" is not a known ISO 4217 code");
}

#define LF "fixtures/formats/layout-features/"

/* Parses fixtures/formats/layout-features/<csv> with the layout <lay>.layout there; *r what the sink saw. */
static enum perr
parse_fx(const char *lay, const char *csv, struct rec *r)
{
	char lpath[256], cpath[256];
	struct layout *l = NULL;
	struct parse_opts o = { .encoding = ENC_UTF8 };
	struct stmt_sink sink = { .arg = r, .begin = rec_begin, .line = rec_line_cb, .end = rec_end };
	FILE *fp;
	enum perr e;

	memset(r, 0, sizeof *r);
	snprintf(lpath, sizeof lpath, LF "%s.layout", lay);
	snprintf(cpath, sizeof cpath, LF "%s", csv);
	if ((e = layout_load(lpath, &l)) != PERR_OK)
		fail_msg("layout: %s", perr_detail());
	fp = fopen(cpath, "rb");
	assert_non_null(fp);
	o.path = cpath;
	e = bankcsv_parse(fp, l, &o, &sink);
	fclose(fp);
	layout_free(l);
	return e;
}

static void
parse_fx_ok(const char *lay, const char *csv, struct rec *r)
{
	if (parse_fx(lay, csv, r) != PERR_OK)
		fail_msg("%s: %s", csv, perr_detail());
}

/* The file fails with exactly "fixtures/formats/layout-features/<csv>:<msg>" and nothing ended. */
static void
expect_fx_error(const char *lay, const char *csv, const char *msg)
{
	struct rec r;
	char want[1024];

	assert_int_equal(parse_fx(lay, csv, &r), PERR_PARSE);
	snprintf(want, sizeof want, LF "%s:%s", csv, msg);
	assert_string_equal(perr_detail(), want);
	assert_int_equal(r.ends, 0);
}

#define BASE "delimiter = ,\ndecimal = .\nthousands = ,\nnegative = minus\namount = signed\nstatement_no = date\n"

static void
test_month_names(void **state)
{
	struct rec r;

	(void)state;
	parse_fx_ok("months", "months-good.csv", &r);
	assert_int_equal(r.nlines, 4);
	assert_int_equal(r.lines[0].l.value_date, iso("2026-01-31"));
	assert_int_equal(r.lines[1].l.value_date, iso("2026-01-31"));
	assert_int_equal(r.lines[2].l.value_date, iso("2026-01-31"));
	assert_int_equal(r.lines[3].l.value_date, iso("2026-02-01"));
	assert_int_equal(r.h[0].opening.amount_minor, 10000);      /* a fixed currency holds for the preamble */
	expect_fx_error("months", "months-bad-feb30.csv", "2: months: value_date: date \"30 Feb 2026\" is not a valid "
	    "date, expected DD MON YYYY or DD-MON-YY or MON D, YYYY");
}

static void
test_amount_currency(void **state)
{
	struct rec r;

	(void)state;
	/* the first code seen sets the statement's currency: JPY has no decimals */
	parse_fx_ok("amount-ccy", "amount-ccy-good.csv", &r);
	assert_string_equal(r.h[0].currency, "JPY");
	assert_int_equal(r.h[0].opening.amount_minor, 5000);
	assert_int_equal(r.lines[0].l.amount_minor, -1500);
	assert_int_equal(r.lines[1].l.amount_minor, 2000);
	assert_int_equal(r.h[0].closing.amount_minor, 5500);
	expect_fx_error("amount-ccy", "amount-ccy-bad-other.csv", "2: amount-ccy: amount: currency \"SGD\" differs from "
	    "the statement's currency JPY");
	expect_fx_error("amount-ccy", "amount-ccy-bad-before.csv", "1: amount-ccy: preamble row 1 field 2 (opening): "
	    "amount before the currency is known, expected the currency first");
}

static void
test_controls_and_skips(void **state)
{
	struct rec r;

	(void)state;
	parse_fx_ok("controls", "controls-good.csv", &r);
	assert_int_equal(r.nlines, 3);                 /* the subtotal row is not a transaction */
	assert_int_equal(r.h[0].line_count, 3);
	assert_string_equal(r.lines[2].l.type_code, "FEE");
	expect_fx_error("controls", "controls-bad-count.csv", "7: controls: trailer row 2 field 2 (count): control total "
	    "of 4 rows, but the file has 3 transaction rows");
	expect_fx_error("controls", "controls-bad-debits.csv", "5: controls: trailer row 2 field 3 (total_debits): control "
	    "total of debits 11.00, but the debit rows add up to 10.00");
	expect_fx_error("controls", "controls-bad-credits.csv", "5: controls: trailer row 2 field 4 (total_credits): "
	    "control total of credits 25.00, but the credit rows add up to 0.00");
	expect_fx_error("controls", "controls-bad-count-text.csv", "4: controls: trailer row 2 field 2 (count): row count "
	    "\"one\" is not a whole number");
	expect_fx_error("controls", "controls-bad-negative.csv", "4: controls: trailer row 2 field 3 (total_debits): "
	    "control total \"-10.00\" is negative, expected the sum as a positive amount");
}

static void
test_blank_lines_and_multiline(void **state)
{
	struct rec r;

	(void)state;
	parse_fx_ok("loose", "multiline-good.csv", &r);
	assert_string_equal(r.lines[0].narrative, "two lines three");
	assert_int_equal(r.lines[0].l.src_line, 5);
	assert_int_equal(r.h[0].closing.amount_minor, 300);
	expect_fx_error("strict", "multiline-good.csv", "2: strict: empty line, expected a row");
	expect_fx_error("strict", "strict-bad-multiline.csv", "3: strict: field 2 contains a line break, expected one "
	    "line per row (or multiline_cells = yes)");
	/* a blank line after the header is still an error; outside a quoted cell the line ending is checked */
	expect_fx_error("loose", "loose-bad-blank-after-header.csv", "3: loose: empty line, expected a row");
	expect_fx_error("loose", "loose-bad-lf.csv", "2: loose: line ends with LF, expected CRLF");
}

static void
test_order_detected_by_balance(void **state)
{
	struct rec r;

	(void)state;
	/* one day: the running balance says which way the rows go */
	parse_fx_ok("detect", "detect-newest.csv", &r);
	assert_int_equal(r.h[0].opening.amount_minor, 10000);
	assert_int_equal(r.h[0].closing.amount_minor, 11500);
	assert_int_equal(line_no(&r, 1)->l.amount_minor, 2000);
	assert_int_equal(line_no(&r, 3)->l.amount_minor, 500);
	parse_fx_ok("detect", "detect-oldest.csv", &r);
	assert_int_equal(r.h[0].opening.amount_minor, 10000);
	assert_int_equal(r.h[0].closing.amount_minor, 11000);
	assert_int_equal(line_no(&r, 1)->l.amount_minor, 2000);
	expect_fx_error("detect", "detect-bad-balance.csv", "2: detect: balance: running balance 111.00 does not follow "
	    "from the previous row's balance and this amount, expected 110.00");
}

/* A newest-first file is read twice: from a pipe (not seekable) that is an error, never half a statement. */
static void
test_newest_first_needs_a_file(void **state)
{
	static const char lay[] = BASE "date_format = YYYY-MM-DD\ncurrency = SGD\n"
	    "columns = value_date, narrative, amount, balance\norder = newest_first\nopening = running_balance\n"
	    "closing = running_balance\n";
	static const char csv[] = "2026-11-25,B,-10.00,110.00\n2026-11-24,A,20.00,120.00\n";
	struct layout *l = NULL;
	struct parse_opts o = { .path = "pipe.csv", .encoding = ENC_UTF8 };
	struct rec r;
	struct stmt_sink sink = { .arg = &r, .begin = rec_begin, .line = rec_line_cb, .end = rec_end };
	int fds[2];
	FILE *fp;

	(void)state;
	memset(&r, 0, sizeof r);
	assert_int_equal(layout_parse("mem.layout", lay, strlen(lay), &l), PERR_OK);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], csv, strlen(csv)), (ssize_t)strlen(csv));
	close(fds[1]);
	fp = fdopen(fds[0], "rb");
	assert_non_null(fp);
	assert_int_equal(bankcsv_parse(fp, l, &o, &sink), PERR_IO);
	assert_string_equal(perr_detail(), "pipe.csv: mem: cannot read the file a second time (order = newest_first "
	    "needs a seekable file)");
	assert_int_equal(r.begins + r.nlines + r.ends, 0);
	fclose(fp);
	layout_free(l);
}

static void
expect_layout(const char *text, const char *msg)
{
	struct layout *lay = NULL;

	assert_int_equal(layout_parse("x.layout", text, strlen(text), &lay), PERR_CONFIG);
	assert_string_equal(perr_detail(), msg);
	assert_null(lay);
}

static void
test_layout_rejections(void **state)
{
	static const char ok[] = BASE "date_format = YYYY-MM-DD\ncurrency = SGD\ncolumns = value_date, narrative, "
	    "amount, balance\nopening = running_balance\nclosing = running_balance\n";
	char t[1024];

	(void)state;
	snprintf(t, sizeof t, "%sskip = status ^Pending$\n", ok);
	expect_layout(t, "x.layout:12: skip = status ...: columns has no status column");
	snprintf(t, sizeof t, "%sextract = account ([0-9]+)\n", ok);
	expect_layout(t, "x.layout:12: extract = account ...: no {account} cell or account column to take it from");
	snprintf(t, sizeof t, "%sextract = account\n", ok);
	expect_layout(t, "x.layout:12: extract \"account\" is not a role followed by a pattern, expected e.g. "
	    "extract = account ([0-9]{3}-[0-9]-[0-9]{6})");
	snprintf(t, sizeof t, "%sskip = status (\n", ok);
	expect_layout(t, "x.layout:12: skip status: reference pattern 1 \"(\": missing closing parenthesis at offset 1");
	snprintf(t, sizeof t, "%sorder = sideways\n", ok);
	expect_layout(t, "x.layout:12: order \"sideways\" is not oldest_first, newest_first or detect");
	snprintf(t, sizeof t, "%samount_currency = both\n", ok);
	expect_layout(t, "x.layout:12: amount_currency \"both\" is not prefix, suffix or none");
	snprintf(t, sizeof t, "%sopening = closing_minus_lines\n", ok);
	expect_layout(t, "x.layout: opening = closing_minus_lines needs closing = preamble or trailer (with a running "
	    "balance, say opening = running_balance)");
	snprintf(t, sizeof t, "%sclosing = closing_minus_lines\n", ok);
	expect_layout(t, "x.layout: closing = closing_minus_lines is not possible, expected preamble, trailer or "
	    "running_balance");
	snprintf(t, sizeof t, "%smultiline_cells = maybe\n", ok);
	expect_layout(t, "x.layout:12: multiline_cells \"maybe\" is not yes or no");
	snprintf(t, sizeof t, "%strailer = \"Totals\", {count}\ntrailer = \"More\", {count}\n", ok);
	expect_layout(t, "x.layout: {account}, {currency}, {statement_date}, {count}, {total_debits} and {total_credits} "
	    "may each appear once");
	snprintf(t, sizeof t, "%sskip = narrative a\nskip = narrative b\nskip = narrative c\nskip = narrative d\n"
	    "skip = narrative e\nskip = narrative f\nskip = narrative g\nskip = narrative h\nskip = narrative i\n", ok);
	expect_layout(t, "x.layout:20: more than 8 skip lines");
	snprintf(t, sizeof t, "%sdate_format = DD MOM YYYY\n", ok);
	expect_layout(t, "x.layout:12: date_format \"DD MOM YYYY\" needs day, month and year (DD or D, MM or M, YYYY or "
	    "YY), at most 4 formats");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dbs_good),
		cmocka_unit_test(test_dbs_rejections),
		cmocka_unit_test(test_ocbc),
		cmocka_unit_test(test_uob),
		cmocka_unit_test(test_month_names),
		cmocka_unit_test(test_amount_currency),
		cmocka_unit_test(test_controls_and_skips),
		cmocka_unit_test(test_blank_lines_and_multiline),
		cmocka_unit_test(test_order_detected_by_balance),
		cmocka_unit_test(test_newest_first_needs_a_file),
		cmocka_unit_test(test_layout_rejections),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
