/*
 * report.c - the report stage: writes <report_dir>/<DATE>/recon-<DATE>.xlsx (reports/xlsx.c).
 *
 * Rerun: the workbook is rebuilt from the database and replaces the previous one atomically;
 * the stage writes nothing to the database, so a rerun can never add anything twice.
 */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "report.h"
#include "stage.h"
#include "util.h"

enum perr
stage_report(struct stage_ctx *ctx)
{
	struct report_result res;
	char *dir = xasprintf("%s/%s", ctx->cfg->report_dir, ctx->date_iso);
	char *path = xasprintf("%s/recon-%s.xlsx", dir, ctx->date_iso);
	char n_err[24], n_warn[24], n_sheets[24], n_rows[24];
	enum perr e;

	e = report_write(ctx, dir, &res);
	ctx->rows_in = res.rows_in;
	ctx->rows_out = res.rows_out;
	if (e == PERR_OK) {
		snprintf(n_err, sizeof(n_err), "%lld", (long long)res.open_errors);
		snprintf(n_warn, sizeof(n_warn), "%lld", (long long)res.open_warnings);
		snprintf(n_sheets, sizeof(n_sheets), "%d", res.sheets);
		snprintf(n_rows, sizeof(n_rows), "%lld", (long long)res.rows_out);
		log_event(LOG_INFO, "report", "report written", "file", path, "sheets", n_sheets,
		    "rows", n_rows, "open_errors", n_err, "open_warnings", n_warn,
		    "matched_csv", res.matched_csv ? "yes" : "no", (const char *)NULL);
	}
	free(path);
	free(dir);
	return e;
}
