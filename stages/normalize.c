/*
 * normalize.c - the normalize stage: every fetched file of the business date becomes canonical
 * statements (statement, statement_line) or a trustee register (trustee_register,
 * trustee_holding) in PostgreSQL, or is quarantined whole with the reason.
 *
 * Per file, in ONE transaction: the parser streams the file through a sink that inserts each
 * statement's row, COPYs its lines, and at the statement's end runs the completeness gate:
 *   - opening + sum(lines) = closing, else the whole file is quarantined (BALANCE_BREAK): the
 *     transaction is rolled back and, in a new one, only the failing statement's header is kept
 *     (gate BALANCE_BREAK, no lines) so that settle refuses to pay from the account;
 *   - the opening equals the previous statement's closing for the account and the statement
 *     number follows the previous one, else a STATEMENT_GAP exception (the statement still loads);
 *   - a statement already loaded (same account, number, sequence and content hash) is a duplicate:
 *     the copy just inserted is deleted again, so it is loaded once.
 * A malformed file (parser error) is rolled back and recorded as QUARANTINED in file_load with a
 * FILE_QUARANTINED exception; the other files still load and the stage succeeds. Only a database
 * failure fails the stage.
 *
 * Rerun: without --force, files that already have a file_load row are skipped. With --force the
 * whole redo is one transaction: the stage resets its exceptions for the date and redoes every NEW
 * file of the date, each in a savepoint that first deletes that file's earlier output (reconcile's
 * matches of those lines go with them; reconcile is marked stale by the runner and redoes them).
 * A database failure half-way leaves the date as it was.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "db.h"
#include "exceptions.h"
#include "layout.h"
#include "log.h"
#include "money.h"
#include "progress.h"
#include "refx.h"
#include "stage.h"
#include "statement.h"
#include "util.h"

#define COPY_FLUSH_BYTES (256 * 1024)

/* What the stage keeps per configured source: its parser and compiled reference patterns. */
struct src_state {
	const struct source_cfg *src;
	struct format *fmt;
	struct refx *rx;
	bool failed;              /* the format or patterns are unusable: every file is quarantined */
	char *fail_reason;
};

/* One file being loaded. */
struct load {
	struct progress_bar *pb;    /* on a terminal only: bytes of the file parsed so far */
	FILE *fp;
	struct stage_ctx *ctx;
	const struct source_cfg *src;
	const struct format *fmt;
	const char *file_id;
	const char *path;

	/* the statement in progress */
	bool in_copy;
	char stmt_id[24];
	struct fbuf copybuf;
	struct fbuf row;
	EVP_MD_CTX *sha;
	char account[64];

	/* totals for file_load; rows_out goes to ctx only when the file's transaction commits */
	int64_t statements, lines, duplicates, rows_out;
	/* a statement that failed the gate (kept for the BALANCE_BREAK record) */
	bool gate_failed;
	struct stmt_header broken;
	char broken_sha[65];
	char broken_account[64];
	bool db_failed;           /* a database error: the stage fails */
};

/* Appends s to b escaped for COPY text format. */
static void
copy_text(struct fbuf *b, const char *s)
{
	const char *p, *run = s;

	for (p = s; *p; p++) {
		const char *esc = NULL;

		switch (*p) {
		case '\\': esc = "\\\\"; break;
		case '\t': esc = "\\t"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		default: continue;
		}
		fbuf_append(b, run, (size_t)(p - run));
		fbuf_append(b, esc, 2);
		run = p + 1;
	}
	fbuf_append(b, run, (size_t)(p - run));
}

static void
copy_date(struct fbuf *b, date_t d)
{
	char buf[DATE_BUFSZ];

	fbuf_append(b, date_format_iso(d, buf), 10);
}

static void
copy_i64(struct fbuf *b, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof buf, "%lld", (long long)v);

	fbuf_append(b, buf, (size_t)n);
}

/* The canonical text of a header: what "same content" means, together with the lines. */
static void
header_canon(struct fbuf *b, const struct stmt_header *h, const char *account)
{
	fbuf_reset(b);
	copy_text(b, account);
	fbuf_putc(b, '\t');
	copy_text(b, h->currency);
	fbuf_putc(b, '\t');
	copy_text(b, h->statement_no);
	fbuf_putc(b, '\t');
	copy_text(b, h->sequence_no);
	fbuf_putc(b, '\t');
	copy_date(b, h->opening.date);
	fbuf_putc(b, '\t');
	copy_i64(b, h->opening.amount_minor);
	fbuf_putc(b, h->opening.intermediate ? 'M' : 'F');
	fbuf_putc(b, '\t');
	copy_date(b, h->closing.date);
	fbuf_putc(b, '\t');
	copy_i64(b, h->closing.amount_minor);
	fbuf_putc(b, h->closing.intermediate ? 'M' : 'F');
	fbuf_putc(b, '\t');
	copy_i64(b, h->line_count);
	fbuf_putc(b, '\n');
}

static void
sha_hex(EVP_MD_CTX *sha, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	EVP_DigestFinal_ex(sha, md, &n);
	for (i = 0; i < n && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = '\0';
}

/* Aborts a COPY in progress (the server discards it) and drains its result. */
static void
copy_abort(struct load *L)
{
	PGresult *res;

	if (!L->in_copy)
		return;
	L->in_copy = false;
	PQputCopyEnd(L->ctx->db, "normalize: file rejected");
	while ((res = PQgetResult(L->ctx->db)) != NULL)
		PQclear(res);
}

/*
 * A file's unit of work: its own transaction, or with --force a savepoint inside the one
 * transaction of the whole forced run (so a forced run that fails half-way leaves the date as it was).
 */
static enum perr
file_begin(struct stage_ctx *ctx)
{
	return ctx->force ? db_exec(ctx->db, "SAVEPOINT normalize_file") : db_begin(ctx->db);
}

static enum perr
file_commit(struct stage_ctx *ctx)
{
	return ctx->force ? db_exec(ctx->db, "RELEASE SAVEPOINT normalize_file") : db_commit(ctx->db);
}

static void
file_rollback(struct stage_ctx *ctx)
{
	if (ctx->force)
		(void)db_exec(ctx->db, "ROLLBACK TO SAVEPOINT normalize_file");
	else
		db_rollback(ctx->db);
}

static enum perr
flush_copy(struct load *L, bool force)
{
	enum perr e;

	if (L->copybuf.len == 0 || (!force && L->copybuf.len < COPY_FLUSH_BYTES))
		return PERR_OK;
	e = db_copy_put(L->ctx->db, L->copybuf.p, L->copybuf.len);
	fbuf_reset(&L->copybuf);
	if (e != PERR_OK)
		L->db_failed = true;
	return e;
}

/*
 * The statement's account as loaded: the file's, or the source's when the file names none, or
 * when the file writes it with a bank code in front ("DBSSSGSGXXX/0123456789", MT940 :25:).
 */
static const char *
stmt_account(struct load *L, const struct stmt_header *h)
{
	const char *want = L->src->account_no;
	size_t n, w;

	if (h->account[0] == '\0')
		return want ? want : "";
	if (want != NULL) {
		n = strlen(h->account);
		w = strlen(want);
		if (n > w + 1 && h->account[n - w - 1] == '/' && strcmp(h->account + n - w, want) == 0)
			return want;
	}
	return h->account;
}

static enum perr
sink_begin(void *arg, const struct stmt_header *h)
{
	struct load *L = arg;
	struct stage_ctx *ctx = L->ctx;
	const char *acct = stmt_account(L, h);
	PGresult *res;
	enum perr e;

	if (acct[0] == '\0')
		return perr_set(PERR_PARSE, "%s:%ld: the statement names no account and source %s has no account_no",
		    L->path, h->src_line, L->src->name);
	if (L->src->account_no != NULL && strcmp(acct, L->src->account_no) != 0)
		return perr_set(PERR_PARSE, "%s:%ld: account \"%s\" is not source %s's account %s",
		    L->path, h->src_line, acct, L->src->name, L->src->account_no);
	snprintf(L->account, sizeof L->account, "%s", acct);
	{
		/* A statement in another currency than the ledger's account is not that account's. */
		const char *p[1] = { acct };

		res = db_query(ctx->db, PGRES_TUPLES_OK, "SELECT currency FROM bank_account WHERE account_no = $1", 1, p);
		if (res == NULL) {
			L->db_failed = true;
			return PERR_DB;
		}
		if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), h->currency) != 0) {
			perr_set(PERR_CURRENCY, "%s:%ld: the statement is in %s but account %s is held in %s",
			    L->path, h->src_line, h->currency, acct, PQgetvalue(res, 0, 0));
			PQclear(res);
			return PERR_CURRENCY;
		}
		PQclear(res);
	}
	res = db_query(ctx->db, PGRES_TUPLES_OK, "SELECT nextval(pg_get_serial_sequence('statement', 'statement_id'))",
	    0, NULL);
	if (res == NULL) {
		L->db_failed = true;
		return PERR_DB;
	}
	snprintf(L->stmt_id, sizeof L->stmt_id, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	{
		/* Placeholder values until the statement's end (the closing comes after the lines). */
		char run[24], pending[65];
		const char *p[9];

		snprintf(run, sizeof run, "%lld", (long long)ctx->run_id);
		snprintf(pending, sizeof pending, "%064lld", atoll(L->stmt_id));
		p[0] = L->stmt_id;
		p[1] = L->file_id;
		p[2] = ctx->date_iso;
		p[3] = L->src->name;
		p[4] = L->fmt->name;
		p[5] = acct;
		p[6] = h->currency;
		p[7] = pending;
		p[8] = run;
		e = db_command(ctx->db,
		    "INSERT INTO statement (statement_id, file_id, business_date, source, format, account_no,"
		    " currency, statement_no, sequence_no, opening_date, opening_minor, closing_date, closing_minor,"
		    " line_count, content_sha256, gate, run_id)"
		    " VALUES ($1::bigint, $2::bigint, $3::date, $4, $5, $6, $7, '', '', $3::date, 0, $3::date, 0,"
		    " 0, $8, 'PASSED', $9::bigint)", 9, p);
		if (e != PERR_OK) {
			L->db_failed = true;
			return e;
		}
	}
	e = db_copy_begin(ctx->db, "COPY statement_line (statement_id, line_no, account_no, entry_date, value_date,"
	    " amount_minor, currency, mark, funds_code, type_code, customer_ref, bank_ref, supplementary,"
	    " narrative, reference) FROM STDIN");
	if (e != PERR_OK) {
		L->db_failed = true;
		return e;
	}
	L->in_copy = true;
	fbuf_reset(&L->copybuf);
	EVP_DigestInit_ex(L->sha, EVP_sha256(), NULL);
	return PERR_OK;
}

static enum perr
sink_line(void *arg, const struct stmt_header *h, const struct stmt_line *l)
{
	struct load *L = arg;
	struct fbuf *r = &L->row;

	if (L->pb != NULL && (l->line_no & 4095) == 0)
		progress_bar_update(L->pb, (int64_t)ftello(L->fp));
	/* The row without its statement_id: also what the content hash covers. */
	fbuf_reset(r);
	copy_i64(r, l->line_no);
	fbuf_putc(r, '\t');
	copy_text(r, L->account);
	fbuf_putc(r, '\t');
	if (l->has_entry_date)
		copy_date(r, l->entry_date);
	else
		fbuf_append(r, "\\N", 2);
	fbuf_putc(r, '\t');
	copy_date(r, l->value_date);
	fbuf_putc(r, '\t');
	copy_i64(r, l->amount_minor);
	fbuf_putc(r, '\t');
	copy_text(r, h->currency);
	fbuf_putc(r, '\t');
	copy_text(r, l->mark);
	fbuf_putc(r, '\t');
	copy_text(r, l->funds_code);
	fbuf_putc(r, '\t');
	copy_text(r, l->type_code);
	fbuf_putc(r, '\t');
	copy_text(r, l->customer_ref);
	fbuf_putc(r, '\t');
	copy_text(r, l->bank_ref);
	fbuf_putc(r, '\t');
	copy_text(r, l->supplementary);
	fbuf_putc(r, '\t');
	copy_text(r, l->narrative);
	fbuf_putc(r, '\t');
	copy_text(r, l->reference);
	fbuf_putc(r, '\n');
	EVP_DigestUpdate(L->sha, r->p, r->len);
	fbuf_append(&L->copybuf, L->stmt_id, strlen(L->stmt_id));
	fbuf_putc(&L->copybuf, '\t');
	fbuf_append(&L->copybuf, r->p, r->len);
	L->ctx->rows_in++;
	return flush_copy(L, false);
}

static bool
all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static char *
stmt_label(const char *account, const struct stmt_header *h)
{
	return xasprintf("statement:%s:%s%s%s", account, h->statement_no, h->sequence_no[0] ? "/" : "",
	    h->sequence_no);
}

/* The continuity checks against the account's previous statement (STATEMENT_GAP). */
static enum perr
check_gap(struct load *L, const struct stmt_header *h)
{
	struct stage_ctx *ctx = L->ctx;
	const char *p[3] = { L->account, ctx->date_iso, L->stmt_id };
	PGresult *res;
	char *problem = NULL;
	const char *pno, *pseq;
	int64_t pclose;
	bool numbers;
	enum perr e = PERR_OK;

	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT statement_no, sequence_no, closing_minor, closing_date FROM statement"
	    " WHERE account_no = $1 AND gate = 'PASSED' AND statement_id <> $3::bigint"
	    "   AND (business_date < $2::date OR (business_date = $2::date AND statement_id < $3::bigint))"
	    " ORDER BY business_date DESC, closing_date DESC, statement_id DESC LIMIT 1", 3, p);
	if (res == NULL) {
		L->db_failed = true;
		return PERR_DB;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		return PERR_OK;     /* the account's first statement */
	}
	pno = PQgetvalue(res, 0, 0);
	pseq = PQgetvalue(res, 0, 1);
	pclose = db_get_i64(res, 0, 2);
	/* Layouts numbering statements by date have no sequence to check. */
	numbers = !(L->fmt->kind == FORMAT_BANKCSV && L->fmt->layout->statement_no_src == SNO_DATE);
	if (pclose != h->opening.amount_minor) {
		char a[MONEY_BUFSZ], b[MONEY_BUFSZ];

		problem = xasprintf("the opening balance %s %s of statement %s%s%s differs from the closing "
		    "balance %s %s of the previous statement %s%s%s (%s): money appeared or vanished between them",
		    h->currency, money_format(h->opening.amount_minor, h->exponent, a), h->statement_no,
		    h->sequence_no[0] ? "/" : "", h->sequence_no, h->currency, money_format(pclose, h->exponent, b),
		    pno, pseq[0] ? "/" : "", pseq, PQgetvalue(res, 0, 3));
	} else if (numbers && all_digits(pno) && all_digits(h->statement_no)) {
		long long prev = atoll(pno), cur = atoll(h->statement_no);
		bool ok;

		if (cur == prev)
			ok = all_digits(pseq) && all_digits(h->sequence_no) && atoll(h->sequence_no) == atoll(pseq) + 1;
		else
			ok = cur == prev + 1;
		if (!ok)
			problem = xasprintf("statement %s%s%s does not follow the previous statement %s%s%s: "
			    "%s", h->statement_no, h->sequence_no[0] ? "/" : "", h->sequence_no, pno,
			    pseq[0] ? "/" : "", pseq, cur > prev + 1 ? "statements are missing in between"
			    : "it repeats or goes back");
	}
	PQclear(res);
	if (problem != NULL) {
		struct exception_rec x;
		char date[DATE_BUFSZ];
		char *subject = stmt_label(L->account, h);
		char *detail = xasprintf("Account %s: %s. The statement was loaded; check with the bank.",
		    L->account, problem);

		memset(&x, 0, sizeof x);
		x.type = "STATEMENT_GAP";
		x.severity = "ERROR";
		x.subject = subject;
		x.account_no = L->account;
		x.item_date = date_format_iso(h->closing.date, date);
		x.currency = h->currency;
		x.statement_ref = subject + strlen("statement:");
		x.detail = detail;
		e = exception_open(ctx, "normalize", &x, NULL);
		if (e != PERR_OK)
			L->db_failed = true;
		log_event(LOG_WARN, "normalize", "statement gap", "file", L->path, "detail", problem, (const char *)NULL);
		free(subject);
		free(detail);
		free(problem);
	}
	return e;
}

static enum perr
sink_end(void *arg, const struct stmt_header *h)
{
	struct load *L = arg;
	struct stage_ctx *ctx = L->ctx;
	char sha[65], run[24];
	int64_t expect;
	PGresult *res;
	enum perr e;
	bool dup;

	if ((e = flush_copy(L, true)) != PERR_OK)
		return e;
	L->in_copy = false;
	if ((e = db_copy_end(ctx->db)) != PERR_OK) {
		L->db_failed = true;
		return e;
	}
	{
		struct fbuf canon = { 0 };

		header_canon(&canon, h, L->account);
		EVP_DigestUpdate(L->sha, canon.p, canon.len);
		fbuf_free(&canon);
	}
	sha_hex(L->sha, sha);
	/* The completeness gate: the statement's own arithmetic. */
	if (!stmt_balanced(h, &expect)) {
		L->gate_failed = true;
		L->broken = *h;
		memcpy(L->broken_sha, sha, sizeof sha);
		snprintf(L->broken_account, sizeof L->broken_account, "%s", L->account);
		return PERR_GATE;
	}
	{
		const char *p[5] = { L->account, h->statement_no, h->sequence_no, sha, L->stmt_id };

		res = db_query(ctx->db, PGRES_TUPLES_OK,
		    "SELECT statement_id FROM statement WHERE account_no = $1 AND statement_no = $2"
		    " AND sequence_no = $3 AND content_sha256 = $4 AND statement_id <> $5::bigint", 5, p);
		if (res == NULL) {
			L->db_failed = true;
			return PERR_DB;
		}
		dup = PQntuples(res) > 0;
		PQclear(res);
	}
	if (dup) {
		const char *p[1] = { L->stmt_id };

		L->duplicates++;
		log_event(LOG_INFO, "normalize", "statement already loaded: skipped", "file", L->path,
		    "account", L->account, "statement", h->statement_no, (const char *)NULL);
		if ((e = db_command(ctx->db, "DELETE FROM statement WHERE statement_id = $1::bigint", 1, p)) != PERR_OK)
			L->db_failed = true;
		return e;
	}
	{
		char od[DATE_BUFSZ], cd[DATE_BUFSZ], om[24], cm[24], lc[24];
		const char *p[12];

		snprintf(om, sizeof om, "%lld", (long long)h->opening.amount_minor);
		snprintf(cm, sizeof cm, "%lld", (long long)h->closing.amount_minor);
		snprintf(lc, sizeof lc, "%lld", (long long)h->line_count);
		p[0] = L->stmt_id;
		p[1] = h->statement_no;
		p[2] = h->sequence_no;
		p[3] = date_format_iso(h->opening.date, od);
		p[4] = om;
		p[5] = h->opening.intermediate ? "true" : "false";
		p[6] = date_format_iso(h->closing.date, cd);
		p[7] = cm;
		p[8] = h->closing.intermediate ? "true" : "false";
		p[9] = lc;
		p[10] = sha;
		p[11] = h->currency;
		e = db_command(ctx->db,
		    "UPDATE statement SET statement_no = $2, sequence_no = $3, opening_date = $4::date,"
		    " opening_minor = $5::bigint, opening_intermediate = $6::boolean, closing_date = $7::date,"
		    " closing_minor = $8::bigint, closing_intermediate = $9::boolean, line_count = $10::integer,"
		    " content_sha256 = $11, currency = $12 WHERE statement_id = $1::bigint", 12, p);
		if (e != PERR_OK) {
			L->db_failed = true;
			return e;
		}
	}
	(void)run;
	L->statements++;
	L->lines += h->line_count;
	L->rows_out += 1 + h->line_count;
	if ((e = check_gap(L, h)) != PERR_OK)
		return e;
	{
		/* A corrected statement closes an earlier balance break of the same statement. */
		char *subject = stmt_label(L->account, h);

		e = exception_close(ctx, "BALANCE_BREAK", subject, "normalize");
		free(subject);
		if (e != PERR_OK)
			L->db_failed = true;
	}
	return e;
}

/* ---- trustee register ---- */

struct regload {
	struct load *L;
	char register_id[24];
	bool started;
};

static enum perr
reg_start(struct regload *R, date_t as_of)
{
	struct stage_ctx *ctx = R->L->ctx;
	char run[24], d[DATE_BUFSZ];
	const char *p[4];
	PGresult *res;
	enum perr e;

	snprintf(run, sizeof run, "%lld", (long long)ctx->run_id);
	p[0] = R->L->file_id;
	p[1] = ctx->date_iso;
	p[2] = date_format_iso(as_of, d);
	p[3] = run;
	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "INSERT INTO trustee_register (file_id, business_date, as_of_date, run_id)"
	    " VALUES ($1::bigint, $2::date, $3::date, $4::bigint) RETURNING register_id", 4, p);
	if (res == NULL) {
		R->L->db_failed = true;
		return PERR_DB;
	}
	snprintf(R->register_id, sizeof R->register_id, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	R->started = true;
	R->L->rows_out++;
	e = db_copy_begin(ctx->db, "COPY trustee_holding (register_id, offering_id, investor_id, units) FROM STDIN");
	if (e != PERR_OK) {
		R->L->db_failed = true;
		return e;
	}
	R->L->in_copy = true;
	fbuf_reset(&R->L->copybuf);
	return PERR_OK;
}

static enum perr
reg_row(void *arg, const struct register_row *r)
{
	struct regload *R = arg;
	struct load *L = R->L;
	enum perr e;

	if (!R->started && (e = reg_start(R, r->as_of_date)) != PERR_OK)
		return e;
	fbuf_append(&L->copybuf, R->register_id, strlen(R->register_id));
	fbuf_putc(&L->copybuf, '\t');
	copy_text(&L->copybuf, r->offering_id);
	fbuf_putc(&L->copybuf, '\t');
	copy_text(&L->copybuf, r->investor_id);
	fbuf_putc(&L->copybuf, '\t');
	copy_i64(&L->copybuf, r->units);
	fbuf_putc(&L->copybuf, '\n');
	L->lines++;
	L->ctx->rows_in++;
	L->rows_out++;
	return flush_copy(L, false);
}

static enum perr
reg_end(void *arg, int64_t rows, bool have_as_of, date_t as_of)
{
	struct regload *R = arg;
	struct load *L = R->L;
	enum perr e;

	(void)rows;
	if (!R->started) {
		/* An empty register (header only) is as of the business date: nobody holds units. */
		if ((e = reg_start(R, have_as_of ? as_of : L->ctx->date)) != PERR_OK)
			return e;
	}
	if ((e = flush_copy(L, true)) != PERR_OK)
		return e;
	L->in_copy = false;
	if ((e = db_copy_end(L->ctx->db)) != PERR_OK)
		L->db_failed = true;
	L->statements = 0;
	return e;
}

/* ---- per file ---- */

static enum perr
delete_file_output(struct stage_ctx *ctx, const char *file_id)
{
	const char *p[1] = { file_id };
	enum perr e;

	/* Reconcile's matches of these lines go first (its stage is marked stale by the runner). */
	if ((e = db_command(ctx->db,
	    "DELETE FROM recon_match WHERE line_id IN (SELECT l.line_id FROM statement_line l"
	    " JOIN statement s USING (statement_id) WHERE s.file_id = $1::bigint)", 1, p)) != PERR_OK)
		return e;
	if ((e = db_command(ctx->db, "DELETE FROM statement WHERE file_id = $1::bigint", 1, p)) != PERR_OK)
		return e;
	if ((e = db_command(ctx->db, "DELETE FROM trustee_register WHERE file_id = $1::bigint", 1, p)) != PERR_OK)
		return e;
	return db_command(ctx->db, "DELETE FROM file_load WHERE file_id = $1::bigint", 1, p);
}

static enum perr
record_file_load(struct stage_ctx *ctx, const char *file_id, const char *format, const char *status,
    const char *reason, int64_t statements, int64_t lines)
{
	char run[24], st[24], ln[24];
	const char *p[8];

	snprintf(run, sizeof run, "%lld", (long long)ctx->run_id);
	snprintf(st, sizeof st, "%lld", (long long)statements);
	snprintf(ln, sizeof ln, "%lld", (long long)lines);
	p[0] = file_id;
	p[1] = ctx->date_iso;
	p[2] = format;
	p[3] = status;
	p[4] = reason;
	p[5] = st;
	p[6] = ln;
	p[7] = run;
	return db_command(ctx->db,
	    "INSERT INTO file_load (file_id, business_date, format, status, reason, statements, lines, run_id)"
	    " VALUES ($1::bigint, $2::date, $3, $4, $5, $6::integer, $7::bigint, $8::bigint)", 8, p);
}

/*
 * Records a quarantined file in its own transaction: file_load QUARANTINED with the reason and a
 * FILE_QUARANTINED exception - or, for a statement that failed its own arithmetic, that
 * statement's header with gate BALANCE_BREAK and a BALANCE_BREAK exception.
 */
static enum perr
quarantine(struct load *L, const char *remote_name, const char *reason)
{
	struct stage_ctx *ctx = L->ctx;
	struct exception_rec x;
	char *detail, *subject;
	enum perr e;

	if ((e = file_begin(ctx)) != PERR_OK)
		return e;
	if (ctx->force && (e = delete_file_output(ctx, L->file_id)) != PERR_OK)
		goto fail;
	if ((e = record_file_load(ctx, L->file_id, L->fmt ? L->fmt->name : L->src->format, "QUARANTINED",
	    reason, 0, 0)) != PERR_OK)
		goto fail;
	memset(&x, 0, sizeof x);
	x.severity = "ERROR";
	x.account_no = L->src->account_no;
	x.item_date = ctx->date_iso;
	if (L->gate_failed) {
		const struct stmt_header *h = &L->broken;
		char run[24], od[DATE_BUFSZ], cd[DATE_BUFSZ], om[24], cm[24], lc[24], a[MONEY_BUFSZ],
		    b[MONEY_BUFSZ], c[MONEY_BUFSZ], diff[MONEY_BUFSZ];
		const char *p[16];
		int64_t expect = 0, d = 0;

		snprintf(run, sizeof run, "%lld", (long long)ctx->run_id);
		snprintf(om, sizeof om, "%lld", (long long)h->opening.amount_minor);
		snprintf(cm, sizeof cm, "%lld", (long long)h->closing.amount_minor);
		snprintf(lc, sizeof lc, "%lld", (long long)h->line_count);
		p[0] = L->file_id;
		p[1] = ctx->date_iso;
		p[2] = L->src->name;
		p[3] = L->fmt->name;
		p[4] = L->broken_account;
		p[5] = h->currency;
		p[6] = h->statement_no;
		p[7] = h->sequence_no;
		p[8] = date_format_iso(h->opening.date, od);
		p[9] = om;
		p[10] = date_format_iso(h->closing.date, cd);
		p[11] = cm;
		p[12] = lc;
		p[13] = L->broken_sha;
		p[14] = run;
		p[15] = h->opening.intermediate ? "true" : "false";
		if ((e = db_command(ctx->db,
		    "INSERT INTO statement (file_id, business_date, source, format, account_no, currency,"
		    " statement_no, sequence_no, opening_date, opening_minor, closing_date, closing_minor,"
		    " line_count, content_sha256, gate, run_id, opening_intermediate)"
		    " VALUES ($1::bigint, $2::date, $3, $4, $5, $6, $7, $8, $9::date, $10::bigint, $11::date,"
		    " $12::bigint, $13::integer, $14, 'BALANCE_BREAK', $15::bigint, $16::boolean)"
		    " ON CONFLICT DO NOTHING", 16, p)) != PERR_OK)
			goto fail;
		money_add(h->opening.amount_minor, h->sum_minor, &expect);
		money_sub(h->closing.amount_minor, expect, &d);
		subject = stmt_label(L->broken_account, h);
		detail = xasprintf("Statement %s%s%s of account %s in %s does not add up: opening %s + lines %s "
		    "= %s, but the closing balance is %s %s (difference %s). The whole file was quarantined and "
		    "nothing of it was loaded; ask the bank for a corrected statement.", h->statement_no,
		    h->sequence_no[0] ? "/" : "", h->sequence_no, L->broken_account, remote_name,
		    money_format(h->opening.amount_minor, h->exponent, a), money_format(h->sum_minor, h->exponent, b),
		    money_format(expect, h->exponent, c), h->currency,
		    money_format(h->closing.amount_minor, h->exponent, diff),
		    money_format(d, h->exponent, om));
		x.type = "BALANCE_BREAK";
		x.account_no = L->broken_account;
		x.has_amount = true;
		x.amount_minor = d;
		x.currency = h->currency;
		x.statement_ref = subject + strlen("statement:");
	} else {
		subject = xasprintf("file:%s", L->file_id);
		detail = xasprintf("The file %s from source %s could not be read and was quarantined; nothing of "
		    "it was loaded. Reason: %s. Ask the sender for a corrected file.", remote_name, L->src->name,
		    reason);
		x.type = "FILE_QUARANTINED";
		x.reference = remote_name;
	}
	x.subject = subject;
	x.detail = detail;
	e = exception_open(ctx, "normalize", &x, NULL);
	free(subject);
	free(detail);
	if (e != PERR_OK)
		goto fail;
	return file_commit(ctx);
fail:
	file_rollback(ctx);
	return e;
}

static char *
resolve_path(const struct config *cfg, const char *local_path)
{
	if (local_path[0] == '/')
		return xstrdup(local_path);
	return config_path(cfg, local_path);
}

/* Loads one fetched file; returns PERR_OK also when the file was quarantined (only the database fails). */
static enum perr
normalize_file(struct stage_ctx *ctx, struct src_state *ss, const char *file_id, const char *local_path,
    const char *sha_expected, const char *remote_name)
{
	struct load L;
	char *path = resolve_path(ctx->cfg, local_path);
	char *reason = NULL;
	char sha[65];
	FILE *fp = NULL;
	enum perr e = PERR_OK, pe;
	enum text_encoding enc = ENC_UTF8;

	memset(&L, 0, sizeof L);
	L.ctx = ctx;
	L.src = ss->src;
	L.fmt = ss->fmt;
	L.file_id = file_id;
	L.path = path;
	L.sha = EVP_MD_CTX_new();
	if (ss->failed) {
		reason = xstrdup(ss->fail_reason);
		goto quarantined;
	}
	if (sha256_file(path, sha, NULL) != PERR_OK) {
		reason = xasprintf("%s", perr_detail());
		goto quarantined;
	}
	if (strcmp(sha, sha_expected) != 0) {
		reason = xasprintf("%s: the file's SHA-256 %.12s... is not the %.12s... recorded when it was fetched",
		    path, sha, sha_expected);
		goto quarantined;
	}
	fp = fopen(path, "rb");
	if (fp == NULL) {
		reason = xasprintf("%s: cannot open: %s", path, strerror(errno));
		goto quarantined;
	}
	if (ss->src->encoding != NULL)
		text_encoding_from_name(ss->src->encoding, &enc);
	L.fp = fp;
	{
		struct stat st;

		/* a bar for large files only, and only on a terminal */
		if (fstat(fileno(fp), &st) == 0 && st.st_size >= 16 * 1024 * 1024)
			L.pb = progress_bar_start(remote_name, st.st_size, PROGRESS_BYTES);
	}
	if ((e = file_begin(ctx)) != PERR_OK)
		goto out;
	if (ctx->force && (e = delete_file_output(ctx, file_id)) != PERR_OK)
		goto out_rollback;
	{
		struct parse_opts o = { .path = path, .encoding = enc, .refx = ss->rx };

		if (ss->fmt->kind == FORMAT_TRUSTEE) {
			struct regload R = { .L = &L };
			struct register_sink rs = { .arg = &R, .row = reg_row, .end = reg_end };

			pe = trustee_parse(fp, &o, &rs);
		} else {
			struct stmt_sink s = { .arg = &L, .begin = sink_begin, .line = sink_line, .end = sink_end };

			if (ss->fmt->kind == FORMAT_BANKCSV)
				o.encoding = ss->fmt->layout->encoding;
			pe = format_parse_statements(ss->fmt, fp, &o, &s);
		}
	}
	progress_bar_end(L.pb);
	L.pb = NULL;
	if (pe != PERR_OK) {
		copy_abort(&L);
		if (L.db_failed) {
			e = pe;
			goto out_rollback;
		}
		reason = xstrdup(L.gate_failed ? "the statement failed the completeness gate: opening balance + "
		    "lines != closing balance" : perr_detail());
		file_rollback(ctx);
		goto quarantined;
	}
	if ((e = record_file_load(ctx, file_id, ss->fmt->name,
	    L.statements == 0 && L.duplicates > 0 ? "DUPLICATE" : "LOADED", NULL,
	    L.statements, L.lines)) != PERR_OK)
		goto out_rollback;
	if ((e = file_commit(ctx)) != PERR_OK)
		goto out;
	ctx->rows_out += L.rows_out;
	{
		char st[24], ln[24], du[24];

		snprintf(st, sizeof st, "%lld", (long long)L.statements);
		snprintf(ln, sizeof ln, "%lld", (long long)L.lines);
		snprintf(du, sizeof du, "%lld", (long long)L.duplicates);
		log_event(LOG_INFO, "normalize", "file loaded", "file", path, "format", ss->fmt->name,
		    "statements", st, "lines", ln, "duplicates", du, (const char *)NULL);
	}
	goto out;
quarantined:
	log_event(LOG_WARN, "normalize", "file quarantined", "file", path, "reason", reason, (const char *)NULL);
	e = quarantine(&L, remote_name, reason);
	goto out;
out_rollback:
	copy_abort(&L);
	file_rollback(ctx);
out:
	progress_bar_end(L.pb);
	if (fp != NULL)
		fclose(fp);
	EVP_MD_CTX_free(L.sha);
	fbuf_free(&L.copybuf);
	fbuf_free(&L.row);
	free(reason);
	free(path);
	return e;
}

static void
src_state_open(const struct config *cfg, const struct source_cfg *src, struct src_state *ss)
{
	char *dir = config_path(cfg, cfg->formats_dir ? cfg->formats_dir : "formats");
	enum text_encoding enc;
	char origin[128];

	memset(ss, 0, sizeof *ss);
	ss->src = src;
	if (format_open(dir, src->format, &ss->fmt) != PERR_OK) {
		ss->failed = true;
		ss->fail_reason = xasprintf("source %s: format %s is unusable: %s", src->name, src->format, perr_detail());
	} else if (src->encoding != NULL && !text_encoding_from_name(src->encoding, &enc)) {
		ss->failed = true;
		ss->fail_reason = xasprintf("source %s: encoding %s is not UTF-8 or ISO-8859-1", src->name, src->encoding);
	} else if (src->n_reference_patterns > 0) {
		snprintf(origin, sizeof origin, "[source.%s]", src->name);
		if (refx_compile((const char *const *)src->reference_patterns, src->n_reference_patterns, origin,
		    &ss->rx) != PERR_OK) {
			ss->failed = true;
			ss->fail_reason = xstrdup(perr_detail());
		}
	}
	free(dir);
}

enum perr
stage_normalize(struct stage_ctx *ctx)
{
	const struct config *cfg = ctx->cfg;
	struct src_state *ss = xcalloc(cfg->n_sources ? cfg->n_sources : 1, sizeof *ss);
	bool *opened = xcalloc(cfg->n_sources ? cfg->n_sources : 1, sizeof *opened);
	const char *p[2] = { ctx->date_iso, ctx->force ? "true" : "false" };
	PGresult *files = NULL;
	enum perr e = PERR_OK;
	int i, n;
	size_t k;

	/* A forced run is one transaction (each file a savepoint in it): all of the date is redone or nothing. */
	if (ctx->force) {
		if ((e = db_begin(ctx->db)) != PERR_OK)
			goto out;
		if ((e = exceptions_reset(ctx, "normalize")) != PERR_OK)
			goto out;
	}
	files = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT f.file_id, f.source, f.local_path, f.sha256, f.remote_name FROM fetched_file f"
	    " WHERE f.business_date = $1::date AND f.status = 'NEW'"
	    "   AND ($2::boolean OR NOT EXISTS (SELECT 1 FROM file_load l WHERE l.file_id = f.file_id))"
	    " ORDER BY f.file_id", 2, p);
	if (files == NULL) {
		e = PERR_DB;
		goto out;
	}
	n = PQntuples(files);
	for (i = 0; i < n; i++) {
		const char *source = PQgetvalue(files, i, 1);
		struct src_state *s = NULL, orphan;
		struct source_cfg fake;

		for (k = 0; k < cfg->n_sources; k++)
			if (strcmp(cfg->sources[k].name, source) == 0) {
				if (!opened[k]) {
					src_state_open(cfg, &cfg->sources[k], &ss[k]);
					opened[k] = true;
				}
				s = &ss[k];
				break;
			}
		if (s == NULL) {
			/* The source was removed from the configuration since the fetch. */
			memset(&fake, 0, sizeof fake);
			fake.name = (char *)source;
			fake.format = (char *)"unknown";
			memset(&orphan, 0, sizeof orphan);
			orphan.src = &fake;
			orphan.failed = true;
			orphan.fail_reason = xasprintf("source %s is not in the configuration any more", source);
			s = &orphan;
		}
		e = normalize_file(ctx, s, PQgetvalue(files, i, 0), PQgetvalue(files, i, 2), PQgetvalue(files, i, 3),
		    PQgetvalue(files, i, 4));
		if (s == &orphan)
			free(orphan.fail_reason);
		if (e != PERR_OK)
			goto out;
	}
	if (ctx->force)
		e = db_commit(ctx->db);
	/*
	 * Fresh statistics for what was just loaded: reconcile's candidate query otherwise plans on
	 * whatever autovacuum last saw, and a plan made on an empty table ran for minutes once.
	 */
	if (e == PERR_OK && ctx->rows_out > 0)
		e = db_exec(ctx->db, "SELECT pipeline_analyze('statement', 'statement_line', 'trustee_register',"
		    " 'trustee_holding')");      /* as the owner: ANALYZE needs it (sql/090) */
out:
	if (e != PERR_OK && ctx->force)
		db_rollback(ctx->db);
	PQclear(files);
	for (k = 0; k < cfg->n_sources; k++) {
		format_free(ss[k].fmt);
		refx_free(ss[k].rx);
		free(ss[k].fail_reason);
	}
	free(ss);
	free(opened);
	return e;
}
