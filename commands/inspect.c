/*
 * inspect.c - `pipeline inspect [--format NAME] [--source NAME] [--encoding ENC] [--strict] FILE...`:
 * parses statement files without touching the database and prints them as JSON Lines: per statement a
 * {"kind":"statement",...} object, then one {"kind":"line",...} object per line (a trustee
 * register prints {"kind":"register",...} then {"kind":"holding",...}). A line whose MT940 :86: is
 * structured (formats/mt940_86.h) carries "details" (counterparty, end-to-end reference, purpose);
 * a file that is not standard MT940 ends with {"kind":"deviations",...} listing what was
 * tolerated (--strict, or the source's mt940_strict, refuses it instead); a pain.002 status report
 * prints {"kind":"status_report",...} then {"kind":"status",...}. This is how a person
 * checks a new bank's file before it goes live.
 *
 * Each file is read twice: the first pass validates the whole file and collects the statement
 * headers (the closing balance comes after the lines), the second prints. Memory grows with the
 * number of statements in a file, not with its lines. A file that fails prints nothing on stdout
 * and its error on stderr; the exit status is 1 if any file failed.
 *
 * Between the passes each statement goes through the normalize stage's completeness gate as far
 * as it needs no database (formats/gate.c): its balance, its continuity with the account's
 * previous statement in the same file, and whether it repeats one earlier in the file. The
 * statement record says "gate":{"verdict":...,"problems":[...]}; the exit status is 1 unless
 * every statement would pass.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "trust.h"
#include "errors.h"
#include "gate.h"
#include "jsonout.h"
#include "layout.h"
#include "money.h"
#include "mt940_86.h"
#include "pain002.h"
#include "refx.h"
#include "statement.h"
#include "util.h"

/* A statement's gate verdict: "PASSED", "BALANCE_BREAK", "STATEMENT_GAP" or "DUPLICATE". */
struct verdict {
	const char *verdict;
	char *problem;          /* what is wrong, or NULL (owned) */
	char sha[65];           /* the content hash normalize would record */
	char account[64];       /* the account normalize would load it for */
};

struct collect {
	struct stmt_header *h;
	struct verdict *v;
	size_t n, cap;
	const char *want_account;   /* the source's account_no, or NULL */
	EVP_MD_CTX *sha;
	struct fbuf row;
	int64_t reg_rows;
	bool reg_have_as_of;
	date_t reg_as_of;
};

/* The account normalize loads a statement for: the file's, else the source's (as stages/normalize.c). */
static void
collect_account(const struct collect *c, const struct stmt_header *h, char out[64])
{
	const char *want = c->want_account;
	size_t n = strlen(h->account), w = want ? strlen(want) : 0;

	if (h->account[0] == '\0' || (want != NULL && n > w + 1 && h->account[n - w - 1] == '/'
	    && strcmp(h->account + n - w, want) == 0))
		snprintf(out, 64, "%s", want ? want : "");
	else
		snprintf(out, 64, "%s", h->account);
}

static enum perr
collect_begin(void *arg, const struct stmt_header *h)
{
	struct collect *c = arg;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->h = xrealloc(c->h, c->cap * sizeof *c->h);
		c->v = xrealloc(c->v, c->cap * sizeof *c->v);
	}
	memset(&c->v[c->n], 0, sizeof c->v[c->n]);
	collect_account(c, h, c->v[c->n].account);
	EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL);
	return PERR_OK;
}

static enum perr
collect_line(void *arg, const struct stmt_header *h, const struct stmt_line *l)
{
	struct collect *c = arg;

	stmt_line_row(&c->row, c->v[c->n].account, h, l);
	EVP_DigestUpdate(c->sha, c->row.p, c->row.len);
	return PERR_OK;
}

static enum perr
collect_end(void *arg, const struct stmt_header *h)
{
	struct collect *c = arg;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	stmt_header_canon(&c->row, h, c->v[c->n].account);
	EVP_DigestUpdate(c->sha, c->row.p, c->row.len);
	EVP_DigestFinal_ex(c->sha, md, &n);
	for (i = 0; i < n && i < 32; i++)
		snprintf(c->v[c->n].sha + 2 * i, 3, "%02x", md[i]);
	c->h[c->n++] = *h;
	return PERR_OK;
}

/*
 * The gate, statement by statement in the file's order, as normalize runs it: a statement that
 * does not add up fails; one already seen in the file is a duplicate; one that does not follow
 * the account's previous statement in the file is a gap. Returns the number that would not pass.
 */
static size_t
judge(struct collect *c, const struct format *fmt)
{
	size_t i, j, failed = 0;

	for (i = 0; i < c->n; i++) {
		const struct stmt_header *h = &c->h[i];
		struct verdict *v = &c->v[i];
		int64_t expect;
		char a[MONEY_BUFSZ], b[MONEY_BUFSZ], d[MONEY_BUFSZ], cl[MONEY_BUFSZ];
		const struct stmt_header *prev = NULL;

		v->verdict = "PASSED";
		if (h->notification) {
			/* camt.054: a notification is not a statement; normalize never gates it either */
			v->verdict = "NOTIFICATION";
			continue;
		}
		if (!stmt_balanced(h, &expect)) {
			v->verdict = "BALANCE_BREAK";
			v->problem = xasprintf("opening %s + lines %s = %s, but the closing balance is %s %s",
			    money_format(h->opening.amount_minor, h->exponent, a), money_format(h->sum_minor, h->exponent, b),
			    money_format(expect, h->exponent, d), h->currency, money_format(h->closing.amount_minor,
			    h->exponent, cl));
			failed++;
			continue;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(c->v[j].account, v->account) != 0 || strcmp(c->v[j].verdict, "PASSED") != 0)
				continue;
			if (strcmp(c->v[j].sha, v->sha) == 0 && strcmp(c->h[j].statement_no, h->statement_no) == 0
			    && strcmp(c->h[j].sequence_no, h->sequence_no) == 0) {
				v->verdict = "DUPLICATE";
				v->problem = xasprintf("the same statement as the one at line %ld: it would be loaded once",
				    c->h[j].src_line);
				break;
			}
			prev = &c->h[j];
		}
		if (v->problem == NULL && prev != NULL)
			v->problem = gate_continuity(prev->statement_no, prev->sequence_no, prev->closing.amount_minor,
			    prev->closing.date, h, gate_numbers_checked(fmt));
		if (v->problem != NULL && strcmp(v->verdict, "PASSED") == 0)
			v->verdict = "STATEMENT_GAP";
		failed += v->problem != NULL;
	}
	return failed;
}

static void
collect_free(struct collect *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->v[i].problem);
	free(c->h);
	free(c->v);
	fbuf_free(&c->row);
	EVP_MD_CTX_free(c->sha);
}

static enum perr
collect_reg_end(void *arg, int64_t rows, bool have_as_of, date_t as_of)
{
	struct collect *c = arg;

	c->reg_rows = rows;
	c->reg_have_as_of = have_as_of;
	c->reg_as_of = as_of;
	return PERR_OK;
}

struct printer {
	FILE *out;
	const struct collect *c;
	size_t idx;            /* statement being printed */
	const char *file;
	const char *format;
	bool camt;             /* camt.053/054: the statement record carries the ISO fields too */
};

static json_t *
date_json(date_t d)
{
	char b[DATE_BUFSZ];

	return jsonout_str(date_format_iso(d, b));
}

static json_t *
balance_json(const struct stmt_balance *b)
{
	json_t *o = json_object();
	char mark[2] = { b->mark ? b->mark : 'C', '\0' };

	jsonout_set(o, "date", date_json(b->date));
	jsonout_set(o, "amount_minor", jsonout_int(b->amount_minor));
	jsonout_set(o, "mark", jsonout_str(mark));
	jsonout_set(o, "intermediate", json_boolean(b->intermediate));
	return o;
}

/* Writes one JSON Lines record and releases it; a failed write is an I/O error. */
static enum perr
put_record(FILE *fp, json_t *o)
{
	if (jsonout_write(fp, o, JSONOUT_COMPACT, "\n") != 0)
		return perr_set(PERR_IO, "inspect: writing to standard output failed");
	return PERR_OK;
}

/* A structured :86:, decoded: only for lines that have one (the other lines keep their shape). */
static json_t *
details_json(const struct info86 *in)
{
	json_t *o = json_object();

	jsonout_set(o, "structure", jsonout_str(in->kind == INFO86_GVC ? "gvc" : "slash"));
	jsonout_set(o, "code", jsonout_str(in->code));
	jsonout_set(o, "posting_text", jsonout_str(in->posting_text.p));
	jsonout_set(o, "end_to_end_ref", jsonout_str(in->eref.p));
	jsonout_set(o, "customer_ref", jsonout_str(in->kref.p));
	jsonout_set(o, "mandate_ref", jsonout_str(in->mref.p));
	jsonout_set(o, "creditor_id", jsonout_str(in->cred.p));
	jsonout_set(o, "remittance", jsonout_str(in->svwz.p));
	jsonout_set(o, "purpose", jsonout_str(in->purpose.p));
	jsonout_set(o, "counterparty_name", jsonout_str(in->name.p));
	jsonout_set(o, "counterparty_account", jsonout_str(in->account.p));
	jsonout_set(o, "counterparty_bic", jsonout_str(in->bic.p));
	return o;
}

/* {"kind":"deviations",...} after a file's statements, when the parser tolerated any. */
static enum perr
print_deviations(FILE *fp, const char *path, const char *format, const struct deviations *dv)
{
	json_t *o, *a;

	if (dv->n == 0)
		return PERR_OK;
	o = json_object();
	a = json_array();
	for (int i = 0; i < dv->n; i++) {
		json_t *d = json_object();

		jsonout_set(d, "code", jsonout_str(dv->d[i].code));
		jsonout_set(d, "first_line", jsonout_int(dv->d[i].first_line));
		jsonout_set(d, "count", jsonout_int(dv->d[i].count));
		jsonout_set(d, "what", jsonout_str(dv->d[i].what));
		json_array_append_new(a, d);
	}
	jsonout_set(o, "kind", jsonout_str("deviations"));
	jsonout_set(o, "file", jsonout_str(path));
	jsonout_set(o, "format", jsonout_str(format));
	jsonout_set(o, "deviations", a);
	return put_record(fp, o);
}

static enum perr
print_begin(void *arg, const struct stmt_header *hb)
{
	struct printer *p = arg;
	const struct stmt_header *h;
	json_t *o;

	(void)hb;
	if (p->idx >= p->c->n)
		return perr_set(PERR_INTERNAL, "%s: the file changed between the two passes", p->file);
	h = &p->c->h[p->idx];
	o = json_object();
	jsonout_set(o, "kind", jsonout_str("statement"));
	jsonout_set(o, "file", jsonout_str(p->file));
	jsonout_set(o, "format", jsonout_str(p->format));
	jsonout_set(o, "account", jsonout_str(h->account));
	jsonout_set(o, "statement_no", jsonout_str(h->statement_no));
	jsonout_set(o, "sequence_no", jsonout_str(h->sequence_no));
	jsonout_set(o, "currency", jsonout_str(h->currency));
	jsonout_set(o, "opening", balance_json(&h->opening));
	jsonout_set(o, "closing", balance_json(&h->closing));
	jsonout_set(o, "line_count", jsonout_int(h->line_count));
	if (p->camt) {
		jsonout_set(o, "stmt_ref", jsonout_str(h->stmt_ref));
		jsonout_set(o, "notification", json_boolean(h->notification));
		jsonout_set(o, "pending_count", jsonout_int(h->pending_count));
		jsonout_set(o, "pending_minor", jsonout_int(h->pending_minor));
	}
	{
		json_t *g = json_object(), *problems = json_array();

		if (p->c->v[p->idx].problem != NULL)
			json_array_append_new(problems, jsonout_str(p->c->v[p->idx].problem));
		jsonout_set(g, "verdict", jsonout_str(p->c->v[p->idx].verdict));
		jsonout_set(g, "problems", problems);
		jsonout_set(o, "gate", g);
	}
	return put_record(p->out, o);
}

/* What a camt entry or detail carries beyond the canonical fields (statement.h, stmt_line_iso). */
static json_t *
iso_json(const struct stmt_line_iso *x)
{
	json_t *o = json_object();

	jsonout_set(o, "status", jsonout_str(x->status));
	jsonout_set(o, "entry_no", jsonout_int(x->entry_no));
	jsonout_set(o, "entry_amount_minor", jsonout_int(x->entry_amount_minor));
	jsonout_set(o, "details", jsonout_int(x->details));
	jsonout_set(o, "reversal", json_boolean(x->reversal));
	jsonout_set(o, "entry_ref", jsonout_str(x->entry_ref));
	jsonout_set(o, "entry_svcr_ref", jsonout_str(x->entry_svcr_ref));
	jsonout_set(o, "end_to_end_id", jsonout_str(x->end_to_end_id));
	jsonout_set(o, "instr_id", jsonout_str(x->instr_id));
	jsonout_set(o, "tx_id", jsonout_str(x->tx_id));
	jsonout_set(o, "msg_id", jsonout_str(x->msg_id));
	jsonout_set(o, "pmtinf_id", jsonout_str(x->pmtinf_id));
	jsonout_set(o, "creditor_ref", jsonout_str(x->creditor_ref));
	jsonout_set(o, "remittance", jsonout_str(x->remittance));
	jsonout_set(o, "counterparty_name", jsonout_str(x->counterparty_name));
	jsonout_set(o, "counterparty_account", jsonout_str(x->counterparty_account));
	jsonout_set(o, "bank_tx_code", jsonout_str(x->bank_tx_code));
	jsonout_set(o, "prtry_code", jsonout_str(x->prtry_code));
	return o;
}

static enum perr print_entry(struct printer *p, const char *kind, const struct stmt_header *h,
    const struct stmt_line *l);

static enum perr
print_line(void *arg, const struct stmt_header *h, const struct stmt_line *l)
{
	return print_entry(arg, "line", h, l);
}

/* A camt entry that is not booked (PDNG...): listed as {"kind":"pending",...}, never a line. */
static enum perr
print_pending(void *arg, const struct stmt_header *h, const struct stmt_line *l)
{
	return print_entry(arg, "pending", h, l);
}

static enum perr
print_entry(struct printer *p, const char *kind, const struct stmt_header *h, const struct stmt_line *l)
{
	json_t *o = json_object();

	jsonout_set(o, "kind", jsonout_str(kind));
	jsonout_set(o, "line_no", jsonout_int(l->line_no));
	jsonout_set(o, "value_date", date_json(l->value_date));
	jsonout_set(o, "entry_date", l->has_entry_date ? date_json(l->entry_date) : json_null());
	jsonout_set(o, "mark", jsonout_str(l->mark));
	jsonout_set(o, "funds_code", jsonout_str(l->funds_code));
	jsonout_set(o, "amount_minor", jsonout_int(l->amount_minor));
	jsonout_set(o, "currency", jsonout_str(h->currency));
	jsonout_set(o, "type_code", jsonout_str(l->type_code));
	jsonout_set(o, "customer_ref", jsonout_str(l->customer_ref));
	jsonout_set(o, "bank_ref", jsonout_str(l->bank_ref));
	jsonout_set(o, "supplementary", jsonout_str(l->supplementary));
	jsonout_set(o, "narrative", jsonout_str(l->narrative));
	jsonout_set(o, "reference", jsonout_str(l->reference));
	if (l->info != NULL && l->info->kind != INFO86_TEXT)
		jsonout_set(o, "details", details_json(l->info));
	if (l->iso != NULL)
		jsonout_set(o, "iso", iso_json(l->iso));
	return put_record(p->out, o);
}

static enum perr
print_end(void *arg, const struct stmt_header *h)
{
	struct printer *p = arg;

	(void)h;
	p->idx++;
	return PERR_OK;
}

static enum perr
print_holding(void *arg, const struct register_row *r)
{
	struct printer *p = arg;
	json_t *o = json_object();

	jsonout_set(o, "kind", jsonout_str("holding"));
	jsonout_set(o, "line", jsonout_int(r->src_line));
	jsonout_set(o, "as_of_date", date_json(r->as_of_date));
	jsonout_set(o, "offering_id", jsonout_str(r->offering_id));
	jsonout_set(o, "investor_id", jsonout_str(r->investor_id));
	jsonout_set(o, "units", jsonout_int(r->units));
	return put_record(p->out, o);
}

/* The {"kind":"register",...} record that comes before a register's holdings. */
static enum perr
print_register(FILE *fp, const char *path, const struct collect *c)
{
	json_t *o = json_object();

	jsonout_set(o, "kind", jsonout_str("register"));
	jsonout_set(o, "file", jsonout_str(path));
	jsonout_set(o, "format", jsonout_str("trustee_register"));
	jsonout_set(o, "as_of_date", c->reg_have_as_of ? date_json(c->reg_as_of) : json_null());
	jsonout_set(o, "holdings", jsonout_int(c->reg_rows));
	return put_record(fp, o);
}

/*
 * A pain.002 status report: {"kind":"status_report",...} then one {"kind":"status",...} per
 * status in file order (formats/pain002.h). Read whole first, so a bad file prints nothing.
 */
static enum perr
inspect_pain002(const char *path)
{
	static const char *const level[] = { "GROUP", "PMTINF", "TX" };
	struct pain002_report *r = NULL;
	json_t *o;
	enum perr e;

	if ((e = pain002_parse_file(path, &r)) != PERR_OK)
		return e;
	o = json_object();
	jsonout_set(o, "kind", jsonout_str("status_report"));
	jsonout_set(o, "file", jsonout_str(path));
	jsonout_set(o, "format", jsonout_str("pain002"));
	jsonout_set(o, "msg_id", jsonout_str(r->msg_id));
	jsonout_set(o, "created", jsonout_str(r->created));
	jsonout_set(o, "original_msg_id", jsonout_str(r->orgnl_msg_id));
	jsonout_set(o, "original_msg_name", jsonout_str(r->orgnl_msg_nm_id));
	jsonout_set(o, "statuses", jsonout_int((int64_t)r->n_statuses));
	e = put_record(stdout, o);
	for (size_t i = 0; i < r->n_statuses && e == PERR_OK; i++) {
		const struct pain002_status *st = &r->statuses[i];

		o = json_object();
		jsonout_set(o, "kind", jsonout_str("status"));
		jsonout_set(o, "level", jsonout_str(level[st->level]));
		jsonout_set(o, "pmtinf_id", jsonout_str(st->pmtinf_id));
		jsonout_set(o, "end_to_end_id", jsonout_str(st->end_to_end_id));
		jsonout_set(o, "status", jsonout_str(st->status));
		jsonout_set(o, "reason_code", jsonout_str(st->reason_code));
		jsonout_set(o, "reason_text", jsonout_str(st->reason_text));
		jsonout_set(o, "status_time", jsonout_str(st->status_time));
		jsonout_set(o, "line", jsonout_int(st->line));
		e = put_record(stdout, o);
	}
	pain002_free(r);
	return e;
}

/*
 * Parses one file twice (validate + collect + gate, then print). *gate_failed: statements that
 * would not pass the gate (each also named on stderr).
 */
static enum perr
inspect_file(const char *path, const struct format *fmt, enum text_encoding enc, const struct refx *rx,
    bool strict, const char *want_account, size_t *gate_failed)
{
	struct collect c = { .want_account = want_account };
	struct printer pr = { .out = stdout, .c = &c, .file = path, .format = fmt->name,
	    .camt = fmt->kind == FORMAT_CAMT };
	struct deviations dv = { 0 };
	struct parse_opts o = { .path = path, .encoding = enc, .refx = rx, .deviations = &dv, .strict = strict };
	FILE *fp;
	enum perr e;

	if (fmt->kind == FORMAT_PAIN002)
		return inspect_pain002(path);
	if (fmt->kind == FORMAT_BANKCSV)
		o.encoding = fmt->layout->encoding;
	fp = fopen(path, "rb");
	if (fp == NULL)
		return perr_set(PERR_IO, "%s: cannot open: %s", path, strerror(errno));
	if (fmt->kind == FORMAT_TRUSTEE) {
		struct register_sink s1 = { .arg = &c, .end = collect_reg_end };
		struct register_sink s2 = { .arg = &pr, .row = print_holding };

		e = trustee_parse(fp, &o, &s1);
		if (e == PERR_OK) {
			rewind(fp);
			e = print_register(stdout, path, &c);
		}
		if (e == PERR_OK)
			e = trustee_parse(fp, &o, &s2);
	} else {
		struct stmt_sink s1 = { .arg = &c, .begin = collect_begin, .line = collect_line, .end = collect_end };
		struct stmt_sink s2 = { .arg = &pr, .begin = print_begin, .line = print_line, .end = print_end,
		    .pending = print_pending };
		size_t i;

		c.sha = EVP_MD_CTX_new();
		e = format_parse_statements(fmt, fp, &o, &s1);
		if (e == PERR_OK) {
			*gate_failed = judge(&c, fmt);
			rewind(fp);
			o.deviations = NULL;     /* counted by the first pass */
			e = format_parse_statements(fmt, fp, &o, &s2);
		}
		if (e == PERR_OK)
			e = print_deviations(stdout, path, fmt->name, &dv);
		for (i = 0; e == PERR_OK && i < c.n; i++)
			if (c.v[i].problem != NULL)
				fprintf(stderr, "pipeline: inspect: %s:%ld: statement %s%s%s of account %s: %s: %s\n", path,
				    c.h[i].src_line, c.h[i].statement_no, c.h[i].sequence_no[0] ? "/" : "", c.h[i].sequence_no,
				    c.v[i].account, c.v[i].verdict, c.v[i].problem);
	}
	fclose(fp);
	collect_free(&c);
	return e;
}

static void
inspect_usage(FILE *fp)
{
	fprintf(fp, "usage: pipeline inspect [--format NAME] [--source NAME] [--encoding ENC] [--strict] FILE...\n"
	    "Parses statement files without the database and prints them as JSON Lines.\n"
	    "  --format NAME    mt940, camt053, camt054, trustee_register, pain002 or a layout under\n"
	    "                   formats/ (default: guessed from the content; a pain.002 status report\n"
	    "                   needs --format pain002)\n"
	    "  --source NAME    use that [source.NAME]'s format, encoding and reference patterns\n"
	    "  --encoding ENC   UTF-8 (default) or ISO-8859-1 for MT940 and the trustee register\n"
	    "  --strict         refuse MT940 that is not standard (as mt940_strict = yes does)\n"
	    "Each statement goes through normalize's completeness gate (balance, continuity and duplicates\n"
	    "within the file): its verdict is in the statement record and, if it fails, on standard error.\n"
	    "Errors go to standard error; the exit status is 1 if any file failed or any statement would\n"
	    "not pass the gate.\n");
}

int
cmd_inspect(int argc, char **argv, const char *conf_file)
{
	const char *format_name = NULL, *source_name = NULL, *enc_name = NULL;
	struct config *cfg = NULL;
	char *formats_dir = NULL;
	const struct source_cfg *src = NULL;
	struct refx *rx = NULL;
	struct format *fixed = NULL;
	enum text_encoding enc = ENC_UTF8;
	bool strict = false;
	int i, rc = 0;
	size_t gate_failed;
	enum perr e;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			inspect_usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--strict") == 0) {
			strict = true;
			continue;
		}
		if (i + 1 >= argc) {
			inspect_usage(stderr);
			return 2;
		}
		if (strcmp(argv[i], "--format") == 0)
			format_name = argv[++i];
		else if (strcmp(argv[i], "--source") == 0)
			source_name = argv[++i];
		else if (strcmp(argv[i], "--encoding") == 0)
			enc_name = argv[++i];
		else {
			fprintf(stderr, "pipeline: inspect: unknown option %s\n", argv[i]);
			inspect_usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		inspect_usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);   /* millions of short lines */
	if (enc_name != NULL && !text_encoding_from_name(enc_name, &enc)) {
		fprintf(stderr, "pipeline: inspect: encoding \"%s\" is not UTF-8 or ISO-8859-1\n", enc_name);
		return 2;
	}
	/* The configuration is optional here: it only says where the layouts are and what a source uses. */
	if (config_load(conf_file, &cfg) == PERR_OK) {
		if (trust_require(cfg) != PERR_OK) {   /* the layouts say how money is read (src/trust.h) */
			fprintf(stderr, "pipeline: inspect: %s\n", perr_detail());
			config_free(cfg);
			return 2;
		}
		formats_dir = config_path(cfg, cfg->formats_dir ? cfg->formats_dir : "formats");
	} else if (source_name != NULL) {
		fprintf(stderr, "pipeline: inspect: %s\n", perr_detail());
		return 2;
	} else {
		formats_dir = xstrdup("formats");
	}
	if (source_name != NULL) {
		src = config_source(cfg, source_name);
		if (src == NULL) {
			fprintf(stderr, "pipeline: inspect: no [source.%s] in %s\n", source_name, conf_file);
			rc = 2;
			goto out;
		}
		if (format_name == NULL)
			format_name = src->format;
		if (enc_name == NULL && src->encoding != NULL && !text_encoding_from_name(src->encoding, &enc)) {
			fprintf(stderr, "pipeline: inspect: source %s: encoding \"%s\" is unknown\n", source_name,
			    src->encoding);
			rc = 2;
			goto out;
		}
		if (src->n_reference_patterns > 0) {
			char origin[128];

			snprintf(origin, sizeof origin, "[source.%s]", source_name);
			e = refx_compile((const char *const *)src->reference_patterns, src->n_reference_patterns,
			    origin, &rx);
			if (e != PERR_OK) {
				fprintf(stderr, "pipeline: inspect: %s\n", perr_detail());
				rc = 2;
				goto out;
			}
		}
	}
	if (format_name != NULL && (e = format_open(formats_dir, format_name, &fixed)) != PERR_OK) {
		fprintf(stderr, "pipeline: inspect: %s\n", perr_detail());
		rc = 2;
		goto out;
	}
	for (; i < argc; i++) {
		struct format *f = fixed;

		if (f == NULL && (e = format_guess(formats_dir, argv[i], enc, &f)) != PERR_OK) {
			fprintf(stderr, "pipeline: inspect: %s\n", perr_detail());
			rc = 1;
			continue;
		}
		gate_failed = 0;
		e = inspect_file(argv[i], f, enc, rx, strict || (src != NULL && src->mt940_strict),
		    src != NULL ? src->account_no : NULL, &gate_failed);
		if (gate_failed > 0)
			rc = 1;
		if (e != PERR_OK) {
			fflush(stdout);
			fprintf(stderr, "pipeline: inspect: %s\n", perr_detail());
			rc = 1;
		}
		if (f != fixed)
			format_free(f);
	}
out:
	format_free(fixed);
	refx_free(rx);
	free(formats_dir);
	config_free(cfg);
	return rc;
}
