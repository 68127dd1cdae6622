/*
 * stage.h - what every stage gets and returns. One stage per file under stages/, one entry point.
 *
 * The runner (commands/run.c) opens the connection, takes the lock, records a stage_run row
 * (state running), calls the entry point, and records done/failed with the counts below. A stage
 * never commits the stage_run row itself and never calls exit().
 *
 * Rerun contract: a stage called with force=false for a date whose work exists finds it done;
 * with force=true it replaces its own output for that date (in one transaction where it can),
 * never adding to it. Nothing is ever paid or issued twice (settle finishes, it never redoes).
 */
#ifndef PIPELINE_STAGE_H
#define PIPELINE_STAGE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "bizdate.h"
#include "config.h"
#include "errors.h"

struct stage_ctx {
	const struct config *cfg;
	PGconn *db;
	date_t date;              /* the business date being processed */
	char date_iso[DATE_BUFSZ];
	bool force;
	int64_t run_id;           /* stage_run.run_id of this execution */
	const char *operator_name;/* who runs it ($PIPELINE_OPERATOR, $USER or "scheduler") */

	/* Filled by the stage, recorded on the stage_run row and shown by `pipeline status`. */
	int64_t rows_in;          /* files/lines/rows read */
	int64_t rows_out;         /* rows written */
	int64_t exceptions;       /* exceptions opened by this execution */
};

typedef enum perr (*stage_fn)(struct stage_ctx *ctx);

enum perr stage_fetch(struct stage_ctx *ctx);
enum perr stage_normalize(struct stage_ctx *ctx);
enum perr stage_reconcile(struct stage_ctx *ctx);
enum perr stage_settle(struct stage_ctx *ctx);
enum perr stage_report(struct stage_ctx *ctx);

#endif
