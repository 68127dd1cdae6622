/*
 * approve.c - `pipeline approve TRANSFER_ID --by NAME`: the second pair of eyes on a large payment.
 *
 * A transfer above [settle] four_eyes_limit is created AWAITING_APPROVAL by the settle stage and put
 * in no payment file. A person other than the operator of the settle run that created it approves
 * it here: the transfer becomes READY with approved_by / approved_at recorded beside created_by
 * (sql/040_settle.sql, whose CHECK refuses the creator as approver at the database level too), and
 * the next settle run files and uploads it. Takes the pipeline
 * lock, so it never races a running settle.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "commands.h"
#include "db.h"
#include "log.h"
#include "money.h"

static void
usage_approve(FILE *fp)
{
	fprintf(fp,
	    "usage: pipeline [--config FILE] approve TRANSFER_ID --by NAME\n\n"
	    "Approves a transfer held for four-eyes approval (status AWAITING_APPROVAL). NAME must\n"
	    "differ from the operator of the settle run that created the transfer. The next settle\n"
	    "run puts it into a payment file.\n");
}

/* Trimmed, case-insensitive comparison of two names: "Alice" and " alice" are one person. */
static int
same_person(const char *a, const char *b)
{
	size_t la, lb;

	while (*a == ' ')
		a++;
	while (*b == ' ')
		b++;
	la = strlen(a);
	lb = strlen(b);
	while (la && a[la - 1] == ' ')
		la--;
	while (lb && b[lb - 1] == ' ')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static enum perr
approve(PGconn *db, const char *id, const char *by)
{
	const char *params[2] = { id, by };
	PGresult *res;
	enum perr rc;
	char amount[MONEY_BUFSZ];

	if ((rc = db_begin(db)) != PERR_OK)
		return rc;
	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT t.status, coalesce(t.created_by, r.operator, ''), coalesce(t.approved_by, ''),"
	    "       t.amount_minor, t.currency, c.exponent, t.to_account"
	    "  FROM transfer t JOIN currency c ON c.code = t.currency"
	    "  LEFT JOIN offering_settlement s ON s.offering_id = t.offering_id"
	    "  LEFT JOIN stage_run r ON r.run_id = s.run_id"
	    " WHERE t.transfer_id = $1 FOR UPDATE OF t", 1, params);
	if (res == NULL)
		goto fail;
	if (PQntuples(res) == 0) {
		PQclear(res);
		rc = perr_set(PERR_NOT_FOUND, "approve: transfer %s does not exist", id);
		goto fail;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "AWAITING_APPROVAL") != 0) {
		if (PQgetvalue(res, 0, 2)[0])
			rc = perr_set(PERR_STATE, "approve: transfer %s is %s; it was already approved by %s", id,
			    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 2));
		else
			rc = perr_set(PERR_STATE, "approve: transfer %s is %s; it is not waiting for approval",
			    id, PQgetvalue(res, 0, 0));
		PQclear(res);
		goto fail;
	}
	if (same_person(PQgetvalue(res, 0, 1), by)) {
		rc = perr_set(PERR_REFUSED, "approve: %s ran the settlement that created transfer %s; a "
		    "different person must approve it (four eyes)", PQgetvalue(res, 0, 1), id);
		PQclear(res);
		goto fail;
	}
	money_format(db_get_i64(res, 0, 3), (int)db_get_i64(res, 0, 5), amount);
	printf("approved %s: %s %s to %s by %s (created by %s); the next settle run files it\n", id,
	    PQgetvalue(res, 0, 4), amount, PQgetvalue(res, 0, 6), by, PQgetvalue(res, 0, 1));
	log_event(LOG_INFO, "approve", "transfer approved", "transfer", id, "approved_by", by,
	    "operator", PQgetvalue(res, 0, 1), (const char *)NULL);
	PQclear(res);
	if ((rc = db_command(db,
	    "UPDATE transfer SET status = 'READY', approved_by = $2, approved_at = clock_timestamp()"
	    " WHERE transfer_id = $1 AND status = 'AWAITING_APPROVAL'", 2, params)) != PERR_OK)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return rc != PERR_OK ? rc : PERR_DB;
}

int
cmd_approve(int argc, char **argv, const char *config_path)
{
	static const struct option opts[] = {
		{ "by", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *by = NULL, *id;
	struct config *cfg = NULL;
	PGconn *db = NULL;
	enum perr e;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b': by = optarg; break;
		case 'h': usage_approve(stdout); return 0;
		default: usage_approve(stderr); return 2;
		}
	}
	if (optind != argc - 1 || by == NULL) {
		usage_approve(stderr);
		return 2;
	}
	id = argv[optind];
	{
		const char *p = by;

		while (*p == ' ')
			p++;
		if (*p == '\0') {
			fprintf(stderr, "pipeline: approve: --by must name the approver\n");
			return 2;
		}
	}
	if ((e = cli_open(config_path, "approve", &cfg, &db)) != PERR_OK)
		return cli_fail(e);
	if ((e = db_lock_acquire(db)) == PERR_OK) {
		e = approve(db, id, by);
		db_lock_release(db);
	}
	PQfinish(db);
	config_free(cfg);
	return e == PERR_OK ? 0 : cli_fail(e);
}
