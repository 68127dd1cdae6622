/*
 * accept.c - `pipeline accept FILE_ID --by NAME --note TEXT`: makes a copy of a re-sent statement
 * file (a FILE_CONFLICT copy, kept beside the first by fetch) the file of record for its date.
 *
 * One transaction, under the pipeline lock: a file_acceptance row (who, why, which copy it
 * supersedes; sql/105, never changed or removed), the FILE_CONFLICT exception of the accepted copy
 * and a FILE_QUARANTINED one of the superseded copy resolved with the note, and the date's
 * normalize and later stages marked stale. Nothing is loaded or deleted here: the next
 * `pipeline run` (or `pipeline normalize`) of the date removes what the superseded copy had loaded
 * and loads the accepted one in the same transaction (stages/normalize.c); the first copy stays in
 * fetched_file and in the inbox.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "db.h"
#include "exceptions.h"
#include "log.h"
#include "util.h"

static const char accept_usage[] = "usage: pipeline accept FILE_ID --by NAME --note TEXT\n";

/* The copy to accept and the file of record it replaces. */
struct choice {
	char file_id[24], date[16], source[128], name[512], status[16];
	char current[24];        /* the file of record now */
};

/* Reads FILE_ID's copy and its name's file of record; PERR_NOT_FOUND / PERR_STATE when it cannot be accepted. */
static enum perr
find_choice(PGconn *db, const char *id, struct choice *c)
{
	const char *p[1] = { id };
	PGresult *res;

	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT f.file_id, to_char(f.business_date, 'YYYY-MM-DD'), f.source, f.remote_name, f.status, c.of_record,"
	    "       coalesce((SELECT r.file_id FROM fetched_file r JOIN file_choice rc USING (file_id)"
	    "                  WHERE r.source = f.source AND r.business_date = f.business_date"
	    "                    AND r.remote_name = f.remote_name AND rc.of_record), 0)"
	    "  FROM fetched_file f JOIN file_choice c USING (file_id) WHERE f.file_id = $1::bigint", 1, p);
	if (res == NULL)
		return PERR_DB;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return perr_set(PERR_NOT_FOUND, "accept: fetched file %s does not exist (see the Statements sheet or "
		    "the FILE_CONFLICT exception for its id)", id);
	}
	snprintf(c->file_id, sizeof c->file_id, "%s", PQgetvalue(res, 0, 0));
	snprintf(c->date, sizeof c->date, "%s", PQgetvalue(res, 0, 1));
	snprintf(c->source, sizeof c->source, "%s", PQgetvalue(res, 0, 2));
	snprintf(c->name, sizeof c->name, "%s", PQgetvalue(res, 0, 3));
	snprintf(c->status, sizeof c->status, "%s", PQgetvalue(res, 0, 4));
	snprintf(c->current, sizeof c->current, "%s", PQgetvalue(res, 0, 6));
	if (strcmp(c->status, "DUPLICATE") == 0) {
		PQclear(res);
		return perr_set(PERR_STATE, "accept: file %s is a byte-identical re-send (DUPLICATE): there is nothing to "
		    "choose", id);
	}
	if (strcmp(PQgetvalue(res, 0, 5), "t") == 0) {
		PQclear(res);
		return perr_set(PERR_STATE, "accept: file %s (%s of %s, source %s) is already the file of record",
		    id, c->name, c->date, c->source);
	}
	PQclear(res);
	if (strcmp(c->current, "0") == 0)
		return perr_set(PERR_INTERNAL, "accept: %s of %s (source %s) has no file of record", c->name, c->date,
		    c->source);
	return PERR_OK;
}

/* Resolves, with the note, the open exception of `type` about fetched file `id` (if any). */
static enum perr
resolve_file_exception(PGconn *db, const char *type, const char *id, const char *by, const char *note)
{
	char subject[40];
	const char *p[2] = { type, subject };
	PGresult *res;
	enum perr e = PERR_OK;
	int i;

	snprintf(subject, sizeof subject, "file:%s", id);
	res = db_query(db, PGRES_TUPLES_OK, "SELECT exception_id FROM exception WHERE type = $1 AND subject = $2"
	    " AND status = 'OPEN' ORDER BY exception_id", 2, p);
	if (res == NULL)
		return PERR_DB;
	for (i = 0; i < PQntuples(res) && e == PERR_OK; i++)
		e = exception_resolve(db, db_get_i64(res, i, 0), by, note);
	PQclear(res);
	return e;
}

/* The acceptance, its exceptions resolved and the date's later stages stale: one transaction. */
static enum perr
record_acceptance(PGconn *db, const struct choice *c, const char *by, const char *note, char *acc_id, size_t cap)
{
	const char *p[7] = { c->file_id, c->current, c->date, c->source, c->name, by, note };
	char why[600];
	PGresult *res;
	enum perr e;

	if ((e = db_begin(db)) != PERR_OK)
		return e;
	res = db_query(db, PGRES_TUPLES_OK,
	    "INSERT INTO file_acceptance (file_id, superseded_file_id, business_date, source, remote_name,"
	    " accepted_by, note) VALUES ($1::bigint, $2::bigint, $3::date, $4, $5, $6, $7) RETURNING acceptance_id",
	    7, p);
	if (res == NULL) {
		e = PERR_DB;
		goto fail;
	}
	snprintf(acc_id, cap, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	snprintf(why, sizeof why, "accepted as the file of record (acceptance %s): %s", acc_id, note);
	if ((e = resolve_file_exception(db, "FILE_CONFLICT", c->file_id, by, why)) != PERR_OK
	    || (e = resolve_file_exception(db, "FILE_QUARANTINED", c->current, by, why)) != PERR_OK)
		goto fail;
	{
		const char *q[1] = { c->date };

		/* the date's normalize and everything after it run again (as after a forced stage) */
		if ((e = db_command(db,
		    "UPDATE stage_run r SET state = 'stale' WHERE r.state = 'done' AND r.run_id IN ("
		    "  SELECT max(run_id) FROM stage_run WHERE business_date = $1::date"
		    "   AND stage IN ('normalize', 'reconcile', 'settle', 'report') GROUP BY stage)", 1, q)) != PERR_OK)
			goto fail;
	}
	return db_commit(db);
fail:
	db_rollback(db);
	return e;
}

int
cmd_accept(int argc, char **argv, const char *config_path)
{
	static const struct option opts[] = {
		{ "note", required_argument, NULL, 'n' },
		{ "by", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *note = NULL, *by = NULL;
	struct config *cfg = NULL;
	PGconn *db = NULL;
	struct choice ch;
	char acc_id[24] = "";
	char *end;
	long long id;
	int c;
	enum perr e;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': note = optarg; break;
		case 'b': by = optarg; break;
		case 'h':
			printf("%s"
			    "Makes a copy of a re-sent statement file (the FILE_CONFLICT copy fetch kept beside the first)\n"
			    "the file of record for its date. The first copy stays, superseded; the acceptance (who, why)\n"
			    "is recorded and never changed. The date's normalize and later stages are marked stale: the\n"
			    "next `pipeline run --date D` loads the accepted copy in place of the first and redoes them.\n",
			    accept_usage);
			return 0;
		default:
			fputs(accept_usage, stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fputs(accept_usage, stderr);
		return 2;
	}
	id = strtoll(argv[optind], &end, 10);
	if (*argv[optind] == '\0' || *end != '\0' || id <= 0) {
		fprintf(stderr, "pipeline: usage error: accept: \"%s\" is not a file id (a positive number)\n", argv[optind]);
		return 2;
	}
	if (note == NULL || note[strspn(note, " \t")] == '\0') {
		fprintf(stderr, "pipeline: usage error: accept: a note saying why is required (--note TEXT)\n");
		return 2;
	}
	if (by == NULL || by[strspn(by, " \t")] == '\0') {
		fprintf(stderr, "pipeline: usage error: accept: say who accepts it (--by NAME)\n");
		return 2;
	}
	if ((e = cli_open(config_path, "accept", &cfg, &db)) != PERR_OK)
		return cli_fail(e);
	/* a person's decision waits for no run: while one holds the lock, exit 4 and retry */
	if ((e = db_lock_acquire(db)) == PERR_OK) {
		if ((e = find_choice(db, argv[optind], &ch)) == PERR_OK)
			e = record_acceptance(db, &ch, by, note, acc_id, sizeof acc_id);
		db_lock_release(db);
	}
	if (e == PERR_OK) {
		log_event(LOG_INFO, "accept", "file accepted as the file of record", "file_id", ch.file_id,
		    "supersedes", ch.current, "date", ch.date, "by", by, (const char *)NULL);
		printf("file %s (%s, source %s) is the file of record for %s, superseding file %s (acceptance %s by %s);\n"
		    "run `pipeline run --date %s` to load it and redo the later stages\n", ch.file_id, ch.name, ch.source,
		    ch.date, ch.current, acc_id, by, ch.date);
	}
	PQfinish(db);
	config_free(cfg);
	return e == PERR_OK ? 0 : cli_fail(e);
}
