/*
 * report_data.h - reading what the report shows: server-side cursors over one consistent snapshot,
 * strict conversion of the text values libpq returns, and the small pure helpers the sheets share
 * (age buckets, the pending window, text made safe for a cell).
 *
 * Memory: a cursor holds at most RD_FETCH rows of one query at a time, so the report's memory does
 * not grow with the day's size (the sheets are written in libxlsxwriter's constant-memory mode).
 */
#ifndef PIPELINE_REPORT_DATA_H
#define PIPELINE_REPORT_DATA_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bizdate.h"
#include "errors.h"

#define RD_FETCH 2000

/*
 * A server-side cursor. Invariant: when `res` is not NULL, 0 <= row < PQntuples(res) is the
 * current row; `name` is a declared, still open cursor while `open` is true.
 */
struct rd_cursor {
	PGconn *db;
	char name[32];
	PGresult *res;
	int row;
	bool open;
	bool eof;
	int64_t rows_read;
};

/*
 * Declares cursor `name` for `sql` with text parameters (inside the caller's transaction).
 * On failure nothing stays open. rd_close must be called after a successful rd_open.
 */
enum perr rd_open(struct rd_cursor *c, PGconn *db, const char *name, const char *sql, int nparams,
    const char *const *params);
/* Moves to the next row: *has = false at the end. */
enum perr rd_next(struct rd_cursor *c, bool *has);
/* Closes the cursor and frees the batch. Safe to call on a cursor that failed to open or twice. */
void rd_close(struct rd_cursor *c);

/* The current row's value of column `col`, or NULL if SQL NULL. */
const char *rd_val(const struct rd_cursor *c, int col);

/* Strict conversions: the whole string must be the value. PERR_DB with a detail naming `what`. */
enum perr rd_parse_i64(const char *s, const char *what, int64_t *out);
enum perr rd_parse_date(const char *s, const char *what, date_t *out);

/* Runs a one-row, one-column count query and returns its value. */
enum perr rd_count(PGconn *db, const char *sql, int nparams, const char *const *params,
    int64_t *out);

/* Age buckets of open exceptions (business days): 0-1, 2-5, 6-30, >30. */
#define RD_AGE_BUCKETS 4
extern const char *const rd_age_bucket_names[RD_AGE_BUCKETS];
int rd_age_bucket(int age_days);

/*
 * The earliest expected date whose window (expected + window business days) still reaches `d`:
 * a movement expected on or after it and not yet matched is pending, not a break.
 */
date_t rd_pending_from(const struct calendar *cal, date_t d, int window);

/*
 * Text for a cell: at most `max` bytes, cut on a UTF-8 character boundary with " [truncated]"
 * appended when cut. Returns `s` itself when it fits, else a string in `buf` (max + 16 bytes).
 */
#define RD_CELL_MAX 32000
const char *rd_cell_text(const char *s, size_t max, char *buf);


/* Exception types in the order the report lists them (sql/002_pipeline.sql's CHECK). */
#define RD_N_TYPES 21
extern const char *const rd_exception_types[RD_N_TYPES];
/* Index of a type in rd_exception_types, or -1. */
int rd_type_index(const char *type);

#endif
