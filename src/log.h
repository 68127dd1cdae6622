/*
 * log.h - one line per event on stderr (logfmt, or JSON by configuration) and into the per-run log.
 *
 * log_event(LOG_INFO, "fetch", "file fetched", "file", path, "size", "123", NULL) writes
 *   ts=2026-11-26T01:02:03Z level=info run=42 stage=fetch date=2026-11-25 msg="file fetched" file=... size=123
 * Key/value pairs end with NULL. Never pass a secret as a value.
 */
#ifndef PIPELINE_LOG_H
#define PIPELINE_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Verbosity: messages below `min` are dropped. Default LOG_INFO; -v LOG_DEBUG; -q LOG_WARN. */
void log_set_level(enum log_level min);
void log_set_json(int json);
/* Context added to every line: the run id and business date ("" for none). */
void log_set_context(int64_t run_id, const char *date);
/* The id of this invocation of the program (stage_run.invocation, the per-run log file's name),
 * added as invocation= at the end of every line; NULL or "" for none. */
void log_set_invocation(const char *id);
/* The id set by log_set_invocation ("" if none). Static storage. */
const char *log_get_invocation(void);
/* Also append every line to this file (the per-run log); NULL to stop. */
void log_set_file(const char *path);

/* Whether stderr is the systemd journal ($JOURNAL_STREAM): lines then carry <N> priorities. */
bool log_to_journal(void);
/* Whether the last error line logged had error=text (so it need not be said again). */
bool log_error_logged(const char *text);

void log_event(enum log_level level, const char *stage, const char *msg, ...)
    __attribute__((sentinel));

/* printf-style convenience: message only. */
void log_msg(enum log_level level, const char *stage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
