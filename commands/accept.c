/*
 * accept.c - `pipeline accept FILE_ID --by NAME --note TEXT`: makes a copy of a re-sent statement
 * file (a FILE_CONFLICT copy, kept beside the first by fetch) the file of record for its date.
 *
 * One transaction, under the pipeline lock, through the database's door for it (sql/106
 * file_accept): a file_acceptance row (who, why, which copy it supersedes; sql/105, never changed
 * or removed), the FILE_CONFLICT exception of the accepted copy and a FILE_QUARANTINED one of the
 * superseded copy resolved with the note, and the date's normalize marked stale. Nothing is loaded
 * or deleted here: the next `pipeline run` (or `pipeline normalize`) of the date removes what the
 * superseded copy had loaded and loads the accepted one in the same transaction
 * (stages/normalize.c), and, normalize being redone, the later stages are marked stale and redone;
 * the first copy stays in fetched_file and in the inbox.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "db.h"
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

/*
 * The acceptance, its exceptions resolved and the date's normalize stale: one call of the database's
 * door for it (sql/106 file_accept, recorded in history_replace), so one transaction.
 */
static enum perr
record_acceptance(PGconn *db, const struct choice *c, const char *by, const char *note, char *acc_id, size_t cap)
{
	const char *p[3] = { c->file_id, by, note };
	PGresult *res;

	res = db_query(db, PGRES_TUPLES_OK, "SELECT file_accept($1::bigint, $2, $3)", 3, p);
	if (res == NULL)
		return PERR_DB;
	snprintf(acc_id, cap, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return PERR_OK;
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
			    "is recorded and never changed. The date's normalize is marked stale: the next\n"
			    "`pipeline run --date D` loads the accepted copy in place of the first and redoes the later stages.\n",
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
