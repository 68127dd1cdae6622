/*
 * comment.c - `pipeline comment EXCEPTION_ID --text TEXT --by NAME`: adds a comment to an exception's
 * history (sql/142), never changed; the workbook shows the latest and `pipeline explain` all of them.
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

static const char comment_usage[] = "usage: pipeline comment EXCEPTION_ID --text TEXT --by NAME\n";

int
cmd_comment(int argc, char **argv, const char *config_path)
{
	static const struct option opts[] = {
		{ "text", required_argument, NULL, 't' },
		{ "by", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *text = NULL, *by = NULL;
	struct config *cfg = NULL;
	PGconn *db = NULL;
	int64_t id, note_id = 0;
	int c;
	enum perr e;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': text = optarg; break;
		case 'b': by = optarg; break;
		case 'h':
			printf("%s"
			    "Adds a comment to the exception, recorded with who and when and never changed.\n",
			    comment_usage);
			return 0;
		default:
			fputs(comment_usage, stderr);
			return 2;
		}
	}
	if (optind + 1 != argc || text == NULL || text[strspn(text, " \t")] == '\0' || by == NULL ||
	    by[strspn(by, " \t")] == '\0') {
		fputs(comment_usage, stderr);
		return 2;
	}
	if (cli_exception_id("comment", argv[optind], &id) != PERR_OK)
		return 2;
	if ((e = cli_open(config_path, "comment", &cfg, &db)) != PERR_OK)
		return cli_fail(e);
	if ((e = exception_comment(db, id, text, by, &note_id)) == PERR_OK) {
		char idbuf[24];

		snprintf(idbuf, sizeof idbuf, "%lld", (long long)id);
		log_event(LOG_INFO, "comment", "exception commented", "id", idbuf, "by", by, (const char *)NULL);
		printf("comment %lld added to exception %lld by %s\n", (long long)note_id, (long long)id, by);
	}
	PQfinish(db);
	config_free(cfg);
	return e == PERR_OK ? 0 : cli_fail(e);
}
