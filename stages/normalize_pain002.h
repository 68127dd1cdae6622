/*
 * normalize_pain002.h - the normalize stage's loading of a pain.002 payment status report (a
 * source with format = pain002) into payment_status_report and payment_status (sql/115). The
 * statuses are applied to the transfers later, by settle (engine/payment_status.h).
 */
#ifndef PIPELINE_NORMALIZE_PAIN002_H
#define PIPELINE_NORMALIZE_PAIN002_H

#include <stdint.h>

#include "stage.h"

/*
 * Parses the file at `path` (fetched_file `file_id`) and writes its report and statuses inside
 * the caller's transaction. PERR_PARSE (or another non-database code) with perr_detail() saying
 * "path:line: ..." when the file is not a valid report: nothing was written, the caller
 * quarantines it. PERR_DB when the database failed. *statuses counts the file's statuses (a
 * forced rerun finds them written already and keeps them).
 */
enum perr normalize_pain002(struct stage_ctx *ctx, const char *path, const char *file_id, int64_t *statuses);

#endif
