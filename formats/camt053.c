/*
 * camt053.c - a strict, streaming parser of ISO 20022 bank-to-customer statements
 * (camt.053.001.02 and camt.053.001.08) and debit/credit notifications (camt.054.001.02).
 *
 * The document's namespace decides the message and its version; any other is refused. The file
 * is read with libxml2's xmlTextReader, one node at a time: memory is constant per entry (one
 * Ntry and its TxDtls are held, never the document), so a 1 GB file needs a few MB.
 *
 * Hardened against hostile XML: no DTD is loaded and a DOCTYPE is refused outright (so no
 * entity can be declared: no billion laughs, no external entity, XXE), the network is off
 * (XML_PARSE_NONET) and every external entity load is refused; element depth, element name
 * length and text length are limited (CAMT_MAX_*). libxml2's own limits (XML_PARSE_HUGE off) stay.
 *
 * Every Stmt (Ntfctn) is a statement: account (Acct/Id/IBAN or Acct/Id/Othr/Id), currency
 * (Acct/Ccy, else the balances'), Id, ElctrncSeqNb (the statement number: it is the one that
 * counts up), opening OPBD (else PRCD) and closing CLBD (else ITBD, marked intermediate). Every
 * Ntry with Sts BOOK is a line, split into one line per TxDtls when it has several and all carry
 * an amount (their signed sum must equal the entry's); PDNG, INFO and FUTR entries go to the
 * sink's `pending` callback and are counted in the header, never sent as lines. Reversal
 * (RvslInd true): CdtDbtInd is the direction of the reversal booking itself, so DBIT is "RC"
 * (a credit taken back, negative) and CRDT "RD" (positive), as in MT940.
 *
 * The reference of a line: the configured patterns over the structured references
 * (EndToEndId, creditor reference) first, then over the remittance text (Ustrd, AddtlTxInf,
 * AddtlNtryInf); if none matches, the creditor reference as it is, else a debit's EndToEndId
 * (our own payment's id) as it is. "NOTPROVIDED" is never a reference.
 *
 * Errors read "path:line: camt.053 ELEMENT/PATH: what is wrong, expected ..." naming the rule.
 */
#include "statement.h"

#include <libxml/parser.h>
#include <libxml/xmlreader.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "refx.h"
#include "util.h"

#define CAMT_MAX_DEPTH 32        /* elements nested; the schemas need about 14 */
#define CAMT_MAX_NAME 64         /* bytes in an element name; the longest ISO tag is about 35 */
#define CAMT_MAX_TEXT 4096       /* bytes of one element's text; Max500Text is at most 2000 */
#define CAMT_MAX_DETAILS 100000  /* TxDtls in one entry (they are held until the entry ends) */
#define CAMT_MAX_PATH 1024

static const char NS_PREFIX[] = "urn:iso:std:iso:20022:tech:xsd:";

enum msg { MSG_053_02, MSG_053_08, MSG_054_02 };

static const struct {
	const char *ns;
	const char *root;        /* the element under Document */
	const char *stmt;        /* the repeated statement element */
	const char *label;       /* for messages */
	bool notification;
} msgs[] = {
	[MSG_053_02] = { "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02", "BkToCstmrStmt", "Stmt", "camt.053", false },
	[MSG_053_08] = { "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08", "BkToCstmrStmt", "Stmt", "camt.053", false },
	[MSG_054_02] = { "urn:iso:std:iso:20022:tech:xsd:camt.054.001.02", "BkToCstmrDbtCdtNtfctn", "Ntfctn",
	    "camt.054", true },
};

/* One TxDtls as read. */
struct detail {
	long line;
	struct fbuf e2e, instr, txid, msgid, pmtinf, svcr, cref, ustrd, addtl;
	struct fbuf dbtr_nm, dbtr_acct, cdtr_nm, cdtr_acct;
	bool has_amt;
	long amt_line;
	char amt[48];
	char ccy[4];
	char cdi[5];             /* "CRDT", "DBIT" or "" */
};

/* The Ntry being read. */
struct entry {
	long line, amt_line;
	char ref[144], svcr[144], amt[48], ccy[4], cdi[5], sts[8], rvsl[8];
	char bookg[32], val[32];
	char domn[8], fmly[8], sub[8], prtry[144];
	struct fbuf addtl;
	char btch_msgid[144], btch_pmtinf[144];
	struct detail *d;
	size_t nd, capd;
};

/* A Bal being read. */
struct bal {
	long line;
	char tp[16], amt[48], ccy[4], cdi[5], dt[32];
};

struct cx {
	xmlTextReaderPtr r;
	const struct parse_opts *o;
	const struct stmt_sink *sink;
	const char *path;
	enum msg msg;
	bool msg_known;
	const char *label;

	/* where we are: the element names from the root, '/'-separated, and where each starts */
	char xpath[CAMT_MAX_PATH];
	size_t start[CAMT_MAX_DEPTH + 2];  /* start[d]: where element d's "/name" begins (cut there when it ends) */
	size_t name[CAMT_MAX_DEPTH + 2];   /* name[d]: where element d's name begins */
	int depth;
	int stmt_depth;           /* depth of the Stmt/Ntfctn element (its children are relative to it), 0 outside */
	struct fbuf text;         /* the text of the element being read */
	char amt_ccy[8];          /* the Ccy attribute of the last Amt/TtlAmt opened */
	bool amt_ccy_set;

	/* libxml2's first error */
	char xerr[512];
	long xerr_line;

	/* the statement */
	struct stmt_header h;
	bool begun;
	int nstmts;
	char elseq[32], acct_ccy[4];
	long acct_ccy_line;
	struct bal bal;
	struct stmt_balance opbd, prcd, clbd, itbd;
	bool in_entry;
	struct entry e;
	int64_t entry_no;

	/* the line being sent */
	struct stmt_line l;
	struct stmt_line_iso iso;
	struct fbuf narr, sbank;
	char refbuf[REFX_MAX_LEN + 1];
};

static enum perr cerr(struct cx *c, long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records "path:line: camt.053 <relative path>: message" and returns PERR_PARSE. */
static enum perr
cerr(struct cx *c, long line, const char *fmt, ...)
{
	char msg[1024];
	const char *where = c->stmt_depth > 0 && c->depth > c->stmt_depth
	    ? c->xpath + c->name[c->stmt_depth] : c->xpath;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return perr_set(PERR_PARSE, "%s:%ld: %s %s: %s", c->path, line, c->label, where[0] ? where : "document", msg);
}

/* The line of the node being read (its start tag for an element), else where the parser is. */
static long
cur_line(struct cx *c)
{
	xmlNodePtr node = xmlTextReaderCurrentNode(c->r);
	long n = node != NULL ? xmlGetLineNo(node) : -1;

	if (n <= 0)
		n = xmlTextReaderGetParserLineNumber(c->r);
	return n > 0 ? n : 1;
}

/* ---- libxml2 plumbing ---- */

static int
read_cb(void *ctx, char *buf, int len)
{
	FILE *fp = ctx;
	size_t n = fread(buf, 1, (size_t)len, fp);

	if (n == 0 && ferror(fp))
		return -1;
	return (int)n;
}

static void
error_cb(void *arg, xmlErrorPtr err)
{
	struct cx *c = arg;
	size_t n;

	if (c->xerr[0] != '\0' || err == NULL)
		return;
	snprintf(c->xerr, sizeof c->xerr, "%s", err->message ? err->message : "malformed XML");
	n = strlen(c->xerr);
	while (n > 0 && (c->xerr[n - 1] == '\n' || c->xerr[n - 1] == ' '))
		c->xerr[--n] = '\0';
	c->xerr_line = err->line > 0 ? err->line : 0;
}

/* Every external entity or DTD load is refused (no file, no network), whatever asks for it. */
static xmlParserInputPtr
refuse_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	(void)url;
	(void)id;
	(void)ctxt;
	return NULL;
}

/* ---- small checks ---- */

/* Number of UTF-8 characters (the input is valid UTF-8: libxml2 checked it). */
static size_t
utf8_chars(const char *s, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			k++;
	return k;
}

/* Copies the element's text (spaces collapsed, trimmed) into dst, at most max characters. */
static enum perr
take(struct cx *c, char *dst, size_t cap, size_t max)
{
	size_t n = c->text.len;

	if (utf8_chars(c->text.p ? c->text.p : "", n) > max)
		return cerr(c, cur_line(c), "\"%.40s...\" is %zu characters, expected at most %zu", c->text.p,
		    utf8_chars(c->text.p, n), max);
	if (n >= cap)
		return cerr(c, cur_line(c), "text is %zu bytes, expected at most %zu", n, cap - 1);
	memcpy(dst, c->text.p ? c->text.p : "", n);
	dst[n] = '\0';
	return PERR_OK;
}

/* Appends the element's text to b (separated by a space), at most max characters in all. */
static enum perr
take_append(struct cx *c, struct fbuf *b, size_t max)
{
	if (c->text.len == 0)
		return PERR_OK;
	if (b->len > 0)
		fbuf_putc(b, ' ');
	fbuf_append(b, c->text.p, c->text.len);
	if (utf8_chars(b->p, b->len) > max)
		return cerr(c, cur_line(c), "text is longer than %zu characters", max);
	return PERR_OK;
}

/* Sets b to the element's text. */
static enum perr
take_buf(struct cx *c, struct fbuf *b, size_t max)
{
	fbuf_reset(b);
	return take_append(c, b, max);
}

/* ISODate "YYYY-MM-DD", or ISODateTime "YYYY-MM-DDThh:mm:ss..." (its date). */
static enum perr
parse_date(struct cx *c, long line, const char *what, const char *s, date_t *out)
{
	char d[11];

	if (strlen(s) < 10 || (s[10] != '\0' && s[10] != 'T'))
		return cerr(c, line, "%s \"%.40s\" is not an ISO date, expected YYYY-MM-DD (or YYYY-MM-DDThh:mm:ss)",
		    what, s);
	memcpy(d, s, 10);
	d[10] = '\0';
	if (date_parse_iso(d, out) != PERR_OK)
		return cerr(c, line, "%s \"%s\" is not a valid date", what, d);
	return PERR_OK;
}

/*
 * An ActiveOrHistoricCurrencyAndAmount: a decimal without sign, at most the currency's decimals,
 * and its Ccy must be the statement's currency ("the amount's Ccy contradicts").
 */
static enum perr
parse_amt(struct cx *c, long line, const char *what, const char *s, const char *ccy, int64_t *out)
{
	enum perr e;

	if (ccy[0] == '\0')
		return cerr(c, line, "%s has no Ccy attribute, expected e.g. <Amt Ccy=\"SGD\">", what);
	if (strcmp(ccy, c->h.currency) != 0)
		return cerr(c, line, "%s is in %s but the statement's currency is %s (rule: every amount in the "
		    "account's currency)", what, ccy, c->h.currency);
	if (s[0] == '\0' || s[0] == '-' || s[0] == '+')
		return cerr(c, line, "%s \"%s\" is not an unsigned decimal, expected e.g. \"1500.00\"", what, s);
	e = money_parse(s, strlen(s), c->h.exponent, &money_style_plain, out);
	if (e != PERR_OK)
		return cerr(c, line, "%s \"%s\": %s", what, s, perr_detail()), e;
	return PERR_OK;
}

static enum perr
cdi_sign(struct cx *c, long line, const char *what, const char *cdi, int *sign)
{
	if (strcmp(cdi, "CRDT") == 0)
		*sign = 1;
	else if (strcmp(cdi, "DBIT") == 0)
		*sign = -1;
	else
		return cerr(c, line, "%s \"%s\" is not CRDT or DBIT", what, cdi);
	return PERR_OK;
}

/* ---- the statement ---- */

static void
stmt_reset(struct cx *c)
{
	memset(&c->h, 0, sizeof c->h);
	c->h.file = c->path;
	c->h.format = msgs[c->msg].notification ? "camt054" : "camt053";
	c->h.notification = msgs[c->msg].notification;
	c->h.src_line = cur_line(c);
	c->begun = false;
	c->elseq[0] = c->acct_ccy[0] = '\0';
	memset(&c->opbd, 0, sizeof c->opbd);
	memset(&c->prcd, 0, sizeof c->prcd);
	memset(&c->clbd, 0, sizeof c->clbd);
	memset(&c->itbd, 0, sizeof c->itbd);
	c->entry_no = 0;
}

static enum perr
set_currency(struct cx *c, long line, const char *ccy)
{
	const struct currency *cu = currency_find(ccy);

	if (cu == NULL)
		return cerr(c, line, "currency \"%s\" is not a known ISO 4217 currency", ccy);
	memcpy(c->h.currency, ccy, 4);
	c->h.exponent = cu->exponent;
	return PERR_OK;
}

/* A Bal ends: it is kept by its type (OPBD, PRCD, CLBD, ITBD; the others are not needed). */
static enum perr
bal_end(struct cx *c)
{
	struct bal *b = &c->bal;
	struct stmt_balance v, *slot = NULL;
	int sign = 1;
	enum perr e;

	if (strcmp(b->tp, "OPBD") == 0)
		slot = &c->opbd;
	else if (strcmp(b->tp, "PRCD") == 0)
		slot = &c->prcd;
	else if (strcmp(b->tp, "CLBD") == 0)
		slot = &c->clbd;
	else if (strcmp(b->tp, "ITBD") == 0)
		slot = &c->itbd;
	if (slot == NULL)
		return PERR_OK;   /* CLAV, FWAV, OPAV, INFO, XPCD...: not part of the gate */
	if (slot->present)
		return cerr(c, b->line, "a second %s balance, expected one", b->tp);
	if (b->amt[0] == '\0' || b->cdi[0] == '\0' || b->dt[0] == '\0')
		return cerr(c, b->line, "balance %s needs Amt, CdtDbtInd and Dt", b->tp);
	if (c->h.currency[0] == '\0' && (e = set_currency(c, b->line, b->ccy)) != PERR_OK)
		return e;
	memset(&v, 0, sizeof v);
	if ((e = parse_amt(c, b->line, "Bal/Amt", b->amt, b->ccy, &v.amount_minor)) != PERR_OK
	    || (e = cdi_sign(c, b->line, "Bal/CdtDbtInd", b->cdi, &sign)) != PERR_OK
	    || (e = parse_date(c, b->line, "Bal/Dt", b->dt, &v.date)) != PERR_OK)
		return e;
	v.amount_minor *= sign;
	v.mark = sign > 0 ? 'C' : 'D';
	v.present = true;
	*slot = v;
	return PERR_OK;
}

/* Before the first entry (or at the end of an empty statement): the header is complete. */
static enum perr
stmt_begin(struct cx *c)
{
	if (c->begun)
		return PERR_OK;
	c->begun = true;
	if (c->h.account[0] == '\0')
		return cerr(c, c->h.src_line, "the %s names no account, expected Acct/Id/IBAN or Acct/Id/Othr/Id",
		    msgs[c->msg].stmt);
	if (c->h.currency[0] == '\0')
		return cerr(c, c->h.src_line, "the %s has no currency, expected Acct/Ccy or a balance",
		    msgs[c->msg].stmt);
	if (c->h.stmt_ref[0] == '\0')
		return cerr(c, c->h.src_line, "the %s has no Id", msgs[c->msg].stmt);
	snprintf(c->h.statement_no, sizeof c->h.statement_no, "%.31s", c->elseq[0] ? c->elseq : c->h.stmt_ref);
	snprintf(c->h.transaction_ref, sizeof c->h.transaction_ref, "%.31s", c->h.stmt_ref);
	if (!c->h.notification) {
		c->h.opening = c->opbd.present ? c->opbd : c->prcd;
		if (!c->h.opening.present)
			return cerr(c, c->h.src_line, "the statement has no opening balance, expected a Bal of type OPBD "
			    "(or PRCD)");
	}
	c->nstmts++;
	if (c->sink->begin != NULL)
		return c->sink->begin(c->sink->arg, &c->h);
	return PERR_OK;
}

static enum perr
stmt_end(struct cx *c)
{
	enum perr e;

	if ((e = stmt_begin(c)) != PERR_OK)
		return e;
	if (!c->h.notification) {
		if (c->clbd.present) {
			c->h.closing = c->clbd;
		} else if (c->itbd.present) {
			c->h.closing = c->itbd;
			c->h.closing.intermediate = true;   /* a page of a statement continued elsewhere */
		} else {
			return cerr(c, c->h.src_line, "the statement has no closing balance, expected a Bal of type CLBD "
			    "(or ITBD) (rule: a statement must be complete)");
		}
	}
	if (c->sink->end != NULL)
		return c->sink->end(c->sink->arg, &c->h);
	return PERR_OK;
}

/* ---- entries ---- */

static void
detail_reset(struct detail *d)
{
	struct fbuf *bufs[] = { &d->e2e, &d->instr, &d->txid, &d->msgid, &d->pmtinf, &d->svcr, &d->cref, &d->ustrd,
	    &d->addtl, &d->dbtr_nm, &d->dbtr_acct, &d->cdtr_nm, &d->cdtr_acct };
	size_t i;

	for (i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
		fbuf_reset(bufs[i]);
		fbuf_append(bufs[i], "", 0);
	}
	d->has_amt = false;
	d->amt[0] = d->ccy[0] = d->cdi[0] = '\0';
}

static void
detail_free(struct detail *d)
{
	struct fbuf *bufs[] = { &d->e2e, &d->instr, &d->txid, &d->msgid, &d->pmtinf, &d->svcr, &d->cref, &d->ustrd,
	    &d->addtl, &d->dbtr_nm, &d->dbtr_acct, &d->cdtr_nm, &d->cdtr_acct };
	size_t i;

	for (i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
		fbuf_free(bufs[i]);
}

static void
entry_reset(struct cx *c)
{
	struct entry *e = &c->e;
	struct detail *d = e->d;
	size_t capd = e->capd;
	struct fbuf addtl = e->addtl;

	memset(e, 0, sizeof *e);
	e->d = d;
	e->capd = capd;
	e->addtl = addtl;
	fbuf_reset(&e->addtl);
	fbuf_append(&e->addtl, "", 0);
	e->line = cur_line(c);
}

static enum perr
detail_new(struct cx *c)
{
	struct entry *e = &c->e;

	if (e->nd >= CAMT_MAX_DETAILS)
		return cerr(c, cur_line(c), "the entry has more than %d TxDtls", CAMT_MAX_DETAILS);
	if (e->nd == e->capd) {
		size_t n = e->capd ? 2 * e->capd : 4;

		e->d = xrealloc(e->d, n * sizeof *e->d);
		memset(e->d + e->capd, 0, (n - e->capd) * sizeof *e->d);
		e->capd = n;
	}
	detail_reset(&e->d[e->nd]);
	e->d[e->nd].line = cur_line(c);
	e->nd++;
	return PERR_OK;
}

static const char *
nz(const struct fbuf *b)
{
	return b->p != NULL ? b->p : "";
}

static bool
is_ref(const char *s)
{
	return s[0] != '\0' && strcmp(s, "NOTPROVIDED") != 0;
}

/* The line's reference: see the comment at the top. */
static void
line_reference(struct cx *c, const struct detail *d, bool debit)
{
	const char *structured[2] = { NULL, NULL }, *text[3];

	if (d != NULL) {
		if (is_ref(nz(&d->e2e)))
			structured[0] = nz(&d->e2e);
		if (is_ref(nz(&d->cref)))
			structured[1] = nz(&d->cref);
	}
	text[0] = d != NULL ? nz(&d->ustrd) : NULL;
	text[1] = d != NULL ? nz(&d->addtl) : NULL;
	text[2] = nz(&c->e.addtl);
	if (refx_extract(c->o->refx, structured, 2, c->refbuf, sizeof c->refbuf) > 0)
		return;
	if (refx_extract(c->o->refx, text, 3, c->refbuf, sizeof c->refbuf) > 0)
		return;
	c->refbuf[0] = '\0';
	if (structured[1] != NULL)
		snprintf(c->refbuf, sizeof c->refbuf, "%s", structured[1]);
	else if (debit && structured[0] != NULL)
		snprintf(c->refbuf, sizeof c->refbuf, "%s", structured[0]);
}

/*
 * Sends one line: of the whole entry (d NULL or its only detail) or of detail k of a split batch
 * (amount its own). `booked` false: to the pending callback.
 */
static enum perr
emit(struct cx *c, const struct detail *d, int64_t k, int64_t details, int64_t amount, int64_t entry_amount,
    bool booked)
{
	struct entry *e = &c->e;
	struct stmt_line *l = &c->l;
	struct stmt_line_iso *x = &c->iso;
	bool credit = amount > 0, rev = strcmp(e->rvsl, "true") == 0 || strcmp(e->rvsl, "1") == 0;
	enum perr er;

	memset(l, 0, sizeof *l);
	memset(x, 0, sizeof *x);
	l->src_line = d != NULL && details > 1 ? d->line : e->line;
	if (e->bookg[0] != '\0') {
		if ((er = parse_date(c, e->line, "Ntry/BookgDt", e->bookg, &l->entry_date)) != PERR_OK)
			return er;
		l->has_entry_date = true;
	}
	if (e->val[0] != '\0') {
		if ((er = parse_date(c, e->line, "Ntry/ValDt", e->val, &l->value_date)) != PERR_OK)
			return er;
	} else if (l->has_entry_date) {
		l->value_date = l->entry_date;
	} else {
		return cerr(c, e->line, "the entry has neither BookgDt nor ValDt, expected at least one");
	}
	/* C and RD add to the balance, D and RC take away (see the top of the file). */
	snprintf(l->mark, sizeof l->mark, "%s%s", rev ? "R" : "", rev ? (credit ? "D" : "C") : (credit ? "C" : "D"));
	l->amount_minor = amount;
	if (e->domn[0] != '\0')
		snprintf(l->type_code, sizeof l->type_code, "%.4s/%.4s/%.4s", e->domn, e->fmly, e->sub);
	else
		snprintf(l->type_code, sizeof l->type_code, "%.15s", e->prtry);
	fbuf_reset(&c->sbank);
	if (d != NULL && nz(&d->svcr)[0] != '\0' && details > 1)
		fbuf_append(&c->sbank, nz(&d->svcr), d->svcr.len);
	else if (e->svcr[0] != '\0' && details > 1) {
		char n[24];

		fbuf_append(&c->sbank, e->svcr, strlen(e->svcr));
		snprintf(n, sizeof n, "/%lld", (long long)k);
		fbuf_append(&c->sbank, n, strlen(n));
	} else
		fbuf_append(&c->sbank, e->svcr, strlen(e->svcr));
	fbuf_reset(&c->narr);
	fbuf_append(&c->narr, "", 0);
	{
		const char *parts[3] = { nz(&e->addtl), d ? nz(&d->ustrd) : "", d ? nz(&d->addtl) : "" };
		int i;

		for (i = 0; i < 3; i++)
			if (parts[i][0] != '\0') {
				if (c->narr.len > 0)
					fbuf_putc(&c->narr, ' ');
				fbuf_append(&c->narr, parts[i], strlen(parts[i]));
			}
	}
	line_reference(c, d, !credit);
	x->status = e->sts;
	x->entry_ref = e->ref;
	x->entry_svcr_ref = e->svcr;
	x->end_to_end_id = d ? nz(&d->e2e) : "";
	x->instr_id = d ? nz(&d->instr) : "";
	x->tx_id = d ? nz(&d->txid) : "";
	x->msg_id = d && d->msgid.len > 0 ? nz(&d->msgid) : e->btch_msgid;
	x->pmtinf_id = d && d->pmtinf.len > 0 ? nz(&d->pmtinf) : e->btch_pmtinf;
	x->creditor_ref = d ? nz(&d->cref) : "";
	x->remittance = d ? nz(&d->ustrd) : "";
	/* the other side: who paid us on a credit, whom we paid on a debit (a reversal: the original's) */
	if (d != NULL && (credit != rev)) {
		x->counterparty_name = nz(&d->dbtr_nm);
		x->counterparty_account = nz(&d->dbtr_acct);
	} else if (d != NULL) {
		x->counterparty_name = nz(&d->cdtr_nm);
		x->counterparty_account = nz(&d->cdtr_acct);
	} else {
		x->counterparty_name = x->counterparty_account = "";
	}
	x->bank_tx_code = e->domn[0] ? l->type_code : "";
	x->prtry_code = e->prtry;
	x->reversal = rev;
	x->entry_no = c->entry_no;
	x->details = details;
	x->entry_amount_minor = entry_amount;
	l->customer_ref = is_ref(x->end_to_end_id) ? x->end_to_end_id : x->instr_id;
	l->bank_ref = nz(&c->sbank);
	l->supplementary = x->counterparty_name;
	l->narrative = nz(&c->narr);
	l->reference = c->refbuf;
	l->funds_code[0] = '\0';
	l->iso = x;
	if (!booked) {
		if (!money_add(c->h.pending_minor, amount, &c->h.pending_minor))
			return perr_set(PERR_MONEY_OVERFLOW, "%s:%ld: %s Ntry: the sum of the pending entries overflows",
			    c->path, e->line, c->label);
		c->h.pending_count++;
		return c->sink->pending != NULL ? c->sink->pending(c->sink->arg, &c->h, l) : PERR_OK;
	}
	if (!money_add(c->h.sum_minor, amount, &c->h.sum_minor))
		return perr_set(PERR_MONEY_OVERFLOW, "%s:%ld: %s Ntry: the sum of the statement's entries overflows",
		    c->path, e->line, c->label);
	c->h.line_count++;
	l->line_no = c->h.line_count;
	return c->sink->line != NULL ? c->sink->line(c->sink->arg, &c->h, l) : PERR_OK;
}

/* An Ntry ends: checked, then sent as one line or one line per detail. */
static enum perr
entry_end(struct cx *c)
{
	struct entry *e = &c->e;
	int64_t amount, sum = 0, *amts = NULL;
	int sign = 1;
	size_t i, with_amt = 0;
	bool booked;
	enum perr er;

	c->in_entry = false;
	c->entry_no++;
	if (e->amt[0] == '\0' || e->cdi[0] == '\0' || e->sts[0] == '\0')
		return cerr(c, e->line, "the entry needs Amt, CdtDbtInd and Sts");
	if (strcmp(e->sts, "BOOK") == 0)
		booked = true;
	else if (strcmp(e->sts, "PDNG") == 0 || strcmp(e->sts, "INFO") == 0 || strcmp(e->sts, "FUTR") == 0)
		booked = false;
	else
		return cerr(c, e->line, "entry status \"%s\" is not BOOK, PDNG, INFO or FUTR", e->sts);
	if ((er = parse_amt(c, e->amt_line, "Ntry/Amt", e->amt, e->ccy, &amount)) != PERR_OK
	    || (er = cdi_sign(c, e->line, "Ntry/CdtDbtInd", e->cdi, &sign)) != PERR_OK)
		return er;
	if (amount == 0)
		return cerr(c, e->line, "the entry's amount is zero, expected a movement");
	if (e->rvsl[0] != '\0' && strcmp(e->rvsl, "true") != 0 && strcmp(e->rvsl, "false") != 0
	    && strcmp(e->rvsl, "1") != 0 && strcmp(e->rvsl, "0") != 0)
		return cerr(c, e->line, "RvslInd \"%s\" is not true or false", e->rvsl);
	amount *= sign;
	for (i = 0; i < e->nd; i++)
		if (e->d[i].has_amt)
			with_amt++;
	if (e->nd < 2 || with_amt == 0) {
		/* one line: the entry (a batch without amounts per detail stays one line) */
		const struct detail *d = e->nd == 1 ? &e->d[0] : NULL;

		if (d != NULL && d->has_amt && strcmp(d->ccy, c->h.currency) == 0) {
			int64_t a;
			int s2 = sign;

			if ((er = parse_amt(c, d->amt_line, "TxDtls/Amt", d->amt, d->ccy, &a)) != PERR_OK
			    || (d->cdi[0] && (er = cdi_sign(c, d->line, "TxDtls/CdtDbtInd", d->cdi, &s2)) != PERR_OK))
				return er;
			if (a * s2 != amount)
				return cerr(c, d->line, "the transaction detail's amount %s %s differs from its entry's %s "
				    "(rule: the details sum to the entry)", d->amt, d->ccy, e->amt);
		}
		return emit(c, d, 1, 1, amount, amount, booked);
	}
	if (with_amt != e->nd)
		return cerr(c, e->line, "%zu of the entry's %zu TxDtls carry an amount, expected all or none",
		    with_amt, e->nd);
	amts = xmalloc(e->nd * sizeof *amts);
	for (i = 0; i < e->nd; i++) {
		const struct detail *d = &e->d[i];
		int s2 = sign;

		if ((er = parse_amt(c, d->amt_line, "TxDtls/Amt", d->amt, d->ccy, &amts[i])) != PERR_OK
		    || (d->cdi[0] && (er = cdi_sign(c, d->line, "TxDtls/CdtDbtInd", d->cdi, &s2)) != PERR_OK))
			goto out;
		if (amts[i] == 0) {
			er = cerr(c, d->line, "a transaction detail's amount is zero, expected a movement");
			goto out;
		}
		amts[i] *= s2;
		if (!money_add(sum, amts[i], &sum)) {
			er = perr_set(PERR_MONEY_OVERFLOW, "%s:%ld: %s TxDtls: the details' sum overflows", c->path,
			    d->line, c->label);
			goto out;
		}
	}
	if (sum != amount) {
		char a[MONEY_BUFSZ], b[MONEY_BUFSZ];

		er = cerr(c, e->line, "the %zu transaction details sum to %s %s but the entry's amount is %s %s "
		    "(rule: the details sum to the entry)", e->nd, c->h.currency, money_format(sum, c->h.exponent, a),
		    c->h.currency, money_format(amount, c->h.exponent, b));
		goto out;
	}
	for (i = 0; i < e->nd; i++) {
		if ((er = emit(c, &e->d[i], (int64_t)i + 1, (int64_t)e->nd, amts[i], amount, booked)) != PERR_OK)
			goto out;
	}
	er = PERR_OK;
out:
	free(amts);
	return er;
}

/* ---- the element dispatch ---- */

/* The path of the element being closed, relative to "<stmt>/" (or "" outside a statement). */
static const char *
rel(const struct cx *c)
{
	if (c->stmt_depth == 0 || c->depth <= c->stmt_depth)
		return "";
	return c->xpath + c->name[c->stmt_depth + 1];
}

/* The text of an element of the statement (not of an entry) ends. */
static enum perr
header_text(struct cx *c, const char *p)
{
	struct bal *b = &c->bal;

	if (strcmp(p, "Id") == 0)
		return take(c, c->h.stmt_ref, sizeof c->h.stmt_ref, 35);
	if (strcmp(p, "CreDtTm") == 0 && c->h.notification) {
		char dt[32];
		enum perr e;

		/* a notification has no balances: its "opening" and "closing" dates are its creation date */
		if ((e = take(c, dt, sizeof dt, 31)) != PERR_OK
		    || (e = parse_date(c, cur_line(c), "CreDtTm", dt, &c->h.opening.date)) != PERR_OK)
			return e;
		c->h.closing.date = c->h.opening.date;
		return PERR_OK;
	}
	if (strcmp(p, "ElctrncSeqNb") == 0) {
		enum perr e = take(c, c->elseq, sizeof c->elseq, 18);
		size_t i;

		for (i = 0; e == PERR_OK && c->elseq[i]; i++)
			if (c->elseq[i] < '0' || c->elseq[i] > '9')
				return cerr(c, cur_line(c), "\"%s\" is not a number", c->elseq);
		return e;
	}
	if (strcmp(p, "Acct/Id/IBAN") == 0 || strcmp(p, "Acct/Id/Othr/Id") == 0)
		return take(c, c->h.account, sizeof c->h.account, 34);
	if (strcmp(p, "Acct/Ccy") == 0) {
		enum perr e;

		if ((e = take(c, c->acct_ccy, sizeof c->acct_ccy, 3)) != PERR_OK)
			return e;
		if (c->h.currency[0] != '\0' && strcmp(c->h.currency, c->acct_ccy) != 0)
			return cerr(c, cur_line(c), "account currency %s differs from %s", c->acct_ccy, c->h.currency);
		return set_currency(c, cur_line(c), c->acct_ccy);
	}
	if (strcmp(p, "Bal/Tp/CdOrPrtry/Cd") == 0)
		return take(c, b->tp, sizeof b->tp, 4);
	if (strcmp(p, "Bal/Amt") == 0) {
		snprintf(b->ccy, sizeof b->ccy, "%.3s", c->amt_ccy_set ? c->amt_ccy : "");
		return take(c, b->amt, sizeof b->amt, 30);
	}
	if (strcmp(p, "Bal/CdtDbtInd") == 0)
		return take(c, b->cdi, sizeof b->cdi, 4);
	if (strcmp(p, "Bal/Dt/Dt") == 0 || strcmp(p, "Bal/Dt/DtTm") == 0)
		return take(c, b->dt, sizeof b->dt, 31);
	return PERR_OK;
}

/* The text of an element inside a TxDtls ends (p relative to the TxDtls). */
static enum perr
detail_text(struct cx *c, struct detail *d, const char *p)
{
	if (strcmp(p, "Refs/EndToEndId") == 0)
		return take_buf(c, &d->e2e, 35);
	if (strcmp(p, "Refs/InstrId") == 0)
		return take_buf(c, &d->instr, 35);
	if (strcmp(p, "Refs/TxId") == 0)
		return take_buf(c, &d->txid, 35);
	if (strcmp(p, "Refs/MsgId") == 0)
		return take_buf(c, &d->msgid, 35);
	if (strcmp(p, "Refs/PmtInfId") == 0)
		return take_buf(c, &d->pmtinf, 35);
	if (strcmp(p, "Refs/AcctSvcrRef") == 0)
		return take_buf(c, &d->svcr, 35);
	if (strcmp(p, "RmtInf/Ustrd") == 0)
		return take_append(c, &d->ustrd, 1400);
	if (strcmp(p, "RmtInf/Strd/CdtrRefInf/Ref") == 0)
		return take_buf(c, &d->cref, 35);
	if (strcmp(p, "AddtlTxInf") == 0)
		return take_buf(c, &d->addtl, 500);
	if (strcmp(p, "Amt") == 0 || strcmp(p, "AmtDtls/TxAmt/Amt") == 0) {
		if (strcmp(p, "AmtDtls/TxAmt/Amt") == 0 && d->has_amt)
			return PERR_OK;    /* .08: TxDtls/Amt comes first and wins */
		d->has_amt = true;
		d->amt_line = cur_line(c);
		snprintf(d->ccy, sizeof d->ccy, "%.3s", c->amt_ccy_set ? c->amt_ccy : "");
		return take(c, d->amt, sizeof d->amt, 30);
	}
	if (strcmp(p, "CdtDbtInd") == 0)
		return take(c, d->cdi, sizeof d->cdi, 4);
	if (strcmp(p, "RltdPties/Dbtr/Nm") == 0 || strcmp(p, "RltdPties/Dbtr/Pty/Nm") == 0)
		return take_buf(c, &d->dbtr_nm, 140);
	if (strcmp(p, "RltdPties/Cdtr/Nm") == 0 || strcmp(p, "RltdPties/Cdtr/Pty/Nm") == 0)
		return take_buf(c, &d->cdtr_nm, 140);
	if (strcmp(p, "RltdPties/DbtrAcct/Id/IBAN") == 0 || strcmp(p, "RltdPties/DbtrAcct/Id/Othr/Id") == 0)
		return take_buf(c, &d->dbtr_acct, 34);
	if (strcmp(p, "RltdPties/CdtrAcct/Id/IBAN") == 0 || strcmp(p, "RltdPties/CdtrAcct/Id/Othr/Id") == 0)
		return take_buf(c, &d->cdtr_acct, 34);
	return PERR_OK;
}

/* The text of an element inside an Ntry ends (p relative to the Ntry). */
static enum perr
entry_text(struct cx *c, const char *p)
{
	struct entry *e = &c->e;
	static const char txd[] = "NtryDtls/TxDtls/";

	if (strncmp(p, txd, sizeof txd - 1) == 0 && e->nd > 0)
		return detail_text(c, &e->d[e->nd - 1], p + sizeof txd - 1);
	if (strcmp(p, "NtryRef") == 0)
		return take(c, e->ref, sizeof e->ref, 35);
	if (strcmp(p, "Amt") == 0) {
		e->amt_line = cur_line(c);
		snprintf(e->ccy, sizeof e->ccy, "%.3s", c->amt_ccy_set ? c->amt_ccy : "");
		return take(c, e->amt, sizeof e->amt, 30);
	}
	if (strcmp(p, "CdtDbtInd") == 0)
		return take(c, e->cdi, sizeof e->cdi, 4);
	if (strcmp(p, "RvslInd") == 0)
		return take(c, e->rvsl, sizeof e->rvsl, 5);
	/* .02 <Sts>BOOK</Sts>, .08 <Sts><Cd>BOOK</Cd></Sts> (whose container then ends without text) */
	if (strcmp(p, "Sts/Cd") == 0 || (strcmp(p, "Sts") == 0 && c->text.len > 0))
		return take(c, e->sts, sizeof e->sts, 4);
	if (strcmp(p, "Sts/Prtry") == 0)
		return cerr(c, cur_line(c), "a proprietary entry status is not supported, expected Sts/Cd BOOK or PDNG");
	if (strcmp(p, "BookgDt/Dt") == 0 || strcmp(p, "BookgDt/DtTm") == 0)
		return take(c, e->bookg, sizeof e->bookg, 31);
	if (strcmp(p, "ValDt/Dt") == 0 || strcmp(p, "ValDt/DtTm") == 0)
		return take(c, e->val, sizeof e->val, 31);
	if (strcmp(p, "AcctSvcrRef") == 0)
		return take(c, e->svcr, sizeof e->svcr, 35);
	if (strcmp(p, "BkTxCd/Domn/Cd") == 0)
		return take(c, e->domn, sizeof e->domn, 4);
	if (strcmp(p, "BkTxCd/Domn/Fmly/Cd") == 0)
		return take(c, e->fmly, sizeof e->fmly, 4);
	if (strcmp(p, "BkTxCd/Domn/Fmly/SubFmlyCd") == 0)
		return take(c, e->sub, sizeof e->sub, 4);
	if (strcmp(p, "BkTxCd/Prtry/Cd") == 0)
		return take(c, e->prtry, sizeof e->prtry, 35);
	if (strcmp(p, "AddtlNtryInf") == 0)
		return take_buf(c, &e->addtl, 500);
	if (strcmp(p, "NtryDtls/Btch/MsgId") == 0)
		return take(c, e->btch_msgid, sizeof e->btch_msgid, 35);
	if (strcmp(p, "NtryDtls/Btch/PmtInfId") == 0)
		return take(c, e->btch_pmtinf, sizeof e->btch_pmtinf, 35);
	return PERR_OK;
}

/* The root: Document in a known namespace, else refused with what is accepted. */
static enum perr
check_root(struct cx *c, const char *name)
{
	const xmlChar *ns = xmlTextReaderConstNamespaceUri(c->r);
	size_t i;

	if (strcmp(name, "Document") != 0)
		return perr_set(PERR_PARSE, "%s:%ld: camt: the root element is <%s>, expected <Document> of "
		    "camt.053.001.02, camt.053.001.08 or camt.054.001.02", c->path, cur_line(c), name);
	for (i = 0; ns != NULL && i < sizeof msgs / sizeof msgs[0]; i++)
		if (strcmp((const char *)ns, msgs[i].ns) == 0) {
			c->msg = (enum msg)i;
			c->msg_known = true;
			c->label = msgs[i].label;
			return PERR_OK;
		}
	return perr_set(PERR_PARSE, "%s:%ld: camt: namespace \"%.120s\" is not supported, expected %s, %s or %s "
	    "(rule: the namespace decides the message and version)", c->path, cur_line(c),
	    ns ? (const char *)ns : "(none)", msgs[0].ns, msgs[1].ns, msgs[2].ns);
}

static enum perr
element_start(struct cx *c)
{
	const char *name = (const char *)xmlTextReaderConstLocalName(c->r);
	size_t n = name ? strlen(name) : 0;
	enum perr e;

	if (n == 0 || n > CAMT_MAX_NAME)
		return cerr(c, cur_line(c), "an element name of %zu bytes, expected 1 to %d", n, CAMT_MAX_NAME);
	if (c->depth >= CAMT_MAX_DEPTH)
		return cerr(c, cur_line(c), "elements nested deeper than %d", CAMT_MAX_DEPTH);
	if (c->depth == 0 && (e = check_root(c, name)) != PERR_OK)
		return e;
	if (c->depth > 0 && strstr(c->xpath, "/Envlp") == NULL) {   /* SplmtryData/Envlp holds any namespace */
		const xmlChar *ns = xmlTextReaderConstNamespaceUri(c->r);

		if (ns == NULL || strcmp((const char *)ns, msgs[c->msg].ns) != 0)
			return cerr(c, cur_line(c), "element <%s> is not in the document's namespace %s", name,
			    msgs[c->msg].ns);
	}
	if (strlen(c->xpath) + n + 2 >= sizeof c->xpath)
		return cerr(c, cur_line(c), "element path longer than %d bytes", CAMT_MAX_PATH);
	c->depth++;
	c->start[c->depth] = strlen(c->xpath);
	if (c->depth > 1)
		strcat(c->xpath, "/");
	c->name[c->depth] = strlen(c->xpath);
	strcat(c->xpath, name);
	fbuf_reset(&c->text);
	c->amt_ccy_set = false;
	if (strcmp(name, "Amt") == 0 || strcmp(name, "TtlAmt") == 0) {
		xmlChar *ccy = xmlTextReaderGetAttribute(c->r, (const xmlChar *)"Ccy");

		if (ccy != NULL) {
			snprintf(c->amt_ccy, sizeof c->amt_ccy, "%.3s", (const char *)ccy);
			c->amt_ccy_set = xmlStrlen(ccy) == 3;
			xmlFree(ccy);
		}
	}
	if (c->depth == 2 && strcmp(name, msgs[c->msg].root) != 0)
		return cerr(c, cur_line(c), "expected <%s> under <Document>", msgs[c->msg].root);
	if (c->depth == 3 && strcmp(name, msgs[c->msg].stmt) == 0) {
		c->stmt_depth = c->depth;
		stmt_reset(c);
		return PERR_OK;
	}
	if (c->stmt_depth > 0 && c->depth == c->stmt_depth + 1) {
		if (strcmp(name, "Ntry") == 0) {
			if ((e = stmt_begin(c)) != PERR_OK)
				return e;
			entry_reset(c);
			c->in_entry = true;
		} else if (strcmp(name, "Bal") == 0) {
			if (c->begun)
				return cerr(c, cur_line(c), "a balance after the entries, expected the balances first");
			memset(&c->bal, 0, sizeof c->bal);
			c->bal.line = cur_line(c);
		}
	}
	if (c->in_entry && strcmp(rel(c), "Ntry/NtryDtls/TxDtls") == 0)
		return detail_new(c);
	return PERR_OK;
}

static enum perr
element_end(struct cx *c)
{
	const char *p = rel(c);
	enum perr e = PERR_OK;

	if (c->text.len > 0 || p[0] != '\0') {
		/* trim: the schemas' text types carry no meaningful leading or trailing space */
		while (c->text.len > 0 && c->text.p[c->text.len - 1] == ' ')
			c->text.p[--c->text.len] = '\0';
	}
	if (c->stmt_depth > 0 && c->depth == c->stmt_depth) {
		e = stmt_end(c);
		c->stmt_depth = 0;
	} else if (c->in_entry && strcmp(p, "Ntry") == 0) {
		e = entry_end(c);
	} else if (c->in_entry && strncmp(p, "Ntry/", 5) == 0) {
		e = entry_text(c, p + 5);
	} else if (c->stmt_depth > 0 && strcmp(p, "Bal") == 0) {
		e = bal_end(c);
	} else if (c->stmt_depth > 0) {
		e = header_text(c, p);
	}
	c->xpath[c->start[c->depth]] = '\0';
	c->depth--;
	fbuf_reset(&c->text);
	return e;
}

/* Text of the current element: spaces collapsed (tabs and line ends are spaces), bounded. */
static enum perr
element_text(struct cx *c)
{
	const char *v = (const char *)xmlTextReaderConstValue(c->r);
	size_t n = v ? strlen(v) : 0, i;

	if (c->text.len + n > CAMT_MAX_TEXT)
		return cerr(c, cur_line(c), "text longer than %d bytes", CAMT_MAX_TEXT);
	for (i = 0; i < n; i++) {
		char ch = v[i] == '\t' || v[i] == '\n' || v[i] == '\r' ? ' ' : v[i];

		if (ch == ' ' && (c->text.len == 0 || c->text.p[c->text.len - 1] == ' '))
			continue;
		fbuf_putc(&c->text, ch);
	}
	return PERR_OK;
}

static enum perr
xml_error(struct cx *c)
{
	long line = c->xerr_line > 0 ? c->xerr_line : cur_line(c);

	return perr_set(PERR_PARSE, "%s:%ld: %s: the XML is not well-formed: %s", c->path, line,
	    c->label, c->xerr[0] ? c->xerr : "read error");
}

static enum perr
walk(struct cx *c)
{
	int rc;
	enum perr e;

	while ((rc = xmlTextReaderRead(c->r)) == 1) {
		int t = xmlTextReaderNodeType(c->r);

		switch (t) {
		case XML_READER_TYPE_DOCUMENT_TYPE:
			return perr_set(PERR_PARSE, "%s:%ld: %s: a DOCTYPE is not allowed (rule: no DTD, no entities)",
			    c->path, cur_line(c), c->label);
		case XML_READER_TYPE_ENTITY_REFERENCE:
		case XML_READER_TYPE_ENTITY:
			return perr_set(PERR_PARSE, "%s:%ld: %s: an entity reference is not allowed (rule: no DTD, no "
			    "entities)", c->path, cur_line(c), c->label);
		case XML_READER_TYPE_ELEMENT:
			if ((e = element_start(c)) != PERR_OK)
				return e;
			if (xmlTextReaderIsEmptyElement(c->r) && (e = element_end(c)) != PERR_OK)
				return e;
			break;
		case XML_READER_TYPE_END_ELEMENT:
			if ((e = element_end(c)) != PERR_OK)
				return e;
			break;
		case XML_READER_TYPE_TEXT:
		case XML_READER_TYPE_CDATA:
			if (c->depth == 0)
				break;
			if ((e = element_text(c)) != PERR_OK)
				return e;
			break;
		default:
			break;   /* comments, processing instructions, whitespace between elements */
		}
	}
	if (rc < 0 || c->xerr[0] != '\0')
		return xml_error(c);
	return PERR_OK;
}

bool
camt_sniff(const char *head, size_t n)
{
	char buf[1025];
	size_t k = n < sizeof buf - 1 ? n : sizeof buf - 1;
	const char *p;

	memcpy(buf, head, k);
	buf[k] = '\0';
	for (p = buf; (size_t)(p - buf) < k && strchr(" \t\r\n", *p); p++)
		;
	if (*p != '<')
		return false;
	p = strstr(buf, NS_PREFIX);
	return p != NULL && (strncmp(p + sizeof NS_PREFIX - 1, "camt.053.", 9) == 0
	    || strncmp(p + sizeof NS_PREFIX - 1, "camt.054.", 9) == 0);
}

enum perr
camt_parse(FILE *fp, const struct parse_opts *o, const struct stmt_sink *sink)
{
	struct cx *c = xcalloc(1, sizeof *c);
	enum perr e;
	size_t i;

	c->o = o;
	c->sink = sink;
	c->path = o->path;
	c->label = "camt";
	xmlSetExternalEntityLoader(refuse_loader);
	/* No NOENT (entities are not substituted), no DTDLOAD/DTDATTR/DTDVALID, no XINCLUDE, no HUGE. */
	c->r = xmlReaderForIO(read_cb, NULL, fp, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_BIG_LINES);
	if (c->r == NULL) {
		free(c);
		return perr_set(PERR_NOMEM, "%s: camt: cannot create the XML reader", o->path);
	}
	xmlTextReaderSetStructuredErrorHandler(c->r, error_cb, c);
	e = walk(c);
	if (e == PERR_OK && !c->msg_known)
		e = perr_set(PERR_PARSE, "%s:1: camt: the file holds no XML document, expected <Document> of "
		    "camt.053.001.02, camt.053.001.08 or camt.054.001.02", o->path);
	if (e == PERR_OK && c->nstmts == 0)
		e = perr_set(PERR_PARSE, "%s:%ld: %s: no %s in the file, expected at least one", o->path, cur_line(c),
		    c->label, msgs[c->msg].stmt);
	xmlFreeTextReader(c->r);
	for (i = 0; i < c->e.capd; i++)
		detail_free(&c->e.d[i]);
	free(c->e.d);
	fbuf_free(&c->e.addtl);
	fbuf_free(&c->text);
	fbuf_free(&c->narr);
	fbuf_free(&c->sbank);
	free(c);
	return e;
}
