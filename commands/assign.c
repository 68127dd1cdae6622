/*
 * assign.c - `pipeline assign EXCEPTION_ID --to NAME [--by NAME]`: gives an exception an owner. The
 * assignment is added to its history (sql/142), never changed; the latest one is the owner the
 * workbook and `pipeline explain` show. Reassigning is another assignment.
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

static const char assign_usage[] = "usage: pipeline assign EXCEPTION_ID --to NAME [--by NAME]\n";

int
cmd_assign(int argc, char **argv, const char *config_path)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "by", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *to = NULL, *by = NULL;
	struct config *cfg = NULL;
	PGconn *db = NULL;
	int64_t id, note_id = 0;
	int c;
	enum perr e;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': to = optarg; break;
		case 'b': by = optarg; break;
		case 'h':
			printf("%s"
			    "Makes NAME the owner of the exception (recorded with who and when, never changed; the\n"
			    "latest assignment is the owner). --by names who assigns it (default $PIPELINE_OPERATOR,\n"
			    "else $USER). Find ids on the workbook's Exceptions sheet or with `pipeline export`.\n",
			    assign_usage);
			return 0;
		default:
			fputs(assign_usage, stderr);
			return 2;
		}
	}
	if (optind + 1 != argc || to == NULL || to[strspn(to, " \t")] == '\0') {
		fputs(assign_usage, stderr);
		return 2;
	}
	if (cli_exception_id("assign", argv[optind], &id) != PERR_OK || cli_person("assign", &by) != PERR_OK)
		return 2;
	if ((e = cli_open(config_path, "assign", &cfg, &db)) != PERR_OK)
		return cli_fail(e);
	if ((e = exception_assign(db, id, to, by, &note_id)) == PERR_OK) {
		char idbuf[24];

		snprintf(idbuf, sizeof idbuf, "%lld", (long long)id);
		log_event(LOG_INFO, "assign", "exception assigned", "id", idbuf, "to", to, "by", by, (const char *)NULL);
		printf("exception %lld assigned to %s by %s\n", (long long)id, to, by);
	}
	PQfinish(db);
	config_free(cfg);
	return e == PERR_OK ? 0 : cli_fail(e);
}
