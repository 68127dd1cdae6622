/*
 * stage.h - what every stage gets and returns. One stage per file under stages/, one entry point.
 *
 * The runner (commands/run.c) opens the connection, takes the lock, records a stage_run row
 * (state running), calls the entry point, and records done/failed with the counts in struct
 * stage_ctx (src/stage_ctx.h). A stage
 * never commits the stage_run row itself and never calls exit().
 *
 * Rerun contract: a stage called with force=false for a date whose work exists finds it done;
 * with force=true it replaces its own output for that date (in one transaction where it can),
 * never adding to it. Nothing is ever paid or issued twice (settle finishes, it never redoes).
 */
#ifndef PIPELINE_STAGE_H
#define PIPELINE_STAGE_H

#include "errors.h"
#include "stage_ctx.h"

typedef enum perr (*stage_fn)(struct stage_ctx *ctx);

enum perr stage_fetch(struct stage_ctx *ctx);
enum perr stage_normalize(struct stage_ctx *ctx);
enum perr stage_reconcile(struct stage_ctx *ctx);
enum perr stage_settle(struct stage_ctx *ctx);
enum perr stage_report(struct stage_ctx *ctx);

#endif
