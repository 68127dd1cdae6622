/*
 * test_bankcsv.c - the layout-driven bank CSV parser and the layout language: sgbank-corp (the
 * operating account's shape: quoted, CRLF, debit/credit columns, running balance, preamble opening,
 * trailer closing) and eubank-semicolon (semicolons, ISO-8859-1 converted exactly, DD.MM.YYYY,
 * "1.234,56", signed amounts, balances in trailer rows), each with every rejection's exact message;
 * and layout files that must be refused when they are loaded.
 */
#include "formats_test.h"

#include <unistd.h>

#include "bizdate.h"
#include "layout.h"

static void
test_sgbank_good(void **state)
{
	struct rec r;
	date_t d;

	(void)state;
	assert_int_equal(run_parser("sgbank-corp", "sgbank-corp/good.csv", ENC_UTF8, NULL, &r), PERR_OK);
	assert_int_equal(r.begins, 1);
	assert_int_equal(r.ends, 1);
	assert_string_equal(r.h[0].account, "0123456790");
	assert_string_equal(r.h[0].statement_no, "00045");
	assert_string_equal(r.h[0].currency, "SGD");
	assert_int_equal(r.h[0].opening.amount_minor, 125000000);
	assert_int_equal(r.h[0].closing.amount_minor, 126497450);
	date_parse_iso("2026-11-24", &d);
	assert_int_equal(r.h[0].opening.date, d);
	assert_int_equal(r.h[0].closing.date, d);
	assert_true(stmt_balanced(&r.h[0], NULL));
	assert_int_equal(r.nlines, 2);
	assert_int_equal(r.lines[0].l.amount_minor, 1500000);     /* Deposit */
	assert_string_equal(r.lines[0].l.mark, "C");
	assert_string_equal(r.lines[0].bank_ref, "FT2632800012");
	assert_string_equal(r.lines[0].reference, "TRF-OFF-B-FEE"); /* the layout's own pattern */
	assert_int_equal(r.lines[1].l.amount_minor, -2550);       /* Withdrawal */
	assert_string_equal(r.lines[1].l.mark, "D");
	assert_int_equal(r.lines[1].l.src_line, 9);
}

static void
test_sgbank_empty_statement(void **state)
{
	struct rec r;

	(void)state;
	assert_int_equal(run_parser("sgbank-corp", "sgbank-corp/empty-statement.csv", ENC_UTF8, NULL, &r), PERR_OK);
	assert_int_equal(r.ends, 1);
	assert_int_equal(r.nlines, 0);
	assert_true(stmt_balanced(&r.h[0], NULL));
}

static void
test_sgbank_unbalanced(void **state)
{
	struct rec r;

	(void)state;
	assert_int_equal(run_parser("sgbank-corp", "sgbank-corp/unbalanced.csv", ENC_UTF8, NULL, &r), PERR_OK);
	assert_false(stmt_balanced(&r.h[0], NULL));
}

static void
test_source_patterns_win(void **state)
{
	const char *pats[] = { "(FT[0-9]+)" };
	struct refx *rx = NULL;
	struct rec r;

	(void)state;
	assert_int_equal(refx_compile(pats, 1, "test", &rx), PERR_OK);
	assert_int_equal(run_parser("sgbank-corp", "sgbank-corp/good.csv", ENC_UTF8, rx, &r), PERR_OK);
	assert_string_equal(r.lines[0].reference, "FT2632800012");
	refx_free(rx);
}

static void
test_sgbank_rejections(void **state)
{
	(void)state;
	expect_error("sgbank-corp", "sgbank-corp/bad-wrong-header.csv", PERR_PARSE,
	    "7: sgbank-corp: header row field 1 is \"Txn Date\", expected \"Transaction Date\"");
	expect_error("sgbank-corp", "sgbank-corp/bad-column-count.csv", PERR_PARSE,
	    "8: sgbank-corp: transaction row has 6 fields, expected 7");
	expect_error("sgbank-corp", "sgbank-corp/bad-stray-quote.csv", PERR_PARSE,
	    "8: sgbank-corp: stray quote or text after a closing quote (strict CSV), expected each field "
	    "either quoted whole or without quotes");
	expect_error("sgbank-corp", "sgbank-corp/bad-unquoted-stray.csv", PERR_PARSE,
	    "8: sgbank-corp: stray quote or text after a closing quote (strict CSV), expected each field "
	    "either quoted whole or without quotes");
	expect_error("sgbank-corp", "sgbank-corp/bad-invalid-utf8.csv", PERR_PARSE,
	    "8: sgbank-corp: byte 0xFF at column 29 is not valid text (not a UTF-8 lead byte), expected UTF-8");
	expect_error("sgbank-corp", "sgbank-corp/bad-too-many-decimals.csv", PERR_MONEY_FORMAT,
	    "8: sgbank-corp: Deposit: amount \"15,000.001\" is not a valid amount: more decimals than the "
	    "currency allows");
	expect_error("sgbank-corp", "sgbank-corp/bad-overflow.csv", PERR_MONEY_OVERFLOW,
	    "8: sgbank-corp: Deposit: amount \"99,999,999,999,999,999,999.00\" is too large");
	expect_error("sgbank-corp", "sgbank-corp/bad-truncated.csv", PERR_PARSE,
	    "8: sgbank-corp: end of file before the trailer row \"Closing Balance\",{closing}: the file is truncated");
	expect_error("sgbank-corp", "sgbank-corp/bad-date.csv", PERR_PARSE,
	    "8: sgbank-corp: Transaction Date: date \"31/11/2026\" is not a valid date, expected DD/MM/YYYY");
	expect_error("sgbank-corp", "sgbank-corp/bad-lf.csv", PERR_PARSE,
	    "1: sgbank-corp: line ends with LF, expected CRLF");
	expect_error("sgbank-corp", "sgbank-corp/bad-both-columns.csv", PERR_PARSE,
	    "8: sgbank-corp: Withdrawal and Deposit: both are filled, expected exactly one of the two");
	expect_error("sgbank-corp", "sgbank-corp/bad-running-balance.csv", PERR_PARSE,
	    "9: sgbank-corp: Balance: running balance 1280000.01 does not follow from the previous row's "
	    "balance and this amount, expected 1280000.00");
	expect_error("sgbank-corp", "sgbank-corp/bad-preamble.csv", PERR_PARSE,
	    "3: sgbank-corp: preamble row 3 field 2 (currency): currency \"XXX\" is not a known ISO 4217 code");
	expect_error("sgbank-corp", "sgbank-corp/bad-after-trailer.csv", PERR_PARSE,
	    "10: sgbank-corp: row after the trailer, expected the end of the file");
}

static void
test_eubank_good(void **state)
{
	struct rec r;

	(void)state;
	assert_int_equal(run_parser("eubank-semicolon", "eubank-semicolon/good.csv", ENC_UTF8, NULL, &r), PERR_OK);
	assert_int_equal(r.ends, 1);
	assert_string_equal(r.h[0].account, "DE44500105175407324931");
	assert_string_equal(r.h[0].currency, "EUR");
	assert_string_equal(r.h[0].statement_no, "20261124");   /* statement_no = date */
	assert_int_equal(r.h[0].opening.amount_minor, 500000);
	assert_int_equal(r.h[0].closing.amount_minor, 1375594);
	assert_true(stmt_balanced(&r.h[0], NULL));
	assert_int_equal(r.nlines, 3);
	/* ISO-8859-1 converted exactly; two narrative columns joined; "" inside quotes; ';' inside quotes */
	assert_string_equal(r.lines[0].narrative, "M\xc3\xbcller GmbH Miete November; B\xc3\xbcro \"Nord\"");
	assert_int_equal(r.lines[0].l.amount_minor, -123456);    /* "-1.234,56" */
	assert_string_equal(r.lines[0].reference, "RF18539007547034");
	assert_int_equal(r.lines[1].l.amount_minor, 1000000);    /* "10.000,00" */
	assert_string_equal(r.lines[1].reference, "E2E-OFF-B-0001");
	assert_true(r.lines[1].l.value_date != r.lines[1].l.entry_date);
	assert_int_equal(r.lines[2].l.amount_minor, -950);       /* "-9,5" */
	assert_string_equal(r.lines[2].narrative, "Bank Kontof\xc3\xbchrung");
}

static void
test_eubank_rejections(void **state)
{
	(void)state;
	expect_error("eubank-semicolon", "eubank-semicolon/bad-control-byte.csv", PERR_PARSE,
	    "8: eubank-semicolon: control character 0x85 at column 24, expected printable ISO-8859-1 text");
	expect_error("eubank-semicolon", "eubank-semicolon/bad-thousands.csv", PERR_MONEY_FORMAT,
	    "6: eubank-semicolon: Betrag: amount \"-1.23,456\" is not a valid amount: thousands separators "
	    "must separate groups of three digits");
	expect_error("eubank-semicolon", "eubank-semicolon/bad-column-count.csv", PERR_PARSE,
	    "7: eubank-semicolon: transaction row has 5 fields, expected 6");
	expect_error("eubank-semicolon", "eubank-semicolon/bad-crlf.csv", PERR_PARSE,
	    "1: eubank-semicolon: line ends with CRLF, expected LF");
	expect_error("eubank-semicolon", "eubank-semicolon/bad-truncated.csv", PERR_PARSE,
	    "9: eubank-semicolon: end of file before the trailer row \"Endsaldo\",*,*,*,*,{closing}: the file "
	    "is truncated");
	expect_error("eubank-semicolon", "eubank-semicolon/bad-date.csv", PERR_PARSE,
	    "7: eubank-semicolon: Valuta: date \"2026-11-25\" is not a valid date, expected DD.MM.YYYY");
}

/* Writes a layout into a temporary file and loads it; returns the result. */
static enum perr
load_text(const char *text, char *path, size_t cap)
{
	struct layout *lay = NULL;
	FILE *fp;
	enum perr e;

	snprintf(path, cap, "/tmp/test_bankcsv_%d.layout", (int)getpid());
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	e = layout_load(path, &lay);
	layout_free(lay);
	unlink(path);
	return e;
}

static void
expect_layout_error(const char *text, const char *msg_after_path)
{
	char path[256], want[1024];

	assert_int_equal(load_text(text, path, sizeof path), PERR_CONFIG);
	snprintf(want, sizeof want, "%s:%s", path, msg_after_path);
	assert_string_equal(perr_detail(), want);
}

#define MINIMAL "delimiter = ,\ndate_format = YYYY-MM-DD\namount = signed\nnegative = minus\ncurrency = SGD\n" \
	"columns = value_date, narrative, amount, balance\nopening = running_balance\nclosing = running_balance\n" \
	"statement_no = date\n"

static void
test_layout_language(void **state)
{
	char path[256];

	(void)state;
	assert_int_equal(load_text(MINIMAL, path, sizeof path), PERR_OK);
	expect_layout_error(MINIMAL "colour = blue\n", "10: unknown key \"colour\", expected one of name delimiter "
	    "quote encoding line_ending date_format decimal thousands negative amount currency preamble header "
	    "columns trailer opening closing statement_no reference order amount_currency preamble_blank_lines "
	    "multiline_cells extract skip");
	expect_layout_error(MINIMAL "encoding = EBCDIC\n", "10: encoding \"EBCDIC\" is not UTF-8 or ISO-8859-1");
	expect_layout_error(MINIMAL "trailer = {closing}\n", "10: a trailer row must start with a \"literal\" cell, "
	    "so that it is told apart from a transaction row");
	expect_layout_error(MINIMAL "preamble = \"Konto\", {amount}\n", "10: role {amount} cannot be in a preamble "
	    "or trailer row, expected one of account currency statement_no statement_date opening closing "
	    "opening_date closing_date count total_debits total_credits ignore");
	expect_layout_error(MINIMAL "header = \"Date\", \"Text\"\n", "10: header has 2 cells but columns has 4 roles");
	expect_layout_error(MINIMAL "reference = (unclosed\n", " reference pattern 1 \"(unclosed\": missing closing "
	    "parenthesis at offset 9");
	expect_layout_error(MINIMAL "date_format = DD/MM\n", "10: date_format \"DD/MM\" needs day, month and year "
	    "(DD or D, MM or M, YYYY or YY), at most 4 formats");
	expect_layout_error("delimiter = ,\ndate_format = YYYY-MM-DD\namount = debit_credit\ncurrency = SGD\n"
	    "columns = value_date, amount\nopening = running_balance\nclosing = running_balance\nstatement_no = date\n",
	    " amount = debit_credit needs one debit and one credit column and no amount column");
	expect_layout_error("delimiter = ,\ndate_format = YYYY-MM-DD\namount = signed\ncurrency = SGD\n"
	    "columns = value_date, amount\nopening = preamble\nclosing = trailer\nstatement_no = date\n",
	    " opening = preamble needs exactly one {opening} cell in the preamble");
}

/* The parts of the language the shipped layouts do not use: tab, no quoting, two date formats,
 * parentheses, trailing minus, CR/DR, apostrophe thousands, a currency and a type column, both
 * balances from the running balance, statement number from the date. */
static void
test_layout_other_styles(void **state)
{
	static const char layout[] =
	    "delimiter = tab\nquote = none\nline_ending = LF\ndate_format = YYYYMMDD\ndate_format = D/M/YY\n"
	    "decimal = .\nthousands = '\nnegative = parens, trailing_minus, crdr\namount = signed\n"
	    "preamble = \"Konto\", {account}\n"
	    "columns = value_date, type_code, narrative, currency, amount, balance\n"
	    "opening = running_balance\nclosing = running_balance\nstatement_no = date\n"
	    "reference = (CHQ[0-9]+)\n";
	static const char csv[] =
	    "Konto\tCH9300762011623852957\n"
	    "20261124\tTRF\tINCOMING\tCHF\t1'000.00\t11'000.00\n"
	    "24/11/26\tFEE\tFEES\tCHF\t(25.50)\t10'974.50\n"
	    "20261125\tCHQ\tCHEQUE CHQ000123\tCHF\t100.00-\t10'874.50\n"
	    "20261125\tTRF\tIN\tCHF\t50.00 CR\t10'924.50\n"
	    "20261125\tTRF\tOUT\tCHF\t20.00DR\t10'904.50\n";
	static const char badccy[] =
	    "Konto\tCH9300762011623852957\n20261124\tTRF\tINCOMING\tCHF\t1'000.00\t11'000.00\n"
	    "20261124\tTRF\tINCOMING\tEUR\t1'000.00\t12'000.00\n";
	struct layout *lay = NULL;
	struct rec r;
	struct parse_opts o = { .path = "mem.tsv", .encoding = ENC_UTF8 };
	struct stmt_sink sink = { .arg = &r, .begin = rec_begin, .line = rec_line_cb, .end = rec_end };
	FILE *fp;
	date_t d;

	(void)state;
	assert_int_equal(layout_parse("mem.layout", layout, sizeof layout - 1, &lay), PERR_OK);
	memset(&r, 0, sizeof r);
	fp = fmemopen((void *)csv, sizeof csv - 1, "rb");
	assert_int_equal(bankcsv_parse(fp, lay, &o, &sink), PERR_OK);
	fclose(fp);
	assert_int_equal(r.ends, 1);
	assert_string_equal(r.h[0].account, "CH9300762011623852957");
	assert_string_equal(r.h[0].currency, "CHF");
	assert_string_equal(r.h[0].statement_no, "20261125");
	assert_int_equal(r.h[0].opening.amount_minor, 1000000);
	assert_int_equal(r.h[0].closing.amount_minor, 1090450);
	date_parse_iso("2026-11-24", &d);
	assert_int_equal(r.h[0].opening.date, d);
	assert_true(stmt_balanced(&r.h[0], NULL));
	assert_int_equal(r.nlines, 5);
	assert_int_equal(r.lines[1].l.amount_minor, -2550);     /* (25.50) */
	assert_int_equal(r.lines[1].l.value_date, d);           /* D/M/YY */
	assert_string_equal(r.lines[1].l.type_code, "FEE");
	assert_int_equal(r.lines[2].l.amount_minor, -10000);    /* 100.00- */
	assert_string_equal(r.lines[2].reference, "CHQ000123");
	assert_int_equal(r.lines[3].l.amount_minor, 5000);      /* 50.00 CR */
	assert_int_equal(r.lines[4].l.amount_minor, -2000);     /* 20.00DR */
	assert_string_equal(r.lines[4].l.mark, "D");
	/* the currency column is checked on every row: the first row's sets the statement's */
	fp = fmemopen((void *)badccy, sizeof badccy - 1, "rb");
	memset(&r, 0, sizeof r);
	assert_int_equal(bankcsv_parse(fp, lay, &o, &sink), PERR_PARSE);
	fclose(fp);
	assert_string_equal(perr_detail(), "mem.tsv:3: mem: currency: currency \"EUR\" differs from the statement's "
	    "currency CHF");
	assert_int_equal(r.ends, 0);
	layout_free(lay);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sgbank_good),
		cmocka_unit_test(test_sgbank_empty_statement),
		cmocka_unit_test(test_sgbank_unbalanced),
		cmocka_unit_test(test_source_patterns_win),
		cmocka_unit_test(test_sgbank_rejections),
		cmocka_unit_test(test_eubank_good),
		cmocka_unit_test(test_eubank_rejections),
		cmocka_unit_test(test_layout_language),
		cmocka_unit_test(test_layout_other_styles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
