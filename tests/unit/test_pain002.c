/*
 * test_pain002.c - the pain.002.001.03 reader (formats/pain002.c): the good reports of
 * fixtures/formats/pain002/ field by field (levels, codes, reasons, times, lines), every rejection
 * with its exact message, and hostile input built in memory (size, NUL, UTF-16, deep nesting).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pain002.h"

#define DIR "fixtures/formats/pain002/"

static struct pain002_report *
good(const char *name)
{
	char path[256];
	struct pain002_report *r = NULL;

	snprintf(path, sizeof path, DIR "%s", name);
	if (pain002_parse_file(path, &r) != PERR_OK)
		fail_msg("%s: %s", path, perr_detail());
	return r;
}

static void
expect_error(const char *name, const char *after_path)
{
	char path[256], want[1024];
	struct pain002_report *r = (struct pain002_report *)&r;

	snprintf(path, sizeof path, DIR "%s", name);
	snprintf(want, sizeof want, "%s:%s", path, after_path);
	assert_int_equal(pain002_parse_file(path, &r), PERR_PARSE);
	assert_null(r);
	assert_string_equal(perr_detail(), want);
}

static void
test_group(void **state)
{
	struct pain002_report *r = good("accepted.xml");

	(void)state;
	assert_string_equal(r->msg_id, "BANK-STS-0001");
	assert_string_equal(r->created, "2026-11-24T09:15:00+08:00");
	assert_string_equal(r->orgnl_msg_id, "DABS-PAY-20261123-01");
	assert_string_equal(r->orgnl_msg_nm_id, "pain.001.001.03");
	assert_int_equal(r->n_statuses, 1);
	assert_int_equal(r->statuses[0].level, PAIN002_GROUP);
	assert_string_equal(r->statuses[0].status, "ACCP");
	assert_string_equal(r->statuses[0].pmtinf_id, "");
	assert_int_equal(r->statuses[0].line, 13);
	pain002_free(r);
	r = good("rejected-group.xml");
	assert_string_equal(r->statuses[0].status, "RJCT");
	assert_string_equal(r->statuses[0].reason_code, "FF01");
	assert_string_equal(r->statuses[0].reason_text, "Invalid file format");
	pain002_free(r);
}

static void
test_levels(void **state)
{
	struct pain002_report *r = good("partial.xml");
	const struct pain002_status *s = r->statuses;

	(void)state;
	assert_int_equal(r->n_statuses, 6);
	assert_string_equal(s[0].status, "PART");
	assert_int_equal(s[1].level, PAIN002_PMTINF);
	assert_string_equal(s[1].pmtinf_id, "DABS-PAY-20261123-01-SGD");
	assert_string_equal(s[1].status, "PART");
	assert_int_equal(s[2].level, PAIN002_TX);
	assert_string_equal(s[2].end_to_end_id, "TRF-S-FULL-FEE");
	assert_string_equal(s[2].pmtinf_id, "DABS-PAY-20261123-01-SGD");
	assert_string_equal(s[2].status, "ACCP");
	assert_string_equal(s[3].status, "ACSP");
	assert_string_equal(s[4].status, "ACTC");
	assert_string_equal(s[5].end_to_end_id, "TRF-S-PRO-PROCEEDS");
	assert_string_equal(s[5].status, "RJCT");
	assert_string_equal(s[5].reason_code, "AC04");
	assert_string_equal(s[5].reason_text, "Creditor account closed 8800123456");
	assert_int_equal(s[5].line, 42);
	pain002_free(r);

	r = good("rejected-pmtinf.xml");
	assert_string_equal(r->statuses[0].status, "");
	assert_string_equal(r->statuses[1].status, "RJCT");
	assert_string_equal(r->statuses[1].reason_code, "AM04");
	assert_string_equal(r->statuses[2].status, "ACCP");
	assert_string_equal(r->statuses[2].reason_code, "");
	pain002_free(r);

	r = good("settled-tx.xml");
	assert_string_equal(r->statuses[2].status_time, "2026-11-24T10:02:11+08:00");
	assert_string_equal(r->statuses[3].status_time, "");
	pain002_free(r);

	r = good("rejected-tx.xml");
	assert_string_equal(r->statuses[2].reason_code, "BANK-LIMIT");     /* Rsn/Prtry */
	pain002_free(r);
}

static void
test_rejections(void **state)
{
	(void)state;
	expect_error("bad-namespace.xml", "2: Document: this is a camt.053.001.02 document, not a pain.002.001.03 "
	    "payment status report (namespace urn:iso:std:iso:20022:tech:xsd:pain.002.001.03 expected)");
	expect_error("bad-version.xml", "2: Document: pain.002 version 001.10 is not supported, expected "
	    "pain.002.001.03 (namespace urn:iso:std:iso:20022:tech:xsd:pain.002.001.03)");
	expect_error("bad-malformed.xml", "18: XML: not well-formed XML (or truncated): Opening and ending tag "
	    "mismatch: GrpSts line 18 and GrpSt");
	expect_error("bad-truncated.xml", "14: XML: not well-formed XML (or truncated): Extra content at the end "
	    "of the document");
	expect_error("bad-trailing.xml", "22: XML: not well-formed XML (or truncated): Extra content at the end "
	    "of the document");
	expect_error("bad-empty.xml", "1: XML: the file is empty, expected a pain.002.001.03 document");
	expect_error("bad-xxe.xml", "2: XML: a DOCTYPE is not allowed (no DTD, no entities)");
	expect_error("bad-billion-laughs.xml", "2: XML: a DOCTYPE is not allowed (no DTD, no entities)");
	expect_error("bad-deep.xml", "9: XML: elements nested deeper than 24 levels");
	expect_error("bad-status-code.xml", "18: GrpSts: \"OKAY\" is not a status code, expected one of ACCP ACSC "
	    "ACSP ACTC ACWC PART PDNG RCVD RJCT");
	expect_error("bad-tx-part.xml", "22: TxSts: \"PART\" is not a status code, expected one of ACCP ACSC ACSP "
	    "ACTC ACWC PDNG RJCT");
	expect_error("bad-no-orgnl-msg-id.xml", "13: OrgnlGrpInfAndSts: <OrgnlGrpInfAndSts> lacks <OrgnlMsgId>");
	expect_error("bad-no-end-to-end-id.xml", "20: TxInfAndSts: <TxInfAndSts> lacks <OrgnlEndToEndId>");
	expect_error("bad-not-pain001.xml", "15: OrgnlMsgNmId: \"pacs.008.001.02\": this report answers a message "
	    "that is not a pain.001 payment file, expected pain.001.001.03");
	expect_error("bad-datetime.xml", "6: CreDtTm: \"2026-11-31T09:15:00+08:00\" is not a date-time, expected "
	    "YYYY-MM-DDThh:mm:ss with optional fraction and Z or +hh:mm");
	expect_error("bad-order.xml", "18: OrgnlMsgNmId: <OrgnlMsgNmId> out of order in <OrgnlGrpInfAndSts> "
	    "(the schema's order is fixed)");
	expect_error("bad-unknown-element.xml", "19: Foo: element <Foo> is not allowed in <OrgnlGrpInfAndSts>");
	expect_error("bad-duplicate-e2e.xml", "38: OrgnlEndToEndId: \"TRF-S-FULL-FEE\" appears twice (first at "
	    "line 30)");
	expect_error("bad-long-id.xml", "21: OrgnlEndToEndId: \"TRF-S-FULL-FEE-XXXXXXXXXXXXXXXXXXXXXXXXX...\" has "
	    "45 characters, expected 1 to 35");
	expect_error("bad-no-status.xml", "13: OrgnlGrpInfAndSts: the report carries no status at all (no GrpSts, "
	    "PmtInfSts or TxSts)");
}

static void
test_hostile_memory(void **state)
{
	struct pain002_report *r = NULL;
	static const char utf16[] = "\xff\xfe<\0D\0o\0c\0";
	char *big;

	(void)state;
	assert_int_equal(pain002_parse("<a>\0</a>", 8, "mem", &r), PERR_PARSE);
	assert_string_equal(perr_detail(), "mem:1: XML: a NUL byte");
	assert_int_equal(pain002_parse(utf16, sizeof utf16 - 1, "mem", &r), PERR_PARSE);
	assert_null(r);
	big = calloc(1, (size_t)PAIN002_MAX_BYTES + 2);
	assert_non_null(big);
	memset(big, ' ', (size_t)PAIN002_MAX_BYTES + 1);
	assert_int_equal(pain002_parse(big, (size_t)PAIN002_MAX_BYTES + 1, "mem", &r), PERR_PARSE);
	assert_string_equal(perr_detail(), "mem:1: XML: the file has 16777217 bytes, more than the 16777216 a status "
	    "report may have");
	free(big);
	assert_int_equal(pain002_parse("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.002.001.03\">"
	    "<CstmrPmtStsRpt>&amp;</CstmrPmtStsRpt></Document>", 114, "mem", &r), PERR_PARSE);
	assert_string_equal(perr_detail(), "mem:1: CstmrPmtStsRpt: text is not allowed directly inside <CstmrPmtStsRpt>");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_hostile_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
