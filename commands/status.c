/*
 * status.c - `pipeline status`: each stage's latest state for a business date, or for the seven
 * most recent business dates that have anything recorded (newest first), as a table or as JSON.
 * Times are in the business time zone ([pipeline] timezone, the session's), and say so: the
 * table's header names the zone, JSON times carry their offset (ISO 8601).
 * The table is followed by the transfers still on their way (not SETTLED or CANCELLED) or made
 * or moved on the dates shown, with the bank's last word.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "db.h"
#include "jsonout.h"
#include "money.h"
#include "utf8.h"
#include "util.h"

/*
 * The transfers a person looks at with the stages: every one not yet final (SETTLED, CANCELLED)
 * and every one made or moved on a date shown, with its latest status from the bank.
 */
static enum perr
print_transfers(PGconn *db, const char *from_iso, const char *to_iso)
{
	const char *params[2] = { from_iso, to_iso };
	PGresult *res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT t.transfer_id, t.status, t.currency,"
	    "       coalesce(t.payment_file, ''), coalesce(e.bank_status || CASE WHEN e.reason_code <> ''"
	    "       THEN ' ' || e.reason_code ELSE '' END || CASE WHEN e.reason_text <> '' THEN ' ' || e.reason_text"
	    "       ELSE '' END, ''), coalesce(to_char(e.status_time, 'YYYY-MM-DD HH24:MI'), ''),"
	    "       cu.exponent, t.amount_minor"
	    "  FROM transfer t JOIN currency cu ON cu.code = t.currency"
	    "  LEFT JOIN LATERAL (SELECT * FROM transfer_status_event x WHERE x.transfer_id = t.transfer_id"
	    "                      ORDER BY x.event_id DESC LIMIT 1) e ON true"
	    "  LEFT JOIN stage_run r ON r.run_id = e.run_id"
	    " WHERE t.status NOT IN ('SETTLED', 'CANCELLED') OR t.business_date BETWEEN $1::date AND $2::date"
	    "    OR r.business_date BETWEEN $1::date AND $2::date"
	    " ORDER BY t.business_date, t.transfer_id", 2, params);

	if (res == NULL)
		return PERR_DB;
	if (PQntuples(res) > 0) {
		printf("\ntransfers\n  %-35s %-17s %21s  %-26s %-16s  %s\n", "TRANSFER", "STATUS", "AMOUNT",
		    "PAYMENT FILE", "BANK SAID AT", "BANK STATUS");
		for (int j = 0; j < PQntuples(res); j++) {
			char amount[MONEY_BUFSZ], shown[48];

			snprintf(shown, sizeof shown, "%s %s", PQgetvalue(res, j, 2),
			    money_format(strtoll(PQgetvalue(res, j, 7), NULL, 10), atoi(PQgetvalue(res, j, 6)), amount));
			printf("  %-35s %-17s %21s  %-26s %-16s  %s\n", PQgetvalue(res, j, 0), PQgetvalue(res, j, 1), shown,
			    PQgetvalue(res, j, 3), PQgetvalue(res, j, 5), PQgetvalue(res, j, 4));
		}
	}
	PQclear(res);
	return PERR_OK;

}

/*
 * The stage's error as it may be printed: it can quote a remote name, so control, bidi and
 * invisible characters are escaped (src/utf8.h). Valid until the next call; owned here.
 */
static const char *
error_shown(const PGresult *res, int j)
{
	static char *last;

	free(last);
	last = utf8_shown(PQgetvalue(res, j, 8), (size_t)PQgetlength(res, j, 8), UTF8_SHOWN_FIELD);
	return last;
}

/* One stage's row of the status query as a JSON object (the keys of `status --json`). */
static json_t *
stage_json(const PGresult *res, int j)
{
	json_t *o = json_object();

	jsonout_set(o, "stage", jsonout_str(PQgetvalue(res, j, 0)));
	jsonout_set(o, "state", jsonout_str(PQgetvalue(res, j, 1)));
	jsonout_set(o, "run_id", jsonout_int(atoll(PQgetvalue(res, j, 9))));
	jsonout_set(o, "started_at", jsonout_str(PQgetvalue(res, j, 12)));
	jsonout_set(o, "finished_at", jsonout_str(PQgetvalue(res, j, 13)));
	jsonout_set(o, "rows_in", jsonout_int(atoll(PQgetvalue(res, j, 5))));
	jsonout_set(o, "rows_out", jsonout_int(atoll(PQgetvalue(res, j, 6))));
	jsonout_set(o, "exceptions", jsonout_int(atoll(PQgetvalue(res, j, 7))));
	jsonout_set(o, "error", jsonout_str(PQgetvalue(res, j, 8)));
	jsonout_set(o, "invocation", jsonout_str(PQgetvalue(res, j, 11)));
	return o;
}

/*
 * The copies accepted by hand (`pipeline accept`) as the files of record of the date: which copy is
 * used, which it superseded, who accepted it and why. Printed (or, with day != NULL, added to the
 * day's JSON as "accepted") only when there are some.
 */
static enum perr
print_accepted(PGconn *db, const char *iso, json_t *day)
{
	const char *p[1] = { iso };
	json_t *list = NULL;
	PGresult *res;
	int i, n;

	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT a.file_id, f.source, f.remote_name, a.superseded_file_id, a.accepted_by,"
	    "       to_char(a.accepted_at, 'YYYY-MM-DD HH24:MI:SS'), a.note, coalesce(l.status, 'NOT LOADED YET')"
	    "  FROM file_choice c JOIN file_acceptance a ON a.acceptance_id = c.acceptance_id"
	    "  JOIN fetched_file f ON f.file_id = a.file_id LEFT JOIN file_load l ON l.file_id = a.file_id"
	    " WHERE c.file_id = a.file_id AND a.business_date = $1::date ORDER BY f.source, f.remote_name", 1, p);
	if (res == NULL)
		return PERR_DB;
	n = PQntuples(res);
	if (n > 0 && day == NULL)
		printf("  files of record accepted by hand:\n");
	if (n > 0 && day != NULL)
		list = json_array();
	for (i = 0; i < n; i++) {
		if (day == NULL) {
			printf("  %s %s: file %s is used (%s), superseding file %s; accepted by %s at %s: %s\n",
			    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 0), PQgetvalue(res, i, 7),
			    PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), PQgetvalue(res, i, 5), PQgetvalue(res, i, 6));
			continue;
		}
		json_t *o = json_object();

		jsonout_set(o, "source", jsonout_str(PQgetvalue(res, i, 1)));
		jsonout_set(o, "remote_name", jsonout_str(PQgetvalue(res, i, 2)));
		jsonout_set(o, "file_id", jsonout_int(atoll(PQgetvalue(res, i, 0))));
		jsonout_set(o, "load", jsonout_str(PQgetvalue(res, i, 7)));
		jsonout_set(o, "superseded_file_id", jsonout_int(atoll(PQgetvalue(res, i, 3))));
		jsonout_set(o, "accepted_by", jsonout_str(PQgetvalue(res, i, 4)));
		jsonout_set(o, "accepted_at", jsonout_str(PQgetvalue(res, i, 5)));
		jsonout_set(o, "note", jsonout_str(PQgetvalue(res, i, 6)));
		json_array_append_new(list, o);
	}
	if (list != NULL)
		jsonout_set(day, "accepted", list);
	PQclear(res);
	return PERR_OK;
}

/* The (at most 7) most recent business dates with a stage run recorded, newest first. */
static enum perr
recent_dates(PGconn *db, date_t *dates, int *n)
{
	PGresult *res = db_query(db, PGRES_TUPLES_OK, "SELECT DISTINCT business_date::text FROM stage_run"
	    " ORDER BY 1 DESC LIMIT 7", 0, NULL);
	int i;

	*n = 0;
	if (res == NULL)
		return PERR_DB;
	for (i = 0; i < PQntuples(res); i++)
		if (date_parse_iso(PQgetvalue(res, i, 0), &dates[(*n)]) == PERR_OK)
			(*n)++;
	PQclear(res);
	return PERR_OK;
}

/*
 * The latest sign-off of each role for the date (recon_signoff, `pipeline signoff`): printed under the
 * stages, or added to the date's JSON object `day` as "signoff": {"prepared": {"by", "at"} or null, ...}.
 */
static enum perr
signoff_show(PGconn *db, const char *iso, json_t *day)
{
	const char *params[1] = { iso };
	PGresult *res;
	json_t *obj;
	int j;

	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT r.role, s.signed_by, to_char(s.signed_at, 'YYYY-MM-DD HH24:MI:SS'),"
	    "       to_char(s.signed_at, 'YYYY-MM-DD\"T\"HH24:MI:SSOF')"
	    "  FROM unnest(ARRAY['prepared', 'reviewed']) WITH ORDINALITY AS r(role, ord)"
	    "  LEFT JOIN LATERAL (SELECT * FROM recon_signoff x WHERE x.business_date = $1::date"
	    "                      AND x.role = r.role ORDER BY signoff_id DESC LIMIT 1) s ON true"
	    " ORDER BY r.ord", 1, params);
	if (res == NULL)
		return PERR_DB;
	obj = day ? json_object() : NULL;
	if (!day)
		printf("  bank reconciliation:");
	for (j = 0; j < PQntuples(res); j++) {
		bool signed_ = !PQgetisnull(res, j, 1);

		if (day) {
			json_t *o = json_null();

			if (signed_) {
				o = json_object();
				jsonout_set(o, "by", jsonout_str(PQgetvalue(res, j, 1)));
				jsonout_set(o, "at", jsonout_str(PQgetvalue(res, j, 3)));
			}
			jsonout_set(obj, PQgetvalue(res, j, 0), o);
		} else if (signed_)
			printf("%s %s by %s at %s", j ? ";" : "", PQgetvalue(res, j, 0), PQgetvalue(res, j, 1),
			    PQgetvalue(res, j, 2));
		else
			printf("%s not %s", j ? ";" : "", PQgetvalue(res, j, 0));
	}
	if (day)
		jsonout_set(day, "signoff", obj);
	else
		printf("\n");
	PQclear(res);
	return PERR_OK;
}

int
cmd_status(int argc, char **argv, const char *config_path)
{
	static const struct option opts[] = {
		{ "date", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *date_arg = NULL;
	bool json = false;
	struct config *cfg = NULL;
	PGconn *db = NULL;
	date_t dates[7];
	json_t *days = NULL;
	int n_dates = 0, c, i, j;
	enum perr e;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': date_arg = optarg; break;
		case 'j': json = true; break;
		case 'h':
			printf("usage: pipeline status [--date YYYY-MM-DD] [--json]\n"
			    "Shows each stage's state for the date, or for the 7 most recent business dates\n"
			    "with anything recorded, newest first, then each transfer on its way or made or\n"
			    "moved on those dates, with its status. Times are in [pipeline] timezone.\n");
			return 0;
		default:
			fprintf(stderr, "usage: pipeline status [--date YYYY-MM-DD] [--json]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: pipeline status [--date YYYY-MM-DD] [--json]\n");
		return 2;
	}
	if ((e = cli_open(config_path, "status", &cfg, &db)) != PERR_OK)
		return cli_fail(e);
	days = json_array();    /* after every early return: the usage and refusal paths leak nothing */
	if (date_arg) {
		if ((e = cli_date(cfg, date_arg, &dates[0])) != PERR_OK)
			goto out;
		n_dates = 1;
	} else if ((e = recent_dates(db, dates, &n_dates)) != PERR_OK)
		goto out;
	if (n_dates == 0 && !json)
		printf("nothing recorded yet: no stage has run for any date (pipeline run --date YYYY-MM-DD)\n");
	else if (!json)
		printf("times in %s\n\n", cfg->timezone);
	for (i = 0; i < n_dates; i++) {
		char iso[DATE_BUFSZ];
		const char *params[1];
		PGresult *res;

		params[0] = date_format_iso(dates[i], iso);
		res = db_query(db, PGRES_TUPLES_OK,
		    "SELECT s.stage, coalesce(r.state, 'pending'),"
		    "  coalesce(to_char(r.started_at, 'YYYY-MM-DD HH24:MI:SS'), ''),"
		    "  coalesce(to_char(r.finished_at, 'YYYY-MM-DD HH24:MI:SS'), ''),"
		    "  coalesce(to_char(extract(epoch FROM (coalesce(r.finished_at, clock_timestamp()) - r.started_at)),"
		    "           'FM999999990.0') || 's', ''),"
		    "  coalesce(r.rows_in, 0), coalesce(r.rows_out, 0), coalesce(r.exceptions, 0),"
		    "  coalesce(r.error, ''), coalesce(r.run_id, 0), coalesce(r.operator, ''),"
		    "  coalesce(r.invocation, ''),"
		    "  coalesce(to_char(r.started_at, 'YYYY-MM-DD\"T\"HH24:MI:SSOF'), ''),"
		    "  coalesce(to_char(r.finished_at, 'YYYY-MM-DD\"T\"HH24:MI:SSOF'), '')"
		    "  FROM unnest(ARRAY['fetch','normalize','reconcile','settle','report'])"
		    "       WITH ORDINALITY AS s(stage, ord)"
		    "  LEFT JOIN LATERAL (SELECT * FROM stage_run x WHERE x.business_date = $1::date"
		    "                      AND x.stage = s.stage ORDER BY run_id DESC LIMIT 1) r ON true"
		    " ORDER BY s.ord", 1, params);
		if (res == NULL) {
			e = PERR_DB;
			goto out;
		}
		if (json) {
			json_t *day = json_object(), *list = json_array();

			for (j = 0; j < PQntuples(res); j++)
				json_array_append_new(list, stage_json(res, j));
			jsonout_set(day, "date", jsonout_str(iso));
			jsonout_set(day, "stages", list);
			json_array_append_new(days, day);
		} else {
			printf("%s%s\n", i ? "\n" : "", iso);
			printf("  %-10s %-8s %-19s %-19s %9s %9s %9s %6s  %s\n", "STAGE", "STATE", "STARTED",
			    "FINISHED", "DURATION", "ROWS IN", "ROWS OUT", "EXC", "ERROR");
			for (j = 0; j < PQntuples(res); j++)
				printf("  %-10s %-8s %-19s %-19s %9s %9s %9s %6s  %s\n", PQgetvalue(res, j, 0),
				    PQgetvalue(res, j, 1), PQgetvalue(res, j, 2), PQgetvalue(res, j, 3),
				    PQgetvalue(res, j, 4), PQgetvalue(res, j, 5), PQgetvalue(res, j, 6),
				    PQgetvalue(res, j, 7), error_shown(res, j));
		}
		PQclear(res);
		if ((e = print_accepted(db, iso, json ? json_array_get(days, json_array_size(days) - 1) : NULL)) != PERR_OK)
			goto out;
		if ((e = signoff_show(db, iso, json ? json_array_get(days, json_array_size(days) - 1) : NULL)))
			goto out;
	}
	if (json) {     /* jsonout_write frees days; the text form never hands it over */
		if (jsonout_write(stdout, days, JSONOUT_COMPACT, "\n") != 0)
			e = perr_set(PERR_IO, "status: writing to standard output failed");
		days = NULL;
	} else if (n_dates > 0) {
		char from[DATE_BUFSZ], to[DATE_BUFSZ];

		e = print_transfers(db, date_format_iso(dates[n_dates - 1], from), date_format_iso(dates[0], to));
	}
out:
	json_decref(days);
	PQfinish(db);
	config_free(cfg);
	return e == PERR_OK ? 0 : cli_fail(e);
}
