/*
 * resolve.c - `pipeline resolve EXCEPTION_ID --note TEXT [--by NAME]`: a person closes one open
 * exception by hand. The resolution (who, when, why) is recorded on the row, never deleted, and
 * the same break is not raised again for that subject (see engine/exceptions.c).
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

static const char resolve_usage[] =
    "usage: pipeline resolve EXCEPTION_ID --note TEXT [--by NAME]\n";

int
cmd_resolve(int argc, char **argv, const char *config_path)
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
	int64_t id;
	int c;
	enum perr e;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': note = optarg; break;
		case 'b': by = optarg; break;
		case 'h':
			printf("%s"
			    "Closes one open exception by hand (status RESOLVED). The note says why; --by names the\n"
			    "person (default $PIPELINE_OPERATOR, else $USER). The record is kept, never deleted, and\n"
			    "the same break is not raised again. Find ids with `pipeline export exceptions`.\n",
			    resolve_usage);
			return 0;
		default:
			fputs(resolve_usage, stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fputs(resolve_usage, stderr);
		return 2;
	}
	if (cli_exception_id("resolve", argv[optind], &id) != PERR_OK)
		return 2;
	if (note == NULL || note[strspn(note, " \t")] == '\0') {
		fprintf(stderr, "pipeline: usage error: resolve: a note saying why is required (--note TEXT)\n");
		return 2;
	}
	if (cli_person("resolve", &by) != PERR_OK)
		return 2;
	if ((e = cli_open(config_path, "resolve", &cfg, &db)) != PERR_OK)
		return cli_fail(e);
	/* Like approve: a person's change waits for no run; while one holds the lock, exit 4 and retry. */
	if ((e = db_lock_acquire(db)) == PERR_OK) {
		e = exception_resolve(db, (int64_t)id, by, note);
		db_lock_release(db);
	}
	if (e == PERR_OK) {
		char idbuf[24];

		snprintf(idbuf, sizeof idbuf, "%lld", (long long)id);
		log_event(LOG_INFO, "resolve", "exception resolved", "id", idbuf, "by", by, (const char *)NULL);
		printf("exception %lld resolved by %s\n", (long long)id, by);
	}
	PQfinish(db);
	config_free(cfg);
	return e == PERR_OK ? 0 : cli_fail(e);
}
