/*
 * progress.h - a one-line progress bar with rate and ETA on stderr, shown only when stderr is a
 * terminal (never in logs, pipes or under the scheduler), for long steps: downloads, parsing
 * large files, matching, writing the report.
 *
 *   struct progress_bar *pb = progress_bar_start("parse stmt.sta", total_bytes, PROGRESS_BYTES);
 *   for (...) progress_bar_update(pb, done);
 *   progress_bar_end(pb);
 *
 * Every function accepts NULL (no terminal: start returns NULL), so callers never branch.
 * Redraws are throttled (at most every 200 ms), so calling update per line is cheap: O(1), one
 * clock read. Integer arithmetic only.
 */
#ifndef PIPELINE_PROGRESS_H
#define PIPELINE_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

enum progress_unit { PROGRESS_BYTES = 0, PROGRESS_ITEMS = 1 };

struct progress_bar;

/*
 * Starts a bar for `total` units (-1 or 0 if unknown: then no percentage and no ETA). Returns
 * NULL when stderr is not a terminal, or $PIPELINE_PROGRESS is "0". Otherwise the caller owns
 * the bar and ends it with progress_bar_end. `label` is copied.
 */
struct progress_bar *progress_bar_start(const char *label, int64_t total, enum progress_unit unit);

/* Records `done` units so far and redraws if 200 ms have passed. Safe to call with NULL. */
void progress_bar_update(struct progress_bar *pb, int64_t done);

/* Draws the final state, ends the line and frees the bar. Safe to call with NULL. */
void progress_bar_end(struct progress_bar *pb);

/*
 * Pure (unit-tested): formats one bar line (without '\r' or '\n') into buf for the given state:
 *   "label  [#########.........]  45%  12.3 MiB  4.1 MiB/s  ETA 0:03"
 * `width` is the width of the bracketed bar. Returns buf.
 */
char *progress_bar_format(char *buf, size_t cap, const char *label, int64_t done, int64_t total,
    enum progress_unit unit, int64_t elapsed_ms, int width);

#endif
