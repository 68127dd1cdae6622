/*
 * report.h - the morning workbook: <report_dir>/<DATE>/recon-<DATE>.xlsx, written by
 * reports/xlsx.c from one consistent snapshot of the database, plus recon-<DATE>-matched.csv
 * beside it when the Matched sheet is capped.
 */
#ifndef PIPELINE_REPORT_H
#define PIPELINE_REPORT_H

#include <stdint.h>

#include "stage_ctx.h"

struct report_result {
	int64_t rows_in;        /* rows read from the database */
	int64_t rows_out;       /* data rows written to sheets and CSV */
	int64_t open_errors;    /* open ERROR exceptions shown */
	int64_t open_warnings;
	int64_t matched_total;  /* matches of the day (all of them, capped sheet or not) */
	int sheets;             /* worksheets in the workbook */
	int matched_csv;        /* 1 if the full Matched list was written to CSV */
};

/*
 * Writes the workbook for ctx->date into `dir` (created if missing): to a temporary name in the
 * same directory, then fsync and rename over recon-<DATE>.xlsx, so a reader never sees a partial
 * file; a rerun replaces it. Reads inside one REPEATABLE READ, READ ONLY transaction of its own
 * when the connection is idle. On any failure (database, libxlsxwriter, file system) returns the
 * error (PERR_REPORT for the workbook itself) and leaves no temporary file behind; an earlier
 * complete report under the final name is left as it was.
 */
enum perr report_write(struct stage_ctx *ctx, const char *dir, struct report_result *out);

#endif
