/*
 * payment_status.c - applies the bank's pain.002 statuses and the statement's debits to the
 * transfers (see payment_status.h for the rules). Small volumes (a few transfers a night), so it
 * reads row by row for clarity; everything happens in one transaction.
 */
#include "payment_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "exceptions.h"
#include "log.h"
#include "money.h"
#include "util.h"

#define STAGE "settle"

/* One transfer of a payment message, as the night's work goes along. */
struct xfer {
	char *id;
	char *status;            /* current: updated in memory as moves are made */
	char pmtinf_id[64];      /* "<MsgId>-<CCY>", as formats/pain001.c writes it */
};

/* A report being applied. */
struct report {
	const char *file_id;
	const char *remote_name;
	const char *msg_id;      /* the original (our) MsgId */
	const char *created;     /* the report's CreDtTm: the time of a status without its own */
	struct xfer *x;
	int n;
};

/* One status row of a report (payment_status). */
struct row {
	const char *level, *pmtinf, *e2e, *code, *rcode, *rtext, *time;
	long line;
};

/*
 * The class of a status code: 'A' accepted (ACCP ACSP ACTC ACWC), 'S' settled (ACSC),
 * 'R' rejected (RJCT), 'P' shown but not final (PDNG PART RCVD), 0 for none.
 */
static char
code_class(const char *code)
{
	if (!strcmp(code, "ACCP") || !strcmp(code, "ACSP") || !strcmp(code, "ACTC") || !strcmp(code, "ACWC"))
		return 'A';
	if (!strcmp(code, "ACSC"))
		return 'S';
	if (!strcmp(code, "RJCT"))
		return 'R';
	if (!strcmp(code, "PDNG") || !strcmp(code, "PART") || !strcmp(code, "RCVD"))
		return 'P';
	return 0;
}

/* The moves the bank's statuses make (the rest of sql/115's transfer_move_allowed is ours). */
static bool
bank_move_allowed(const char *from, const char *to)
{
	if (!strcmp(from, "UPLOADED"))
		return !strcmp(to, "ACCEPTED") || !strcmp(to, "SETTLED") || !strcmp(to, "REJECTED");
	if (!strcmp(from, "ACCEPTED"))
		return !strcmp(to, "SETTLED") || !strcmp(to, "REJECTED");
	return false;
}

/* A status that says nothing new about a final state: an acceptance after the settlement, a
 * rejection of what a person already cancelled. Not applied, not a conflict. */
static bool
already_consistent(const char *cur, const char *target)
{
	return (!strcmp(cur, "SETTLED") && !strcmp(target, "ACCEPTED"))
	    || (!strcmp(cur, "CANCELLED") && !strcmp(target, "REJECTED"));
}

static enum perr
moved_exists(struct stage_ctx *ctx, const char *id, const char *status, bool *exists)
{
	const char *p[2] = { id, status };
	PGresult *r = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT 1 FROM transfer_status_event WHERE transfer_id = $1 AND status = $2 AND moved", 2, p);

	if (r == NULL)
		return PERR_DB;
	*exists = PQntuples(r) > 0;
	PQclear(r);
	return PERR_OK;
}

/*
 * Records the event and, when `moved`, moves the transfer from x->status to `status`. source_file
 * or line_id says where it came from (the other NULL).
 */
static enum perr
record_event(struct stage_ctx *ctx, struct xfer *x, const char *status, bool moved, const char *code,
    const char *rcode, const char *rtext, const char *source_file, const char *line_id, const char *time)
{
	char run[24];
	const char *p[10];
	enum perr e;

	snprintf(run, sizeof run, "%lld", (long long)ctx->run_id);
	p[0] = x->id;
	p[1] = status;
	p[2] = moved ? "true" : "false";
	p[3] = code;
	p[4] = rcode;
	p[5] = rtext;
	p[6] = source_file ? "PAIN002" : "STATEMENT";
	p[7] = source_file;
	p[8] = line_id;
	p[9] = time;
	/* (a shown status is recorded once per transfer, code and file: ON CONFLICT for the rerun) */
	if ((e = db_command(ctx->db,
	    "INSERT INTO transfer_status_event (transfer_id, status, moved, bank_status, reason_code, reason_text,"
	    "  source, source_file, statement_line_id, status_time, run_id)"
	    " VALUES ($1, $2, $3::boolean, $4, $5, $6, $7, $8::bigint, $9::bigint, $10::timestamptz, $11::bigint)"
	    " ON CONFLICT DO NOTHING",
	    11, (const char *const[]){ p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], run })) != PERR_OK)
		return e;
	if (!moved)
		return PERR_OK;
	{
		const char *q[3] = { x->id, status, x->status };

		if ((e = db_command(ctx->db, "UPDATE transfer SET status = $2 WHERE transfer_id = $1 AND status = $3",
		    3, q)) != PERR_OK)
			return e;
	}
	log_event(LOG_INFO, STAGE, "transfer status", "transfer", x->id, "from", x->status, "to", status,
	    "bank_status", code[0] ? code : "-", "source", source_file ? "pain.002" : "statement",
	    (const char *)NULL);
	free(x->status);
	x->status = xstrdup(status);
	ctx->rows_out++;
	return PERR_OK;
}

/* Opens an exception about a pain.002 file (UNKNOWN or CONFLICT): ERROR, reference the file. */
static enum perr
raise_status(struct stage_ctx *ctx, const char *type, const char *subject, const char *reference,
    const char *ledger_id, const char *detail)
{
	struct exception_rec x;

	memset(&x, 0, sizeof x);
	x.type = type;
	x.severity = "ERROR";
	x.subject = subject;
	x.item_date = ctx->date_iso;
	x.reference = reference;
	x.ledger_id = ledger_id;
	x.detail = detail;
	return exception_open(ctx, STAGE, &x, NULL);
}

static enum perr
conflict(struct stage_ctx *ctx, const struct report *R, const struct xfer *x, const char *code, const char *target)
{
	char *subject = xasprintf("pain002:%s:%s", R->file_id, x->id);
	char *detail = xasprintf("The bank's status report %s says %s (%s) for transfer %s, but the transfer is "
	    "already %s: the status was not applied. Ask the bank which is true before anything else is "
	    "done with this payment.", R->remote_name, code, target, x->id, x->status);
	enum perr e = raise_status(ctx, "PAYMENT_STATUS_CONFLICT", subject, R->remote_name, x->id, detail);

	free(subject);
	free(detail);
	return e;
}

/* One status for one transfer from one report. */
static enum perr
apply_one(struct stage_ctx *ctx, const struct report *R, struct xfer *x, const struct row *w)
{
	const char *time = w->time[0] ? w->time : R->created;
	const char *target;
	char cls = code_class(w->code);
	bool exists;
	enum perr e;

	if (cls == 'P') {
		if (strcmp(x->status, "UPLOADED") != 0 && strcmp(x->status, "ACCEPTED") != 0)
			return PERR_OK;      /* pending after the end, or before the upload is recorded: nothing to show */
		return record_event(ctx, x, x->status, false, w->code, w->rcode, w->rtext, R->file_id, NULL, time);
	}
	target = cls == 'A' ? "ACCEPTED" : cls == 'S' ? "SETTLED" : "REJECTED";
	if ((e = moved_exists(ctx, x->id, target, &exists)) != PERR_OK || exists)
		return e;        /* applied before: a rerun, or the same status in another report */
	if (!strcmp(x->status, "FILED")) {
		log_event(LOG_INFO, STAGE, "status waits for the upload to be recorded", "transfer", x->id,
		    "bank_status", w->code, "file", R->remote_name, (const char *)NULL);
		return PERR_OK;
	}
	if (bank_move_allowed(x->status, target))
		return record_event(ctx, x, target, true, w->code, w->rcode, w->rtext, R->file_id, NULL, time);
	if (already_consistent(x->status, target))
		return PERR_OK;
	return conflict(ctx, R, x, w->code, target);
}

/* The row that decides transfer x's status in the report: its own, its block's, the group's. */
static const struct row *
effective(const struct row *rows, int n, const struct xfer *x)
{
	const struct row *grp = NULL, *blk = NULL;

	for (int i = 0; i < n; i++) {
		const struct row *w = &rows[i];

		if (w->code[0] == '\0')
			continue;
		if (!strcmp(w->level, "TX") && !strcmp(w->e2e, x->id))
			return w;
		if (!strcmp(w->level, "PMTINF") && !strcmp(w->pmtinf, x->pmtinf_id))
			blk = w;
		if (!strcmp(w->level, "GROUP"))
			grp = w;
	}
	return blk ? blk : grp;
}

/* Statuses naming a payment information or a transfer that is not in the message. */
static enum perr
check_unknown(struct stage_ctx *ctx, const struct report *R, const struct row *rows, int n)
{
	enum perr e = PERR_OK;

	for (int i = 0; i < n && e == PERR_OK; i++) {
		const struct row *w = &rows[i];
		bool tx = !strcmp(w->level, "TX"), found = false;
		char *subject, *detail;

		if (!tx && strcmp(w->level, "PMTINF") != 0)
			continue;
		for (int k = 0; k < R->n && !found; k++)
			found = tx ? !strcmp(R->x[k].id, w->e2e) : !strcmp(R->x[k].pmtinf_id, w->pmtinf);
		if (found)
			continue;
		subject = xasprintf("pain002:%s:%s:%s", R->file_id, tx ? "tx" : "pmtinf", tx ? w->e2e : w->pmtinf);
		detail = xasprintf("The bank's status report %s (line %ld) gives status %s for %s %s, which is not "
		    "in our payment message %s: the pipeline never sent it, nothing was applied. Ask the bank.",
		    R->remote_name, w->line, w->code[0] ? w->code : "(none)", tx ? "transfer" : "payment information",
		    tx ? w->e2e : w->pmtinf, R->msg_id);
		e = raise_status(ctx, "PAYMENT_STATUS_UNKNOWN", subject, R->remote_name, tx ? w->e2e : "", detail);
		free(subject);
		free(detail);
	}
	return e;
}

static void
free_xfers(struct report *R)
{
	for (int i = 0; i < R->n; i++) {
		free(R->x[i].id);
		free(R->x[i].status);
	}
	free(R->x);
	R->x = NULL;
	R->n = 0;
}

/* The transfers of payment file `file_name` (message msg_id), locked. */
static enum perr
load_xfers(struct stage_ctx *ctx, struct report *R, const char *file_name)
{
	const char *p[1] = { file_name };
	PGresult *r = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT transfer_id, status, currency FROM transfer WHERE payment_file = $1 ORDER BY transfer_id"
	    " FOR UPDATE", 1, p);

	if (r == NULL)
		return PERR_DB;
	R->n = PQntuples(r);
	R->x = xcalloc(R->n ? (size_t)R->n : 1, sizeof *R->x);
	for (int i = 0; i < R->n; i++) {
		R->x[i].id = xstrdup(PQgetvalue(r, i, 0));
		R->x[i].status = xstrdup(PQgetvalue(r, i, 1));
		snprintf(R->x[i].pmtinf_id, sizeof R->x[i].pmtinf_id, "%s-%s", R->msg_id, PQgetvalue(r, i, 2));
	}
	PQclear(r);
	return PERR_OK;
}

/* Applies one loaded report: row `i` of `reports` (file_id, remote_name, orgnl_msg_id, payment file, created). */
static enum perr
apply_report(struct stage_ctx *ctx, PGresult *reports, int i)
{
	struct report R = { PQgetvalue(reports, i, 0), PQgetvalue(reports, i, 1), PQgetvalue(reports, i, 2),
		PQgetvalue(reports, i, 4), NULL, 0 };
	const char *p[1] = { R.file_id };
	struct row *rows = NULL;
	PGresult *r = NULL;
	enum perr e;
	int n;

	if (PQgetisnull(reports, i, 3)) {
		char *subject = xasprintf("pain002:%s:msg:%s", R.file_id, R.msg_id);
		char *detail = xasprintf("The bank's status report %s is about payment message %s, which the pipeline "
		    "never sent: nothing in it was applied. Ask the bank whose message it answers.", R.remote_name, R.msg_id);

		e = raise_status(ctx, "PAYMENT_STATUS_UNKNOWN", subject, R.remote_name, "", detail);
		free(subject);
		free(detail);
		return e;
	}
	if ((e = load_xfers(ctx, &R, PQgetvalue(reports, i, 3))) != PERR_OK)
		return e;
	r = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT level, orgnl_pmtinf_id, orgnl_end_to_end_id, status, reason_code, reason_text,"
	    "       coalesce(to_char(status_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), src_line"
	    "  FROM payment_status WHERE file_id = $1::bigint ORDER BY seq", 1, p);
	if (r == NULL) {
		e = PERR_DB;
		goto out;
	}
	n = PQntuples(r);
	rows = xcalloc(n ? (size_t)n : 1, sizeof *rows);
	for (int k = 0; k < n; k++)
		rows[k] = (struct row){ PQgetvalue(r, k, 0), PQgetvalue(r, k, 1), PQgetvalue(r, k, 2), PQgetvalue(r, k, 3),
			PQgetvalue(r, k, 4), PQgetvalue(r, k, 5), PQgetvalue(r, k, 6), strtol(PQgetvalue(r, k, 7), NULL, 10) };
	if ((e = check_unknown(ctx, &R, rows, n)) != PERR_OK)
		goto out;
	for (int k = 0; k < R.n && e == PERR_OK; k++) {
		const struct row *w = effective(rows, n, &R.x[k]);

		if (w != NULL)
			e = apply_one(ctx, &R, &R.x[k], w);
	}
out:
	free(rows);
	PQclear(r);
	free_xfers(&R);
	return e;
}

static enum perr
apply_reports(struct stage_ctx *ctx)
{
	const char *p[1] = { ctx->date_iso };
	PGresult *r = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT r.file_id, f.remote_name, r.orgnl_msg_id, o.file_name,"
	    "       to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	    "  FROM payment_status_report r JOIN fetched_file f USING (file_id)"
	    "  LEFT JOIN outbound_file o ON o.msg_id = r.orgnl_msg_id AND o.kind = 'PAIN001'"
	    " WHERE r.business_date <= $1::date ORDER BY r.file_id", 1, p);
	enum perr e = PERR_OK;

	if (r == NULL)
		return PERR_DB;
	ctx->rows_in += PQntuples(r);
	for (int i = 0; i < PQntuples(r) && e == PERR_OK; i++)
		e = apply_report(ctx, r, i);
	PQclear(r);
	return e;
}

/* The debits reconcile matched to a transfer's -DR movement: SETTLED, or a conflict if it was refused. */
static enum perr
apply_statement(struct stage_ctx *ctx)
{
	const char *p[1] = { ctx->date_iso };
	PGresult *r = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT t.transfer_id, t.status, m.line_id, l.value_date, l.bank_ref, l.account_no"
	    "  FROM transfer t JOIN recon_match_movement mm ON mm.movement_id = t.transfer_id || '-DR'"
	    "  JOIN recon_match m USING (match_id) JOIN statement_line l ON l.line_id = m.line_id"
	    " WHERE m.business_date <= $1::date AND t.status NOT IN ('SETTLED', 'FILED')"
	    " ORDER BY t.transfer_id FOR UPDATE OF t", 1, p);
	enum perr e = PERR_OK;

	if (r == NULL)
		return PERR_DB;
	for (int i = 0; i < PQntuples(r) && e == PERR_OK; i++) {
		struct xfer x = { xstrdup(PQgetvalue(r, i, 0)), xstrdup(PQgetvalue(r, i, 1)), "" };
		const char *line = PQgetvalue(r, i, 2);
		bool exists = false;

		if (bank_move_allowed(x.status, "SETTLED")) {
			if ((e = moved_exists(ctx, x.id, "SETTLED", &exists)) == PERR_OK && !exists)
				e = record_event(ctx, &x, "SETTLED", true, "", "", "", NULL, line, PQgetvalue(r, i, 3));
		} else if (!strcmp(x.status, "REJECTED") || !strcmp(x.status, "CANCELLED")) {
			char *subject = xasprintf("statement:%s", x.id);
			char *detail = xasprintf("Transfer %s is %s, yet the bank's statement of account %s debits it "
			    "(bank reference %s, value date %s, statement line %s): the money may have left. Ask the "
			    "bank before re-issuing anything.", x.id, x.status, PQgetvalue(r, i, 5), PQgetvalue(r, i, 4),
			    PQgetvalue(r, i, 3), line);

			e = raise_status(ctx, "PAYMENT_STATUS_CONFLICT", subject, x.id, x.id, detail);
			free(subject);
			free(detail);
		}
		free(x.id);
		free(x.status);
	}
	PQclear(r);
	return e;
}

/* Every REJECTED transfer has its PAYMENT_REJECTED; a CANCELLED one's is closed. */
static enum perr
raise_rejected(struct stage_ctx *ctx)
{
	PGresult *r = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT t.transfer_id, t.status, t.purpose, t.offering_id, t.from_account, t.to_account, t.amount_minor,"
	    "       t.currency, e.bank_status, e.reason_code, e.reason_text, coalesce(f.remote_name, '')"
	    "  FROM transfer t JOIN transfer_status_event e ON e.transfer_id = t.transfer_id"
	    "   AND e.status = 'REJECTED' AND e.moved"
	    "  LEFT JOIN fetched_file f ON f.file_id = e.source_file"
	    " WHERE t.status IN ('REJECTED', 'CANCELLED') ORDER BY t.transfer_id", 0, NULL);
	enum perr e = PERR_OK;
	char by[64];

	if (r == NULL)
		return PERR_DB;
	snprintf(by, sizeof by, "settle run %lld: transfer cancelled", (long long)ctx->run_id);
	for (int i = 0; i < PQntuples(r) && e == PERR_OK; i++) {
		const char *id = PQgetvalue(r, i, 0), *cur = PQgetvalue(r, i, 7);
		char *subject = xasprintf("transfer:%s", id), *detail;
		struct exception_rec x;
		char amount[MONEY_BUFSZ];
		const struct currency *c = currency_find(cur);
		int64_t minor = strtoll(PQgetvalue(r, i, 6), NULL, 10);

		if (!strcmp(PQgetvalue(r, i, 1), "CANCELLED")) {
			e = exception_close(ctx, "PAYMENT_REJECTED", subject, by);
			free(subject);
			continue;
		}
		detail = xasprintf("The bank rejected transfer %s (%s of offering %s, %s %s from %s to %s) in its status "
		    "report %s: reason %s%s%s. The money has not been paid and nothing is re-sent automatically: a "
		    "person decides whether to re-issue it (docs/settle.md).", id,
		    strcmp(PQgetvalue(r, i, 2), "FEE") ? "proceeds" : "fee", PQgetvalue(r, i, 3), cur,
		    money_format(minor, c ? c->exponent : 2, amount), PQgetvalue(r, i, 4), PQgetvalue(r, i, 5),
		    PQgetvalue(r, i, 11), PQgetvalue(r, i, 9)[0] ? PQgetvalue(r, i, 9) : "(no code)",
		    PQgetvalue(r, i, 10)[0] ? " " : "", PQgetvalue(r, i, 10));
		memset(&x, 0, sizeof x);
		x.type = "PAYMENT_REJECTED";
		x.severity = "ERROR";
		x.subject = subject;
		x.account_no = PQgetvalue(r, i, 4);
		x.item_date = ctx->date_iso;
		x.has_amount = true;
		x.amount_minor = -minor;
		x.currency = cur;
		x.reference = id;
		x.ledger_id = id;
		x.detail = detail;
		e = exception_open(ctx, STAGE, &x, NULL);
		free(subject);
		free(detail);
	}
	PQclear(r);
	return e;
}

/*
 * A transfer still UPLOADED without any pain.002 status status_deadline_days business days after
 * its payment file's date: PAYMENT_STATUS_MISSING. Closed once a status arrives.
 */
static enum perr
raise_missing(struct stage_ctx *ctx)
{
	PGresult *r = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT t.transfer_id, to_char(o.business_date, 'YYYY-MM-DD'), o.file_name, t.from_account,"
	    "       t.amount_minor, t.currency, (t.status = 'UPLOADED' AND NOT EXISTS (SELECT 1 FROM"
	    "       transfer_status_event e WHERE e.transfer_id = t.transfer_id AND e.source <> 'PIPELINE'))"
	    "  FROM transfer t JOIN outbound_file o ON o.file_name = t.payment_file"
	    " WHERE o.uploaded_at IS NOT NULL ORDER BY t.transfer_id", 0, NULL);
	enum perr e = PERR_OK;
	char by[64];

	if (r == NULL)
		return PERR_DB;
	snprintf(by, sizeof by, "settle run %lld: status received", (long long)ctx->run_id);
	for (int i = 0; i < PQntuples(r) && e == PERR_OK; i++) {
		const char *id = PQgetvalue(r, i, 0);
		char *subject = xasprintf("transfer:%s", id), *detail;
		struct exception_rec x;
		date_t filed;
		int days;

		if (strcmp(PQgetvalue(r, i, 6), "t") != 0) {
			e = exception_close(ctx, "PAYMENT_STATUS_MISSING", subject, by);
			free(subject);
			continue;
		}
		if (date_parse_iso(PQgetvalue(r, i, 1), &filed) != PERR_OK)
			days = 0;
		else
			days = calendar_business_days_between(&ctx->cfg->calendar, filed, ctx->date);
		if (days < ctx->cfg->status_deadline_days) {
			free(subject);
			continue;
		}
		detail = xasprintf("Transfer %s was uploaded in %s (%s) %d business days ago and the bank has sent no "
		    "status for it (no pain.002, no debit on the statement); [settle] status_deadline_days is %d. Ask "
		    "the bank whether it received the payment file.", id, PQgetvalue(r, i, 2), PQgetvalue(r, i, 1),
		    days, ctx->cfg->status_deadline_days);
		memset(&x, 0, sizeof x);
		x.type = "PAYMENT_STATUS_MISSING";
		x.severity = "WARNING";
		x.subject = subject;
		x.account_no = PQgetvalue(r, i, 3);
		x.item_date = ctx->date_iso;
		x.has_amount = true;
		x.amount_minor = -strtoll(PQgetvalue(r, i, 4), NULL, 10);
		x.currency = PQgetvalue(r, i, 5);
		x.reference = id;
		x.ledger_id = id;
		x.detail = detail;
		e = exception_open(ctx, STAGE, &x, NULL);
		free(subject);
		free(detail);
	}
	PQclear(r);
	return e;
}

enum perr
payment_status_apply(struct stage_ctx *ctx)
{
	enum perr e;

	if ((e = db_begin(ctx->db)) != PERR_OK)
		return e;
	if ((e = apply_reports(ctx)) != PERR_OK || (e = apply_statement(ctx)) != PERR_OK
	    || (e = raise_rejected(ctx)) != PERR_OK || (e = raise_missing(ctx)) != PERR_OK) {
		db_rollback(ctx->db);
		return e;
	}
	return db_commit(ctx->db);
}
