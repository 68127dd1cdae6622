/*
 * cli.h - what every subcommand needs before it does its work: the configuration, a database
 * connection with the schema checked, the business date, the operator's name, and one way to
 * report a failure and turn it into the exit code.
 */
#ifndef PIPELINE_CLI_H
#define PIPELINE_CLI_H

#include <libpq-fe.h>

#include "bizdate.h"
#include "config.h"
#include "errors.h"

/*
 * Loads the configuration (config_path; already resolved from --config / $PIPELINE_CONF /
 * ./pipeline.conf by main) and connects to the database, checking the schema is current.
 * `what` names the command for application_name ("run", "resolve", ...). db may be NULL when the
 * command needs no database. On success the caller owns *cfg (config_free) and *db (PQfinish).
 */
enum perr cli_open(const char *config_path, const char *what, struct config **cfg, PGconn **db);

/* The business date: `arg` ("YYYY-MM-DD") if given, else the business day before today in the
 * configured time zone. A date that is not a business day is accepted with a warning. */
enum perr cli_date(const struct config *cfg, const char *arg, date_t *out);

/* Who runs this: $PIPELINE_OPERATOR, else $USER, else "scheduler". Static storage. */
const char *cli_operator(void);

/* An exception id from the command line (a positive number); else a usage message for `what`, PERR_USAGE. */
enum perr cli_exception_id(const char *what, const char *arg, int64_t *out);

/*
 * The person acting: *by if given, else cli_operator(); a usage message for `what` and PERR_USAGE
 * when that is the scheduler (a person's act must name the person).
 */
enum perr cli_person(const char *what, const char **by);

/* Prints "pipeline: <message>: <detail>" for e on stderr (and the log) and returns its exit code. */
int cli_fail(enum perr e);

#endif
