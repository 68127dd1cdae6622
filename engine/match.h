/*
 * match.h - the pure matching engine of the reconcile stage: statement lines against the ledger's
 * expected cash movements, with no database and no I/O. stages/reconcile.c feeds it and writes
 * what it decides; tests/unit/test_match*.c drive it directly.
 *
 * Rules, tried in this order (each line and each movement is used at most once):
 *   1. REFERENCE   the line's extracted reference equals the movement's reference; same account,
 *                  currency and signed amount (so the same direction); value date within the window.
 *   2. BATCH       the line's reference equals a batch_id; the batch's unmatched movements (same
 *                  account and currency) sum exactly to the line's amount; every one of them is
 *                  expected within the window of the line's value date.
 *   3. AMOUNT_DATE the line carries no extracted reference; same account, currency and signed amount,
 *                  value date within the window, and exactly one candidate on each side. Several
 *                  candidates make the line AMBIGUOUS (candidates listed), never a guess.
 * Between 2 and 3, a line whose reference names a movement (same account, currency and direction,
 * within the window) or a batch, but whose amount differs, is an AMOUNT_MISMATCH; the movement(s)
 * it names are taken out of rule 3 and are not "unmatched" (the mismatch is the one break).
 * A line whose bank reference (bank_ref) repeats on the same account is a DUPLICATE_LINE: the first
 * of the group (by value date, amount, currency, references, line id) is matched normally, the others are not
 * matched at all; a line flagged MATCH_LINE_DUP_OF_MATCHED (an already-matched line carries the same
 * bank reference: the stage knows it, the engine does not see matched lines) is a duplicate too.
 *
 * Window: |business days between value date and expected date| <= window, counted like
 * calendar_business_days_between (business days in (from, to]); a weekend date counts as the
 * business day before it.
 *
 * Determinism: the result does not depend on the order of the input arrays. Groups are found by
 * sorting compact keys; ties inside a group are broken by content (dates, amounts, then the
 * strings: bank reference and line id for lines, movement id for movements - movement ids are
 * unique). Cost: O(n log n) sorting plus linear passes; no step is quadratic (an AMBIGUOUS line
 * lists at most MATCH_MAX_CANDIDATES candidates and counts the rest).
 *
 * Memory (1M lines + 1M movements): 40 bytes a line, 32 a movement, the strings once each in the
 * pool, 6 bytes a line and 5 a movement of result, and one 32-byte key per item while sorting.
 */
#ifndef PIPELINE_MATCH_H
#define PIPELINE_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bizdate.h"
#include "errors.h"

/*
 * A string pool: every string is stored once, NUL-terminated, in one arena, and named by its
 * offset (uint32_t). Interned strings are deduplicated, so two interned strings are equal iff
 * their offsets are equal. Offset 0 is the empty string.
 */
struct match_pool {
	char *buf;
	size_t len, cap;
	uint32_t *table;     /* open addressing: offset of an interned string, 0 = empty slot */
	size_t tcap, tcount; /* tcap a power of two */
};

void match_pool_init(struct match_pool *p);
/* Frees what the pool holds (not p itself). Safe to call twice. */
void match_pool_free(struct match_pool *p);
/* Interns s[0..len): the same offset for the same bytes. Returns 0 for len 0. Aborts on
 * exhaustion like xmalloc; a pool over 4 GiB is PERR_NOMEM (returns UINT32_MAX). */
uint32_t match_pool_intern(struct match_pool *p, const char *s, size_t len);
/* Stores a copy of s[0..len) without looking for an equal one (cheaper): equal strings get
 * different offsets, so only for strings never compared by offset, such as unique ids.
 * Returns UINT32_MAX (PERR_NOMEM) past 4 GiB. */
uint32_t match_pool_store(struct match_pool *p, const char *s, size_t len);
/* Frees the lookup table once every string is in (about 8 bytes a string): the strings stay
 * readable, but interning is over (match_pool_intern then fails with PERR_INTERNAL). */
void match_pool_freeze(struct match_pool *p);
/* The string at an offset (valid until the next intern). */
static inline const char *
match_pool_str(const struct match_pool *p, uint32_t off)
{
	return p->buf + off;
}

#define MATCH_LINE_DUP_OF_MATCHED 0x01

/* A statement line not yet matched. Strings are pool offsets. */
struct match_line {
	int64_t line_id;
	int64_t amount;       /* signed minor units: credits positive, debits negative */
	uint32_t account;
	uint32_t currency;
	uint32_t reference;   /* extracted reference, 0 = none */
	uint32_t bank_ref;    /* the bank's own reference, 0 = none */
	date_t value_date;
	uint32_t flags;       /* MATCH_LINE_* */
};

/* A ledger cash movement not yet matched. */
struct match_movement {
	int64_t amount;       /* signed as seen from the bank account: CREDIT positive, DEBIT negative */
	uint32_t movement_id; /* unique */
	uint32_t account;
	uint32_t currency;
	uint32_t reference;   /* 0 = none */
	uint32_t batch_id;    /* 0 = none */
	date_t expected_date;
};

enum match_rule { MATCH_RULE_NONE = 0, MATCH_RULE_REFERENCE = 1, MATCH_RULE_BATCH = 2, MATCH_RULE_AMOUNT_DATE = 3 };

enum match_line_verdict {
	MATCH_LINE_UNMATCHED = 0,  /* nothing explains it */
	MATCH_LINE_MATCHED = 1,
	MATCH_LINE_AMOUNT_MISMATCH = 2,
	MATCH_LINE_AMBIGUOUS = 3,
	MATCH_LINE_DUPLICATE = 4,
};

enum match_mov_verdict {
	MATCH_MOV_UNMATCHED = 0,   /* pending or overdue: the stage decides by its expected date */
	MATCH_MOV_MATCHED = 1,
	MATCH_MOV_MISMATCH = 2,    /* named by an AMOUNT_MISMATCH line */
};

#define MATCH_NONE UINT32_MAX
#define MATCH_MAX_CANDIDATES 10

/* An AMOUNT_MISMATCH: the line, the movement it names (the first of the batch for a batch) and the
 * ledger's amount (the batch's sum). */
struct match_mismatch {
	uint32_t line;
	uint32_t movement;
	bool batch;
	int64_t ledger_amount;
};

/* An AMBIGUOUS line: up to MATCH_MAX_CANDIDATES candidate movements (in canonical order) of n_candidates,
 * and how many lines (itself included) compete for those movements. */
struct match_ambiguous {
	uint32_t line;
	uint32_t n_candidates;
	uint32_t n_competing_lines;
	uint32_t n_listed;
	uint32_t candidates[MATCH_MAX_CANDIDATES];
};

struct match_params {
	int window_days;            /* business days, >= 0 */
	bool rule_reference, rule_batch, rule_amount_date;
	const struct calendar *calendar;
};

/*
 * The decisions, indexed like the input arrays. line_rule/line_partner: for a MATCHED line, the
 * rule and the movement (the first of the batch for BATCH; every movement of a match points back to
 * its line through mov_line); for a DUPLICATE line, line_partner is the line it duplicates, or
 * MATCH_NONE when that line was matched earlier (flag MATCH_LINE_DUP_OF_MATCHED).
 */
struct match_result {
	size_t n_lines, n_movements;
	uint8_t *line_verdict;      /* enum match_line_verdict */
	uint8_t *line_rule;         /* enum match_rule */
	uint32_t *line_partner;
	uint8_t *mov_verdict;       /* enum match_mov_verdict */
	uint32_t *mov_line;         /* MATCHED / MISMATCH: the line; else MATCH_NONE */
	struct match_mismatch *mismatches;
	size_t n_mismatches;
	struct match_ambiguous *ambiguous;
	size_t n_ambiguous;
	size_t n_matches;           /* matched lines */
	size_t n_by_rule[4];        /* matched lines per rule */
	size_t n_movements_matched;
};

/*
 * Runs the rules. The pool must be the one the strings were interned in (it is only read).
 * On success *res is filled (free with match_result_free). Errors: PERR_USAGE for a bad window,
 * PERR_DATE for dates spanning more than 400 years (the business-day table would be absurd).
 */
enum perr match_run(const struct match_pool *pool, const struct match_line *lines, size_t n_lines,
    const struct match_movement *movs, size_t n_movs, const struct match_params *params,
    struct match_result *res);

/* Frees the arrays in res (not res itself). Safe to call on a zeroed result. */
void match_result_free(struct match_result *res);

const char *match_rule_name(enum match_rule r);

/* The ambiguity record for a line, or NULL (binary search: the array is sorted by line). */
const struct match_ambiguous *match_find_ambiguous(const struct match_result *res, uint32_t line);
/* The mismatch record for a line, or NULL. */
const struct match_mismatch *match_find_mismatch(const struct match_result *res, uint32_t line);

#endif
