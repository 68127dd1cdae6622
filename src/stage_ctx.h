/*
 * stage_ctx.h - what a stage run carries: the configuration, the connection, the business date,
 * the run and the operator, and the counts the runner records. Defined here, below the stages,
 * because the engine (exceptions) and the report take it too; stages/stage.h has the stages.
 */
#ifndef PIPELINE_STAGE_CTX_H
#define PIPELINE_STAGE_CTX_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "bizdate.h"
#include "config.h"

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

#endif
