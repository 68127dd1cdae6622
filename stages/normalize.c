/*
 * normalize.c - the normalize stage: every fetched file of the business date becomes canonical
 * statements (statement, statement_line), a trustee register (trustee_register,
 * trustee_holding) or a payment status report (payment_status_report, payment_status; loaded by
 * normalize_pain002.c, applied by settle) in PostgreSQL, or is quarantined whole with the reason.
 *
 * Per file, in ONE transaction: the parser streams the file through a sink that, at each
 * statement's end, runs the completeness gate:
 *   - opening + sum(lines) = closing, else the whole file is quarantined (BALANCE_BREAK): the
 *     transaction is rolled back and, in a new one, only the failing statement's header is kept
 *     (gate BALANCE_BREAK, no lines) so that settle refuses to pay from the account;
 *   - the opening equals the previous statement's closing for the account and the statement
 *     number follows the previous one (n+1, or n with the next sequence; or 1 - "1/1", "00001/001"
 *     or without sequence - when the statement closes in a later year than the previous one closed:
 *     banks restart the count each year), else a STATEMENT_GAP exception (the statement still loads);
 *   - a statement already loaded (same account, number, sequence and content hash) is a duplicate:
 *     it is written as a placeholder and deleted again, so it is loaded once.
 * Cost is per batch, not per statement: small statements wait in memory and are written together
 * (one COPY of their rows, one of their lines, one query for duplicates, one for their ids); the
 * account's previous statement is read once per file and then followed in memory, so a file of
 * 10,000 small statements takes about a second, not a round trip per check per statement. A
 * statement larger than COPY_FLUSH_BYTES streams its lines with its own COPY (memory stays flat).
 * The outcome is the one of loading the statements one by one: same rows, ids, exceptions, logs.
 * A malformed file (parser error) is rolled back and recorded as QUARANTINED in file_load with a
 * FILE_QUARANTINED exception; the other files still load and the stage succeeds. Only a database
 * failure fails the stage.
 *
 * Which files: those of record for the date (sql/105 file_choice): the first copy of each name, or
 * the copy a person accepted with `pipeline accept`, whose load first removes what the copy it
 * superseded had loaded (delete_superseded, in the same transaction).
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
#include "gate.h"
#include "jsonout.h"
#include "layout.h"
#include "log.h"
#include "money.h"
#include "mt940_86.h"
#include "normalize_pain002.h"
#include "progress.h"
#include "refx.h"
#include "stage.h"
#include "statement.h"
#include "util.h"

#define COPY_FLUSH_BYTES (256 * 1024)
#define BATCH_STATEMENTS 1000     /* small statements written together (flush_pending) */

/* What the stage keeps per configured source: its parser and compiled reference patterns. */
struct src_state {
	const struct source_cfg *src;
	struct format *fmt;
	struct refx *rx;
	bool failed;              /* the format or patterns are unusable: every file is quarantined */
	char *fail_reason;
};

/*
 * An account's state within one file: the ledger's currency for it and the statement its next
 * statement must follow. Loaded from the database at the account's first statement in the file
 * (one query, instead of one per statement), then advanced in memory as the file's statements
 * load: nothing else writes statements of the account while the file's transaction is open.
 */
struct acct_state {
	char account[64];
	char ledger_currency[4];  /* "" when bank_account has no row for it */
	bool have_prev;           /* false: the account's first statement */
	date_t prev_business;     /* the previous statement: business_date, closing_date, id, ... */
	date_t prev_closing_date;
	int64_t prev_id;
	int64_t prev_closing;
	char prev_no[32];
	char prev_seq[32];
};

/*
 * A statement that passed its own arithmetic and waits in memory to be written with the others
 * of its batch (flush_pending): its header, account, content hash and its COPY rows (without the
 * statement_id, which is given at the flush) at rows_off in load.pend_rows.
 */
struct pending {
	struct stmt_header h;
	size_t acct;              /* index in load.accts */
	char sha[65];
	size_t rows_off, rows_len;
	int64_t id;
	bool dup;                 /* already loaded: written as a placeholder, then deleted (as always) */
	bool broken;              /* failed the gate: written as a placeholder, rolled back with the file */
	char *problem;            /* the STATEMENT_GAP found at the flush, or NULL */
};

/*
 * One file being loaded. Small statements are batched: they wait in `pend` (at most
 * BATCH_STATEMENTS, or until their rows reach COPY_FLUSH_BYTES) and are written together. A
 * statement whose rows outgrow COPY_FLUSH_BYTES is streamed instead (in_copy): the batch before
 * it is written first, then its row is inserted and its lines COPYed as they are parsed, so memory
 * does not grow with a statement's size.
 */
struct load {
	struct progress_bar *pb;    /* on a terminal only: bytes of the file parsed so far */
	FILE *fp;
	struct stage_ctx *ctx;
	const struct source_cfg *src;
	const struct format *fmt;
	const char *file_id;
	const char *path;

	/* the statement in progress */
	bool in_copy;             /* a COPY is open: the statement is streamed (or a register) */
	bool owes_id;             /* begun and buffered: it has not taken its statement_id yet */
	size_t cur_acct;          /* index in accts */
	size_t cur_off;           /* where its rows start in pend_rows */
	char stmt_id[24];         /* a streamed statement's id */
	struct fbuf copybuf;
	struct fbuf row;
	EVP_MD_CTX *sha;
	char account[64];

	/* the batch of finished statements not written yet */
	struct pending *pend;
	size_t n_pend, cap_pend;
	struct fbuf pend_rows;

	struct acct_state *accts;
	size_t n_accts;
	char **bb_open;           /* subjects of the OPEN BALANCE_BREAK exceptions (a file may close them) */
	size_t n_bb_open;
	bool bb_loaded;

	/* totals for file_load; rows_out goes to ctx only when the file's transaction commits */
	int64_t statements, lines, duplicates, rows_out;
	struct deviations dev;    /* the MT940 dialects the parser tolerated (file_load.deviations) */
	/* a statement that failed the gate (kept for the BALANCE_BREAK record) */
	bool gate_failed;
	struct stmt_header broken;
	char broken_sha[65];
	char broken_account[64];
	bool db_failed;           /* a database error: the stage fails */
};

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

/* Fails the file with a database error (the stage fails); PQclear-safe. */
static enum perr
load_db_failed(struct load *L, PGresult *res)
{
	PQclear(res);
	L->db_failed = true;
	return PERR_DB;
}

/*
 * The account's state in this file, loaded at its first statement: the ledger's currency and the
 * account's previous statement that passed the gate. Every statement already in the database has
 * a smaller statement_id than the ones this file is given, so "earlier on the same business date"
 * is all of that date's rows. The state is L's (L->accts, freed by load_free).
 */
static enum perr
acct_find(struct load *L, const char *account, size_t *idx)
{
	struct stage_ctx *ctx = L->ctx;
	struct acct_state *A;
	const char *p[2] = { account, ctx->date_iso };
	PGresult *res;
	size_t i;

	for (i = 0; i < L->n_accts; i++)
		if (strcmp(L->accts[i].account, account) == 0) {
			*idx = i;
			return PERR_OK;
		}
	L->accts = xrealloc(L->accts, (L->n_accts + 1) * sizeof *L->accts);
	A = &L->accts[L->n_accts];
	memset(A, 0, sizeof *A);
	snprintf(A->account, sizeof A->account, "%s", account);
	res = db_query(ctx->db, PGRES_TUPLES_OK, "SELECT currency FROM bank_account WHERE account_no = $1", 1, p);
	if (res == NULL)
		return load_db_failed(L, NULL);
	if (PQntuples(res) == 1)
		snprintf(A->ledger_currency, sizeof A->ledger_currency, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT statement_id, statement_no, sequence_no, closing_minor, closing_date, business_date FROM statement"
	    " WHERE account_no = $1 AND gate = 'PASSED' AND business_date <= $2::date"
	    " ORDER BY business_date DESC, closing_date DESC, statement_id DESC LIMIT 1", 2, p);
	if (res == NULL)
		return load_db_failed(L, NULL);
	if (PQntuples(res) == 1) {
		A->have_prev = true;
		A->prev_id = db_get_i64(res, 0, 0);
		snprintf(A->prev_no, sizeof A->prev_no, "%s", PQgetvalue(res, 0, 1));
		snprintf(A->prev_seq, sizeof A->prev_seq, "%s", PQgetvalue(res, 0, 2));
		A->prev_closing = db_get_i64(res, 0, 3);
		if (date_parse_iso(PQgetvalue(res, 0, 4), &A->prev_closing_date) != PERR_OK
		    || date_parse_iso(PQgetvalue(res, 0, 5), &A->prev_business) != PERR_OK) {
			perr_set(PERR_DB, "normalize: statement %s: unexpected date from the database",
			    PQgetvalue(res, 0, 0));
			return load_db_failed(L, res);
		}
	}
	PQclear(res);
	*idx = L->n_accts++;
	return PERR_OK;
}

/*
 * A statement that loaded (passed the gate, not a duplicate) becomes the one the account's next
 * statement follows if it is the latest by (business date, closing date, statement_id): the
 * order the continuity check has always used.
 */
static void
acct_advance(struct acct_state *A, date_t business, const struct stmt_header *h, int64_t id)
{
	if (A->have_prev && (business < A->prev_business || (business == A->prev_business
	    && (h->closing.date < A->prev_closing_date || (h->closing.date == A->prev_closing_date && id < A->prev_id)))))
		return;
	A->have_prev = true;
	A->prev_business = business;
	A->prev_closing_date = h->closing.date;
	A->prev_id = id;
	A->prev_closing = h->closing.amount_minor;
	snprintf(A->prev_no, sizeof A->prev_no, "%s", h->statement_no);
	snprintf(A->prev_seq, sizeof A->prev_seq, "%s", h->sequence_no);
}

/*
 * Loads the subjects of the OPEN BALANCE_BREAK exceptions once per file (a file opens none), so
 * that only a statement that has one runs the UPDATE closing it. L->bb_open is L's (load_free).
 */
static enum perr
bb_load(struct load *L)
{
	PGresult *res;
	int i, n;

	if (L->bb_loaded)
		return PERR_OK;
	res = db_query(L->ctx->db, PGRES_TUPLES_OK,
	    "SELECT subject FROM exception WHERE type = 'BALANCE_BREAK' AND status = 'OPEN'", 0, NULL);
	if (res == NULL)
		return load_db_failed(L, NULL);
	n = PQntuples(res);
	L->bb_open = xcalloc(n > 0 ? (size_t)n : 1, sizeof *L->bb_open);
	for (i = 0; i < n; i++)
		L->bb_open[i] = xstrdup(PQgetvalue(res, i, 0));
	L->n_bb_open = (size_t)n;
	L->bb_loaded = true;
	PQclear(res);
	return PERR_OK;
}

static char *
stmt_label(const char *account, const struct stmt_header *h)
{
	return xasprintf("statement:%s:%s%s%s", account, h->statement_no, h->sequence_no[0] ? "/" : "",
	    h->sequence_no);
}

/* The continuity check against the account's previous statement (formats/gate.c): NULL or what is wrong. */
static char *
gap_problem(const struct load *L, const struct acct_state *A, const struct stmt_header *h)
{
	if (!A->have_prev)
		return NULL;        /* the account's first statement */
	return gate_continuity(A->prev_no, A->prev_seq, A->prev_closing, A->prev_closing_date, h,
	    gate_numbers_checked(L->fmt));
}

/*
 * What follows a statement's load, in the file's order: its STATEMENT_GAP (problem, may be
 * NULL; freed here) and the closing of an earlier BALANCE_BREAK of the same statement.
 */
static enum perr
stmt_loaded(struct load *L, const char *account, const struct stmt_header *h, char *problem)
{
	struct stage_ctx *ctx = L->ctx;
	char *subject = stmt_label(account, h);
	enum perr e = PERR_OK;
	size_t i;

	if (problem != NULL) {
		struct exception_rec x;
		char date[DATE_BUFSZ];
		char *detail = xasprintf("Account %s: %s. The statement was loaded; check with the bank.",
		    account, problem);

		memset(&x, 0, sizeof x);
		x.type = "STATEMENT_GAP";
		x.severity = "ERROR";
		x.subject = subject;
		x.account_no = account;
		x.item_date = date_format_iso(h->closing.date, date);
		x.currency = h->currency;
		x.statement_ref = subject + strlen("statement:");
		x.detail = detail;
		e = exception_open(ctx, "normalize", &x, NULL);
		log_event(LOG_WARN, "normalize", "statement gap", "file", L->path, "detail", problem, (const char *)NULL);
		free(detail);
		free(problem);
	}
	/* A corrected statement closes an earlier balance break of the same statement. */
	for (i = 0; e == PERR_OK && i < L->n_bb_open; i++)
		if (strcmp(L->bb_open[i], subject) == 0) {
			e = exception_close(ctx, "BALANCE_BREAK", subject, "normalize");
			break;
		}
	free(subject);
	if (e != PERR_OK)
		L->db_failed = true;
	return e;
}

static void
log_duplicate(const struct load *L, const char *account, const struct stmt_header *h)
{
	log_event(LOG_INFO, "normalize", "statement already loaded: skipped", "file", L->path,
	    "account", account, "statement", h->statement_no, (const char *)NULL);
}

/* Appends s to b as an element of a PostgreSQL array literal ("..." with \ and " escaped). */
static void
array_elem(struct fbuf *b, const char *s)
{
	fbuf_putc(b, b->len > 1 ? ',' : '{');
	fbuf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fbuf_putc(b, '\\');
		fbuf_putc(b, *s);
	}
	fbuf_putc(b, '"');
}

/*
 * A camt statement's entries that are not booked (PDNG...): one statement_pending row, inserted
 * once the statement is complete (never an UPDATE: sql/130's history rule), only if it has any.
 */
static enum perr
pending_record(struct load *L, int64_t id, const struct stmt_header *h)
{
	char sid[24], cnt[24], sum[24];
	const char *p[3] = { sid, cnt, sum };
	enum perr e;

	if (h->pending_count == 0)
		return PERR_OK;
	snprintf(sid, sizeof sid, "%lld", (long long)id);
	snprintf(cnt, sizeof cnt, "%lld", (long long)h->pending_count);
	snprintf(sum, sizeof sum, "%lld", (long long)h->pending_minor);
	e = db_command(L->ctx->db, "INSERT INTO statement_pending (statement_id, pending_count, pending_minor)"
	    " VALUES ($1::bigint, $2::integer, $3::bigint)", 3, p);
	if (e != PERR_OK)
		L->db_failed = true;
	return e;
}

/* Gives n statement ids from the sequence, in ascending order (ids[i] for the i-th statement). */
static enum perr
take_ids(struct load *L, size_t n, int64_t *ids)
{
	char cnt[24];
	const char *p[1] = { cnt };
	PGresult *res;
	size_t i;

	snprintf(cnt, sizeof cnt, "%zu", n);
	res = db_query(L->ctx->db, PGRES_TUPLES_OK,
	    "SELECT id FROM (SELECT nextval(pg_get_serial_sequence('statement', 'statement_id')) AS id"
	    " FROM generate_series(1, $1::integer)) s ORDER BY id", 1, p);
	if (res == NULL)
		return load_db_failed(L, NULL);
	if ((size_t)PQntuples(res) != n) {
		perr_set(PERR_DB, "normalize: asked the sequence for %zu statement ids, got %d", n, PQntuples(res));
		return load_db_failed(L, res);
	}
	for (i = 0; ids != NULL && i < n; i++)
		ids[i] = db_get_i64(res, (int)i, 0);
	PQclear(res);
	return PERR_OK;
}

/* Marks the batch's statements already in the database (same account, number, sequence, content). */
static enum perr
find_duplicates(struct load *L)
{
	struct fbuf a = { 0 }, n = { 0 }, s = { 0 }, h = { 0 };
	const char *p[4];
	PGresult *res;
	size_t i;
	int r;

	for (i = 0; i < L->n_pend; i++) {
		const struct pending *q = &L->pend[i];

		array_elem(&a, L->accts[q->acct].account);
		array_elem(&n, q->h.statement_no);
		array_elem(&s, q->h.sequence_no);
		array_elem(&h, q->sha);
	}
	fbuf_putc(&a, '}');
	fbuf_putc(&n, '}');
	fbuf_putc(&s, '}');
	fbuf_putc(&h, '}');
	p[0] = a.p;
	p[1] = n.p;
	p[2] = s.p;
	p[3] = h.p;
	res = db_query(L->ctx->db, PGRES_TUPLES_OK,
	    "SELECT u.i FROM unnest($1::text[], $2::text[], $3::text[], $4::bpchar[]) WITH ORDINALITY AS u(a, n, s, h, i)"
	    " WHERE EXISTS (SELECT 1 FROM statement t WHERE t.account_no = u.a AND t.statement_no = u.n"
	    "   AND t.sequence_no = u.s AND t.content_sha256 = u.h)", 4, p);
	fbuf_free(&a);
	fbuf_free(&n);
	fbuf_free(&s);
	fbuf_free(&h);
	if (res == NULL)
		return load_db_failed(L, NULL);
	for (r = 0; r < PQntuples(res); r++) {
		int64_t k = db_get_i64(res, r, 0);

		if (k >= 1 && (size_t)k <= L->n_pend)
			L->pend[k - 1].dup = true;
	}
	PQclear(res);
	return PERR_OK;
}

/* The statement's row for COPY statement (...): the columns of STATEMENT_COPY. */
#define STATEMENT_COPY "COPY statement (statement_id, file_id, business_date, source, format, account_no," \
	" currency, statement_no, sequence_no, opening_date, opening_minor, opening_intermediate, closing_date," \
	" closing_minor, closing_intermediate, line_count, content_sha256, gate, run_id, stmt_ref) FROM STDIN"
#define LINE_COPY "COPY statement_line (statement_id, line_no, account_no, entry_date, value_date," \
	" amount_minor, currency, mark, funds_code, type_code, customer_ref, bank_ref, supplementary," \
	" narrative, reference, counterparty, counterparty_account, entry_no, entry_amount_minor, entry_ref," \
	" entry_svcr_ref, end_to_end_id, instr_id, msg_id, pmtinf_id, creditor_ref, bank_tx_code) FROM STDIN"

/* A statement's gate when it is written: a camt.054 notification is never gated. */
static const char *
written_gate(const struct stmt_header *h)
{
	return h->notification ? "NOTIFICATION" : "PASSED";
}

static void
statement_row(struct fbuf *b, const struct load *L, const struct pending *q)
{
	const struct stmt_header *h = &q->h;

	copy_i64(b, q->id);
	fbuf_putc(b, '\t');
	copy_text(b, L->file_id);
	fbuf_putc(b, '\t');
	copy_text(b, L->ctx->date_iso);
	fbuf_putc(b, '\t');
	copy_text(b, L->src->name);
	fbuf_putc(b, '\t');
	copy_text(b, L->fmt->name);
	fbuf_putc(b, '\t');
	copy_text(b, L->accts[q->acct].account);
	fbuf_putc(b, '\t');
	copy_text(b, h->currency);
	if (q->dup || q->broken) {
		/* the placeholder a statement's row always had until its end (its lines need a row) */
		char pending[65];

		snprintf(pending, sizeof pending, "%064lld", (long long)q->id);
		fbuf_append(b, "\t\t\t", 3);
		copy_text(b, L->ctx->date_iso);
		fbuf_append(b, "\t0\tf\t", 5);
		copy_text(b, L->ctx->date_iso);
		fbuf_append(b, "\t0\tf\t0\t", 7);
		fbuf_append(b, pending, 64);
	} else {
		fbuf_putc(b, '\t');
		copy_text(b, h->statement_no);
		fbuf_putc(b, '\t');
		copy_text(b, h->sequence_no);
		fbuf_putc(b, '\t');
		copy_date(b, h->opening.date);
		fbuf_putc(b, '\t');
		copy_i64(b, h->opening.amount_minor);
		fbuf_append(b, h->opening.intermediate ? "\tt\t" : "\tf\t", 3);
		copy_date(b, h->closing.date);
		fbuf_putc(b, '\t');
		copy_i64(b, h->closing.amount_minor);
		fbuf_append(b, h->closing.intermediate ? "\tt\t" : "\tf\t", 3);
		copy_i64(b, h->line_count);
		fbuf_putc(b, '\t');
		fbuf_append(b, q->sha, 64);
	}
	fbuf_putc(b, '\t');
	fbuf_append(b, written_gate(h), strlen(written_gate(h)));
	fbuf_putc(b, '\t');
	copy_i64(b, L->ctx->run_id);
	fbuf_putc(b, '\t');
	copy_text(b, h->stmt_ref);
	fbuf_putc(b, '\n');
}

/* COPYs what b holds (COPY text rows) with copy_sql; the COPY is aborted on failure (copy_abort). */
static enum perr
copy_all(struct load *L, const char *copy_sql, struct fbuf *b)
{
	enum perr e;

	if ((e = db_copy_begin(L->ctx->db, copy_sql)) != PERR_OK) {
		L->db_failed = true;
		return e;
	}
	L->in_copy = true;
	if ((e = db_copy_put(L->ctx->db, b->p, b->len)) != PERR_OK) {
		L->db_failed = true;
		return e;
	}
	fbuf_reset(b);
	L->in_copy = false;
	if ((e = db_copy_end(L->ctx->db)) != PERR_OK)
		L->db_failed = true;
	return e;
}

/*
 * Writes the batch of finished statements, in the file's order, with the same outcome as loading
 * them one by one: each takes its statement_id, a duplicate (of a statement in the database or
 * earlier in the batch) is written as a placeholder and deleted again, so that ids are taken as
 * they always were; the others are checked for continuity in memory and written with one COPY of
 * the statement rows and one of all their lines; then, in order, their STATEMENT_GAPs are opened and
 * their BALANCE_BREAKs closed. About 7 round trips a batch instead of about 8 a statement. A
 * statement that failed the gate ends the batch: its placeholder and lines are written (and rolled
 * back with the file). The rows of a statement still in progress (from cur_off) are kept, moved to
 * the front.
 */
static enum perr
flush_pending(struct load *L)
{
	struct stage_ctx *ctx = L->ctx;
	struct fbuf sb = { 0 }, dups = { 0 };
	int64_t *ids = NULL;
	enum perr e = PERR_OK;
	size_t i, j;

	if (L->n_pend == 0)
		goto keep;
	ids = xcalloc(L->n_pend, sizeof *ids);
	if ((e = take_ids(L, L->n_pend, ids)) != PERR_OK || (e = find_duplicates(L)) != PERR_OK)
		goto out;
	for (i = 0; i < L->n_pend; i++) {
		struct pending *q = &L->pend[i];

		q->id = ids[i];
		for (j = 0; !q->broken && !q->dup && j < i; j++) {
			const struct pending *o = &L->pend[j];

			if (!o->dup && o->acct == q->acct && memcmp(o->sha, q->sha, 64) == 0
			    && strcmp(o->h.statement_no, q->h.statement_no) == 0
			    && strcmp(o->h.sequence_no, q->h.sequence_no) == 0)
				q->dup = true;
		}
		if (q->broken)
			q->dup = false;
		else if (q->dup) {
			char id[24];

			snprintf(id, sizeof id, "%lld", (long long)q->id);
			fbuf_putc(&dups, dups.len > 0 ? ',' : '{');
			fbuf_append(&dups, id, strlen(id));
		} else if (!q->h.notification) {
			q->problem = gap_problem(L, &L->accts[q->acct], &q->h);
			acct_advance(&L->accts[q->acct], ctx->date, &q->h, q->id);
		}
		statement_row(&sb, L, q);
	}
	if ((e = copy_all(L, STATEMENT_COPY, &sb)) != PERR_OK)
		goto out;
	if ((e = db_copy_begin(ctx->db, LINE_COPY)) != PERR_OK) {
		L->db_failed = true;
		goto out;
	}
	L->in_copy = true;
	fbuf_reset(&L->copybuf);
	for (i = 0; i < L->n_pend; i++) {
		const struct pending *q = &L->pend[i];
		const char *r = L->pend_rows.p + q->rows_off, *end = r + q->rows_len;
		char id[24];
		int idn = snprintf(id, sizeof id, "%lld\t", (long long)q->id);

		while (r < end) {
			const char *nl = memchr(r, '\n', (size_t)(end - r));
			size_t len = nl != NULL ? (size_t)(nl - r) + 1 : (size_t)(end - r);

			fbuf_append(&L->copybuf, id, (size_t)idn);
			fbuf_append(&L->copybuf, r, len);
			r += len;
		}
		if ((e = flush_copy(L, false)) != PERR_OK)
			goto out;
	}
	if ((e = flush_copy(L, true)) != PERR_OK)
		goto out;
	L->in_copy = false;
	if ((e = db_copy_end(ctx->db)) != PERR_OK) {
		L->db_failed = true;
		goto out;
	}
	if (dups.len > 0) {
		char run[24];
		const char *p[2] = { run, NULL };

		fbuf_putc(&dups, '}');
		p[1] = dups.p;
		snprintf(run, sizeof run, "%lld", (long long)ctx->run_id);
		/* this run's own rows, through the database's replace path (sql/130) */
		if ((e = db_call(ctx->db, "SELECT normalize_drop_statements($1::bigint, $2::bigint[])", 2, p))
		    != PERR_OK) {
			L->db_failed = true;
			goto out;
		}
	}
	for (i = 0; i < L->n_pend; i++) {
		struct pending *q = &L->pend[i];
		const char *account = L->accts[q->acct].account;

		if (q->broken)
			continue;
		if (q->dup) {
			L->duplicates++;
			log_duplicate(L, account, &q->h);
			continue;
		}
		L->statements++;
		L->lines += q->h.line_count;
		L->rows_out += 1 + q->h.line_count;
		e = stmt_loaded(L, account, &q->h, q->problem);
		q->problem = NULL;
		if (e == PERR_OK)
			e = pending_record(L, q->id, &q->h);
		if (e != PERR_OK)
			goto out;
	}
out:
	for (i = 0; i < L->n_pend; i++) {
		free(L->pend[i].problem);
		L->pend[i].problem = NULL;
	}
	L->n_pend = 0;
	free(ids);
	fbuf_free(&sb);
	fbuf_free(&dups);
	if (e != PERR_OK)
		return e;
keep:
	/* the statement in progress (if any) keeps its rows, now at the front */
	if (L->cur_off > 0) {
		memmove(L->pend_rows.p, L->pend_rows.p + L->cur_off, L->pend_rows.len - L->cur_off);
		L->pend_rows.len -= L->cur_off;
		L->cur_off = 0;
	}
	return PERR_OK;
}

static enum perr
sink_begin(void *arg, const struct stmt_header *h)
{
	struct load *L = arg;
	const char *acct = stmt_account(L, h);
	const struct acct_state *A;
	enum perr e;

	if (acct[0] == '\0')
		return perr_set(PERR_PARSE, "%s:%ld: the statement names no account and source %s has no account_no",
		    L->path, h->src_line, L->src->name);
	if (L->src->account_no != NULL && strcmp(acct, L->src->account_no) != 0)
		return perr_set(PERR_PARSE, "%s:%ld: account \"%s\" is not source %s's account %s",
		    L->path, h->src_line, acct, L->src->name, L->src->account_no);
	snprintf(L->account, sizeof L->account, "%s", acct);
	if ((e = acct_find(L, acct, &L->cur_acct)) != PERR_OK || (e = bb_load(L)) != PERR_OK)
		return e;
	A = &L->accts[L->cur_acct];
	/* A statement in another currency than the ledger's account is not that account's. */
	if (A->ledger_currency[0] != '\0' && strcmp(A->ledger_currency, h->currency) != 0)
		return perr_set(PERR_CURRENCY, "%s:%ld: the statement is in %s but account %s is held in %s",
		    L->path, h->src_line, h->currency, acct, A->ledger_currency);
	L->owes_id = true;
	L->cur_off = L->pend_rows.len;
	EVP_DigestInit_ex(L->sha, EVP_sha256(), NULL);
	return PERR_OK;
}

/*
 * The statement in progress outgrew COPY_FLUSH_BYTES: the batch before it is written, then its
 * row is inserted (placeholder values until its end: the closing comes after the lines) and its
 * lines so far start a COPY that the rest of its lines stream into.
 */
static enum perr
stream_start(struct load *L, const struct stmt_header *h)
{
	struct stage_ctx *ctx = L->ctx;
	char run[24], pending[65];
	const char *p[11];
	const char *r, *end;
	int64_t id;
	enum perr e;

	if ((e = flush_pending(L)) != PERR_OK || (e = take_ids(L, 1, &id)) != PERR_OK)
		return e;
	L->owes_id = false;
	snprintf(L->stmt_id, sizeof L->stmt_id, "%lld", (long long)id);
	snprintf(run, sizeof run, "%lld", (long long)ctx->run_id);
	snprintf(pending, sizeof pending, "%064lld", (long long)id);
	p[0] = L->stmt_id;
	p[1] = L->file_id;
	p[2] = ctx->date_iso;
	p[3] = L->src->name;
	p[4] = L->fmt->name;
	p[5] = L->account;
	p[6] = h->currency;
	p[7] = pending;
	p[8] = run;
	p[9] = written_gate(h);
	p[10] = h->stmt_ref;     /* camt: known before the entries */
	e = db_command(ctx->db,
	    "INSERT INTO statement (statement_id, file_id, business_date, source, format, account_no,"
	    " currency, statement_no, sequence_no, opening_date, opening_minor, closing_date, closing_minor,"
	    " line_count, content_sha256, gate, run_id, stmt_ref)"
	    " VALUES ($1::bigint, $2::bigint, $3::date, $4, $5, $6, $7, '', '', $3::date, 0, $3::date, 0,"
	    " 0, $8, $10, $9::bigint, $11)", 11, p);
	if (e != PERR_OK) {
		L->db_failed = true;
		return e;
	}
	if ((e = db_copy_begin(ctx->db, LINE_COPY)) != PERR_OK) {
		L->db_failed = true;
		return e;
	}
	L->in_copy = true;
	fbuf_reset(&L->copybuf);
	/* after the flush the statement's rows are all of pend_rows */
	for (r = L->pend_rows.p, end = r + L->pend_rows.len; r < end;) {
		const char *nl = memchr(r, '\n', (size_t)(end - r));
		size_t len = nl != NULL ? (size_t)(nl - r) + 1 : (size_t)(end - r);

		fbuf_append(&L->copybuf, L->stmt_id, strlen(L->stmt_id));
		fbuf_putc(&L->copybuf, '\t');
		fbuf_append(&L->copybuf, r, len);
		r += len;
	}
	fbuf_reset(&L->pend_rows);
	return flush_copy(L, false);
}

/* The camt columns of a line's COPY row ('' and 0 for the other formats; its counterparty goes in
 * sql/101's columns). Not part of the content hash, like sql/101's. */
static void
line_iso_columns(struct fbuf *r, const struct stmt_line_iso *x)
{
	const char *t[8];
	size_t i;

	fbuf_putc(r, '\t');
	copy_i64(r, x != NULL ? x->entry_no : 0);
	fbuf_putc(r, '\t');
	copy_i64(r, x != NULL ? x->entry_amount_minor : 0);
	t[0] = x ? x->entry_ref : "";
	t[1] = x ? x->entry_svcr_ref : "";
	t[2] = x ? x->end_to_end_id : "";
	t[3] = x ? x->instr_id : "";
	t[4] = x ? x->msg_id : "";
	t[5] = x ? x->pmtinf_id : "";
	t[6] = x ? x->creditor_ref : "";
	t[7] = x ? x->bank_tx_code : "";
	for (i = 0; i < 8; i++) {
		fbuf_putc(r, '\t');
		copy_text(r, t[i]);
	}
}

static enum perr
sink_line(void *arg, const struct stmt_header *h, const struct stmt_line *l)
{
	struct load *L = arg;
	struct fbuf *r = &L->row;

	if (L->pb != NULL && (l->line_no & 4095) == 0)
		progress_bar_update(L->pb, (int64_t)ftello(L->fp));
	/* The row without its statement_id: also what the content hash covers. */
	stmt_line_row(r, L->account, h, l);
	/* the content hash covers the columns above only, so it is what it was before sql/101 */
	EVP_DigestUpdate(L->sha, r->p, r->len);
	r->len--;
	fbuf_putc(r, '\t');
	copy_text(r, l->info != NULL ? l->info->name.p : l->iso != NULL ? l->iso->counterparty_name : "");
	fbuf_putc(r, '\t');
	copy_text(r, l->info != NULL ? l->info->account.p : l->iso != NULL ? l->iso->counterparty_account : "");
	line_iso_columns(r, l->iso);
	fbuf_putc(r, '\n');
	L->ctx->rows_in++;
	if (!L->in_copy) {
		fbuf_append(&L->pend_rows, r->p, r->len);
		if (L->pend_rows.len - L->cur_off <= COPY_FLUSH_BYTES)
			return PERR_OK;
		return stream_start(L, h);
	}
	fbuf_append(&L->copybuf, L->stmt_id, strlen(L->stmt_id));
	fbuf_putc(&L->copybuf, '\t');
	fbuf_append(&L->copybuf, r->p, r->len);
	return flush_copy(L, false);
}

/* The end of a streamed statement: its lines are in, its row is completed or, a duplicate, deleted. */
static enum perr
stream_end(struct load *L, const struct stmt_header *h, const char *sha)
{
	struct stage_ctx *ctx = L->ctx;
	struct acct_state *A = &L->accts[L->cur_acct];
	PGresult *res;
	enum perr e;
	bool dup;

	{
		const char *p[5] = { L->account, h->statement_no, h->sequence_no, sha, L->stmt_id };

		res = db_query(ctx->db, PGRES_TUPLES_OK,
		    "SELECT statement_id FROM statement WHERE account_no = $1 AND statement_no = $2"
		    " AND sequence_no = $3 AND content_sha256 = $4 AND statement_id <> $5::bigint", 5, p);
		if (res == NULL)
			return load_db_failed(L, NULL);
		dup = PQntuples(res) > 0;
		PQclear(res);
	}
	if (dup) {
		char run[24], ids[32];
		const char *p[2] = { run, ids };

		snprintf(run, sizeof run, "%lld", (long long)ctx->run_id);
		snprintf(ids, sizeof ids, "{%s}", L->stmt_id);
		L->duplicates++;
		log_duplicate(L, L->account, h);
		if ((e = db_call(ctx->db, "SELECT normalize_drop_statements($1::bigint, $2::bigint[])", 2, p))
		    != PERR_OK)
			L->db_failed = true;
		return e;
	}
	{
		char od[DATE_BUFSZ], cd[DATE_BUFSZ], om[24], cm[24], lc[24], run[24];
		const char *p[13];

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
		snprintf(run, sizeof run, "%lld", (long long)ctx->run_id);
		p[12] = run;
		/* the header of this run's own statement, through the database's path (sql/130) */
		e = db_call(ctx->db,
		    "SELECT normalize_statement_header($13::bigint, $1::bigint, $2, $3, $4::date, $5::bigint,"
		    " $6::boolean, $7::date, $8::bigint, $9::boolean, $10::integer, $11, $12)", 13, p);
		if (e != PERR_OK) {
			L->db_failed = true;
			return e;
		}
	}
	L->statements++;
	L->lines += h->line_count;
	L->rows_out += 1 + h->line_count;
	if ((e = pending_record(L, atoll(L->stmt_id), h)) != PERR_OK)
		return e;
	if (h->notification)
		return stmt_loaded(L, L->account, h, NULL);
	{
		char *problem = gap_problem(L, A, h);

		acct_advance(A, ctx->date, h, atoll(L->stmt_id));
		return stmt_loaded(L, L->account, h, problem);
	}
}

/* The buffered statement that just ended joins the batch (L->pend grows: L's, load_free). */
static struct pending *
pend_push(struct load *L, const struct stmt_header *h, const char *sha)
{
	struct pending *q;

	if (L->n_pend == L->cap_pend) {
		L->cap_pend = L->cap_pend ? 2 * L->cap_pend : 64;
		L->pend = xrealloc(L->pend, L->cap_pend * sizeof *L->pend);
	}
	q = &L->pend[L->n_pend++];
	memset(q, 0, sizeof *q);
	q->h = *h;
	q->acct = L->cur_acct;
	memcpy(q->sha, sha, 65);
	q->rows_off = L->cur_off;
	q->rows_len = L->pend_rows.len - L->cur_off;
	L->owes_id = false;
	L->cur_off = L->pend_rows.len;
	return q;
}

static enum perr
sink_end(void *arg, const struct stmt_header *h)
{
	struct load *L = arg;
	struct stage_ctx *ctx = L->ctx;
	bool streamed = L->in_copy;
	char sha[65];
	int64_t expect;
	enum perr e;

	if (streamed) {
		if ((e = flush_copy(L, true)) != PERR_OK)
			return e;
		L->in_copy = false;
		if ((e = db_copy_end(ctx->db)) != PERR_OK) {
			L->db_failed = true;
			return e;
		}
	}
	{
		struct fbuf canon = { 0 };

		stmt_header_canon(&canon, h, L->account);
		EVP_DigestUpdate(L->sha, canon.p, canon.len);
		fbuf_free(&canon);
	}
	sha_hex(L->sha, sha);
	/* The completeness gate: the statement's own arithmetic (a notification has none). */
	if (!h->notification && !stmt_balanced(h, &expect)) {
		/* The batch before it and its own lines are written (and rolled back with the file), as always. */
		if (!streamed) {
			pend_push(L, h, sha)->broken = true;
			if ((e = flush_pending(L)) != PERR_OK)
				return e;
		}
		L->gate_failed = true;
		L->broken = *h;
		memcpy(L->broken_sha, sha, sizeof sha);
		snprintf(L->broken_account, sizeof L->broken_account, "%s", L->account);
		return PERR_GATE;
	}
	if (streamed)
		return stream_end(L, h, sha);
	pend_push(L, h, sha);
	if (L->n_pend >= BATCH_STATEMENTS || L->pend_rows.len >= COPY_FLUSH_BYTES)
		return flush_pending(L);
	return PERR_OK;
}

/*
 * After a parse error: what the statements before it (and the one it interrupted) did when they
 * were loaded one by one - gaps opened and counted, ids taken - is done before the rollback, so the
 * stage's counts and the ids of later files are as they always were.
 */
static enum perr
finish_failed(struct load *L)
{
	enum perr e;

	if (L->db_failed)
		return PERR_DB;
	if ((e = flush_pending(L)) != PERR_OK)
		return e;
	if (L->owes_id && (e = take_ids(L, 1, NULL)) != PERR_OK)
		return e;
	L->owes_id = false;
	return PERR_OK;
}

static void
load_free(struct load *L)
{
	size_t i;

	for (i = 0; i < L->n_pend; i++)
		free(L->pend[i].problem);
	free(L->pend);
	fbuf_free(&L->pend_rows);
	free(L->accts);
	for (i = 0; i < L->n_bb_open; i++)
		free(L->bb_open[i]);
	free(L->bb_open);
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
	char run[24];
	const char *p[2] = { run, file_id };

	/*
	 * The database's replace path (sql/130): reconcile's matches of the file's lines (its stage is
	 * marked stale by the runner), its statements, register and file_load row, recorded in
	 * history_replace; only for a file of this run's date.
	 */
	snprintf(run, sizeof run, "%lld", (long long)ctx->run_id);
	return db_call(ctx->db, "SELECT normalize_replace_file($1::bigint, $2::bigint)", 2, p);
}

/*
 * A copy accepted as the file of record (`pipeline accept`, sql/105, sql/106) replaces what the copy it
 * superseded had loaded: that output goes in the transaction the accepted copy loads (or is
 * quarantined) in. The superseded copy itself stays in fetched_file and in the inbox.
 */
static enum perr
delete_superseded(struct stage_ctx *ctx, const char *file_id)
{
	const char *p[1] = { file_id };
	PGresult *res;
	enum perr e = PERR_OK;
	int i;

	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT o.file_id FROM fetched_file f JOIN fetched_file o ON o.source = f.source"
	    "   AND o.business_date = f.business_date AND o.remote_name = f.remote_name AND o.file_id <> f.file_id"
	    " WHERE f.file_id = $1::bigint AND EXISTS (SELECT 1 FROM file_load l WHERE l.file_id = o.file_id)"
	    " ORDER BY o.file_id", 1, p);
	if (res == NULL)
		return PERR_DB;
	for (i = 0; i < PQntuples(res) && e == PERR_OK; i++) {
		char run[24];
		const char *q[2] = { run, PQgetvalue(res, i, 0) };

		log_event(LOG_INFO, "normalize", "superseded copy unloaded", "file_id", PQgetvalue(res, i, 0),
		    "accepted_file_id", file_id, (const char *)NULL);
		/* the database's replace path for it (sql/106), recorded in history_replace */
		snprintf(run, sizeof run, "%lld", (long long)ctx->run_id);
		e = db_call(ctx->db, "SELECT normalize_unload_superseded($1::bigint, $2::bigint)", 2, q);
	}
	PQclear(res);
	return e;
}

/* The deviations as a JSON array of texts, for file_load.deviations (the caller frees it). */
static char *
deviations_json(const struct deviations *dv)
{
	json_t *a = json_array();
	char buf[DEVIATION_BUFSZ];

	for (int i = 0; dv != NULL && i < dv->n; i++)
		json_array_append_new(a, jsonout_str(deviation_text(&dv->d[i], buf, sizeof buf)));
	return jsonout_dumps(a, JSONOUT_COMPACT);
}

static enum perr
record_file_load(struct stage_ctx *ctx, const char *file_id, const char *format, const char *status,
    const char *reason, int64_t statements, int64_t lines, const struct deviations *dv)
{
	char run[24], st[24], ln[24];
	char *devs = deviations_json(dv);
	const char *p[9];
	enum perr e;

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
	p[8] = devs;
	e = db_command(ctx->db,
	    "INSERT INTO file_load (file_id, business_date, format, status, reason, statements, lines, run_id,"
	    " deviations) VALUES ($1::bigint, $2::date, $3, $4, $5, $6::integer, $7::bigint, $8::bigint,"
	    " ARRAY(SELECT json_array_elements_text($9::json)))", 9, p);
	free(devs);
	return e;
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
	if ((e = delete_superseded(ctx, L->file_id)) != PERR_OK)
		goto fail;
	if ((e = record_file_load(ctx, L->file_id, L->fmt ? L->fmt->name : L->src->format, "QUARANTINED",
	    reason, 0, 0, &L->dev)) != PERR_OK)
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
		detail = xasprintf("Statement %s%s%s of account %s in %s:%ld does not add up (rule: opening + lines "
		    "= closing): opening %s + lines %s "
		    "= %s, but the closing balance is %s %s (difference %s). The whole file was quarantined and "
		    "nothing of it was loaded; ask the bank for a corrected statement.", h->statement_no,
		    h->sequence_no[0] ? "/" : "", h->sequence_no, L->broken_account, remote_name, h->src_line,
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
	if ((e = delete_superseded(ctx, file_id)) != PERR_OK)
		goto out_rollback;
	if (ss->fmt->kind == FORMAT_PAIN002) {
		/* a payment status report: its statuses are rows for settle to apply (normalize_pain002.h) */
		pe = normalize_pain002(ctx, path, file_id, &L.lines);
		if (pe == PERR_DB) {
			e = pe;
			goto out_rollback;
		}
		L.rows_out = L.lines + 1;
	} else {
		struct parse_opts o = { .path = path, .encoding = enc, .refx = ss->rx, .deviations = &L.dev,
			.strict = ss->src->mt940_strict };

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
		if ((e = finish_failed(&L)) != PERR_OK)
			goto out_rollback;
		file_rollback(ctx);
		goto quarantined;
	}
	/* the last batch of statements */
	if ((e = flush_pending(&L)) != PERR_OK)
		goto out_rollback;
	if ((e = record_file_load(ctx, file_id, ss->fmt->name,
	    L.statements == 0 && L.duplicates > 0 ? "DUPLICATE" : "LOADED", NULL,
	    L.statements, L.lines, &L.dev)) != PERR_OK)
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
	load_free(&L);
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
	    " JOIN file_choice c USING (file_id)"
	    " WHERE f.business_date = $1::date AND c.of_record"
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
