/*
 * gate.h - the completeness gate's pure checks, shared by the normalize stage (before a statement
 * is loaded) and `pipeline inspect` (before a layout goes live), so both say the same thing:
 *   - balance: opening + sum(lines) = closing (stmt_balanced, statement.h);
 *   - continuity: a statement follows the account's previous one (balance carried over, number
 *     n+1, or the next sequence, or 1 in a new year);
 *   - duplicates: the same account, number, sequence and content (the hash over the canonical
 *     text below) is loaded once.
 * Nothing here touches the database. The canonical text of a line is also its COPY row.
 */
#ifndef PIPELINE_GATE_H
#define PIPELINE_GATE_H

#include <stdbool.h>
#include <stdint.h>

#include "bizdate.h"
#include "statement.h"

/* Append to b in PostgreSQL COPY text format: s escaped, a date as YYYY-MM-DD, an integer. */
void copy_text(struct fbuf *b, const char *s);
void copy_date(struct fbuf *b, date_t d);
void copy_i64(struct fbuf *b, int64_t v);

/* The canonical text of a header (replacing b's content): what "same content" means with the lines. */
void stmt_header_canon(struct fbuf *b, const struct stmt_header *h, const char *account);

/*
 * The canonical text of a line (replacing r's content): "line_no TAB account TAB entry_date ...
 * reference NEWLINE", the statement_line COPY row without its statement_id.
 */
void stmt_line_row(struct fbuf *r, const char *account, const struct stmt_header *h, const struct stmt_line *l);

/* False for formats whose statement numbers are dates (a layout with statement_no = date). */
bool gate_numbers_checked(const struct format *f);

/*
 * The continuity check of h against the account's previous statement (number, sequence, closing
 * balance and date). Returns what is wrong (a STATEMENT_GAP's text; the caller frees it) or NULL.
 * `numbers` false: only the balance is checked.
 */
char *gate_continuity(const char *prev_no, const char *prev_seq, int64_t prev_closing, date_t prev_closing_date,
    const struct stmt_header *h, bool numbers);

#endif
