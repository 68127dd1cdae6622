/*
 * signals.h - the graceful stop: what SIGTERM and SIGINT do to `pipeline run` and `pipeline STAGE`.
 *
 * The handler only notes the signal and, while a stage runs, cancels the query in flight with
 * PQcancel (a PGcancel prepared when the run's connection was opened: libpq documents PQcancel as
 * safe in a signal handler with a local error buffer). Everything else happens in the normal flow
 * at the next progress point:
 *   - while a stage runs, stop_check() fails with PERR_INTERRUPTED ("stopped by SIGTERM"): the
 *     db.h wrappers call it before sending anything (so after a stop a stage never starts another
 *     statement and can commit nothing more), the SFTP loops call it per chunk and before
 *     connecting or retrying;
 *   - the runner rolls back the open transaction, records the stage failed with that error,
 *     starts no further stage, releases the lock, and the process exits 128 + the signal number
 *     (143 for SIGTERM, 130 for SIGINT), the shell convention for "ended by that signal".
 * A second signal while stopping ends the process at once (killed by that signal, as a crash: the
 * next run marks the stage failed). A stop is never worse than a crash: it can only end a stage
 * earlier, at a point where a crash could have ended it too.
 */
#ifndef PIPELINE_SIGNALS_H
#define PIPELINE_SIGNALS_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "errors.h"

/* Installs the SIGTERM and SIGINT handlers (idempotent). */
void stop_install(void);

/*
 * The PGcancel the handler uses while a stage runs (borrowed, may be NULL). The caller frees it
 * after setting NULL here.
 */
void stop_set_cancel(PGcancel *cancel);

/* Marks a stage as running (true) or not: only then does a signal cancel the query in flight and
 * stop_check() refuse. */
void stop_set_stage(bool running);

/* The first signal received (SIGTERM, SIGINT), or 0. */
int stop_signal(void);

/* PERR_OK, or (a signal arrived and a stage runs) PERR_INTERRUPTED with "stopped by SIGNAME" recorded. */
enum perr stop_check(void);

/* Records "stopped by SIGNAME" as PERR_INTERRUPTED and returns it (for the runner, after a stage). */
enum perr stop_error(void);

/* The exit status for a stopped process: 128 + the signal number. */
int stop_exit_code(void);

/* The process exit status for a result: stop_exit_code() for a stop, perr_exit_code() otherwise. */
int stop_exit_status(enum perr result);

#endif
