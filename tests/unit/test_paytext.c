/*
 * test_paytext.c - the text rules shared by the outbound file writers and the checks before commit
 * (formats/paytext.c), pain001_check (the checker without writing), and the run-time schema
 * validation of a payment file with libxml2 against the shipped formats/schemas/pain.001.001.03.xsd.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "pain001.h"
#include "paytext.h"

#define XSD "formats/schemas/" "pain.001.001.03.xsd"

static void
expect_why(const char *s, long max, const char *needle)
{
	char buf[128];
	const char *why = paytext_why(s, max, buf, sizeof buf);

	if (needle == NULL) {
		if (why != NULL)
			fail_msg("\"%s\" refused: %s", s, why);
		return;
	}
	if (why == NULL || strstr(why, needle) == NULL)
		fail_msg("\"%s\": expected [%s], got [%s]", s, needle, why ? why : "(accepted)");
}

static void
test_text_rules(void **state)
{
	char name[200];

	(void)state;
	expect_why("Harbour Trust & Nominees <SG> Pte. Ltd.", 140, NULL);
	expect_why("Müller \"Max\" O'Brien", 140, NULL);          /* Latin letters, quotes: escaped by the writer */
	expect_why("", 140, "is empty");
	expect_why("   ", 140, "is blank");
	expect_why("Bad\tTab", 140, "control character");
	expect_why("Bad\x01", 140, "control character");
	expect_why("C1 \xc2\x85 control", 140, "control character");
	expect_why("\xc3\x28", 140, "not valid UTF-8");
	expect_why("海港信托", 140, "contains U+6D77, outside the SWIFT/SEPA Latin character set");
	expect_why("times \xc3\x97 sign", 140, "U+00D7");
	memset(name, 'a', 141);
	name[141] = '\0';
	expect_why(name, 140, "has 141 characters, at most 140 allowed");
	name[140] = '\0';
	expect_why(name, 140, NULL);
	assert_int_equal(paytext_check("x", "Nm", "ok", 140), PERR_OK);
	assert_int_equal(paytext_check("pain.001", "Cdtr/Nm", "Bad\x01", 140), PERR_PAYMENT_DATA);
	assert_non_null(strstr(perr_detail(), "pain.001: Cdtr/Nm \"Bad\x01\" contains a control character"));
}

static void
test_ids(void **state)
{
	(void)state;
	assert_true(paytext_journal_id_valid("INV0001"));
	assert_true(paytext_journal_id_valid("inv_7-a"));
	assert_false(paytext_journal_id_valid("jane.doe@example.com"));
	assert_false(paytext_journal_id_valid(""));
	assert_true(paytext_account_valid("0123456789"));
	assert_true(paytext_account_valid("SG/12-34"));
	assert_false(paytext_account_valid("0123 456"));
	assert_false(paytext_account_valid("01234567890123456789012345678901234"));   /* 35 */
	assert_true(paytext_bic_valid("DBSSSGSGXXX"));
	assert_true(paytext_bic_valid("DBSSSGSG"));
	assert_false(paytext_bic_valid("dbsssgsg"));
	assert_false(paytext_bic_valid("DBSSSGS"));
}

static const struct pain001_payment pay[] = {
	{ "TRF-OFF-B-PROCEEDS", 121599, "SGD", "Trustee & Co Ltd", "8800123456", "Proceeds OFF-B" },
};

static struct pain001_msg
msg(void)
{
	struct pain001_msg m = {
		.msg_id = "DABS-PAY-20261123-01", .creation_time = "2026-11-23T14:05:06Z",
		.initiating_party = "DABS Platform Pte. Ltd.", .debtor_name = "DABS Client Money",
		.debtor_account = "0123456789", .debtor_currency = "SGD", .debtor_bic = "DBSSSGSGXXX",
		.execution_date = "2026-11-24", .payments = pay, .n_payments = 1,
	};
	return m;
}

/* The checker refuses with PERR_PAYMENT_DATA what the writer refuses as PERR_INTERNAL: one rule set. */
static void
test_check_and_build_agree(void **state)
{
	struct pain001_payment p[1];
	struct pain001_msg m = msg();
	char long_name[160], *doc = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(pain001_check(&m), PERR_OK);
	memset(long_name, 'N', 149);
	long_name[149] = '\0';
	memcpy(p, pay, sizeof p);
	p[0].creditor_name = long_name;
	m.payments = p;
	assert_int_equal(pain001_check(&m), PERR_PAYMENT_DATA);
	assert_non_null(strstr(perr_detail(), "Cdtr/Nm"));
	assert_non_null(strstr(perr_detail(), "has 149 characters, at most 140 allowed"));
	assert_int_equal(pain001_build(&m, &doc, &len), PERR_INTERNAL);
	assert_null(doc);
	assert_non_null(strstr(perr_detail(), "has 149 characters, at most 140 allowed"));
	p[0].creditor_name = "Trustee";
	p[0].creditor_account = "8800 123";
	assert_int_equal(pain001_check(&m), PERR_PAYMENT_DATA);
	assert_non_null(strstr(perr_detail(), "CdtrAcct/Id \"8800 123\" is not an account number"));
}

/* Run from the repository root (tests/run-unit.sh): the shipped schema. */
static void
test_schema_validation(void **state)
{
	struct pain001_msg m = msg();
	char *doc = NULL, *bad, *at;
	size_t len = 0;

	(void)state;
	assert_int_equal(pain001_build(&m, &doc, &len), PERR_OK);
	assert_int_equal(pain001_schema_validate(XSD, doc, len, "good.xml"), PERR_OK);
	/* the same document with an element the schema does not allow where it stands */
	bad = malloc(len + 64);
	at = strstr(doc, "<ChrgBr>");
	assert_non_null(at);
	snprintf(bad, len + 64, "%.*s<Bogus>1</Bogus>%s", (int)(at - doc), doc, at);
	assert_int_equal(pain001_schema_validate(XSD, bad, strlen(bad), "bad.xml"), PERR_SCHEMA);
	assert_non_null(strstr(perr_detail(), "bad.xml: fails the pain.001.001.03 schema"));
	assert_non_null(strstr(perr_detail(), "Bogus"));
	assert_int_equal(pain001_schema_validate(XSD, "<Document", 9, "cut.xml"), PERR_SCHEMA);
	assert_int_equal(pain001_schema_validate("/nonexistent.xsd", doc, len, "x.xml"), PERR_CONFIG);
	free(bad);
	free(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_rules),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_check_and_build_agree),
		cmocka_unit_test(test_schema_validation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
