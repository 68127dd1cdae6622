/*
 * notify.h - the end-of-run summary for the finance team and the on-call engineer: date, status
 * per stage, new and open exceptions by type, the largest open breaks and the report's path,
 * sent through a command that reads the message on stdin (sendmail -t compatible) and/or an HTTP
 * webhook (JSON POST, libcurl). Configured in [notify] (docs/operations.md).
 *
 * A notification never changes a run's outcome: a failure to notify is logged (level warn) and
 * otherwise ignored. The webhook URL may embed a token: it is never logged, only its host.
 *
 * When a run notifies (notify_run_end):
 *   exit 0            unless on = failure, or no stage ran (every stage was already done for
 *                     the date: a rerun on a weekend or after a holiday has nothing new to say)
 *   exit 3            only once the cut-off has passed (HH:MM on the calendar day after the
 *                     business date, configured time zone), or at once if no cut-off is set;
 *                     never when $PIPELINE_NOTIFY_RETRYING is 1: the scheduler's wrapper
 *                     (deploy/pipeline-nightly) sets it on every attempt but the last
 *   any other exit    always
 */
#ifndef PIPELINE_NOTIFY_H
#define PIPELINE_NOTIFY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bizdate.h"
#include "config.h"
#include "errors.h"

#define NOTIFY_MAX_STAGES 8
#define NOTIFY_MAX_BREAKS 5

struct notify_stage {
	char stage[16];
	char state[16];           /* pending, running, done, failed, stale */
	int64_t run_id;           /* stage_run.run_id, 0 if never run */
	char invocation[48];      /* stage_run.invocation: the process that ran it ("" if unknown) */
	int64_t rows_in, rows_out, exceptions;
	char *error;              /* owned; NULL if none */
};

struct notify_exc_count {
	char *type;               /* owned */
	int64_t new_count;        /* opened on the business date */
	int64_t open_count;       /* open now */
};

struct notify_break {
	int64_t exception_id;
	char *type, *subject, *account, *detail;   /* owned; "" if none */
	char amount[48];          /* "SGD -1234.56", or "" */
	char opened[DATE_BUFSZ];
};

/* Everything a message says. Filled by notify_gather (or by hand in tests); free with notify_summary_free. */
struct notify_summary {
	char date[DATE_BUFSZ];
	const char *status;       /* static: "OK", "FAILED", "INPUT MISSING", "EXCEPTIONS", "TEST" */
	int exit_code;
	char *error;              /* owned: the failure in one sentence, or NULL */
	char host[64];
	struct notify_stage stages[NOTIFY_MAX_STAGES];
	size_t n_stages;
	struct notify_exc_count *exc;
	size_t n_exc;
	int64_t new_total, open_total;
	struct notify_break breaks[NOTIFY_MAX_BREAKS];
	size_t n_breaks;
	struct notify_break rejected[NOTIFY_MAX_BREAKS]; /* open PAYMENT_REJECTED, oldest first: the trustee is not paid */
	size_t n_rejected;
	int64_t rejected_total;   /* all open PAYMENT_REJECTED (rejected[] shows the first few) */
	char *report_path;        /* owned; NULL if no report was written for the date */
	char *log_dir;            /* owned; data_dir/log/DATE */
	char *gather_error;       /* owned; why the database part is missing, or NULL */
};

/* Frees what the summary owns (not the struct). Safe to call with NULL. */
void notify_summary_free(struct notify_summary *s);

/*
 * Fills `s` for `date` from the database: latest stage_run per stage, exceptions by type, the
 * largest open breaks, the report path. `db` may be NULL or broken: then the database part is
 * left empty and s->gather_error says why (the message is still worth sending).
 * status/exit_code/error are set by the caller.
 */
void notify_gather(const struct config *cfg, PGconn *db, date_t date, struct notify_summary *s);

/*
 * Pure: the message for the command channel, RFC 5322 headers (To/From only if given, Subject
 * in ASCII, one line) and a plain-text body. Returns a new string owned by the caller.
 */
char *notify_format_mail(const struct notify_summary *s, const char *mail_to, const char *mail_from);

/* Pure: the webhook body, a JSON object with a "text" field (chat tools) and the same facts as
 * structured fields. Returns a new string owned by the caller. */
char *notify_format_json(const struct notify_summary *s);

/* Pure: the one-line subject ("[pipeline] 2026-11-25 FAILED: ..."), ASCII only, at most 200 bytes. */
void notify_subject(const struct notify_summary *s, char *buf, size_t cap);

/*
 * Sends `s` through every configured channel (command, webhook), trying each even if another
 * failed. Returns PERR_OK if every configured channel accepted it, else the first failure with
 * the detail recorded. Nothing configured is PERR_OK.
 */
enum perr notify_send(const struct config *cfg, const struct notify_summary *s);

/* True when [notify] names a command or a webhook: there is a channel to send to. */
bool notify_configured(const struct config *cfg);

/*
 * The cut-off for a business date: cfg->notify_cut_off_min on the calendar day after `date`, in
 * cfg->timezone, as a time_t. PERR_NOT_FOUND if no cut-off is configured.
 */
enum perr notify_cut_off(const struct config *cfg, date_t date, time_t *out);

/*
 * Called once at the end of `pipeline run` (commands/run.c) with the run's result. Decides per the
 * rules above whether to notify, gathers and sends. Never fails, never exits, and leaves the
 * recorded error detail (perr_detail) as it found it.
 */
void notify_run_end(const struct config *cfg, PGconn *db, date_t date, enum perr result);

#endif
