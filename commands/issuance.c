/*
 * issuance.c - `pipeline issuance show|cancel|reissue ISSUANCE_ID --by NAME --note TEXT`: the way
 * out of an issuance record that was never delivered to the trustee and must not be (cancel) or
 * must be sent again as a new record (reissue: "<id>-R1", R2 ...; the trustee registers the
 * replacement). A record in a delivered issuance file is never cancelled (the database refuses
 * it too, sql/120). Cancelling a record of an undelivered file voids that file; its other records
 * go into the next file settle makes (when their payment is through: delivery versus payment).
 * Every action is a settlement_action row (who, when, why). Holdings are not changed: the units
 * were allocated; only their delivery to the trustee is redone. Takes the pipeline lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "db.h"
#include "log.h"
#include "util.h"

static const char issuance_usage[] =
    "usage: pipeline [--config FILE] issuance show ISSUANCE_ID\n"
    "       pipeline [--config FILE] issuance cancel|reissue ISSUANCE_ID --by NAME --note TEXT\n\n"
    "show     the record, its issuance file and its audit trail\n"
    "cancel   cancels a record never delivered (voids its undelivered file; the file's other\n"
    "         records go into the next one)\n"
    "reissue  cancels if needed and creates the replacement <id>-R1 (R2 ...), delivered by the\n"
    "         next settle run once its offering's payment is through\n";

static enum perr
issuance_show(PGconn *db, const char *id)
{
	const char *params[1] = { id };
	PGresult *res;

	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT i.issuance_id, i.offering_id, i.investor_id, i.units, i.status, coalesce(i.issuance_file, '-'),"
	    "       CASE WHEN f.voided_at IS NOT NULL THEN 'voided' WHEN f.uploaded_at IS NOT NULL THEN 'delivered'"
	    "            WHEN f.file_name IS NOT NULL THEN 'not delivered' ELSE '-' END,"
	    "       coalesce(i.replaces, '-'),"
	    "       coalesce((SELECT r.issuance_id FROM issuance r WHERE r.replaces = i.issuance_id), '-')"
	    "  FROM issuance i LEFT JOIN outbound_file f ON f.file_name = i.issuance_file"
	    " WHERE i.issuance_id = $1", 1, params);
	if (res == NULL)
		return PERR_DB;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return perr_set(PERR_NOT_FOUND, "issuance record %s does not exist", id);
	}
	printf("issuance      %s\noffering      %s\ninvestor      %s\nunits         %s\nstatus        %s\n"
	    "file          %s (%s)\nreplaces      %s\nreplaced by   %s\n", PQgetvalue(res, 0, 0),
	    PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4),
	    PQgetvalue(res, 0, 5), PQgetvalue(res, 0, 6), PQgetvalue(res, 0, 7), PQgetvalue(res, 0, 8));
	PQclear(res);
	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT to_char(acted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), action, status_before,"
	    "       coalesce(replacement, '-'), by_name, note FROM settlement_action"
	    " WHERE subject_kind = 'ISSUANCE' AND subject_id = $1 ORDER BY action_id", 1, params);
	if (res == NULL)
		return PERR_DB;
	for (int i = 0; i < PQntuples(res); i++)
		printf("audit         %s UTC %s (was %s) replacement %s by %s: %s\n", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
		    PQgetvalue(res, i, 5));
	PQclear(res);
	return PERR_OK;
}

/* Cancels the record (locked by the caller), voiding its undelivered file. */
static enum perr
issuance_cancel(PGconn *db, const char *id, const struct cli_fix *a)
{
	const char *params[4] = { id, a->by, a->note, NULL };
	PGresult *res;
	enum perr rc = PERR_OK;

	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT i.status, coalesce(i.issuance_file, ''), f.uploaded_at IS NOT NULL, f.voided_at IS NOT NULL"
	    "  FROM issuance i LEFT JOIN outbound_file f ON f.file_name = i.issuance_file"
	    " WHERE i.issuance_id = $1 FOR UPDATE OF i", 1, params);
	if (res == NULL)
		return PERR_DB;
	if (PQntuples(res) == 0)
		rc = perr_set(PERR_NOT_FOUND, "issuance record %s does not exist", id);
	else if (strcmp(PQgetvalue(res, 0, 0), "ACTIVE") != 0)
		rc = perr_set(PERR_STATE, "issuance record %s is already %s", id, PQgetvalue(res, 0, 0));
	else if (PQgetvalue(res, 0, 2)[0] == 't')
		rc = perr_set(PERR_STATE, "issuance record %s was delivered to the trustee in %s; a delivered "
		    "record is never cancelled", id, PQgetvalue(res, 0, 1));
	if (rc == PERR_OK && PQgetvalue(res, 0, 1)[0] && PQgetvalue(res, 0, 3)[0] != 't') {
		const char *p2[2] = { PQgetvalue(res, 0, 1), a->by };

		rc = db_command(db, "UPDATE outbound_file SET voided_at = clock_timestamp(), voided_by = $2"
		    " WHERE file_name = $1 AND uploaded_at IS NULL", 2, p2);
		if (rc == PERR_OK)
			printf("voided issuance file %s (never delivered); its other records go into the next file\n",
			    p2[0]);
	}
	PQclear(res);
	if (rc == PERR_OK)
		rc = db_command(db, "UPDATE issuance SET status = 'CANCELLED' WHERE issuance_id = $1", 1, params);
	if (rc == PERR_OK)
		rc = db_command(db,
		    "INSERT INTO settlement_action (subject_kind, subject_id, action, status_before, by_name, note)"
		    " VALUES ('ISSUANCE', $1, 'CANCEL', 'ACTIVE', $2, $3)", 3, params);
	if (rc == PERR_OK) {
		printf("cancelled %s\n", id);
		log_event(LOG_INFO, "issuance", "issuance record cancelled", "issuance", id, "by", a->by,
		    (const char *)NULL);
	}
	return rc;
}

/* The replacement of cancelled record `id`: the same units, a new id, no file yet. */
static enum perr
issuance_reissue(PGconn *db, const char *id, const struct cli_fix *a)
{
	const char *r = strstr(id, "-R");
	size_t base_len = (r && r[2] && strspn(r + 2, "0123456789") == strlen(r + 2)) ? (size_t)(r - id) : strlen(id);
	char *base = xstrndup(id, base_len);
	const char *params[4] = { id, base, a->by, a->note };
	PGresult *res;
	enum perr rc;

	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT $2 || '-R' || (coalesce(max(substr(issuance_id, length($2) + 3)::int), 0) + 1),"
	    "       EXISTS (SELECT 1 FROM issuance WHERE replaces = $1)"
	    "  FROM issuance WHERE issuance_id ~ ('^' || $2 || '-R[0-9]+$')", 2, params);
	free(base);
	if (res == NULL)
		return PERR_DB;
	if (PQgetvalue(res, 0, 1)[0] == 't') {
		PQclear(res);
		return perr_set(PERR_STATE, "issuance record %s was re-issued already", id);
	}
	{
		char *nid = xstrdup(PQgetvalue(res, 0, 0));
		const char *p2[4] = { id, nid, a->by, a->note };

		PQclear(res);
		rc = db_command(db,
		    "INSERT INTO issuance (issuance_id, offering_id, investor_id, units, unit_price_minor, amount_minor,"
		    "  currency, settlement_date, business_date, replaces)"
		    " SELECT $2, offering_id, investor_id, units, unit_price_minor, amount_minor, currency,"
		    "        settlement_date, business_date, $1 FROM issuance WHERE issuance_id = $1", 2, p2);
		if (rc == PERR_OK)
			rc = db_command(db,
			    "INSERT INTO settlement_action (subject_kind, subject_id, action, replacement, status_before,"
			    "  by_name, note) VALUES ('ISSUANCE', $1, 'REISSUE', $2, 'CANCELLED', $3, $4)", 4, p2);
		if (rc == PERR_OK)
			printf("re-issued %s as %s: the next settle run delivers it once its payment is through\n", id, nid);
		free(nid);
	}
	return rc;
}

static enum perr
issuance_fix(PGconn *db, const struct cli_fix *a)
{
	const char *params[1] = { a->id };
	PGresult *res;
	enum perr rc;
	bool cancelled;

	if ((rc = db_begin(db)) != PERR_OK)
		return rc;
	res = db_query(db, PGRES_TUPLES_OK, "SELECT status FROM issuance WHERE issuance_id = $1 FOR UPDATE",
	    1, params);
	if (res == NULL) {
		db_rollback(db);
		return PERR_DB;
	}
	cancelled = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "CANCELLED") == 0;
	PQclear(res);
	if (!cancelled || strcmp(a->verb, "cancel") == 0)
		rc = issuance_cancel(db, a->id, a);
	if (rc == PERR_OK && strcmp(a->verb, "reissue") == 0)
		rc = issuance_reissue(db, a->id, a);
	if (rc == PERR_OK)
		return db_commit(db);
	db_rollback(db);
	return rc;
}

int
cmd_issuance(int argc, char **argv, const char *config_path)
{
	struct cli_fix a;
	struct config *cfg = NULL;
	PGconn *db = NULL;
	enum perr e;
	int rc;

	if ((rc = cli_fix_args(argc, argv, issuance_usage, &a)) >= 0)
		return rc;
	if ((e = cli_open(config_path, "issuance", &cfg, &db)) != PERR_OK)
		return cli_fail(e);
	if (strcmp(a.verb, "show") == 0)
		e = issuance_show(db, a.id);
	else if ((e = db_lock_acquire(db)) == PERR_OK) {
		e = issuance_fix(db, &a);
		db_lock_release(db);
	}
	PQfinish(db);
	config_free(cfg);
	return e == PERR_OK ? 0 : cli_fail(e);
}
