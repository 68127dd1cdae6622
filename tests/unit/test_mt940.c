/*
 * test_mt940.c - the MT940 parser on good and hostile fixtures (fixtures/formats/mt940/): marks
 * and funds codes (CR is C with funds code R, RC a reversal), "9," amounts, :86: continuation,
 * entry dates across a year end, envelopes, several statements per file, and every rejection
 * with its exact message.
 */
#include "formats_test.h"

#include "bizdate.h"

static date_t
D(const char *iso)
{
	date_t d = 0;

	assert_int_equal(date_parse_iso(iso, &d), PERR_OK);
	return d;
}

static void
test_good(void **state)
{
	struct rec r;

	(void)state;
	assert_int_equal(run_parser("mt940", "mt940/good.sta", ENC_UTF8, NULL, &r), PERR_OK);
	assert_int_equal(r.begins, 1);
	assert_int_equal(r.ends, 1);
	assert_string_equal(r.h[0].account, "0123456789");
	assert_string_equal(r.h[0].statement_no, "00045");
	assert_string_equal(r.h[0].sequence_no, "001");
	assert_string_equal(r.h[0].transaction_ref, "STMT261124A");
	assert_string_equal(r.h[0].currency, "SGD");
	assert_int_equal(r.h[0].opening.amount_minor, 125000000);
	assert_int_equal(r.h[0].opening.date, D("2026-11-23"));
	assert_int_equal(r.h[0].closing.amount_minor, 126465850);
	assert_true(r.h[0].closing_available.present);
	assert_int_equal(r.h[0].line_count, 4);
	assert_true(stmt_balanced(&r.h[0], NULL));
	assert_int_equal(r.nlines, 4);
	/* line 1: C, entry date, customer ref NONREF // bank ref, supplementary, :86: over two lines */
	assert_string_equal(r.lines[0].l.mark, "C");
	assert_int_equal(r.lines[0].l.amount_minor, 1500000);
	assert_true(r.lines[0].l.has_entry_date);
	assert_int_equal(r.lines[0].l.entry_date, D("2026-11-24"));
	assert_string_equal(r.lines[0].l.type_code, "NTRF");
	assert_string_equal(r.lines[0].customer_ref, "NONREF");
	assert_string_equal(r.lines[0].bank_ref, "FT2632800012");
	assert_string_equal(r.lines[0].supplementary, "DEPOSIT VA00000123");
	/* issue 14: :86: continuation lines are joined exactly as sent, nothing inserted */
	assert_string_equal(r.lines[0].narrative, "FAST TRF DEPOSIT VA00000123TAN AH KOW");
	/* line 2: D with one decimal "250,5" */
	assert_string_equal(r.lines[1].l.mark, "D");
	assert_int_equal(r.lines[1].l.amount_minor, -25050);
	/* line 3: "CR9," is a credit with funds code R and amount 9.00, not a reversal */
	assert_string_equal(r.lines[2].l.mark, "C");
	assert_string_equal(r.lines[2].l.funds_code, "R");
	assert_int_equal(r.lines[2].l.amount_minor, 900);
	assert_false(r.lines[2].l.has_entry_date);
	assert_string_equal(r.lines[2].l.type_code, "NMSC");
	assert_string_equal(r.lines[2].bank_ref, "");
	/* line 4: RC, reversal of a credit: negative */
	assert_string_equal(r.lines[3].l.mark, "RC");
	assert_string_equal(r.lines[3].l.funds_code, "");
	assert_int_equal(r.lines[3].l.amount_minor, -10000);
	assert_int_equal(r.lines[3].l.line_no, 4);
}

static void
test_crlf_same_as_lf(void **state)
{
	struct rec a, b;
	int i;

	(void)state;
	assert_int_equal(run_parser("mt940", "mt940/good.sta", ENC_UTF8, NULL, &a), PERR_OK);
	assert_int_equal(run_parser("mt940", "mt940/good-crlf.sta", ENC_UTF8, NULL, &b), PERR_OK);
	assert_int_equal(a.nlines, b.nlines);
	for (i = 0; i < a.nlines; i++) {
		assert_int_equal(a.lines[i].l.amount_minor, b.lines[i].l.amount_minor);
		assert_string_equal(a.lines[i].narrative, b.lines[i].narrative);
		assert_string_equal(a.lines[i].supplementary, b.lines[i].supplementary);
	}
}

static void
test_references(void **state)
{
	const char *pats[] = { "(TRF-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)", "(WD-[0-9]{8})", "(VA[0-9]{8})" };
	struct refx *rx = NULL;
	struct rec r;

	(void)state;
	assert_int_equal(refx_compile(pats, 3, "test", &rx), PERR_OK);
	assert_int_equal(run_parser("mt940", "mt940/good.sta", ENC_UTF8, rx, &r), PERR_OK);
	assert_string_equal(r.lines[0].reference, "VA00000123");
	assert_string_equal(r.lines[1].reference, "WD-00000042");   /* from the customer reference */
	assert_string_equal(r.lines[2].reference, "");
	refx_free(rx);
}

static void
test_year_end(void **state)
{
	struct rec r;

	(void)state;
	assert_int_equal(run_parser("mt940", "mt940/yearend.sta", ENC_UTF8, NULL, &r), PERR_OK);
	assert_int_equal(r.nlines, 3);
	/* value 2026-12-31, entry 0102: booked on 2 January of the next year */
	assert_int_equal(r.lines[0].l.value_date, D("2026-12-31"));
	assert_int_equal(r.lines[0].l.entry_date, D("2027-01-02"));
	/* value 2027-01-02, entry 1231: booked on 31 December of the year before */
	assert_int_equal(r.lines[1].l.value_date, D("2027-01-02"));
	assert_int_equal(r.lines[1].l.entry_date, D("2026-12-31"));
	/* 29 February exists in 2024 */
	assert_int_equal(r.lines[2].l.entry_date, D("2024-02-29"));
	assert_true(stmt_balanced(&r.h[0], NULL));
}

static void
test_envelope_and_several_statements(void **state)
{
	struct rec r;

	(void)state;
	assert_int_equal(run_parser("mt940", "world/20261124/trustee/cash/trustee_8800123456_20261124.sta",
	    ENC_UTF8, NULL, &r), PERR_OK);
	assert_int_equal(r.ends, 1);
	assert_string_equal(r.h[0].account, "8800123456");
	assert_int_equal(r.h[0].opening.amount_minor, 0);          /* "0," */
	assert_int_equal(r.h[0].closing.amount_minor, 475000000);  /* "4750000," */
	assert_int_equal(run_parser("mt940", "world/20261126/bank/client/stmt_0123456789_20261126.sta",
	    ENC_UTF8, NULL, &r), PERR_OK);
	assert_int_equal(r.begins, 2);
	assert_int_equal(r.ends, 2);
	assert_string_equal(r.h[0].sequence_no, "001");
	assert_true(r.h[0].closing.intermediate);
	assert_string_equal(r.h[1].sequence_no, "002");
	assert_true(r.h[1].opening.intermediate);
	assert_false(r.h[1].closing.intermediate);
	assert_int_equal(r.lines[1].l.line_no, 1);                 /* numbering restarts per statement */
	assert_true(stmt_balanced(&r.h[0], NULL) && stmt_balanced(&r.h[1], NULL));
}

static void
test_unbalanced_parses_but_fails_gate(void **state)
{
	struct rec r;
	int64_t expect = 0;

	(void)state;
	assert_int_equal(run_parser("mt940", "mt940/unbalanced.sta", ENC_UTF8, NULL, &r), PERR_OK);
	assert_false(stmt_balanced(&r.h[0], &expect));
	assert_int_equal(expect, 110000);
	assert_int_equal(r.h[0].closing.amount_minor, 110001);
}

static void
test_latin1(void **state)
{
	struct rec r;

	(void)state;
	assert_int_equal(run_parser("mt940", "mt940/latin1.sta", ENC_LATIN1, NULL, &r), PERR_OK);
	assert_string_equal(r.lines[0].narrative, "CAF\xc3\xa9 LATTE");
}

static void
test_rejections(void **state)
{
	(void)state;
	expect_error("mt940", "mt940/bad-truncated.sta", PERR_PARSE,
	    "6: MT940: end of file inside the statement that starts at line 1 (:20: STMT1), expected :61: or "
	    ":62F:/:62M: first: the file is truncated");
	expect_error("mt940", "mt940/bad-truncated-midline.sta", PERR_PARSE,
	    "7: MT940: the last line has no line ending: the file is truncated");
	expect_error("mt940", "mt940/bad-tag.sta", PERR_PARSE,
	    "5: MT940 :99: unknown tag, expected one of :20: :21: :25: :28C: :60F: :60M: :61: :86: :62F: :62M: :64: :65:");
	expect_error("mt940", "mt940/bad-date.sta", PERR_PARSE,
	    "5: MT940 :61: value date \"261399\" is not a valid YYMMDD date");
	expect_error("mt940", "mt940/bad-entry-date.sta", PERR_PARSE,
	    "5: MT940 :61: entry date \"0230\" is not a valid MMDD date");
	expect_error("mt940", "mt940/bad-number.sta", PERR_MONEY_FORMAT,
	    "5: MT940 :61: amount \"12,3,4\" is not a valid amount: unexpected character in the decimals");
	expect_error("mt940", "mt940/bad-no-comma.sta", PERR_PARSE,
	    "5: MT940 :61: amount \"100\" has no decimal comma, expected e.g. \"1500,00\" or \"9,\"");
	expect_error("mt940", "mt940/bad-too-many-decimals.sta", PERR_MONEY_FORMAT,
	    "5: MT940 :61: amount \"100,001\" is not a valid amount: more decimals than the currency allows");
	expect_error("mt940", "mt940/bad-invalid-utf8.sta", PERR_PARSE,
	    "6: MT940: byte 0xE9 at column 8 is not valid text (truncated UTF-8 sequence), expected UTF-8");
	expect_error("mt940", "mt940/bad-order.sta", PERR_PARSE,
	    "4: MT940 :61: field is not expected here, expected :60F: or :60M:");
	expect_error("mt940", "mt940/bad-currency.sta", PERR_PARSE,
	    "7: MT940 :62F: currency \"USD\" differs from the statement's currency SGD");
	expect_error("mt940", "mt940/bad-envelope.sta", PERR_PARSE,
	    "8: MT940: end of file inside the envelope opened at line 1, expected \"-}\": the file is truncated");
	expect_error("mt940", "mt940/bad-empty.sta", PERR_PARSE,
	    "1: MT940: no statement in the file, expected at least one :20: ... :62F:");
	expect_error("mt940", "mt940/bad-mark.sta", PERR_PARSE,
	    "5: MT940 :61: \"2611241124X100,00NTRFNONREF//FT1\" is not a statement line, expected "
	    "6!n[4!n]2a[1!a]15d1!a3!c16x[//16x] e.g. \"2611241124C1500,00NTRFNONREF//FT123\"");
	expect_error("mt940", "mt940/bad-statement-no.sta", PERR_PARSE,
	    "3: MT940 :28C: statement number \"ABC\" is not 5n[/5n], expected e.g. \"00045/001\"");
	expect_error("mt940", "mt940/bad-overflow.sta", PERR_MONEY_OVERFLOW,
	    "927: MT940 :61: the sum of the statement's lines overflows");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_crlf_same_as_lf),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_year_end),
		cmocka_unit_test(test_envelope_and_several_statements),
		cmocka_unit_test(test_unbalanced_parses_but_fails_gate),
		cmocka_unit_test(test_latin1),
		cmocka_unit_test(test_rejections),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
