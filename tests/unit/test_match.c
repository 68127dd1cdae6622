/*
 * test_match.c - unit and property tests of the pure matching engine (engine/match.h): each rule,
 * each verdict, the window edges, duplicates, currency, and order independence on random worlds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bizdate.h"
#include "match.h"
#include "util.h"

/* A little world: lines and movements named by strings. */
struct world {
	struct match_pool pool;
	struct match_line lines[4096];
	size_t nl;
	struct match_movement movs[4096];
	size_t nm;
	struct match_params prm;
	struct calendar cal;
	struct match_result res;
};

static date_t
D(const char *iso)
{
	date_t d;

	assert_int_equal(date_parse_iso(iso, &d), PERR_OK);
	return d;
}

static uint32_t
S(struct world *w, const char *s)
{
	return match_pool_intern(&w->pool, s, strlen(s));
}

static struct world *
world_new(void)
{
	struct world *w = xcalloc(1, sizeof *w);

	match_pool_init(&w->pool);
	w->prm.window_days = 3;
	w->prm.rule_reference = w->prm.rule_batch = w->prm.rule_amount_date = true;
	w->cal.holidays = xmalloc(sizeof(date_t));
	w->cal.holidays[0] = D("2026-12-25");
	w->cal.n_holidays = 1;
	w->prm.calendar = &w->cal;
	return w;
}

static void
world_free(struct world *w)
{
	match_result_free(&w->res);
	match_pool_free(&w->pool);
	free(w->cal.holidays);
	free(w);
}

static size_t
L(struct world *w, int64_t id, const char *acct, const char *cur, int64_t amount, const char *date,
    const char *ref, const char *bank_ref)
{
	struct match_line *l = &w->lines[w->nl];

	l->line_id = id;
	l->account = S(w, acct);
	l->currency = S(w, cur);
	l->amount = amount;
	l->value_date = D(date);
	l->reference = S(w, ref);
	l->bank_ref = S(w, bank_ref);
	l->flags = 0;
	return w->nl++;
}

static size_t
M(struct world *w, const char *id, const char *acct, const char *cur, int64_t amount, const char *date,
    const char *ref, const char *batch)
{
	struct match_movement *m = &w->movs[w->nm];

	m->movement_id = S(w, id);
	m->account = S(w, acct);
	m->currency = S(w, cur);
	m->amount = amount;
	m->expected_date = D(date);
	m->reference = S(w, ref);
	m->batch_id = S(w, batch);
	return w->nm++;
}

static void
run(struct world *w)
{
	match_result_free(&w->res);
	assert_int_equal(match_run(&w->pool, w->lines, w->nl, w->movs, w->nm, &w->prm, &w->res), PERR_OK);
}

static const char *
partner_id(struct world *w, size_t line)
{
	uint32_t m = w->res.line_partner[line];

	return m == MATCH_NONE ? "-" : match_pool_str(&w->pool, w->movs[m].movement_id);
}

#define CM "0123456789"

static void
test_reference_match(void **state)
{
	struct world *w = world_new();
	size_t l1, m1, m2;

	l1 = L(w, 1, CM, "SGD", 150000, "2026-11-23", "VA00000001", "FT1");
	m1 = M(w, "M1", CM, "SGD", 150000, "2026-11-23", "VA00000001", "");
	m2 = M(w, "M2", CM, "SGD", 150000, "2026-11-23", "VA00000002", "");
	run(w);
	assert_int_equal(w->res.line_verdict[l1], MATCH_LINE_MATCHED);
	assert_int_equal(w->res.line_rule[l1], MATCH_RULE_REFERENCE);
	assert_string_equal(partner_id(w, l1), "M1");
	assert_int_equal(w->res.mov_verdict[m1], MATCH_MOV_MATCHED);
	assert_int_equal(w->res.mov_line[m1], l1);
	assert_int_equal(w->res.mov_verdict[m2], MATCH_MOV_UNMATCHED);
	assert_int_equal(w->res.n_matches, 1);
	assert_int_equal(w->res.n_by_rule[MATCH_RULE_REFERENCE], 1);
	world_free(w);
}

/* Window: 3 business days either side; weekends do not count; Fri 27th to Wed 2nd is 3. */
static void
test_reference_window_edges(void **state)
{
	struct world *w = world_new();
	size_t in, out, early, weekend;

	in = L(w, 1, CM, "SGD", 100, "2026-12-02", "VA1", "FT1");          /* expected Fri 27 Nov: 3 bd */
	M(w, "M1", CM, "SGD", 100, "2026-11-27", "VA1", "");
	out = L(w, 2, CM, "SGD", 200, "2026-12-03", "VA2", "FT2");         /* expected Fri 27 Nov: 4 bd */
	M(w, "M2", CM, "SGD", 200, "2026-11-27", "VA2", "");
	early = L(w, 3, CM, "SGD", 300, "2026-11-24", "VA3", "FT3");       /* 3 bd before expected Fri */
	M(w, "M3", CM, "SGD", 300, "2026-11-27", "VA3", "");
	weekend = L(w, 4, CM, "SGD", 400, "2026-11-28", "VA4", "FT4");     /* Saturday counts as Friday */
	M(w, "M4", CM, "SGD", 400, "2026-12-02", "VA4", "");
	run(w);
	assert_int_equal(w->res.line_verdict[in], MATCH_LINE_MATCHED);
	assert_int_equal(w->res.line_verdict[out], MATCH_LINE_UNMATCHED);
	assert_int_equal(w->res.mov_verdict[1], MATCH_MOV_UNMATCHED);
	assert_int_equal(w->res.line_verdict[early], MATCH_LINE_MATCHED);
	assert_int_equal(w->res.line_verdict[weekend], MATCH_LINE_MATCHED);
	world_free(w);
}

/* A holiday is not a business day: 24 Dec + 3 bd = 30 Dec (25th holiday, 26/27 weekend). */
static void
test_window_holiday(void **state)
{
	struct world *w = world_new();
	size_t a, b;

	a = L(w, 1, CM, "SGD", 100, "2026-12-30", "VA1", "FT1");
	M(w, "M1", CM, "SGD", 100, "2026-12-24", "VA1", "");
	b = L(w, 2, CM, "SGD", 200, "2026-12-31", "VA2", "FT2");
	M(w, "M2", CM, "SGD", 200, "2026-12-24", "VA2", "");
	run(w);
	assert_int_equal(w->res.line_verdict[a], MATCH_LINE_MATCHED);
	assert_int_equal(w->res.line_verdict[b], MATCH_LINE_UNMATCHED);
	w->prm.window_days = 0;
	run(w);
	assert_int_equal(w->res.line_verdict[a], MATCH_LINE_UNMATCHED);
	world_free(w);
}

static void
test_batch_exact(void **state)
{
	struct world *w = world_new();
	size_t l;

	l = L(w, 1, CM, "SGD", -60000, "2026-11-24", "BATCH-20261124-01", "FT9");
	M(w, "W1", CM, "SGD", -10000, "2026-11-24", "WD-00000001", "BATCH-20261124-01");
	M(w, "W2", CM, "SGD", -20000, "2026-11-24", "WD-00000002", "BATCH-20261124-01");
	M(w, "W3", CM, "SGD", -30000, "2026-11-23", "WD-00000003", "BATCH-20261124-01");
	M(w, "W4", CM, "SGD", -30000, "2026-11-23", "WD-00000004", "BATCH-20261124-02");
	run(w);
	assert_int_equal(w->res.line_verdict[l], MATCH_LINE_MATCHED);
	assert_int_equal(w->res.line_rule[l], MATCH_RULE_BATCH);
	assert_int_equal(w->res.mov_verdict[0], MATCH_MOV_MATCHED);
	assert_int_equal(w->res.mov_verdict[1], MATCH_MOV_MATCHED);
	assert_int_equal(w->res.mov_verdict[2], MATCH_MOV_MATCHED);
	assert_int_equal(w->res.mov_line[2], l);
	assert_int_equal(w->res.mov_verdict[3], MATCH_MOV_UNMATCHED);
	assert_int_equal(w->res.n_matches, 1);
	assert_int_equal(w->res.n_movements_matched, 3);
	world_free(w);
}

/* One cent off: not a match, an AMOUNT_MISMATCH naming the batch with its sum. */
static void
test_batch_off_by_one_cent(void **state)
{
	struct world *w = world_new();
	const struct match_mismatch *x;
	size_t l;

	l = L(w, 1, CM, "SGD", -30001, "2026-11-24", "BATCH-20261124-01", "FT9");
	M(w, "W1", CM, "SGD", -10000, "2026-11-24", "WD-00000001", "BATCH-20261124-01");
	M(w, "W2", CM, "SGD", -20000, "2026-11-24", "WD-00000002", "BATCH-20261124-01");
	run(w);
	assert_int_equal(w->res.line_verdict[l], MATCH_LINE_AMOUNT_MISMATCH);
	assert_int_equal(w->res.n_matches, 0);
	x = match_find_mismatch(&w->res, (uint32_t)l);
	assert_non_null(x);
	assert_true(x->batch);
	assert_int_equal(x->ledger_amount, -30000);
	assert_int_equal(w->res.mov_verdict[0], MATCH_MOV_MISMATCH);
	assert_int_equal(w->res.mov_verdict[1], MATCH_MOV_MISMATCH);
	world_free(w);
}

static void
test_amount_mismatch(void **state)
{
	struct world *w = world_new();
	const struct match_mismatch *x;
	size_t l, wrongdir;

	l = L(w, 1, CM, "SGD", 149000, "2026-11-24", "VA00000007", "FT1");
	M(w, "M1", CM, "SGD", 150000, "2026-11-24", "VA00000007", "");
	/* Same reference, other direction: not a mismatch, plainly unmatched. */
	wrongdir = L(w, 2, CM, "SGD", -5000, "2026-11-24", "VA00000008", "FT2");
	M(w, "M2", CM, "SGD", 5000, "2026-11-24", "VA00000008", "");
	run(w);
	assert_int_equal(w->res.line_verdict[l], MATCH_LINE_AMOUNT_MISMATCH);
	x = match_find_mismatch(&w->res, (uint32_t)l);
	assert_non_null(x);
	assert_false(x->batch);
	assert_int_equal(x->ledger_amount, 150000);
	assert_string_equal(partner_id(w, l), "M1");
	assert_int_equal(w->res.mov_verdict[0], MATCH_MOV_MISMATCH);
	assert_int_equal(w->res.line_verdict[wrongdir], MATCH_LINE_UNMATCHED);
	assert_int_equal(w->res.mov_verdict[1], MATCH_MOV_UNMATCHED);
	assert_null(match_find_mismatch(&w->res, (uint32_t)wrongdir));
	world_free(w);
}

static void
test_amount_date_unique(void **state)
{
	struct world *w = world_new();
	size_t l;

	l = L(w, 1, CM, "SGD", -25000, "2026-11-24", "", "FT1");
	M(w, "W1", CM, "SGD", -25000, "2026-11-23", "WD-00000001", "");
	M(w, "W2", CM, "SGD", -25000, "2026-11-30", "WD-00000002", "");   /* 4 bd away */
	run(w);
	assert_int_equal(w->res.line_verdict[l], MATCH_LINE_MATCHED);
	assert_int_equal(w->res.line_rule[l], MATCH_RULE_AMOUNT_DATE);
	assert_string_equal(partner_id(w, l), "W1");
	assert_int_equal(w->res.mov_verdict[1], MATCH_MOV_UNMATCHED);
	world_free(w);
}

static void
test_ambiguous_two_movements(void **state)
{
	struct world *w = world_new();
	const struct match_ambiguous *a;
	size_t l;

	l = L(w, 1, CM, "SGD", -25000, "2026-11-24", "", "FT1");
	M(w, "W2", CM, "SGD", -25000, "2026-11-25", "WD-2", "");
	M(w, "W1", CM, "SGD", -25000, "2026-11-23", "WD-1", "");
	run(w);
	assert_int_equal(w->res.line_verdict[l], MATCH_LINE_AMBIGUOUS);
	a = match_find_ambiguous(&w->res, (uint32_t)l);
	assert_non_null(a);
	assert_int_equal(a->n_candidates, 2);
	assert_int_equal(a->n_listed, 2);
	assert_int_equal(a->n_competing_lines, 1);
	/* listed in date order */
	assert_string_equal(match_pool_str(&w->pool, w->movs[a->candidates[0]].movement_id), "W1");
	assert_string_equal(match_pool_str(&w->pool, w->movs[a->candidates[1]].movement_id), "W2");
	assert_int_equal(w->res.mov_verdict[0], MATCH_MOV_UNMATCHED);
	assert_int_equal(w->res.mov_verdict[1], MATCH_MOV_UNMATCHED);
	assert_int_equal(w->res.n_matches, 0);
	world_free(w);
}

/* Two lines, one movement: neither line gets it. */
static void
test_ambiguous_two_lines(void **state)
{
	struct world *w = world_new();
	const struct match_ambiguous *a;

	L(w, 1, CM, "SGD", 777, "2026-11-24", "", "FT1");
	L(w, 2, CM, "SGD", 777, "2026-11-24", "", "FT2");
	M(w, "X", CM, "SGD", 777, "2026-11-24", "", "");
	run(w);
	assert_int_equal(w->res.line_verdict[0], MATCH_LINE_AMBIGUOUS);
	assert_int_equal(w->res.line_verdict[1], MATCH_LINE_AMBIGUOUS);
	a = match_find_ambiguous(&w->res, 1);
	assert_non_null(a);
	assert_int_equal(a->n_candidates, 1);
	assert_int_equal(a->n_competing_lines, 2);
	assert_int_equal(w->res.mov_verdict[0], MATCH_MOV_UNMATCHED);
	world_free(w);
}

/* Many equal candidates: listed up to the cap, counted in full, and fast (no quadratic step). */
static void
test_ambiguous_many(void **state)
{
	struct world *w = world_new();
	const struct match_ambiguous *a;
	char id[32];
	int i;

	L(w, 1, CM, "SGD", 5000, "2026-11-24", "", "FT1");
	for (i = 0; i < 3000; i++) {
		snprintf(id, sizeof id, "M%04d", i);
		M(w, id, CM, "SGD", 5000, "2026-11-24", "", "");
	}
	run(w);
	a = match_find_ambiguous(&w->res, 0);
	assert_non_null(a);
	assert_int_equal(a->n_candidates, 3000);
	assert_int_equal(a->n_listed, MATCH_MAX_CANDIDATES);
	assert_string_equal(match_pool_str(&w->pool, w->movs[a->candidates[0]].movement_id), "M0000");
	world_free(w);
}

/* Same day, same amount, same reference, different bank references: both match, to different movements. */
static void
test_identical_same_day_deposits(void **state)
{
	struct world *w = world_new();
	size_t a, b;

	a = L(w, 1, CM, "SGD", 100000, "2026-11-24", "VA00000042", "FT26328000111");
	b = L(w, 2, CM, "SGD", 100000, "2026-11-24", "VA00000042", "FT26328000112");
	M(w, "D1", CM, "SGD", 100000, "2026-11-24", "VA00000042", "");
	M(w, "D2", CM, "SGD", 100000, "2026-11-24", "VA00000042", "");
	run(w);
	assert_int_equal(w->res.line_verdict[a], MATCH_LINE_MATCHED);
	assert_int_equal(w->res.line_verdict[b], MATCH_LINE_MATCHED);
	assert_string_equal(partner_id(w, a), "D1");
	assert_string_equal(partner_id(w, b), "D2");
	assert_int_equal(w->res.n_movements_matched, 2);
	world_free(w);
}

static void
test_currency_never_matches(void **state)
{
	struct world *w = world_new();

	L(w, 1, CM, "SGD", 100000, "2026-11-24", "VA1", "FT1");
	M(w, "D1", CM, "USD", 100000, "2026-11-24", "VA1", "");
	L(w, 2, CM, "SGD", 5000, "2026-11-24", "", "FT2");
	M(w, "D2", CM, "USD", 5000, "2026-11-24", "", "");
	L(w, 3, CM, "SGD", -7000, "2026-11-24", "BATCH-1", "FT3");
	M(w, "D3", CM, "USD", -7000, "2026-11-24", "", "BATCH-1");
	run(w);
	assert_int_equal(w->res.n_matches, 0);
	assert_int_equal(w->res.n_mismatches, 0);
	assert_int_equal(w->res.n_ambiguous, 0);
	assert_int_equal(w->res.line_verdict[0], MATCH_LINE_UNMATCHED);
	assert_int_equal(w->res.line_verdict[1], MATCH_LINE_UNMATCHED);
	assert_int_equal(w->res.line_verdict[2], MATCH_LINE_UNMATCHED);
	world_free(w);
}

/* Other account, same everything else: no match either. */
static void
test_account_never_crosses(void **state)
{
	struct world *w = world_new();

	L(w, 1, CM, "SGD", 100000, "2026-11-24", "TRF-OFF-B-FEE", "FT1");
	M(w, "T1", "0123456790", "SGD", 100000, "2026-11-24", "TRF-OFF-B-FEE", "");
	run(w);
	assert_int_equal(w->res.n_matches, 0);
	world_free(w);
}

/* An extracted reference that names nothing is not matched by amount and date. */
static void
test_unknown_reference_not_guessed(void **state)
{
	struct world *w = world_new();

	L(w, 1, CM, "SGD", 50000, "2026-11-23", "VA99999999", "FT1");
	M(w, "D1", CM, "SGD", 50000, "2026-11-23", "VA00000005", "");
	run(w);
	assert_int_equal(w->res.line_verdict[0], MATCH_LINE_UNMATCHED);
	assert_int_equal(w->res.mov_verdict[0], MATCH_MOV_UNMATCHED);
	world_free(w);
}

static void
test_duplicate_line(void **state)
{
	struct world *w = world_new();
	size_t a, b, c;

	a = L(w, 7, CM, "SGD", 20000, "2026-11-25", "VA00000009", "FT26329000001");
	b = L(w, 5, CM, "SGD", 20000, "2026-11-25", "VA00000009", "FT26329000001");
	c = L(w, 6, "0123456790", "SGD", 20000, "2026-11-25", "", "FT26329000001"); /* other account */
	M(w, "D1", CM, "SGD", 20000, "2026-11-25", "VA00000009", "");
	run(w);
	/* identical content: the smaller line id is kept */
	assert_int_equal(w->res.line_verdict[b], MATCH_LINE_MATCHED);
	assert_int_equal(w->res.line_verdict[a], MATCH_LINE_DUPLICATE);
	assert_int_equal(w->res.line_partner[a], b);
	assert_int_equal(w->res.line_verdict[c], MATCH_LINE_UNMATCHED);

	/* The line it repeats was matched on an earlier night: the one left is the duplicate. */
	w->nl = 0;
	a = L(w, 7, CM, "SGD", 20000, "2026-11-25", "VA00000009", "FT26329000001");
	w->lines[a].flags = MATCH_LINE_DUP_OF_MATCHED;
	run(w);
	assert_int_equal(w->res.line_verdict[a], MATCH_LINE_DUPLICATE);
	assert_int_equal(w->res.line_partner[a], MATCH_NONE);
	assert_int_equal(w->res.mov_verdict[0], MATCH_MOV_UNMATCHED);
	world_free(w);
}

/* Greedy pairing over dates finds every pair the window allows. */
static void
test_reference_pairs_over_dates(void **state)
{
	struct world *w = world_new();

	L(w, 1, CM, "SGD", 100, "2026-11-23", "VA1", "FT1");
	L(w, 2, CM, "SGD", 100, "2026-11-30", "VA1", "FT2");
	M(w, "A", CM, "SGD", 100, "2026-11-26", "VA1", "");   /* reachable from both */
	M(w, "B", CM, "SGD", 100, "2026-12-03", "VA1", "");   /* only from the second */
	run(w);
	assert_int_equal(w->res.n_matches, 2);
	assert_string_equal(partner_id(w, 0), "A");
	assert_string_equal(partner_id(w, 1), "B");
	world_free(w);
}

static void
test_rules_switched_off(void **state)
{
	struct world *w = world_new();

	L(w, 1, CM, "SGD", 100, "2026-11-23", "VA1", "FT1");
	M(w, "A", CM, "SGD", 100, "2026-11-23", "VA1", "");
	L(w, 2, CM, "SGD", -300, "2026-11-23", "BATCH-9", "FT2");
	M(w, "B1", CM, "SGD", -100, "2026-11-23", "", "BATCH-9");
	M(w, "B2", CM, "SGD", -200, "2026-11-23", "", "BATCH-9");
	L(w, 3, CM, "SGD", 55, "2026-11-23", "", "FT3");
	M(w, "C", CM, "SGD", 55, "2026-11-23", "", "");
	w->prm.rule_reference = w->prm.rule_batch = w->prm.rule_amount_date = false;
	run(w);
	assert_int_equal(w->res.n_matches, 0);
	assert_int_equal(w->res.n_mismatches, 0);
	w->prm.rule_amount_date = true;
	run(w);
	assert_int_equal(w->res.n_matches, 1);
	assert_int_equal(w->res.line_rule[2], MATCH_RULE_AMOUNT_DATE);
	w->prm.rule_batch = true;
	run(w);
	assert_int_equal(w->res.n_by_rule[MATCH_RULE_BATCH], 1);
	world_free(w);
}

static void
test_bad_window(void **state)
{
	struct world *w = world_new();

	w->prm.window_days = -1;
	assert_int_equal(match_run(&w->pool, w->lines, 0, w->movs, 0, &w->prm, &w->res), PERR_USAGE);
	w->prm.window_days = 3;
	assert_int_equal(match_run(&w->pool, w->lines, 0, w->movs, 0, &w->prm, &w->res), PERR_OK);
	assert_int_equal(w->res.n_matches, 0);
	world_free(w);
}

static void
test_pool(void **state)
{
	struct match_pool p;
	uint32_t a, b, c;
	char buf[32];
	int i;

	match_pool_init(&p);
	assert_int_equal(match_pool_intern(&p, "", 0), 0);
	a = match_pool_intern(&p, "abc", 3);
	b = match_pool_intern(&p, "abcd", 3);
	c = match_pool_intern(&p, "abcd", 4);
	assert_int_equal(a, b);
	assert_int_not_equal(a, c);
	for (i = 0; i < 100000; i++) {
		snprintf(buf, sizeof buf, "s%d", i);
		match_pool_intern(&p, buf, strlen(buf));
	}
	assert_int_equal(match_pool_intern(&p, "abc", 3), a);
	assert_string_equal(match_pool_str(&p, c), "abcd");
	assert_int_equal(p.tcount, 100002);
	/* stored, not interned: another copy, another offset, the interned one unchanged */
	b = match_pool_store(&p, "abc", 3);
	assert_int_not_equal(b, a);
	assert_string_equal(match_pool_str(&p, b), "abc");
	assert_int_equal(match_pool_intern(&p, "abc", 3), a);
	assert_int_equal(match_pool_store(&p, "", 0), 0);
	match_pool_freeze(&p);
	assert_string_equal(match_pool_str(&p, c), "abcd");
	assert_int_equal(match_pool_intern(&p, "abc", 3), UINT32_MAX);
	assert_int_equal(perr_last(), PERR_INTERNAL);
	match_pool_free(&p);
}

/* ---- property: the result does not depend on input order ---- */

struct spec_line { int64_t id, amount; int day; int ref, bank_ref; int acct, cur; };
struct spec_mov { int id; int64_t amount; int day; int ref, batch; int acct, cur; };

static uint64_t rng_state;
static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static const char *days[] = { "2026-11-20", "2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26",
	"2026-11-27", "2026-11-28", "2026-11-30", "2026-12-01", "2026-12-04" };

static void
build(struct world *w, const struct spec_line *sl, size_t nl, const struct spec_mov *sm, size_t nm,
    const size_t *lperm, const size_t *mperm, bool reverse_intern)
{
	char ref[32], bref[32], id[32], acct[16];
	size_t i;

	match_pool_free(&w->pool);
	match_pool_init(&w->pool);
	w->nl = w->nm = 0;
	if (reverse_intern) {
		/* intern strings in another order first, so that offsets differ */
		for (i = 0; i < 60; i++) {
			snprintf(ref, sizeof ref, "R%zu", 59 - i);
			S(w, ref);
		}
		S(w, "USD");
	}
	for (i = 0; i < nl; i++) {
		const struct spec_line *s = &sl[lperm[i]];

		snprintf(ref, sizeof ref, "R%d", s->ref);
		snprintf(bref, sizeof bref, "FT%d", s->bank_ref);
		snprintf(acct, sizeof acct, "A%d", s->acct);
		L(w, s->id, acct, s->cur ? "USD" : "SGD", s->amount, days[s->day], s->ref ? ref : "",
		    s->bank_ref ? bref : "");
	}
	for (i = 0; i < nm; i++) {
		const struct spec_mov *s = &sm[mperm[i]];

		snprintf(ref, sizeof ref, "R%d", s->ref);
		snprintf(bref, sizeof bref, "R%d", s->batch);
		snprintf(id, sizeof id, "M%d", s->id);
		snprintf(acct, sizeof acct, "A%d", s->acct);
		M(w, id, acct, s->cur ? "USD" : "SGD", s->amount, days[s->day], s->ref ? ref : "",
		    s->batch ? bref : "");
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One sorted text line per line and per movement: what the engine decided about it. */
static char *
fingerprint(struct world *w, bool with_line_ids)
{
	char **rows = xmalloc((w->nl + w->nm) * sizeof *rows);
	size_t i, n = 0, len = 0;
	char *out, *p;

	for (i = 0; i < w->nl; i++) {
		const struct match_line *l = &w->lines[i];
		const struct match_ambiguous *a = match_find_ambiguous(&w->res, (uint32_t)i);
		const struct match_mismatch *x = match_find_mismatch(&w->res, (uint32_t)i);
		uint32_t p2 = w->res.line_partner[i];
		const char *partner = "-";

		if (w->res.line_verdict[i] == MATCH_LINE_DUPLICATE)
			partner = p2 == MATCH_NONE ? "earlier" : "dup";
		else if (p2 != MATCH_NONE)
			partner = match_pool_str(&w->pool, w->movs[p2].movement_id);
		rows[n++] = xasprintf("L %lld %s %s %s %s %lld %d v%d r%d %s a%u/%u x%lld",
		    with_line_ids ? (long long)l->line_id : 0LL,
		    match_pool_str(&w->pool, l->account), match_pool_str(&w->pool, l->currency),
		    match_pool_str(&w->pool, l->reference),
		    match_pool_str(&w->pool, l->bank_ref), (long long)l->amount, l->value_date,
		    w->res.line_verdict[i], w->res.line_rule[i], partner,
		    a ? a->n_candidates : 0, a ? a->n_competing_lines : 0, x ? (long long)x->ledger_amount : 0LL);
	}
	for (i = 0; i < w->nm; i++) {
		uint32_t li = w->res.mov_line[i];

		rows[n++] = xasprintf("M %s v%d %s/%lld", match_pool_str(&w->pool, w->movs[i].movement_id),
		    w->res.mov_verdict[i], li == MATCH_NONE ? "-" : match_pool_str(&w->pool, w->lines[li].bank_ref),
		    li == MATCH_NONE ? 0LL : (with_line_ids ? (long long)w->lines[li].line_id : 0LL));
	}
	qsort(rows, n, sizeof *rows, cmp_str);
	for (i = 0; i < n; i++)
		len += strlen(rows[i]) + 1;
	out = p = xmalloc(len + 1);
	for (i = 0; i < n; i++) {
		p += sprintf(p, "%s\n", rows[i]);
		free(rows[i]);
	}
	*p = '\0';
	free(rows);
	return out;
}

/* On a difference, writes both fingerprints under /tmp for diff(1) before failing. */
static void
assert_same(const char *got, const char *want)
{
	if (strcmp(got, want) != 0) {
		FILE *f;

		if ((f = fopen("/tmp/test_match.want", "w")) != NULL) {
			fputs(want, f);
			fclose(f);
		}
		if ((f = fopen("/tmp/test_match.got", "w")) != NULL) {
			fputs(got, f);
			fclose(f);
		}
		fail_msg("results differ with the input order: diff /tmp/test_match.want /tmp/test_match.got");
	}
}

static void
shuffle(size_t *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		a[i] = i;
	for (i = n; i > 1; i--) {
		size_t j = rng() % i, t = a[i - 1];

		a[i - 1] = a[j];
		a[j] = t;
	}
}

static void
test_order_independence(void **state)
{
	enum { NL = 1500, NM = 1500 };
	static struct spec_line sl[NL];
	static struct spec_mov sm[NM];
	static size_t lp[NL], mp[NM];
	struct world *w = world_new();
	int round, k;
	size_t i;

	for (round = 0; round < 20; round++) {
		char *base, *fp, *base_noid;

		rng_state = 0x9E3779B97F4A7C15ULL + (uint64_t)round * 7919;
		/* small value ranges so that references, amounts, dates and bank refs collide a lot */
		for (i = 0; i < NL; i++) {
			sl[i].id = (int64_t)i + 1;
			sl[i].amount = (int64_t)(rng() % 6 + 1) * 100 * ((rng() % 4) ? 1 : -1);
			sl[i].day = (int)(rng() % 10);
			sl[i].ref = (rng() % 3) ? (int)(rng() % 40) : 0;
			sl[i].bank_ref = (int)(rng() % 1400) + 1;
			sl[i].acct = (int)(rng() % 2);
			sl[i].cur = (rng() % 20) == 0;
		}
		for (i = 0; i < NM; i++) {
			sm[i].id = (int)i;
			sm[i].amount = (int64_t)(rng() % 6 + 1) * 100 * ((rng() % 4) ? 1 : -1);
			sm[i].day = (int)(rng() % 10);
			sm[i].ref = (rng() % 3) ? (int)(rng() % 40) : 0;
			sm[i].batch = (rng() % 10) == 0 ? (int)(rng() % 40) : 0;
			sm[i].acct = (int)(rng() % 2);
			sm[i].cur = (rng() % 20) == 0;
		}
		for (i = 0; i < NL; i++)
			lp[i] = i;
		for (i = 0; i < NM; i++)
			mp[i] = i;
		build(w, sl, NL, sm, NM, lp, mp, false);
		run(w);
		/* sanity: at most one line per movement and the matches are consistent */
		for (i = 0; i < w->nm; i++)
			if (w->res.mov_verdict[i] == MATCH_MOV_MATCHED)
				assert_int_equal(w->res.line_verdict[w->res.mov_line[i]], MATCH_LINE_MATCHED);
		base = fingerprint(w, true);
		base_noid = fingerprint(w, false);
		for (k = 0; k < 3; k++) {
			shuffle(lp, NL);
			shuffle(mp, NM);
			build(w, sl, NL, sm, NM, lp, mp, k == 1);
			run(w);
			fp = fingerprint(w, true);
			assert_same(fp, base);
			free(fp);
		}
		/* Reloading the files in another order gives the lines other ids: same content result. */
		{
			static struct spec_line sl2[NL];

			shuffle(lp, NL);
			for (i = 0; i < NL; i++) {
				sl2[i] = sl[lp[i]];
				sl2[i].id = (int64_t)i + 1;
			}
			shuffle(lp, NL);
			shuffle(mp, NM);
			build(w, sl2, NL, sm, NM, lp, mp, true);
			run(w);
			fp = fingerprint(w, false);
			assert_same(fp, base_noid);
			free(fp);
		}
		free(base);
		free(base_noid);
	}
	world_free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_reference_match),
		cmocka_unit_test(test_reference_window_edges),
		cmocka_unit_test(test_window_holiday),
		cmocka_unit_test(test_batch_exact),
		cmocka_unit_test(test_batch_off_by_one_cent),
		cmocka_unit_test(test_amount_mismatch),
		cmocka_unit_test(test_amount_date_unique),
		cmocka_unit_test(test_ambiguous_two_movements),
		cmocka_unit_test(test_ambiguous_two_lines),
		cmocka_unit_test(test_ambiguous_many),
		cmocka_unit_test(test_identical_same_day_deposits),
		cmocka_unit_test(test_currency_never_matches),
		cmocka_unit_test(test_account_never_crosses),
		cmocka_unit_test(test_unknown_reference_not_guessed),
		cmocka_unit_test(test_duplicate_line),
		cmocka_unit_test(test_reference_pairs_over_dates),
		cmocka_unit_test(test_rules_switched_off),
		cmocka_unit_test(test_bad_window),
		cmocka_unit_test(test_order_independence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
