/*
 * test_camt053.c - the camt.053/camt.054 parser on the fixtures of fixtures/formats/camt053/ and
 * camt054/ (each also validated against the ISO schema by tests/integration/40_normalize_camt.sh):
 * both versions give the same lines, reversals, batches split by their details' amounts or kept
 * whole, pending entries listed and not booked, the reference taken from the structured fields
 * first, several statements per file, notifications without balances, and every rejection
 * (namespace, missing CLBD, a contradicting Ccy, details that do not sum, DOCTYPE/XXE, billion
 * laughs, depth, name and text limits, a 2 GB stream) with its exact message.
 */
#include "formats_test.h"

#include "bizdate.h"

/* What the sink saw beyond formats_test.h's record: the ISO fields and the pending entries. */
struct isorec {
	struct rec r;
	int npending;
	int64_t pending_sum;
	char e2e[REC_MAX][40], msgid[REC_MAX][40], entry_svcr[REC_MAX][40], counterparty[REC_MAX][64];
	int64_t entry_no[REC_MAX], details[REC_MAX], entry_amount[REC_MAX];
	bool reversal[REC_MAX];
};

static enum perr
iso_line(void *arg, const struct stmt_header *h, const struct stmt_line *l)
{
	struct isorec *x = arg;
	int i = x->r.nlines;

	assert_non_null(l->iso);
	if (i < REC_MAX) {
		snprintf(x->e2e[i], sizeof x->e2e[i], "%s", l->iso->end_to_end_id);
		snprintf(x->msgid[i], sizeof x->msgid[i], "%s", l->iso->msg_id);
		snprintf(x->entry_svcr[i], sizeof x->entry_svcr[i], "%s", l->iso->entry_svcr_ref);
		snprintf(x->counterparty[i], sizeof x->counterparty[i], "%s", l->iso->counterparty_name);
		x->entry_no[i] = l->iso->entry_no;
		x->details[i] = l->iso->details;
		x->entry_amount[i] = l->iso->entry_amount_minor;
		x->reversal[i] = l->iso->reversal;
	}
	return rec_line_cb(&x->r, h, l);
}

static enum perr
iso_pending(void *arg, const struct stmt_header *h, const struct stmt_line *l)
{
	struct isorec *x = arg;

	(void)h;
	assert_string_equal(l->iso->status, "PDNG");
	x->npending++;
	x->pending_sum += l->amount_minor;
	return PERR_OK;
}

static enum perr
iso_begin(void *arg, const struct stmt_header *h)
{
	return rec_begin(&((struct isorec *)arg)->r, h);
}

static enum perr
iso_end(void *arg, const struct stmt_header *h)
{
	assert_true(stmt_header_sane(h, true));
	return rec_end(&((struct isorec *)arg)->r, h);
}

static enum perr
parse_fp(FILE *fp, const char *path, const struct refx *rx, struct isorec *x)
{
	struct stmt_sink s = { .arg = x, .begin = iso_begin, .line = iso_line, .end = iso_end, .pending = iso_pending };
	struct parse_opts o = { .path = path, .encoding = ENC_UTF8, .refx = rx };

	memset(x, 0, sizeof *x);
	return camt_parse(fp, &o, &s);
}

static enum perr
parse_file(const char *rel, const struct refx *rx, struct isorec *x)
{
	char path[256];
	FILE *fp;
	enum perr e;

	snprintf(path, sizeof path, "fixtures/formats/%s", rel);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	e = parse_fp(fp, path, rx, x);
	fclose(fp);
	return e;
}

static date_t
D(const char *iso)
{
	date_t d = 0;

	assert_int_equal(date_parse_iso(iso, &d), PERR_OK);
	return d;
}

static struct refx *
world_patterns(void)
{
	static const char *const pats[] = { "(TRF-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)", "(BATCH-[0-9]{8}-[0-9]{2})",
	    "(WD-[0-9]{8})", "(VA[0-9]{8})" };
	struct refx *rx = NULL;

	assert_int_equal(refx_compile(pats, 4, "test", &rx), PERR_OK);
	return rx;
}

/* The good statement, in either version: the same header, lines and references. */
static void
check_good(const char *rel)
{
	struct refx *rx = world_patterns();
	struct isorec x;
	const struct rec *r = &x.r;

	assert_int_equal(parse_file(rel, rx, &x), PERR_OK);
	refx_free(rx);
	assert_int_equal(r->begins, 1);
	assert_int_equal(r->ends, 1);
	assert_string_equal(r->h[0].account, "0123456789");
	assert_string_equal(r->h[0].currency, "SGD");
	assert_string_equal(r->h[0].statement_no, "45");   /* ElctrncSeqNb: the number that counts up */
	assert_string_equal(r->h[0].stmt_ref, "STMT-20261124-0123456789");
	assert_int_equal(r->h[0].opening.amount_minor, 1250000);
	assert_int_equal(r->h[0].opening.date, D("2026-11-23"));
	assert_int_equal(r->h[0].closing.amount_minor, 2791550);
	assert_false(r->h[0].closing.intermediate);
	assert_true(stmt_balanced(&r->h[0], NULL));
	assert_false(r->h[0].notification);
	/* 6 entries: 3 single, a batch of 3 split, a batch of 2 kept whole, a pending one */
	assert_int_equal(r->nlines, 7);
	assert_int_equal(r->h[0].line_count, 7);
	assert_int_equal(r->h[0].pending_count, 1);
	assert_int_equal(r->h[0].pending_minor, 4200);
	assert_int_equal(x.npending, 1);
	assert_int_equal(x.pending_sum, 4200);
	/* 1: deposit, reference from the remittance text (the payer's EndToEndId is NOTPROVIDED) */
	assert_string_equal(r->lines[0].l.mark, "C");
	assert_int_equal(r->lines[0].l.amount_minor, 1500000);
	assert_int_equal(r->lines[0].l.value_date, D("2026-11-24"));
	assert_true(r->lines[0].l.has_entry_date);
	assert_string_equal(r->lines[0].l.type_code, "PMNT/RCDT/ESCT");
	assert_string_equal(r->lines[0].bank_ref, "FT2632800012");
	assert_string_equal(r->lines[0].reference, "VA00000123");
	assert_string_equal(r->lines[0].narrative, "FAST TRF DEPOSIT DEPOSIT VA00000123");
	assert_string_equal(x.counterparty[0], "TAN AH KOW");
	/* 2: our transfer: EndToEndId is the reference, the creditor the counterparty */
	assert_string_equal(r->lines[1].l.mark, "D");
	assert_int_equal(r->lines[1].l.amount_minor, -25050);
	assert_string_equal(r->lines[1].customer_ref, "TRF-OFF1-PROCEEDS");
	assert_string_equal(r->lines[1].reference, "TRF-OFF1-PROCEEDS");
	assert_string_equal(x.msgid[1], "PAIN-20261124-01");
	assert_string_equal(x.counterparty[1], "DABS TRUSTEE LTD");
	/* 3: DBIT with RvslInd: a credit reversed, RC, negative; Prtry code only */
	assert_string_equal(r->lines[2].l.mark, "RC");
	assert_int_equal(r->lines[2].l.amount_minor, -900);
	assert_true(x.reversal[2]);
	assert_string_equal(r->lines[2].l.type_code, "NRTI+RETURN");
	/* 4-6: the batch split by its details' amounts, one entry, bank refs made unique */
	assert_int_equal(r->lines[3].l.amount_minor, 10000);
	assert_int_equal(r->lines[4].l.amount_minor, 20000);
	assert_int_equal(r->lines[5].l.amount_minor, 30000);
	assert_int_equal(x.entry_no[3], x.entry_no[5]);
	assert_int_equal(x.details[3], 3);
	assert_int_equal(x.entry_amount[4], 60000);
	assert_string_equal(r->lines[3].bank_ref, "FT2632800015/1");
	assert_string_equal(r->lines[5].bank_ref, "FT2632800015/3");
	assert_string_equal(x.entry_svcr[5], "FT2632800015");
	assert_string_equal(r->lines[3].reference, "VA00000201");
	assert_string_equal(r->lines[5].reference, "RF18539007547034");   /* the creditor reference as is */
	assert_string_equal(x.msgid[4], "BATCH-MSG-1");                     /* from Btch */
	/* 7: the batch without amounts per detail stays one line */
	assert_int_equal(r->lines[6].l.amount_minor, 7500);
	assert_int_equal(x.details[6], 1);
	assert_string_equal(r->lines[6].bank_ref, "FT2632800016");
	assert_string_equal(r->lines[6].reference, "BATCH-20261124-01");
	assert_string_equal(x.msgid[6], "BATCH-MSG-2");
}

static void
test_good_v02(void **state)
{
	(void)state;
	check_good("camt053/good_v02.xml");
}

static void
test_good_v08(void **state)
{
	(void)state;
	check_good("camt053/good_v08.xml");
}

static void
test_multi_prcd_itbd(void **state)
{
	struct isorec x;

	(void)state;
	assert_int_equal(parse_file("camt053/multi.xml", NULL, &x), PERR_OK);
	assert_int_equal(x.r.ends, 2);
	assert_string_equal(x.r.h[0].statement_no, "45");
	assert_string_equal(x.r.h[1].statement_no, "46");
	assert_int_equal(x.r.h[1].opening.amount_minor, 110000);     /* PRCD */
	assert_int_equal(x.r.h[1].closing.amount_minor, -10000);     /* ITBD, debit */
	assert_true(x.r.h[1].closing.intermediate);
	assert_true(stmt_balanced(&x.r.h[0], NULL));
	assert_true(stmt_balanced(&x.r.h[1], NULL));
}

static void
test_unbalanced_parses_but_fails_gate(void **state)
{
	struct isorec x;

	(void)state;
	/* the registry's name for it runs the same parser */
	expect_error("camt053", "camt053/bad_currency.xml", PERR_PARSE, "23: camt.053 Stmt/Ntry: Ntry/Amt is in USD but "
	    "the statement's currency is SGD (rule: every amount in the account's currency)");
	assert_int_equal(parse_file("camt053/bad_balance.xml", NULL, &x), PERR_OK);
	assert_false(stmt_balanced(&x.r.h[0], NULL));   /* normalize's gate refuses it (BALANCE_BREAK) */
}

static void
test_notifications(void **state)
{
	struct isorec x;

	(void)state;
	assert_int_equal(parse_file("camt054/batch_details.xml", NULL, &x), PERR_OK);
	assert_int_equal(x.r.ends, 1);
	assert_true(x.r.h[0].notification);
	assert_false(x.r.h[0].opening.present);
	assert_string_equal(x.r.h[0].statement_no, "NTF-20261124-1");   /* no ElctrncSeqNb: the Id */
	assert_int_equal(x.r.nlines, 2);
	assert_int_equal(x.r.lines[0].l.amount_minor, 2500);
	assert_int_equal(x.r.lines[1].l.amount_minor, 5000);
	assert_string_equal(x.entry_svcr[1], "FT2632800016");
	assert_string_equal(x.msgid[1], "BATCH-MSG-2");
	assert_int_equal(parse_file("camt054/intraday.xml", NULL, &x), PERR_OK);
	assert_int_equal(x.r.nlines, 1);
	assert_string_equal(x.r.lines[0].bank_ref, "FT2632800012");
}

static void
expect_camt(const char *rel, const char *msg_after_path)
{
	struct isorec x;
	char want[2048];
	enum perr e = parse_file(rel, NULL, &x);

	snprintf(want, sizeof want, "fixtures/formats/%s:%s", rel, msg_after_path);
	if (e != PERR_PARSE || strcmp(perr_detail(), want) != 0)
		fail_msg("%s: expected PERR_PARSE and\n  [%s]\ngot %d and\n  [%s]", rel, want, e, perr_detail());
	if (x.r.ends != 0)
		fail_msg("%s: %d statements ended despite the error", rel, x.r.ends);
}

static void
test_rejections(void **state)
{
	(void)state;
	expect_camt("camt053/bad_namespace.xml", "2: camt: namespace \"urn:iso:std:iso:20022:tech:xsd:camt.053.001.04\" "
	    "is not supported, expected urn:iso:std:iso:20022:tech:xsd:camt.053.001.02, "
	    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08 or urn:iso:std:iso:20022:tech:xsd:camt.054.001.02 "
	    "(rule: the namespace decides the message and version)");
	expect_camt("camt053/bad_no_clbd.xml", "5: camt.053 Document/BkToCstmrStmt/Stmt: the statement has no closing "
	    "balance, expected a Bal of type CLBD (or ITBD) (rule: a statement must be complete)");
	expect_camt("camt053/bad_currency.xml", "23: camt.053 Stmt/Ntry: Ntry/Amt is in USD but the statement's "
	    "currency is SGD (rule: every amount in the account's currency)");
	expect_camt("camt053/bad_detail_sum.xml", "22: camt.053 Stmt/Ntry: the 2 transaction details sum to SGD 90.00 "
	    "but the entry's amount is SGD 100.00 (rule: the details sum to the entry)");
	expect_camt("camt053/deep.xml", "3: camt.053 Stmt/X0/X1/X2/X3/X4/X5/X6/X7/X8/X9/X10/X11/X12/X13/X14/X15/X16/"
	    "X17/X18/X19/X20/X21/X22/X23/X24/X25/X26/X27/X28: elements nested deeper than 32");
	expect_camt("camt053/long_name.xml", "3: camt.053 Document/BkToCstmrStmt/Stmt: an element name of 100 bytes, "
	    "expected 1 to 64");
	expect_camt("camt053/long_text.xml", "3: camt.053 Stmt/Id: text longer than 4096 bytes");
}

/* No DTD, no entity: the XXE file is refused before anything is read from /etc/passwd. */
static void
test_hostile(void **state)
{
	struct isorec x;

	(void)state;
	assert_int_equal(parse_file("camt053/xxe.xml", NULL, &x), PERR_PARSE);
	assert_non_null(strstr(perr_detail(), "a DOCTYPE is not allowed (rule: no DTD, no entities)"));
	assert_null(strstr(perr_detail(), "root:"));
	assert_int_equal(parse_file("camt053/billion_laughs.xml", NULL, &x), PERR_PARSE);
	assert_non_null(strstr(perr_detail(), "fixtures/formats/camt053/billion_laughs.xml:"));
	assert_int_equal(x.r.begins, 0);
}

/* A 2 GB document streamed (never on disk): an Ustrd of 2 GB is refused at the text limit. */
struct gen {
	uint64_t pos, size;
	const char *head;
	size_t headlen;
};

static ssize_t
gen_read(void *cookie, char *buf, size_t n)
{
	struct gen *g = cookie;
	size_t i;

	for (i = 0; i < n && g->pos < g->size; i++, g->pos++)
		buf[i] = g->pos < g->headlen ? g->head[g->pos] : 'x';
	return (ssize_t)i;
}

static void
test_two_gigabytes_streamed(void **state)
{
	static const char head[] = "<?xml version=\"1.0\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">"
	    "<BkToCstmrStmt><Stmt><Id>S</Id><CreDtTm>2026-11-25T01:00:00</CreDtTm>\n<AddtlStmtInf>";
	struct gen g = { .pos = 0, .size = 2ULL << 30, .head = head, .headlen = sizeof head - 1 };
	cookie_io_functions_t io = { .read = gen_read };
	FILE *fp = fopencookie(&g, "r", io);
	struct isorec x;

	(void)state;
	assert_non_null(fp);
	assert_int_equal(parse_fp(fp, "stream.xml", NULL, &x), PERR_PARSE);
	fclose(fp);
	assert_non_null(strstr(perr_detail(), "stream.xml:"));
	assert_true(g.pos < 64ULL << 20);   /* stopped within the first 64 MB of the 2 GB */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_v02),
		cmocka_unit_test(test_good_v08),
		cmocka_unit_test(test_multi_prcd_itbd),
		cmocka_unit_test(test_unbalanced_parses_but_fails_gate),
		cmocka_unit_test(test_notifications),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_two_gigabytes_streamed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
