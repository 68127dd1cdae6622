/*
 * test_pain001.c - the outbound file writers: pain.001.001.03 payment files (validated against the
 * official XSD with xmllint) and the trustee's DABS issuance CSV.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "issuance_file.h"
#include "pain001.h"

static const struct pain001_payment two_payments[] = {
	{ "TRF-OFF-B-FEE", 1851, "SGD", "DABS Platform Pte. Ltd. Operating", "0123456790", "Platform fee OFF-B" },
	{ "TRF-OFF-B-PROCEEDS", 121599, "SGD", "Trustee & Co <\"Nominees\"> Ltd's", "8800123456", "Proceeds OFF-B" },
};

static struct pain001_msg
sample_msg(void)
{
	struct pain001_msg m = {
		.msg_id = "DABS-20261123-1",
		.creation_time = "2026-11-23T14:05:06Z",
		.initiating_party = "DABS Platform Pte. Ltd.",
		.debtor_name = "DABS Platform Pte. Ltd. Client Money Account",
		.debtor_account = "0123456789",
		.debtor_currency = "SGD",
		.debtor_bic = "DBSSSGSGXXX",
		.execution_date = "2026-11-24",
		.payments = two_payments,
		.n_payments = 2,
	};
	return m;
}

/*
 * The official schema: $PAIN001_XSD, else ../shared/schemas beside the repository (the tests run
 * from the repository root; CI keeps shared/ beside the clone), else beside the git top level.
 */
static void
xsd_path(char *buf, size_t n)
{
	const char *env = getenv("PAIN001_XSD");
	FILE *p;

	if (env && *env) {
		snprintf(buf, n, "%s", env);
		return;
	}
	snprintf(buf, n, "../shared/schemas/pain.001.001.03.xsd");
	if (access(buf, R_OK) == 0)
		return;
	if ((p = popen("git rev-parse --show-toplevel 2>/dev/null", "r")) != NULL) {
		char top[512] = "";

		if (fgets(top, sizeof top, p) != NULL) {
			top[strcspn(top, "\n")] = '\0';
			snprintf(buf, n, "%s/../shared/schemas/pain.001.001.03.xsd", top);
		}
		pclose(p);
	}
}

/* Runs xmllint with the official schema on the document; returns its exit status. */
static int
xsd_validate(const char *doc, size_t len)
{
	char path[] = "/tmp/test_pain001_XXXXXX";
	char cmd[2048], xsd[1024];
	int fd = mkstemp(path), rc;

	xsd_path(xsd, sizeof xsd);
	if (access(xsd, R_OK) != 0)
		fail_msg("the pain.001.001.03 schema is not at %s (set PAIN001_XSD)", xsd);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, doc, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof cmd, "xmllint --noout --schema '%s' '%s' 2>&1", xsd, path);
	rc = system(cmd);
	unlink(path);
	return rc;
}

static void
test_valid_and_escaped(void **state)
{
	struct pain001_msg m = sample_msg();
	char *doc = NULL;
	size_t len = 0;

	assert_int_equal(pain001_build(&m, &doc, &len), PERR_OK);
	assert_int_equal(strlen(doc), len);
	assert_int_equal(xsd_validate(doc, len), 0);
	assert_non_null(strstr(doc, "<NbOfTxs>2</NbOfTxs>"));
	assert_non_null(strstr(doc, "<CtrlSum>1234.50</CtrlSum>"));
	assert_non_null(strstr(doc, "<EndToEndId>TRF-OFF-B-PROCEEDS</EndToEndId>"));
	assert_non_null(strstr(doc, "<InstdAmt Ccy=\"SGD\">1215.99</InstdAmt>"));
	assert_non_null(strstr(doc, "<InstdAmt Ccy=\"SGD\">18.51</InstdAmt>"));
	assert_non_null(strstr(doc, "<Nm>Trustee &amp; Co &lt;&quot;Nominees&quot;&gt; Ltd&apos;s</Nm>"));
	assert_non_null(strstr(doc, "<ReqdExctnDt>2026-11-24</ReqdExctnDt>"));
	assert_non_null(strstr(doc, "<MsgId>DABS-20261123-1</MsgId>"));
	assert_non_null(strstr(doc, "<PmtInfId>DABS-20261123-1-SGD</PmtInfId>"));
	assert_null(strstr(doc, "Trustee & Co"));
	free(doc);
}

static void
test_byte_identical(void **state)
{
	struct pain001_msg m = sample_msg();
	char *a = NULL, *b = NULL;
	size_t la = 0, lb = 0;

	assert_int_equal(pain001_build(&m, &a, &la), PERR_OK);
	assert_int_equal(pain001_build(&m, &b, &lb), PERR_OK);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	free(a);
	free(b);
}

static void
test_multi_currency(void **state)
{
	static const struct pain001_payment p[] = {
		{ "TRF-X-1", 150000, "SGD", "A", "1", NULL },
		{ "TRF-X-2", 7, "JPY", "B", "2", NULL },
		{ "TRF-X-3", 1, "BHD", "C", "3", NULL },
	};
	struct pain001_msg m = sample_msg();
	char *doc = NULL, sum[48];
	size_t len = 0;

	m.payments = p;
	m.n_payments = 3;
	m.debtor_currency = NULL;
	m.debtor_bic = NULL;
	/* 1500.00 + 7 + 0.001 at three decimals */
	assert_int_equal(pain001_control_sum(p, 3, sum, sizeof sum), PERR_OK);
	assert_string_equal(sum, "1507.001");
	assert_int_equal(pain001_build(&m, &doc, &len), PERR_OK);
	assert_int_equal(xsd_validate(doc, len), 0);
	/* one PmtInf per currency, in code order */
	assert_true(strstr(doc, "-BHD</PmtInfId>") < strstr(doc, "-JPY</PmtInfId>"));
	assert_true(strstr(doc, "-JPY</PmtInfId>") < strstr(doc, "-SGD</PmtInfId>"));
	assert_non_null(strstr(doc, "<InstdAmt Ccy=\"JPY\">7</InstdAmt>"));
	assert_non_null(strstr(doc, "<InstdAmt Ccy=\"BHD\">0.001</InstdAmt>"));
	free(doc);
}

static void
test_control_sum_edges(void **state)
{
	struct pain001_payment p[2] = {
		{ "A", 5, "SGD", "A", "1", NULL },
		{ "B", INT64_MAX, "SGD", "B", "2", NULL },
	};
	char sum[48];

	assert_int_equal(pain001_control_sum(p, 1, sum, sizeof sum), PERR_OK);
	assert_string_equal(sum, "0.05");
	/* 2 x INT64_MAX has 20 digits: more than the schema's 18. */
	p[0].amount_minor = INT64_MAX;
	assert_int_equal(pain001_control_sum(p, 2, sum, sizeof sum), PERR_MONEY_OVERFLOW);
	p[0].amount_minor = 99999999999999999LL;   /* 17 nines */
	assert_int_equal(pain001_control_sum(p, 1, sum, sizeof sum), PERR_OK);
	assert_string_equal(sum, "999999999999999.99");
}

static void
expect_reject(struct pain001_msg *m, enum perr code, const char *needle)
{
	char *doc = (char *)1;
	size_t len = 1;

	assert_int_equal(pain001_build(m, &doc, &len), code);
	assert_null(doc);
	assert_int_equal(len, 0);
	if (strstr(perr_detail(), needle) == NULL)
		fail_msg("detail \"%s\" lacks \"%s\"", perr_detail(), needle);
}

static void
test_rejections(void **state)
{
	struct pain001_msg m;
	struct pain001_payment p[2];

	m = sample_msg();
	m.msg_id = "DABS-0123456789-0123456789-0123456789";
	expect_reject(&m, PERR_INTERNAL, "MsgId");

	m = sample_msg();
	m.debtor_name = "Bad\001Name";
	expect_reject(&m, PERR_INTERNAL, "Dbtr/Nm \"Bad\001Name\" contains a control character");

	m = sample_msg();
	m.debtor_name = "Bad \xc3\x28 UTF-8";
	expect_reject(&m, PERR_INTERNAL, "is not valid UTF-8");

	m = sample_msg();
	m.debtor_bic = "dbsssgsg";
	expect_reject(&m, PERR_INTERNAL, "debtor BIC");

	m = sample_msg();
	m.creation_time = "2026-11-23 14:05:06";
	expect_reject(&m, PERR_INTERNAL, "CreDtTm");

	m = sample_msg();
	m.n_payments = 0;
	expect_reject(&m, PERR_INTERNAL, "at least one payment");

	memcpy(p, two_payments, sizeof p);
	p[1].end_to_end_id = p[0].end_to_end_id;
	m = sample_msg();
	m.payments = p;
	expect_reject(&m, PERR_INTERNAL, "EndToEndId TRF-OFF-B-FEE appears twice");

	memcpy(p, two_payments, sizeof p);
	p[0].amount_minor = 0;
	m.payments = p;
	expect_reject(&m, PERR_INTERNAL, "amount 0");

	memcpy(p, two_payments, sizeof p);
	p[0].currency = "XXX";
	expect_reject(&m, PERR_CURRENCY, "unknown currency XXX");

	memcpy(p, two_payments, sizeof p);
	p[0].end_to_end_id = "TRF-0123456789-0123456789-0123456789";   /* 36 characters */
	expect_reject(&m, PERR_INTERNAL, "at most 35");

	/* 140 multi-byte characters are fine, 141 are not: characters are counted, not bytes. */
	{
		char name[141 * 2 + 1];

		for (int i = 0; i < 140; i++)
			memcpy(name + 2 * i, "\xc3\xa9", 2);
		name[280] = '\0';
		memcpy(p, two_payments, sizeof p);
		p[0].creditor_name = name;
		{
			char *doc = NULL;
			size_t len = 0;

			assert_int_equal(pain001_build(&m, &doc, &len), PERR_OK);
			assert_int_equal(xsd_validate(doc, len), 0);
			free(doc);
		}
		memcpy(name + 280, "\xc3\xa9", 2);
		name[282] = '\0';
		expect_reject(&m, PERR_INTERNAL, "has 141 characters");
	}
}

/* ---- the issuance CSV ---- */

static void
test_issuance_csv(void **state)
{
	const struct issuance_row rows[] = {
		{ "ISS-OFF-B-INV0001", "OFF-B", "INV0001", 120, 10000, 1200000, "SGD", "2026-11-24" },
		{ "ISS-OFF-B-INV0002", "OFF-B", "INV,\"2\"", 1, 5, 5, "SGD", "2026-11-24" },
		{ "ISS-OFF-J-INV0003", "OFF-J", "INV0003", 3, 1000, 3000, "JPY", "2026-11-24" },
	};
	char *csv = NULL;
	size_t len = 0;

	assert_int_equal(issuance_csv_build(rows, 3, &csv, &len), PERR_OK);
	assert_string_equal(csv,
	    "issuance_id,offering_id,investor_id,units,unit_price,amount,currency,settlement_date\n"
	    "ISS-OFF-B-INV0001,OFF-B,INV0001,120,100.00,12000.00,SGD,2026-11-24\n"
	    "ISS-OFF-B-INV0002,OFF-B,\"INV,\"\"2\"\"\",1,0.05,0.05,SGD,2026-11-24\n"
	    "ISS-OFF-J-INV0003,OFF-J,INV0003,3,1000,3000,JPY,2026-11-24\n");
	assert_int_equal(len, strlen(csv));
	free(csv);

	/* empty file: header only */
	assert_int_equal(issuance_csv_build(NULL, 0, &csv, &len), PERR_OK);
	assert_string_equal(csv, ISSUANCE_CSV_HEADER "\n");
	free(csv);
}

static void
test_issuance_csv_rejections(void **state)
{
	struct issuance_row r = { "ISS-1", "OFF-B", "INV0001", 2, 100, 201, "SGD", "2026-11-24" };
	char *csv = (char *)1;
	size_t len = 1;

	assert_int_equal(issuance_csv_build(&r, 1, &csv, &len), PERR_CONSERVATION);
	assert_null(csv);
	assert_non_null(strstr(perr_detail(), "ISS-1 amount 201 != 2 units x 100"));
	r.amount_minor = 200;
	r.investor_id = "INV\n1";
	assert_int_equal(issuance_csv_build(&r, 1, &csv, &len), PERR_INTERNAL);
	r.investor_id = "INV0001";
	r.currency = "ABC";
	assert_int_equal(issuance_csv_build(&r, 1, &csv, &len), PERR_CURRENCY);
	r.currency = "SGD";
	r.units = 0;
	r.amount_minor = 0;
	assert_int_equal(issuance_csv_build(&r, 1, &csv, &len), PERR_INTERNAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_and_escaped),
		cmocka_unit_test(test_byte_identical),
		cmocka_unit_test(test_multi_currency),
		cmocka_unit_test(test_control_sum_edges),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_issuance_csv),
		cmocka_unit_test(test_issuance_csv_rejections),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
