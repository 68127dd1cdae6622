/*
 * main.c - `pipeline`: global options, then one row of the command table.
 *
 * Like git's command table: every subcommand is a row (name, function, one-line summary); the
 * configuration path is settled here once (--config, $PIPELINE_CONF, ./pipeline.conf) and passed
 * down. After the command returns, a failed write to stdout (a full disk) is an error, not silence.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "errors.h"
#include "log.h"
#include "statement.h"


struct command {
	const char *name;
	int (*fn)(int argc, char **argv, const char *config_path);
	const char *usage;
	const char *summary;
};

static const struct command commands[] = {
	{ "run", cmd_run, "run [--date D] [--from STAGE] [--force] [--fail-on-exceptions]",
	  "run the nightly stages in order for a business date" },
	{ "fetch", cmd_stage, "fetch [--date D] [--force]", "run only the fetch stage" },
	{ "normalize", cmd_stage, "normalize [--date D] [--force]", "run only the normalize stage" },
	{ "reconcile", cmd_stage, "reconcile [--date D] [--force]", "run only the reconcile stage" },
	{ "settle", cmd_stage, "settle [--date D] [--force]", "run only the settle stage" },
	{ "report", cmd_stage, "report [--date D] [--force]", "run only the report stage" },
	{ "status", cmd_status, "status [--date D] [--json]", "show each stage's state for a date or the last 7" },
	{ "db", cmd_db, "db init|start|stop|status", "create or migrate the schema; start, stop, show the embedded PostgreSQL" },
	{ "ledger", cmd_ledger, "ledger import DIR", "load a ledger extract (idempotent, all or nothing)" },
	{ "approve", cmd_approve, "approve TRANSFER_ID --by NAME", "four eyes: approve a held transfer (not its creator)" },
	{ "inspect", cmd_inspect, "inspect [--format NAME] [--source NAME] [--strict] FILE...", "parse statement files (no database) and print them as JSON Lines" },
	{ "explain", cmd_explain, "explain REF", "what a line or movement matched and by which rule, or why not" },
	{ "export", cmd_export, "export exceptions [--date D] [--format csv|json]", "write the exceptions open as of a date to stdout" },
	{ "resolve", cmd_resolve, "resolve EXCEPTION_ID --note TEXT [--by NAME]", "close one exception by hand (recorded, never deleted)" },
	{ "assign", cmd_assign, "assign EXCEPTION_ID --to NAME [--by NAME]", "give an exception an owner (recorded with history)" },
	{ "comment", cmd_comment, "comment EXCEPTION_ID --text TEXT --by NAME", "add a comment to an exception (recorded with history)" },
	{ "signoff", cmd_signoff, "signoff --date D --by NAME --role prepared|reviewed", "sign the bank reconciliation of a date (reviewer is not the preparer)" },
	{ "notify", cmd_notify, "notify --test | --cut-off [--date D]", "send the end-of-run summary now / print the exit-3 cut-off" },
	{ "housekeep", cmd_housekeep, "housekeep [--dry-run] [--keep-days N]", "archive or remove inbox files, reports and logs past retention" },
	{ "doctor", cmd_doctor, "doctor [--offline]", "check configuration, keys, known_hosts, database, servers; say how to fix" },
	/* COMMANDS: add rows here */
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: pipeline [--config FILE] [-v|-q] COMMAND [ARGS]\n"
	    "       pipeline --help | pipeline COMMAND --help | pipeline --version\n\n"
	    "The nightly reconciliation and settlement pipeline.\n\nCommands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(fp, "  %-58s %s\n", commands[i].usage, commands[i].summary);
	fprintf(fp, "\nThe configuration is --config FILE, else $PIPELINE_CONF, else ./pipeline.conf.\n"
	    "Dates are YYYY-MM-DD business dates; the default is the business day before today\n"
	    "in the configured time zone.\n\n"
	    "Exit codes:\n"
	    "  0  success (the report may still list exceptions)\n"
	    "  1  failure (see the message and `pipeline status`)\n"
	    "  2  usage or configuration error\n"
	    "  3  input not available yet: a statement has not arrived; retry later\n"
	    "  4  another run holds the lock\n"
	    "  5  completed with open error exceptions (only with --fail-on-exceptions)\n");
}

int
main(int argc, char **argv)
{
	const char *config_path = getenv("PIPELINE_CONF");
	size_t i;
	int argi = 1, rc;

	if (config_path == NULL || *config_path == '\0')
		config_path = "pipeline.conf";
	/* Every source's format is checked when the configuration is loaded, not first at normalize. */
	config_set_format_check(format_check);
	while (argi < argc && argv[argi][0] == '-') {
		const char *a = argv[argi];

		if (!strcmp(a, "--config") && argi + 1 < argc) {
			config_path = argv[argi + 1];
			argi += 2;
		} else if (!strncmp(a, "--config=", 9)) {
			config_path = a + 9;
			argi++;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			log_set_level(LOG_DEBUG);
			argi++;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			log_set_level(LOG_WARN);
			argi++;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--version")) {
			printf("pipeline %s\n", PIPELINE_VERSION);
			return 0;
		} else {
			fprintf(stderr, "pipeline: unknown option %s\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (argi >= argc) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, argv[argi]))
			break;
	if (i == N_COMMANDS) {
		fprintf(stderr, "pipeline: '%s' is not a command; see pipeline --help\n", argv[argi]);
		return 2;
	}
	rc = commands[i].fn(argc - argi, argv + argi, config_path);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "pipeline: writing to standard output failed: %s\n", strerror(errno));
		return rc ? rc : 1;
	}
	return rc;
}
