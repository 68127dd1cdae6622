/*
 * cli.c - what every subcommand does before its work (cli.h): load the configuration, connect
 * as the right role with the session in the business time zone and the schema checked, settle the
 * business date and the operator's name, and turn a failure into one message and an exit code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "db.h"
#include "log.h"
#include "signals.h"
#include "trust.h"
#include "utf8.h"

const char *
cli_operator(void)
{
	const char *s = getenv("PIPELINE_OPERATOR");

	if (s == NULL || *s == '\0')
		s = getenv("USER");
	return (s && *s) ? s : "scheduler";
}

enum perr
cli_exception_id(const char *what, const char *arg, int64_t *out)
{
	char *end;
	long long id = strtoll(arg, &end, 10);

	if (*arg == '\0' || *end != '\0' || id <= 0) {
		fprintf(stderr, "pipeline: usage error: %s: \"%s\" is not an exception id (a positive number)\n", what, arg);
		return PERR_USAGE;
	}
	*out = (int64_t)id;
	return PERR_OK;
}

enum perr
cli_person(const char *what, const char **by)
{
	if (*by == NULL)
		*by = cli_operator();
	if (**by == '\0' || !strcmp(*by, "scheduler")) {
		fprintf(stderr, "pipeline: usage error: %s: say who you are (--by NAME or $USER)\n", what);
		return PERR_USAGE;
	}
	return PERR_OK;
}

int
cli_fail(enum perr e)
{
	const char *d = perr_last() == e && perr_detail()[0] ? perr_detail() : perr_message(e);
	/* Stopped by SIGTERM/SIGINT: 128 + the signal (src/signals.h), not the 0-5 of errors.h. */
	int code = stop_exit_status(e);
	char exit_s[16], *shown;

	snprintf(exit_s, sizeof exit_s, "%d", code);
	/*
	 * Said once: a stage's failure was logged already, with its stage (commands/run.c run_one).
	 * The log line is for machines; the last line is a plain sentence for a person, except in the
	 * journal, where the log line (with its priority) is what is read. Control, bidi and invisible
	 * characters (a remote name, a reference) are shown, never obeyed.
	 */
	if (!log_error_logged(d))
		log_event(LOG_ERROR, "", perr_message(e), "error", d, "exit", exit_s, (const char *)NULL);
	if (!log_to_journal()) {
		shown = utf8_shown(d, strlen(d), UTF8_SHOWN_FIELD);
		fprintf(stderr, "pipeline: %s\n", shown);
		free(shown);
	}
	return code;
}

enum perr
cli_open(const char *config_path, const char *what, struct config **cfg_out, PGconn **db_out)
{
	struct config *cfg;
	PGconn *db;
	char app[64];
	enum perr e;
	const char *params[1];

	if ((e = config_load(config_path, &cfg)) != PERR_OK)
		return e;
	/* StrictModes (src/trust.h): only doctor starts over a file others could have written. */
	if ((e = trust_require(cfg)) != PERR_OK) {
		config_free(cfg);
		return e;
	}
	log_set_json(!strcmp(cfg->log_format, "json"));
	if (db_out == NULL) {
		*cfg_out = cfg;
		return PERR_OK;
	}
	snprintf(app, sizeof app, "pipeline pid=%ld %s", (long)getpid(), what);
	if ((e = db_connect(cfg, app, strcmp(what, "db init") ? DB_AS_NIGHTLY : DB_AS_ADMIN, &db)) != PERR_OK) {
		config_free(cfg);
		return e;
	}
	/* The session's time zone is the business one, so current_date means the business today. */
	params[0] = cfg->timezone;
	{
		PGresult *r = db_query(db, PGRES_TUPLES_OK, "SELECT set_config('TimeZone', $1, false)", 1, params);

		if (r == NULL) {
			PQfinish(db);
			config_free(cfg);
			return PERR_CONFIG;
		}
		PQclear(r);
	}
	/*
	 * A killed pipeline's backend would otherwise run its current statement to the end before
	 * noticing, holding the run lock all that time: PostgreSQL 14+ can poll for a vanished client.
	 */
	if (PQserverVersion(db) >= 140000) {
		PGresult *r = db_query(db, PGRES_TUPLES_OK,
		    "SELECT set_config('client_connection_check_interval', '1000', false)", 0, NULL);

		PQclear(r);     /* best effort: a server that refuses it still works, only slower to notice */
	}
	if (strcmp(what, "db init") != 0 && (e = db_require_schema(db)) != PERR_OK) {
		PQfinish(db);
		config_free(cfg);
		return e;
	}
	*cfg_out = cfg;
	*db_out = db;
	return PERR_OK;
}

enum perr
cli_date(const struct config *cfg, const char *arg, date_t *out)
{
	date_t today;
	enum perr e;
	char buf[DATE_BUFSZ];

	if (arg != NULL) {
		if ((e = date_parse_iso(arg, out)) != PERR_OK)
			return perr_set(PERR_USAGE, "--date %s: %s", arg, perr_detail());
		if (!calendar_is_business_day(&cfg->calendar, *out))
			log_event(LOG_WARN, "", "the date is not a business day (weekend or holiday)",
			    "date", date_format_iso(*out, buf), (const char *)NULL);
		return PERR_OK;
	}
	if ((e = date_today_in_zone(cfg->timezone, &today)) != PERR_OK)
		return e;
	*out = calendar_prev_business_day(&cfg->calendar, today);
	return PERR_OK;
}
