/*
 * run.c - `pipeline run` and `pipeline STAGE`: runs stages for a business date in the order of
 * the stage table and records every execution in stage_run.
 *
 * Invariants (stage_run): the state of (date, stage) is its latest row. A row is 'running' only
 * while its process holds the pipeline lock; rows left 'running' by a process that died are marked
 * failed by the next run (which holds the lock, so they cannot be alive). A stage redone for a
 * date marks the later stages' done rows 'stale', so the next `run` redoes them.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "db.h"
#include "log.h"
#include "notify.h"
#include "signals.h"
#include "stage.h"
#include "util.h"

struct stage_def {
	const char *name;
	stage_fn fn;
	const char *summary;
};

/* The nightly, in order. `run` walks this table; `pipeline STAGE` runs one row. */
static const struct stage_def stages[] = {
	{ "fetch", stage_fetch, "bring the night's statement files from the bank's and trustee's SFTP servers" },
	{ "normalize", stage_normalize, "parse and check statements, load them in canonical form" },
	{ "reconcile", stage_reconcile, "match statement lines against the ledger, carry and age the breaks" },
	{ "settle", stage_settle, "close ended offerings, issue transfers and DABS issuance records once" },
	{ "report", stage_report, "write the XLSX workbook the finance team reads in the morning" },
};
#define N_STAGES ((int)(sizeof stages / sizeof stages[0]))

static int
stage_index(const char *name)
{
	int i;

	for (i = 0; i < N_STAGES; i++)
		if (!strcmp(stages[i].name, name))
			return i;
	return -1;
}

/* ---- stage_run bookkeeping ---- */

static enum perr
reap_dead_runs(PGconn *db)
{
	/*
	 * We hold the lock, so nobody else is running: a 'running' row belongs to a dead process
	 * (stage_run_reap, sql/130, checks the lock and records what it marked in history_replace).
	 */
	return db_call(db, "SELECT stage_run_reap()", 0, NULL);
}

static enum perr
latest_state(PGconn *db, const char *date, const char *stage, char *state, size_t n)
{
	const char *params[2] = { date, stage };
	PGresult *res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT state FROM stage_run WHERE business_date = $1::date AND stage = $2"
	    " ORDER BY run_id DESC LIMIT 1", 2, params);

	if (res == NULL)
		return PERR_DB;
	snprintf(state, n, "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "pending");
	PQclear(res);
	return PERR_OK;
}

/* "<UTC start>-<pid>" of this process once set_run_log ran: stage_run.invocation, log file name. */
static char run_invocation[48];

static enum perr
record_start(struct stage_ctx *ctx, const char *stage)
{
	char pid[16], host[256];
	const char *params[8];
	PGresult *res;

	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	if (gethostname(host, sizeof host) != 0)
		strcpy(host, "unknown");
	host[sizeof host - 1] = '\0';
	params[0] = ctx->date_iso;
	params[1] = stage;
	params[2] = ctx->force ? "true" : "false";
	params[3] = pid;
	params[4] = host;
	params[5] = ctx->operator_name;
	params[6] = ctx->cfg->digest;
	params[7] = run_invocation[0] ? run_invocation : NULL;
	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "INSERT INTO stage_run (business_date, stage, state, forced, pid, host, operator, config_digest,"
	    "                       invocation)"
	    " VALUES ($1::date, $2, 'running', $3::boolean, $4::integer, $5, $6, $7, $8) RETURNING run_id",
	    8, params);
	if (res == NULL)
		return PERR_DB;
	ctx->run_id = db_get_i64(res, 0, 0);
	PQclear(res);
	return PERR_OK;
}

static enum perr
record_end(struct stage_ctx *ctx, enum perr result)
{
	char run[24], in[24], out[24], exc[24], code[16];
	const char *params[7];

	snprintf(run, sizeof run, "%lld", (long long)ctx->run_id);
	snprintf(in, sizeof in, "%lld", (long long)ctx->rows_in);
	snprintf(out, sizeof out, "%lld", (long long)ctx->rows_out);
	snprintf(exc, sizeof exc, "%lld", (long long)ctx->exceptions);
	snprintf(code, sizeof code, "%d", (int)result);
	params[0] = run;
	params[1] = result == PERR_OK ? "done" : "failed";
	params[2] = in;
	params[3] = out;
	params[4] = exc;
	params[5] = result == PERR_OK ? NULL : code;
	params[6] = result == PERR_OK ? NULL
	    : (perr_last() == result && perr_detail()[0] ? perr_detail() : perr_message(result));
	/* Only this run's own row, only while it is running (stage_run_finish, sql/130). */
	return db_call(ctx->db,
	    "SELECT stage_run_finish($1::bigint, $2, $3::bigint, $4::bigint, $5::bigint, $6::integer, $7)",
	    7, params);
}

/* The latest done run of each later stage of the date becomes stale (stage_run_mark_stale, sql/130). */
static enum perr
mark_later_stale(PGconn *db, int64_t run_id, int idx)
{
	char run[24];
	int i;

	snprintf(run, sizeof run, "%lld", (long long)run_id);
	for (i = idx + 1; i < N_STAGES; i++) {
		const char *params[2] = { run, stages[i].name };
		enum perr e = db_call(db, "SELECT stage_run_mark_stale($1::bigint, $2)", 2, params);

		if (e != PERR_OK)
			return e;
	}
	return PERR_OK;
}

/*
 * After a stop: a COPY the stage left open (it returned from inside a loader) is ended with an
 * error, so the server aborts it and the connection can roll back. Nothing to do otherwise.
 */
static void
stop_end_copy(PGconn *db)
{
	PGresult *res;

	if (PQtransactionStatus(db) != PQTRANS_ACTIVE)
		return;
	while ((res = PQgetResult(db)) != NULL) {
		ExecStatusType st = PQresultStatus(res);

		PQclear(res);
		if (st == PGRES_COPY_IN)
			PQputCopyEnd(db, "stopped by a signal");
		else if (st == PGRES_COPY_OUT) {
			char *buf;

			while (PQgetCopyData(db, &buf, 0) > 0)
				PQfreemem(buf);
		}
	}
}

/* Runs stage `idx` for the date unless already done (and not forced). */
static enum perr
run_one(const struct config *cfg, PGconn *db, date_t date, int idx, bool force, bool *ran)
{
	struct stage_ctx ctx;
	char state[16], counts[128];
	enum perr e, r;
	int64_t t0;

	memset(&ctx, 0, sizeof ctx);
	ctx.cfg = cfg;
	ctx.db = db;
	ctx.date = date;
	date_format_iso(date, ctx.date_iso);
	ctx.force = force;
	ctx.operator_name = cli_operator();
	*ran = false;

	if ((e = latest_state(db, ctx.date_iso, stages[idx].name, state, sizeof state)) != PERR_OK)
		return e;
	if (!strcmp(state, "done") && !force) {
		log_event(LOG_INFO, stages[idx].name, "already done for this date; skipped (use --force to redo)",
		    (const char *)NULL);
		return PERR_OK;
	}
	if ((e = record_start(&ctx, stages[idx].name)) != PERR_OK)
		return e;
	log_set_context(ctx.run_id, ctx.date_iso);
	log_event(LOG_INFO, stages[idx].name, force ? "stage started (forced)" : "stage started",
	    "previous_state", state, (const char *)NULL);
	t0 = now_ms();
	perr_clear();
	stop_set_stage(true);
	r = stages[idx].fn(&ctx);
	stop_set_stage(false);
	if (stop_signal() != 0) {
		/*
		 * Stopped (src/signals.h): whatever the stage returned (a cancelled query, a refused
		 * statement, or OK just before the signal), it is recorded failed; a rerun redoes it,
		 * exactly as after a crash at that point.
		 */
		r = stop_error();
		stop_end_copy(db);
	}
	if (PQtransactionStatus(db) != PQTRANS_IDLE)
		db_rollback(db);        /* a stage that failed mid-transaction leaves nothing behind */
	snprintf(counts, sizeof counts, "in=%lld out=%lld exceptions=%lld ms=%lld",
	    (long long)ctx.rows_in, (long long)ctx.rows_out, (long long)ctx.exceptions,
	    (long long)(now_ms() - t0));
	if (r != PERR_OK) {
		/*
		 * The stage's own error is what the operator needs, also when recording it fails (the
		 * database went away: then the row stays 'running' and the next run marks it failed).
		 */
		char why[2048];

		snprintf(why, sizeof why, "%s", perr_last() == r && perr_detail()[0] ? perr_detail()
		    : perr_message(r));
		log_event(LOG_ERROR, stages[idx].name, "stage failed", "error", why, (const char *)NULL);
		e = record_end(&ctx, r);
		if (e != PERR_OK && r == PERR_INTERRUPTED)
			e = record_end(&ctx, r);    /* once more: the cancel may have landed on the first try */
		if (e != PERR_OK)
			log_event(LOG_ERROR, stages[idx].name, "could not record the stage's failure",
			    "error", perr_detail(), (const char *)NULL);
		perr_set(r, "%s", why);
		return r;
	}
	if ((e = record_end(&ctx, r)) != PERR_OK)
		return e;
	log_event(LOG_INFO, stages[idx].name, "stage done", "counts", counts, (const char *)NULL);
	*ran = true;
	if (strcmp(state, "pending") != 0 && (e = mark_later_stale(db, ctx.run_id, idx)) != PERR_OK)
		return e;
	return PERR_OK;
}

static enum perr
open_error_exceptions(PGconn *db, long *n)
{
	PGresult *res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT count(*) FROM exception WHERE status = 'OPEN' AND severity = 'ERROR'", 0, NULL);

	if (res == NULL)
		return PERR_DB;
	*n = (long)db_get_i64(res, 0, 0);
	PQclear(res);
	return PERR_OK;
}

static void
set_run_log(const struct config *cfg, date_t date)
{
	char d[DATE_BUFSZ], ts[32];
	char *dir, *path;
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(run_invocation, sizeof run_invocation, "%s-%ld", ts, (long)getpid());
	log_set_invocation(run_invocation);
	dir = xasprintf("%s/log/%s", cfg->data_dir, date_format_iso(date, d));
	if (mkdir_p(dir, 0750) == PERR_OK) {
		path = xasprintf("%s/pipeline-%s.log", dir, run_invocation);
		log_set_file(path);
		free(path);
	}
	free(dir);
}

static void
usage_run(FILE *fp)
{
	int i;

	fprintf(fp,
	    "usage: pipeline [--config FILE] run [--date YYYY-MM-DD] [--from STAGE] [--force] [--fail-on-exceptions]\n"
	    "       pipeline [--config FILE] STAGE [--date YYYY-MM-DD] [--force]\n\n"
	    "Runs the nightly stages in order for the business date (default: the business day before\n"
	    "today in the configured time zone). A stage already done for the date is skipped unless\n"
	    "--force, which redoes it by replacing its own output and marks the later stages stale.\n\nStages:\n");
	for (i = 0; i < N_STAGES; i++)
		fprintf(fp, "  %-10s %s\n", stages[i].name, stages[i].summary);
	fprintf(fp, "\nExit codes: 0 success, 1 failure, 2 usage/configuration, 3 input not available yet,\n"
	    "4 another run holds the lock, 5 (--fail-on-exceptions) open error exceptions,\n"
	    "143/130 stopped by SIGTERM/SIGINT (the stage rolled back and recorded failed; rerun to redo it).\n");
}

/* Shared by `run` and `STAGE`: argv[0] is "run" or a stage name. */
static int
run_command(int argc, char **argv, const char *config_path, bool single)
{
	static const struct option opts[] = {
		{ "date", required_argument, NULL, 'd' },
		{ "from", required_argument, NULL, 'f' },
		{ "force", no_argument, NULL, 'F' },
		{ "fail-on-exceptions", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *date_arg = NULL, *from = NULL;
	bool force = false, fail_on_exc = false, ran, dated = false;
	struct config *cfg = NULL;
	PGconn *db = NULL;
	PGcancel *cancel = NULL;
	date_t date;
	enum perr e;
	int c, first, last, i;

	stop_install();     /* SIGTERM/SIGINT: a graceful stop (src/signals.h) */
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': date_arg = optarg; break;
		case 'f': from = optarg; break;
		case 'F': force = true; break;
		case 'x': fail_on_exc = true; break;
		case 'h': usage_run(stdout); return 0;
		default: usage_run(stderr); return 2;
		}
	}
	if (optind != argc || (single && from)) {
		usage_run(stderr);
		return 2;
	}
	if (single) {
		first = last = stage_index(argv[0]);
	} else {
		first = from ? stage_index(from) : 0;
		last = N_STAGES - 1;
		if (first < 0) {
			fprintf(stderr, "pipeline: --from %s: not a stage (fetch, normalize, reconcile, settle, report)\n", from);
			return 2;
		}
	}
	if ((e = cli_open(config_path, argv[0], &cfg, &db)) != PERR_OK)
		return cli_fail(e);
	cancel = PQgetCancel(db);   /* what the signal handler cancels the stage's query with */
	stop_set_cancel(cancel);
	if ((e = cli_date(cfg, date_arg, &date)) != PERR_OK)
		goto out;
	dated = true;
	set_run_log(cfg, date);
	if ((e = db_lock_acquire(db)) != PERR_OK)
		goto out;
	if ((e = reap_dead_runs(db)) != PERR_OK)
		goto out;
	for (i = first; i <= last; i++) {
		/* Stopped between stages (or before the first): none starts. */
		if (stop_signal() != 0) {
			e = stop_error();
			goto out;
		}
		/* A stage redone marks the later ones stale, so this loop runs them again too. */
		if ((e = run_one(cfg, db, date, i, force, &ran)) != PERR_OK)
			goto out;
	}
	if (fail_on_exc) {
		long n;

		if ((e = open_error_exceptions(db, &n)) != PERR_OK)
			goto out;
		if (n > 0) {
			e = perr_set(PERR_EXCEPTIONS, "%ld open error exception(s); see the report", n);
			goto out;
		}
	}
out:
	/* The end-of-run summary ([notify], reports/notify.c): logs its own failures, never changes e. */
	if (dated && !single)
		notify_run_end(cfg, db, date, e);
	stop_set_cancel(NULL);
	PQfreeCancel(cancel);
	if (db) {
		db_lock_release(db);
		PQfinish(db);
	}
	config_free(cfg);
	log_set_file(NULL);
	return e == PERR_OK ? 0 : cli_fail(e);
}

int
cmd_run(int argc, char **argv, const char *config_path)
{
	return run_command(argc, argv, config_path, false);
}

int
cmd_stage(int argc, char **argv, const char *config_path)
{
	return run_command(argc, argv, config_path, true);
}
