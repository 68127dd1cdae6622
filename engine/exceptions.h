/*
 * exceptions.h - opening, closing and resetting exceptions ("breaks"): the one way every stage
 * writes to the exception table, so carrying and rerun rules live in one place.
 *
 * Carrying: an OPEN exception of a type for a subject stays open across nights; opening it again
 * is a no-op (exception_open reports it as already open). Rerun: before a stage redoes a date it
 * calls exceptions_reset(stage, date), which deletes what that stage opened on that date and
 * reopens what that stage closed on that date (manual resolutions are never touched).
 */
#ifndef PIPELINE_EXCEPTIONS_H
#define PIPELINE_EXCEPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stage_ctx.h"

struct exception_rec {
	const char *type;        /* e.g. "UNMATCHED_STATEMENT"; see the CHECK in sql/002_pipeline.sql */
	const char *severity;    /* "ERROR" or "WARNING" */
	const char *subject;     /* what it is about: "line:123", "movement:M-1", "file:7", ... */
	const char *account_no;  /* NULL if none */
	const char *item_date;   /* "YYYY-MM-DD" or NULL */
	bool has_amount;
	int64_t amount_minor;
	const char *currency;    /* NULL if none */
	const char *reference;   /* NULL = "" */
	const char *statement_ref;
	const char *ledger_id;
	const char *detail;      /* a sentence a finance person understands */
};

/*
 * Opens an exception for ctx->date raised by `stage` unless one of that type is already open for
 * the subject. *opened (may be NULL) says whether a new row was written; ctx->exceptions counts it.
 * Runs inside the caller's transaction.
 */
enum perr exception_open(struct stage_ctx *ctx, const char *stage, const struct exception_rec *e,
    bool *opened);

/*
 * Opens many exceptions at once, under the same rule as exception_open (nothing for a type and
 * subject already OPEN or RESOLVED). `rows` is COPY text format, one line per exception, columns:
 * type, severity, subject, account_no, item_date, amount_minor, currency, reference,
 * statement_ref, ledger_id, detail. One COPY and one INSERT instead of a round trip per exception
 * (a large night has tens of thousands). *opened (may be NULL) counts the new rows; so does
 * ctx->exceptions. Inside the caller's transaction.
 */
enum perr exceptions_open_many(struct stage_ctx *ctx, const char *stage, const char *rows, size_t len,
    int64_t *opened);

/* Closes the open exception of `type` for `subject` (if any) as CLOSED by `closed_by` on ctx->date. */
enum perr exception_close(struct stage_ctx *ctx, const char *type, const char *subject,
    const char *closed_by);

/* Undoes what `stage` did to exceptions on ctx->date (see above). Inside the caller's transaction. */
enum perr exceptions_reset(struct stage_ctx *ctx, const char *stage);

/*
 * `pipeline assign ID --to NAME` / `pipeline comment ID --text TEXT --by NAME`: adds an owner or a
 * comment to the exception (open or not), recorded by its id, type and subject (sql/142), never
 * changed. PERR_NOT_FOUND for an id that does not exist. *note_id gets the new row's id.
 */
enum perr exception_assign(PGconn *db, int64_t id, const char *to, const char *by, int64_t *note_id);
enum perr exception_comment(PGconn *db, int64_t id, const char *text, const char *by, int64_t *note_id);

/* `pipeline resolve ID --note TEXT [--by NAME]`: closes one by hand (RESOLVED). */
enum perr exception_resolve(PGconn *db, int64_t id, const char *by, const char *note);

#endif
