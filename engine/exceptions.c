/*
 * exceptions.c - the one place that opens, closes and resets exceptions (see exceptions.h).
 *
 * A RESOLVED exception is a person's decision: it is never deleted or reopened, and the same
 * break (type and subject) is not raised again once a person has resolved it.
 */
#include "exceptions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

enum perr
exception_open(struct stage_ctx *ctx, const char *stage, const struct exception_rec *e, bool *opened)
{
	char amount[24], run[24];
	const char *params[16];
	PGresult *res;
	bool did;

	snprintf(amount, sizeof amount, "%lld", (long long)e->amount_minor);
	snprintf(run, sizeof run, "%lld", (long long)ctx->run_id);
	params[0] = e->type;
	params[1] = e->severity;
	params[2] = stage;
	params[3] = e->subject;
	params[4] = e->account_no;
	params[5] = e->item_date;
	params[6] = e->has_amount ? amount : NULL;
	params[7] = e->currency;
	params[8] = e->reference ? e->reference : "";
	params[9] = e->statement_ref ? e->statement_ref : "";
	params[10] = e->ledger_id ? e->ledger_id : "";
	params[11] = e->detail;
	params[12] = ctx->date_iso;
	params[13] = run;
	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "INSERT INTO exception (type, severity, stage, subject, account_no, item_date, amount_minor,"
	    "  currency, reference, statement_ref, ledger_id, detail, opened_date, opened_run_id)"
	    " SELECT $1, $2, $3, $4, $5, $6::date, $7::bigint, $8, $9, $10, $11, $12, $13::date, $14::bigint"
	    "  WHERE NOT EXISTS (SELECT 1 FROM exception WHERE type = $1 AND subject = $4"
	    "                     AND status IN ('OPEN', 'RESOLVED'))"
	    " ON CONFLICT (type, subject) WHERE status = 'OPEN' DO NOTHING"
	    " RETURNING exception_id", 14, params);
	if (res == NULL)
		return PERR_DB;
	did = PQntuples(res) == 1;
	PQclear(res);
	if (did)
		ctx->exceptions++;
	if (opened)
		*opened = did;
	return PERR_OK;
}

enum perr
exceptions_open_many(struct stage_ctx *ctx, const char *stage, const char *rows, size_t len, int64_t *opened)
{
	PGconn *db = ctx->db;
	char run[24];
	const char *params[3];
	PGresult *res;
	int64_t n;
	enum perr e;

	if (opened)
		*opened = 0;
	if (len == 0)
		return PERR_OK;
	if ((e = db_exec(db, "CREATE TEMP TABLE exc_new (type text, severity text, subject text,"
	    " account_no text, item_date date, amount_minor bigint, currency char(3), reference text,"
	    " statement_ref text, ledger_id text, detail text) ON COMMIT DROP")) != PERR_OK)
		return e;
	if ((e = db_copy_begin(db, "COPY exc_new FROM STDIN")) != PERR_OK
	    || (e = db_copy_put(db, rows, len)) != PERR_OK || (e = db_copy_end(db)) != PERR_OK)
		return e;
	if ((e = db_exec(db, "ANALYZE exc_new")) != PERR_OK)
		return e;
	/* Carried (OPEN) or resolved (RESOLVED) already: nothing to open. A separate statement, not a
	 * NOT EXISTS inside the INSERT: that one would rescan the rows the INSERT itself adds. */
	if ((e = db_exec(db, "DELETE FROM exc_new x USING exception e WHERE e.type = x.type"
	    " AND e.subject = x.subject AND e.status IN ('OPEN', 'RESOLVED')")) != PERR_OK)
		return e;
	snprintf(run, sizeof run, "%lld", (long long)ctx->run_id);
	params[0] = ctx->date_iso;
	params[1] = run;
	params[2] = stage;
	res = db_query(db, PGRES_COMMAND_OK,
	    "INSERT INTO exception (type, severity, stage, subject, account_no, item_date, amount_minor,"
	    "  currency, reference, statement_ref, ledger_id, detail, opened_date, opened_run_id)"
	    " SELECT x.type, x.severity, $3, x.subject, x.account_no, x.item_date, x.amount_minor,"
	    "        x.currency, x.reference, x.statement_ref, x.ledger_id, x.detail, $1::date, $2::bigint"
	    "   FROM exc_new x"
	    " ON CONFLICT (type, subject) WHERE status = 'OPEN' DO NOTHING", 3, params);
	if (res == NULL)
		return PERR_DB;
	n = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	ctx->exceptions += n;
	if (opened)
		*opened = n;
	return db_exec(db, "DROP TABLE exc_new");
}

/* The database's replace path (sql/130): closes it for this run's date, recorded in history_replace. */
enum perr
exception_close(struct stage_ctx *ctx, const char *type, const char *subject, const char *closed_by)
{
	char run[24];
	const char *params[4];

	snprintf(run, sizeof run, "%lld", (long long)ctx->run_id);
	params[0] = run;
	params[1] = type;
	params[2] = subject;
	params[3] = closed_by;
	return db_call(ctx->db, "SELECT exception_close_open($1::bigint, $2, $3, $4)", 4, params);
}

/*
 * The database's replace path exceptions_replace (sql/130): what this stage closed on this date
 * goes back to OPEN, then what it opened on this date goes, unless a person has resolved it; both
 * recorded in history_replace.
 */
enum perr
exceptions_reset(struct stage_ctx *ctx, const char *stage)
{
	char run[24];
	const char *params[2] = { run, stage };

	snprintf(run, sizeof run, "%lld", (long long)ctx->run_id);
	return db_call(ctx->db, "SELECT exceptions_replace($1::bigint, $2)", 2, params);
}

enum perr
exception_resolve(PGconn *db, int64_t id, const char *by, const char *note)
{
	char idbuf[24];
	const char *params[3];
	PGresult *res;
	int n;

	if (by == NULL || *by == '\0')
		return perr_set(PERR_USAGE, "resolve: who resolves it is required (--by NAME or $USER)");
	if (note == NULL || *note == '\0')
		return perr_set(PERR_USAGE, "resolve: a note saying why is required (--note TEXT)");
	snprintf(idbuf, sizeof idbuf, "%lld", (long long)id);
	params[0] = idbuf;
	params[1] = by;
	params[2] = note;
	/* The database's path for a person's resolution (sql/130): OPEN only, recorded in history_replace. */
	res = db_query(db, PGRES_TUPLES_OK, "SELECT exception_resolve_open($1::bigint, $2, $3)", 3, params);
	if (res == NULL)
		return PERR_DB;
	n = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (n == 1)
		return PERR_OK;
	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT status, coalesce(closed_by, '') FROM exception WHERE exception_id = $1::bigint",
	    1, params);
	if (res == NULL)
		return PERR_DB;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return perr_set(PERR_NOT_FOUND, "exception %lld does not exist", (long long)id);
	}
	perr_set(PERR_STATE, "exception %lld is already %s (by %s)", (long long)id,
	    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	PQclear(res);
	return PERR_STATE;
}

/* Inserts a note (`sql` takes $1 id, $2 and $3 the note's values) for an existing exception. */
static enum perr
exception_note(PGconn *db, int64_t id, const char *sql, const char *a, const char *b, int64_t *note_id)
{
	char idbuf[24];
	const char *params[3] = { idbuf, a, b };
	PGresult *res;

	snprintf(idbuf, sizeof idbuf, "%lld", (long long)id);
	res = db_query(db, PGRES_TUPLES_OK, sql, 3, params);
	if (res == NULL)
		return PERR_DB;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return perr_set(PERR_NOT_FOUND, "exception %lld does not exist", (long long)id);
	}
	*note_id = db_get_i64(res, 0, 0);
	PQclear(res);
	return PERR_OK;
}

enum perr
exception_assign(PGconn *db, int64_t id, const char *to, const char *by, int64_t *note_id)
{
	return exception_note(db, id,
	    "INSERT INTO exception_assignment (exception_id, type, subject, assigned_to, assigned_by)"
	    " SELECT exception_id, type, subject, $2, $3 FROM exception WHERE exception_id = $1::bigint"
	    " RETURNING assignment_id", to, by, note_id);
}

enum perr
exception_comment(PGconn *db, int64_t id, const char *text, const char *by, int64_t *note_id)
{
	return exception_note(db, id,
	    "INSERT INTO exception_comment (exception_id, type, subject, body, written_by)"
	    " SELECT exception_id, type, subject, $2, $3 FROM exception WHERE exception_id = $1::bigint"
	    " RETURNING comment_id", text, by, note_id);
}
