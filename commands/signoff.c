/*
 * signoff.c - `pipeline signoff --date D --by NAME --role prepared|reviewed`: a person signs the bank
 * reconciliation of a business date as its preparer or its reviewer (recon_signoff, sql/141). The
 * reviewer must be someone other than the latest preparer (four eyes), and there must be a reconcile
 * run of the date to sign. The next report of the date shows the names on its Bank Reconciliation
 * sheet; `pipeline status` shows them at once.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "db.h"
#include "log.h"

static const char signoff_usage[] =
    "usage: pipeline signoff --date YYYY-MM-DD --by NAME --role prepared|reviewed\n";

/*
 * Records the sign-off in one transaction, under the run lock (a reconcile rerun cannot slip in
 * between the checks and the INSERT). Returns PERR_STATE when there is nothing to sign or the
 * reviewer is the preparer.
 */
static enum perr
signoff_record(PGconn *db, const char *date_iso, const char *by, const char *role, long long *id)
{
	const char *params[3] = { date_iso, by, role };
	PGresult *res;
	enum perr e;

	if ((e = db_begin(db)) != PERR_OK)
		return e;
	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT (SELECT max(run_id) FROM stage_run WHERE stage = 'reconcile' AND state = 'done'"
	    "          AND business_date = $1::date),"
	    "       (SELECT signed_by FROM recon_signoff WHERE business_date = $1::date AND role = 'prepared'"
	    "         ORDER BY signoff_id DESC LIMIT 1), $2, $3", 3, params);
	if (res == NULL)
		goto fail;
	if (PQgetisnull(res, 0, 0))
		e = perr_set(PERR_STATE, "signoff: %s has no finished reconcile run: nothing to sign", date_iso);
	else if (!strcmp(role, "reviewed") && PQgetisnull(res, 0, 1))
		e = perr_set(PERR_STATE, "signoff: the reconciliation of %s has not been prepared yet (--role prepared first)",
		    date_iso);
	else if (!strcmp(role, "reviewed") && !strcmp(PQgetvalue(res, 0, 1), by))
		e = perr_set(PERR_STATE, "signoff: %s prepared the reconciliation of %s and cannot also review it"
		    " (four eyes)", by, date_iso);
	PQclear(res);
	if (e != PERR_OK)
		goto fail;
	res = db_query(db, PGRES_TUPLES_OK,
	    "INSERT INTO recon_signoff (business_date, role, signed_by, reconcile_run)"
	    " SELECT $1::date, $3, $2, max(run_id) FROM stage_run WHERE stage = 'reconcile' AND state = 'done'"
	    "    AND business_date = $1::date RETURNING signoff_id", 3, params);
	if (res == NULL)
		goto fail;
	*id = db_get_i64(res, 0, 0);
	PQclear(res);
	return db_commit(db);
fail:
	db_rollback(db);
	return e != PERR_OK ? e : PERR_DB;
}

int
cmd_signoff(int argc, char **argv, const char *config_path)
{
	static const struct option opts[] = {
		{ "date", required_argument, NULL, 'd' },
		{ "by", required_argument, NULL, 'b' },
		{ "role", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *date_arg = NULL, *by = NULL, *role = NULL;
	struct config *cfg = NULL;
	PGconn *db = NULL;
	char iso[DATE_BUFSZ];
	date_t date;
	long long id = 0;
	int c;
	enum perr e;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': date_arg = optarg; break;
		case 'b': by = optarg; break;
		case 'r': role = optarg; break;
		case 'h':
			printf("%s"
			    "Signs the bank reconciliation of a business date as its preparer or reviewer. Recorded\n"
			    "with the time, never changed; the reviewer must not be the preparer. `pipeline status`\n"
			    "shows the sign-offs; `pipeline report --date D --force` puts them on the workbook.\n",
			    signoff_usage);
			return 0;
		default:
			fputs(signoff_usage, stderr);
			return 2;
		}
	}
	if (optind != argc || date_arg == NULL || by == NULL || role == NULL) {
		fputs(signoff_usage, stderr);
		return 2;
	}
	if (strcmp(role, "prepared") != 0 && strcmp(role, "reviewed") != 0) {
		fprintf(stderr, "pipeline: usage error: signoff: --role is \"%s\", expected prepared or reviewed\n", role);
		return 2;
	}
	if (by[strspn(by, " \t")] == '\0') {
		fprintf(stderr, "pipeline: usage error: signoff: --by names the person who signs\n");
		return 2;
	}
	if ((e = cli_open(config_path, "signoff", &cfg, &db)) != PERR_OK)
		return cli_fail(e);
	if ((e = cli_date(cfg, date_arg, &date)) == PERR_OK && (e = db_lock_acquire(db)) == PERR_OK) {
		e = signoff_record(db, date_format_iso(date, iso), by, role, &id);
		db_lock_release(db);
	}
	if (e == PERR_OK) {
		char idbuf[24];

		snprintf(idbuf, sizeof idbuf, "%lld", id);
		log_event(LOG_INFO, "signoff", "reconciliation signed", "date", iso, "role", role, "by", by, "id", idbuf,
		    (const char *)NULL);
		printf("bank reconciliation of %s %s by %s (sign-off %lld)\n", iso, role, by, id);
	}
	PQfinish(db);
	config_free(cfg);
	return e == PERR_OK ? 0 : cli_fail(e);
}
