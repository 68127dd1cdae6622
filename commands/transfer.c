/*
 * transfer.c - `pipeline transfer show|cancel|reissue TRANSFER_ID --by NAME --note TEXT`: the way
 * out of a transfer that is stuck - committed but never delivered (its payment file could not be
 * made), rejected by the bank (pain.002), or whose data must be corrected.
 *
 * cancel   The transfer becomes CANCELLED, its journal transaction is reversed (a new transaction
 *          "TRANSFER:<id>:CANCEL" with the postings negated: the journal stays append-only and
 *          balanced), its expected cash movements are no longer expected (cash_movement_void), and
 *          a settlement_action row records who, when, why and the status it had. A FILED transfer
 *          is cancelled only while its payment file was never written (so it cannot have reached
 *          the bank); then the file is voided and every other transfer in it is cancelled with it.
 * reissue  Cancels first if needed, then creates the replacement "<id>-R1" (R2, ...: the new
 *          EndToEndId) with the same amount, to the offering's current trustee account (proceeds)
 *          or the configured operating account (fee), posting the original's journal entries again
 *          under its own key. Above [settle] four_eyes_limit it waits as AWAITING_APPROVAL for
 *          `pipeline approve` by someone other than NAME (the creator). The next settle files it.
 * Refused (PERR_STATE, exit 1) while the original could still be paid: UPLOADED, ACCEPTED or
 * SETTLED (uploaded and not rejected), or FILED in a file that was written; and once cancelled
 * and re-issued. Takes the pipeline lock; one transaction for all of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "db.h"
#include "log.h"
#include "money.h"
#include "util.h"

static const char transfer_usage[] =
    "usage: pipeline [--config FILE] transfer show TRANSFER_ID\n"
    "       pipeline [--config FILE] transfer cancel|reissue TRANSFER_ID --by NAME --note TEXT\n\n"
    "show     the transfer, its payment file and its audit trail\n"
    "cancel   cancels a transfer that can no longer be paid (never delivered, or REJECTED by the\n"
    "         bank): journal reversal, audit row; a FILED transfer voids its unwritten file\n"
    "reissue  cancels if needed and creates the replacement <id>-R1 (R2 ...), a new EndToEndId;\n"
    "         above the four-eyes limit it waits for `pipeline approve` by another person\n"
    "Refused while the original could still be paid (uploaded and not rejected).\n";

/* ---- show ---- */

static enum perr
transfer_show(PGconn *db, const char *id)
{
	const char *params[1] = { id };
	PGresult *res;

	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT t.transfer_id, t.offering_id, t.purpose, t.from_account, t.to_account, t.amount_minor,"
	    "       t.currency, c.exponent, t.status, coalesce(t.payment_file, '-'),"
	    "       CASE WHEN f.voided_at IS NOT NULL THEN 'voided' WHEN f.uploaded_at IS NOT NULL THEN 'uploaded'"
	    "            WHEN f.written_at IS NOT NULL THEN 'written, not uploaded'"
	    "            WHEN f.file_name IS NOT NULL THEN 'not written' ELSE '-' END,"
	    "       coalesce(t.created_by, '-'), coalesce(t.approved_by, '-'), coalesce(t.replaces, '-'),"
	    "       coalesce((SELECT r.transfer_id FROM transfer r WHERE r.replaces = t.transfer_id), '-')"
	    "  FROM transfer t JOIN currency c ON c.code = t.currency"
	    "  LEFT JOIN outbound_file f ON f.file_name = t.payment_file WHERE t.transfer_id = $1", 1, params);
	if (res == NULL)
		return PERR_DB;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return perr_set(PERR_NOT_FOUND, "transfer %s does not exist", id);
	}
	{
		char amount[MONEY_BUFSZ];

		money_format(db_get_i64(res, 0, 5), (int)db_get_i64(res, 0, 7), amount);
		printf("transfer      %s\noffering      %s (%s)\nfrom -> to    %s -> %s\namount        %s %s\n"
		    "status        %s\npayment file  %s (%s)\ncreated by    %s\napproved by   %s\n"
		    "replaces      %s\nreplaced by   %s\n", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
		    PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 6),
		    amount, PQgetvalue(res, 0, 8), PQgetvalue(res, 0, 9), PQgetvalue(res, 0, 10),
		    PQgetvalue(res, 0, 11), PQgetvalue(res, 0, 12), PQgetvalue(res, 0, 13), PQgetvalue(res, 0, 14));
	}
	PQclear(res);
	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT to_char(acted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), action, status_before,"
	    "       coalesce(replacement, '-'), by_name, note FROM settlement_action"
	    " WHERE subject_kind = 'TRANSFER' AND subject_id = $1 ORDER BY action_id", 1, params);
	if (res == NULL)
		return PERR_DB;
	for (int i = 0; i < PQntuples(res); i++)
		printf("audit         %s UTC %s (was %s) replacement %s by %s: %s\n", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
		    PQgetvalue(res, i, 5));
	PQclear(res);
	return PERR_OK;
}

/* ---- cancel ---- */

/* Cancels one transfer (locked by the caller): status, journal reversal, movements, audit. */
static enum perr
cancel_one(PGconn *db, const char *id, const char *before, const struct cli_fix *a, const char *detail)
{
	const char *params[5] = { id, before, a->by, a->note, detail };

	if (db_command(db, "UPDATE transfer SET status = 'CANCELLED' WHERE transfer_id = $1", 1, params) != PERR_OK ||
	    db_command(db,
	    "WITH o AS (SELECT txn_id, business_date, kind FROM journal_txn WHERE txn_key = 'TRANSFER:' || $1),"
	    "     t AS (INSERT INTO journal_txn (txn_key, business_date, kind, description)"
	    "           SELECT 'TRANSFER:' || $1 || ':CANCEL', o.business_date, o.kind,"
	    "                  'Reversal of transfer ' || $1 || ', cancelled' FROM o RETURNING txn_id)"
	    " INSERT INTO journal_posting (txn_id, ledger_account, currency, amount_minor)"
	    " SELECT t.txn_id, p.ledger_account, p.currency, -p.amount_minor"
	    "   FROM t, o JOIN journal_posting p ON p.txn_id = o.txn_id", 1, params) != PERR_OK ||
	    db_command(db,
	    "INSERT INTO cash_movement_void (movement_id, transfer_id)"
	    " SELECT movement_id, $1 FROM cash_movement WHERE movement_id IN ($1 || '-DR', $1 || '-CR')",
	    1, params) != PERR_OK ||
	    db_command(db,
	    "INSERT INTO settlement_action (subject_kind, subject_id, action, status_before, by_name, note, detail)"
	    " VALUES ('TRANSFER', $1, 'CANCEL', $2, $3, $4, $5)", 5, params) != PERR_OK)
		return PERR_DB;
	printf("cancelled %s (was %s): journal reversed as TRANSFER:%s:CANCEL\n", id, before, id);
	log_event(LOG_INFO, "transfer", "transfer cancelled", "transfer", id, "status_before", before,
	    "by", a->by, (const char *)NULL);
	return PERR_OK;
}

/*
 * Cancels `id` and, for a FILED one, every live transfer of its (never written) payment file,
 * voiding the file. The ids cancelled go to *done (caller frees each and the array), *n_done.
 */
static enum perr
cancel_transfers(PGconn *db, const char *id, const struct cli_fix *a, char ***done, int *n_done)
{
	const char *params[2] = { id, a->by };
	PGresult *res;
	const char *st;
	enum perr rc = PERR_OK;

	*done = NULL;
	*n_done = 0;
	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT t.status, coalesce(t.payment_file, ''), f.written_at IS NOT NULL, f.uploaded_at IS NOT NULL,"
	    "       coalesce((SELECT r.transfer_id FROM transfer r WHERE r.replaces = t.transfer_id), '')"
	    "  FROM transfer t LEFT JOIN outbound_file f ON f.file_name = t.payment_file"
	    " WHERE t.transfer_id = $1 FOR UPDATE OF t", 1, params);
	if (res == NULL)
		return PERR_DB;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return perr_set(PERR_NOT_FOUND, "transfer %s does not exist", id);
	}
	st = PQgetvalue(res, 0, 0);
	if (!strcmp(st, "UPLOADED") || !strcmp(st, "ACCEPTED") || !strcmp(st, "SETTLED"))
		rc = perr_set(PERR_STATE, "transfer %s is %s: it could still be paid (uploaded and not rejected); "
		    "it is cancelled only after the bank rejected it (REJECTED)", id, st);
	else if (!strcmp(st, "CANCELLED"))
		rc = perr_set(PERR_STATE, "transfer %s is already cancelled%s%s", id,
		    PQgetvalue(res, 0, 4)[0] ? " and re-issued as " : "", PQgetvalue(res, 0, 4));
	else if (!strcmp(st, "FILED") && PQgetvalue(res, 0, 2)[0] == 't')
		rc = perr_set(PERR_STATE, "transfer %s is FILED in %s, which was written and may have reached the "
		    "bank; run `pipeline settle` to deliver it (then wait for the bank's answer)", id,
		    PQgetvalue(res, 0, 1));
	if (rc != PERR_OK) {
		PQclear(res);
		return rc;
	}
	if (strcmp(st, "FILED") != 0) {
		*done = xcalloc(1, sizeof **done);
		(*done)[(*n_done)++] = xstrdup(id);
		rc = cancel_one(db, id, st, a, "");
		PQclear(res);
		return rc;
	}
	{
		char *file = xstrdup(PQgetvalue(res, 0, 1)), *detail;
		const char *p2[2] = { file, a->by };

		PQclear(res);
		detail = xasprintf("payment file %s (never written) voided", file);
		res = db_query(db, PGRES_TUPLES_OK,
		    "SELECT transfer_id FROM transfer WHERE payment_file = $1 AND status = 'FILED'"
		    " ORDER BY transfer_id FOR UPDATE", 1, p2);
		if (res == NULL)
			rc = PERR_DB;
		for (int i = 0; rc == PERR_OK && i < PQntuples(res); i++) {
			*done = xrealloc(*done, (size_t)(*n_done + 1) * sizeof **done);
			(*done)[(*n_done)++] = xstrdup(PQgetvalue(res, i, 0));
			rc = cancel_one(db, PQgetvalue(res, i, 0), "FILED", a, detail);
		}
		if (res)
			PQclear(res);
		if (rc == PERR_OK)
			rc = db_command(db, "UPDATE outbound_file SET voided_at = clock_timestamp(), voided_by = $2"
			    " WHERE file_name = $1 AND uploaded_at IS NULL AND written_at IS NULL", 2, p2);
		if (rc == PERR_OK)
			printf("voided payment file %s (never written)\n", file);
		free(detail);
		free(file);
	}
	return rc;
}

/* ---- reissue ---- */

/* The replacement's id: the original's base id with -R<n>, n one more than any earlier one. */
static enum perr
next_reissue_id(PGconn *db, const char *id, char **out)
{
	const char *r = strstr(id, "-R");
	size_t base_len = (r && r[2] && strspn(r + 2, "0123456789") == strlen(r + 2)) ? (size_t)(r - id) : strlen(id);
	char *base = xstrndup(id, base_len);
	const char *params[1] = { base };
	PGresult *res;

	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT coalesce(max(substr(transfer_id, length($1) + 3)::int), 0) + 1 FROM transfer"
	    " WHERE transfer_id ~ ('^' || $1 || '-R[0-9]+$')", 1, params);
	if (res == NULL) {
		free(base);
		return PERR_DB;
	}
	*out = xasprintf("%s-R%s", base, PQgetvalue(res, 0, 0));
	PQclear(res);
	free(base);
	if (strlen(*out) > 35) {
		free(*out);
		*out = NULL;
		return perr_set(PERR_STATE, "transfer %s: a replacement id would exceed 35 characters (EndToEndId)", id);
	}
	return PERR_OK;
}

/* Creates the replacement of cancelled transfer `id`. */
static enum perr
reissue_one(PGconn *db, const struct config *cfg, const char *id, const struct cli_fix *a)
{
	const char *params[6];
	PGresult *res;
	char *nid = NULL;
	enum perr rc;
	bool hold;

	params[0] = id;
	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT t.status, t.amount_minor, t.currency, t.purpose,"
	    "       CASE t.purpose WHEN 'PROCEEDS' THEN o.trustee_account_no ELSE t.to_account END,"
	    "       EXISTS (SELECT 1 FROM transfer r WHERE r.replaces = t.transfer_id)"
	    "  FROM transfer t JOIN offering o USING (offering_id) WHERE t.transfer_id = $1", 1, params);
	if (res == NULL)
		return PERR_DB;
	if (strcmp(PQgetvalue(res, 0, 0), "CANCELLED") != 0 || PQgetvalue(res, 0, 5)[0] == 't') {
		rc = perr_set(PERR_STATE, "transfer %s is %s%s; only a cancelled transfer is re-issued, once", id,
		    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 5)[0] == 't' ? " and re-issued already" : "");
		PQclear(res);
		return rc;
	}
	hold = cfg->four_eyes_limit_minor != INT64_MAX &&
	    (db_get_i64(res, 0, 1) > cfg->four_eyes_limit_minor ||
	     (cfg->four_eyes_currency && strcmp(cfg->four_eyes_currency, PQgetvalue(res, 0, 2)) != 0));
	{
		char *to = xstrdup(strcmp(PQgetvalue(res, 0, 3), "FEE") == 0 && cfg->operating_account &&
		    cfg->operating_account[0] ? cfg->operating_account : PQgetvalue(res, 0, 4));

		PQclear(res);
		if ((rc = next_reissue_id(db, id, &nid)) != PERR_OK) {
			free(to);
			return rc;
		}
		params[1] = nid;
		params[2] = to;
		params[3] = hold ? "AWAITING_APPROVAL" : "READY";
		params[4] = a->by;
		params[5] = a->note;
		rc = db_command(db,
		    "INSERT INTO transfer (transfer_id, offering_id, purpose, from_account, to_account, amount_minor,"
		    "  currency, business_date, status, created_by, replaces)"
		    " SELECT $2, offering_id, purpose, from_account, $3, amount_minor, currency, business_date, $4, $5, $1"
		    "   FROM transfer WHERE transfer_id = $1", 5, params);
		if (rc == PERR_OK)   /* the original's journal entries again, under the replacement's key */
			rc = db_command(db,
			    "WITH o AS (SELECT txn_id, business_date, kind FROM journal_txn WHERE txn_key = 'TRANSFER:' || $1),"
			    "     t AS (INSERT INTO journal_txn (txn_key, business_date, kind, description)"
			    "           SELECT 'TRANSFER:' || $2, o.business_date, o.kind,"
			    "                  'Transfer ' || $2 || ', re-issue of ' || $1 FROM o RETURNING txn_id)"
			    " INSERT INTO journal_posting (txn_id, ledger_account, currency, amount_minor)"
			    " SELECT t.txn_id, CASE WHEN p.ledger_account LIKE 'BANK:%' AND p.amount_minor > 0"
			    "                       THEN 'BANK:' || $3 ELSE p.ledger_account END, p.currency, p.amount_minor"
			    "   FROM t, o JOIN journal_posting p ON p.txn_id = o.txn_id", 3, params);
		if (rc == PERR_OK) {
			const char *p4[4] = { id, nid, a->by, a->note };

			rc = db_command(db,
			    "INSERT INTO settlement_action (subject_kind, subject_id, action, replacement, status_before,"
			    "  by_name, note) VALUES ('TRANSFER', $1, 'REISSUE', $2, 'CANCELLED', $3, $4)", 4, p4);
		}
		free(to);
	}
	if (rc == PERR_OK) {
		printf("re-issued %s as %s (%s)%s\n", id, nid, params[3],
		    hold ? ": above the four-eyes limit, approve with `pipeline approve ID --by NAME` (not the creator)"
			 : ": the next settle run files it");
		log_event(LOG_INFO, "transfer", "transfer re-issued", "transfer", id, "replacement", nid,
		    "status", params[3], "by", a->by, (const char *)NULL);
	}
	free(nid);
	return rc;
}

static enum perr
transfer_fix(PGconn *db, const struct config *cfg, const struct cli_fix *a)
{
	char **done = NULL;
	int n_done = 0;
	enum perr rc;
	bool reissue = strcmp(a->verb, "reissue") == 0;

	if ((rc = db_begin(db)) != PERR_OK)
		return rc;
	if (reissue) {
		const char *params[1] = { a->id };
		PGresult *res = db_query(db, PGRES_TUPLES_OK,
		    "SELECT status FROM transfer WHERE transfer_id = $1 FOR UPDATE", 1, params);

		if (res == NULL)
			rc = PERR_DB;
		else if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "CANCELLED") == 0) {
			done = xcalloc(1, sizeof *done);
			done[n_done++] = xstrdup(a->id);
		}
		if (res)
			PQclear(res);
	}
	if (rc == PERR_OK && n_done == 0)
		rc = cancel_transfers(db, a->id, a, &done, &n_done);
	for (int i = 0; reissue && rc == PERR_OK && i < n_done; i++)
		rc = reissue_one(db, cfg, done[i], a);
	for (int i = 0; i < n_done; i++)
		free(done[i]);
	free(done);
	if (rc == PERR_OK)
		return db_commit(db);
	db_rollback(db);
	return rc;
}

int
cmd_transfer(int argc, char **argv, const char *config_path)
{
	struct cli_fix a;
	struct config *cfg = NULL;
	PGconn *db = NULL;
	enum perr e;
	int rc;

	if ((rc = cli_fix_args(argc, argv, transfer_usage, &a)) >= 0)
		return rc;
	if ((e = cli_open(config_path, "transfer", &cfg, &db)) != PERR_OK)
		return cli_fail(e);
	if (strcmp(a.verb, "show") == 0)
		e = transfer_show(db, a.id);
	else if ((e = db_lock_acquire(db)) == PERR_OK) {
		e = transfer_fix(db, cfg, &a);
		db_lock_release(db);
	}
	PQfinish(db);
	config_free(cfg);
	return e == PERR_OK ? 0 : cli_fail(e);
}
