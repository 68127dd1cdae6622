/*
 * test_mt940.c - the MT940 parser on good and hostile fixtures (fixtures/formats/mt940/): marks
 * and funds codes (CR is C with funds code R, RC a reversal), "9," amounts, :86: continuation,
 * entry dates across a year end, envelopes, several statements per file, and every rejection
 * with its exact message; the dialects of fixtures/formats/mt940-dialects/ (recorded as deviations,
 * refused when strict) and the :86: decoders (formats/mt940_86.c) on their own.
 */
#include "formats_test.h"

#include "bizdate.h"
#include "mt940_86.h"

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

static struct info86 in86;

static void
decode(const char *s)
{
	info86_decode(s, strlen(s), &in86);
}

/* German/Austrian ?NN subfields: keywords only where a subfield starts, values across subfields */
static void
test_info86_gvc(void **state)
{
	(void)state;
	decode("166?00GUTSCHR. UEBERWEISUNG?109310?20EREF+VA0000?21 0001?22SVWZ+Rechnung 2026-11-0"
	    "?2342 KREF+X?30COBADEFFXXX?31DE44500105175407324931?32TAN AH KOW?33 HOLDINGS?34000");
	assert_int_equal(in86.kind, INFO86_GVC);
	assert_string_equal(in86.code, "166");
	assert_string_equal(in86.posting_text.p, "GUTSCHR. UEBERWEISUNG");
	assert_string_equal(in86.eref.p, "VA0000 0001");         /* ?21 continues EREF+, as sent */
	assert_string_equal(in86.svwz.p, "Rechnung 2026-11-042 KREF+X");  /* KREF+ mid-subfield is text */
	assert_string_equal(in86.kref.p, "");
	assert_string_equal(in86.bic.p, "COBADEFFXXX");
	assert_string_equal(in86.account.p, "DE44500105175407324931");
	assert_string_equal(in86.name.p, "TAN AH KOW HOLDINGS");
	assert_string_equal(info86_e2e(&in86), "VA0000 0001");
	/* KREF, MREF, CRED each in their own subfield; ?60-?63 continue the purpose */
	decode("105?00LASTSCHRIFT?20EREF+NOTPROVIDED?21KREF+K-1?22MREF+M-2?23CRED+DE98ZZZ0999?24SVWZ+Beitrag"
	    "?60 November");
	assert_string_equal(in86.kref.p, "K-1");
	assert_string_equal(in86.mref.p, "M-2");
	assert_string_equal(in86.cred.p, "DE98ZZZ0999");
	assert_string_equal(in86.svwz.p, "Beitrag November");
	assert_null(info86_e2e(&in86));                           /* NOTPROVIDED is no reference */
	/* no keywords: the purpose is the text, nothing else */
	decode("020?00UEBERWEISUNG?20Miete?21 November?32HAUSVERWALTUNG");
	assert_string_equal(in86.purpose.p, "Miete November");
	assert_string_equal(in86.svwz.p, "");
	assert_string_equal(in86.name.p, "HAUSVERWALTUNG");
	/* a different separator character, and a separator without two digits inside a value */
	decode("166@00GUTSCHRIFT@20EREF+A?B@32X");
	assert_int_equal(in86.kind, INFO86_GVC);
	assert_string_equal(in86.eref.p, "A?B");
	assert_string_equal(in86.name.p, "X");
}

/* Dutch/Belgian slash tags: ABN AMRO, ING (CNTP, REMI/USTD), Rabobank (ORDP//NAME, REMI/STRD) */
static void
test_info86_slash(void **state)
{
	(void)state;
	decode("/TRTP/SEPA OVERBOEKING/IBAN/NL81ASNB0123456789/BIC/ASNBNL21/NAME/TAN AH KOW/REMI/Factuur 12/2026"
	    "/EREF/E-1");
	assert_int_equal(in86.kind, INFO86_SLASH);
	assert_string_equal(in86.posting_text.p, "SEPA OVERBOEKING");
	assert_string_equal(in86.account.p, "NL81ASNB0123456789");
	assert_string_equal(in86.bic.p, "ASNBNL21");
	assert_string_equal(in86.name.p, "TAN AH KOW");
	assert_string_equal(in86.purpose.p, "Factuur 12/2026");    /* a '/' inside a value stays */
	assert_string_equal(in86.eref.p, "E-1");
	decode("/EREF/WD-00000002//CNTP/NL47INGB0000123456/INGBNL2A/J. JANSEN/AMSTERDAM//REMI/USTD//Uitbetaling/");
	assert_string_equal(in86.eref.p, "WD-00000002");
	assert_string_equal(in86.account.p, "NL47INGB0000123456");
	assert_string_equal(in86.bic.p, "INGBNL2A");
	assert_string_equal(in86.name.p, "J. JANSEN");
	assert_string_equal(in86.purpose.p, "Uitbetaling");
	decode(" /ORDP//NAME/Stichting/ADDR/Kerkstraat 1/REMI/STRD/CUR/RF18539007547034/MARF/M-77/CSID/NL98ZZZ");
	assert_string_equal(in86.name.p, "Stichting");
	assert_string_equal(in86.purpose.p, "RF18539007547034");
	assert_string_equal(in86.mref.p, "M-77");
	assert_string_equal(in86.cred.p, "NL98ZZZ");
	assert_null(info86_e2e(&in86));
}

/* Not structured: plain text, a slash that is no known tag, digits without a separator */
static void
test_info86_text(void **state)
{
	(void)state;
	decode("FAST PAYMENT FROM TAN AH KOW VA00000001");
	assert_int_equal(in86.kind, INFO86_TEXT);
	assert_string_equal(in86.eref.p, "");
	assert_null(info86_e2e(&in86));
	decode("/XYZ/not a tag");
	assert_int_equal(in86.kind, INFO86_TEXT);
	decode("12345 PAYMENT");
	assert_int_equal(in86.kind, INFO86_TEXT);
	decode("");
	assert_int_equal(in86.kind, INFO86_TEXT);
	decode("166?0");                                            /* too short to be structured */
	assert_int_equal(in86.kind, INFO86_TEXT);
	info86_free(&in86);
}

/* Parses a dialect fixture with a deviations collector (and strict or not). */
static enum perr
run_dialect(const char *name, bool strict, struct deviations *dv, struct rec *r)
{
	char path[256];
	struct parse_opts o = { .path = path, .encoding = ENC_UTF8, .deviations = dv, .strict = strict };
	struct stmt_sink s = { .arg = r, .begin = rec_begin, .line = rec_line_cb, .end = rec_end };
	FILE *fp;
	enum perr e;

	memset(r, 0, sizeof *r);
	memset(dv, 0, sizeof *dv);
	snprintf(path, sizeof path, "fixtures/formats/mt940-dialects/%s", name);
	if ((fp = fopen(path, "rb")) == NULL)
		fail_msg("cannot open %s", path);
	e = mt940_parse(fp, &o, &s);
	fclose(fp);
	return e;
}

static void
test_dialects_recorded(void **state)
{
	struct deviations dv;
	struct rec r;
	static const char *const codes[] = { "header_line", "reference_20_long", "tag_28", "statement_no_long",
		"non_standard_field", "space_before_type", "blank_line", "zero_amount", "customer_ref_empty",
		"empty_86", "trailing_spaces", "no_final_newline" };
	static const long lines[] = { 1, 4, 6, 6, 8, 9, 12, 13, 13, 14, 18, 19 };

	(void)state;
	assert_int_equal(run_dialect("many-dialects.sta", false, &dv, &r), PERR_OK);
	assert_int_equal(dv.n, 12);
	for (int i = 0; i < dv.n; i++) {
		assert_string_equal(dv.d[i].code, codes[i]);
		assert_int_equal(dv.d[i].first_line, lines[i]);
	}
	assert_int_equal(dv.d[0].count, 2);
	assert_int_equal(r.ends, 1);
	assert_string_equal(r.h[0].statement_no, "123456");
	assert_string_equal(r.h[0].sequence_no, "");
	assert_true(stmt_balanced(&r.h[0], NULL));
	assert_int_equal(r.nlines, 3);
	assert_string_equal(r.lines[0].l.type_code, "N166");
	assert_int_equal(r.lines[1].l.amount_minor, 0);
	assert_string_equal(r.lines[1].customer_ref, "");
	assert_string_equal(r.lines[2].narrative,
	    "/EREF/WD-00000002//CNTP/NL47INGB0000123456/INGBNL2A/J. JANSEN/AMSTERDAM//REMI/USTD//Uitbetaling/");
	/* strict: the first deviation is the error, naming file and line */
	assert_int_equal(run_dialect("many-dialects.sta", true, &dv, &r), PERR_PARSE);
	assert_string_equal(perr_detail(), "fixtures/formats/mt940-dialects/many-dialects.sta:1: MT940: bank header "
	    "line before :20: is not standard MT940 (the source sets mt940_strict = yes)");
	assert_int_equal(r.ends, 0);
	/* a standard file has none, strict or not */
	assert_int_equal(run_dialect("gvc-86.sta", true, &dv, &r), PERR_OK);
	assert_int_equal(dv.n, 0);
}

/* :86: continuation lines joined exactly as sent; non-standard fields never merged into :86: */
static void
test_dialects_86(void **state)
{
	struct deviations dv;
	struct rec r;

	(void)state;
	assert_int_equal(run_dialect("wrapped-86.sta", false, &dv, &r), PERR_OK);
	assert_string_equal(r.lines[0].narrative, "SEPA CREDIT TRANSFER FROM TAN AH KOW IBAN DE44500105175407324931 "
	    "REFERENCE VA00000001 INVOICE 2026-11");
	assert_string_equal(r.lines[1].narrative, "PAYOUT WD-00000002 TO ACCOUNT NL91ABNA0417164300 BENEFICIARY "
	    "MUELLER GMBH IBAN DE89370400440532013000");
	assert_int_equal(run_dialect("non-standard-tags.sta", false, &dv, &r), PERR_OK);
	assert_string_equal(r.lines[0].narrative, "FAST PAYMENT FROM TAN AH KOW VA00000001");
	assert_int_equal(dv.n, 1);
	assert_int_equal(dv.d[0].count, 4);
	assert_int_equal(run_dialect("soh-etx.sta", false, &dv, &r), PERR_OK);
	assert_int_equal(r.ends, 2);
	assert_string_equal(dv.d[0].code, "soh_etx");
	assert_int_equal(run_dialect("envelope-lines.sta", false, &dv, &r), PERR_OK);
	assert_int_equal(r.ends, 1);
	assert_string_equal(dv.d[0].code, "envelope_lines");
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
		cmocka_unit_test(test_info86_gvc),
		cmocka_unit_test(test_info86_slash),
		cmocka_unit_test(test_info86_text),
		cmocka_unit_test(test_dialects_recorded),
		cmocka_unit_test(test_dialects_86),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
