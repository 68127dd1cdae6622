/*
 * test_allocate.c - unit and property tests of the allocation and money rules (engine/allocate.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocate.h"
#include "errors.h"

#define SUB(id, at, req) { (id), (at), (req), -1, -1 }

static void
test_one_subscriber(void **state)
{
	struct alloc_sub s[] = { SUB("S1", 1, 150) };
	struct alloc_result r;

	assert_int_equal(allocate(s, 1, 100, 10, &r), PERR_OK);
	assert_int_equal(r.outcome, ALLOC_PRO_RATA);
	assert_int_equal(s[0].allocated, 100);
	assert_int_equal(r.allocated_total, 100);
	assert_int_equal(r.requested_total, 150);

	s[0].requested = 50;
	assert_int_equal(allocate(s, 1, 100, 10, &r), PERR_OK);
	assert_int_equal(r.outcome, ALLOC_FULL);
	assert_int_equal(s[0].allocated, 50);

	s[0].requested = 5;
	assert_int_equal(allocate(s, 1, 100, 10, &r), PERR_OK);
	assert_int_equal(r.outcome, ALLOC_FAILED);
	assert_int_equal(s[0].allocated, 0);
	assert_int_equal(r.allocated_total, 0);
}

static void
test_no_subscribers(void **state)
{
	struct alloc_result r;

	assert_int_equal(allocate(NULL, 0, 100, 1, &r), PERR_OK);
	assert_int_equal(r.outcome, ALLOC_FAILED);
	assert_int_equal(allocate(NULL, 0, 100, 0, &r), PERR_OK);
	assert_int_equal(r.outcome, ALLOC_FULL);
	assert_int_equal(r.allocated_total, 0);
}

/* Three equal requests of 10 for 10 units: 3 each, remainder 10 each, one leftover unit. */
static void
test_equal_requests_leftover_by_time(void **state)
{
	struct alloc_sub s[] = { SUB("S3", 300, 10), SUB("S1", 200, 10), SUB("S2", 100, 10) };
	struct alloc_result r;

	assert_int_equal(allocate(s, 3, 10, 0, &r), PERR_OK);
	assert_int_equal(r.outcome, ALLOC_PRO_RATA);
	assert_int_equal(s[0].allocated, 3);  /* S3: latest */
	assert_int_equal(s[1].allocated, 3);  /* S1 */
	assert_int_equal(s[2].allocated, 4);  /* S2: earliest subscribed_at wins the tie */
}

static void
test_equal_requests_leftover_by_id(void **state)
{
	struct alloc_sub s[] = { SUB("S-10", 5, 7), SUB("S-02", 5, 7), SUB("S-01", 5, 7),
	    SUB("S-11", 5, 7) };
	struct alloc_result r;

	/* total 28, offered 10: 70/28 = 2 rem 14 each, 10 - 8 = 2 leftovers: S-01 and S-02. */
	assert_int_equal(allocate(s, 4, 10, 0, &r), PERR_OK);
	assert_int_equal(s[0].allocated, 2);
	assert_int_equal(s[1].allocated, 3);
	assert_int_equal(s[2].allocated, 3);
	assert_int_equal(s[3].allocated, 2);
	assert_int_equal(r.allocated_total, 10);
}

static void
test_requester_of_one_unit(void **state)
{
	/* 1 x 500 / 1001 = 0 rem 500; 1000 x 500 / 1001 = 499 rem 501: the leftover goes to the big one. */
	struct alloc_sub s[] = { SUB("SMALL", 1, 1), SUB("BIG", 2, 1000) };
	struct alloc_result r;

	assert_int_equal(allocate(s, 2, 500, 0, &r), PERR_OK);
	assert_int_equal(s[0].allocated, 0);
	assert_int_equal(s[1].allocated, 500);

	/* 1 x 600 / 1001 = 0 rem 600; 1000 x 600 / 1001 = 599 rem 401: the one-unit requester gets it. */
	assert_int_equal(allocate(s, 2, 600, 0, &r), PERR_OK);
	assert_int_equal(s[0].allocated, 1);
	assert_int_equal(s[1].allocated, 599);
}

static void
test_total_equals_offered(void **state)
{
	struct alloc_sub s[] = { SUB("A", 1, 40), SUB("B", 2, 60) };
	struct alloc_result r;

	assert_int_equal(allocate(s, 2, 100, 100, &r), PERR_OK);
	assert_int_equal(r.outcome, ALLOC_FULL);
	assert_int_equal(s[0].allocated, 40);
	assert_int_equal(s[1].allocated, 60);
}

static void
test_min_equals_total(void **state)
{
	struct alloc_sub s[] = { SUB("A", 1, 40), SUB("B", 2, 35) };
	struct alloc_result r;

	/* total 75 = min_units: not below the minimum, so it succeeds. */
	assert_int_equal(allocate(s, 2, 100, 75, &r), PERR_OK);
	assert_int_equal(r.outcome, ALLOC_FULL);
	assert_int_equal(r.allocated_total, 75);
	/* One more unit of minimum: fails, nobody gets anything. */
	assert_int_equal(allocate(s, 2, 100, 76, &r), PERR_OK);
	assert_int_equal(r.outcome, ALLOC_FAILED);
	assert_int_equal(s[0].allocated, 0);
	assert_int_equal(s[1].allocated, 0);
}

static void
test_huge_numbers(void **state)
{
	/* total = (2^62 - 1) + (2^62 - 2) + 2 = INT64_MAX exactly; products near 2^124 need 128 bits. */
	struct alloc_sub s[] = { SUB("A", 1, INT64_MAX / 2), SUB("B", 2, INT64_MAX / 2 - 1),
	    SUB("C", 3, 2) };
	struct alloc_result r;
	int64_t offered = INT64_MAX / 3;

	assert_int_equal(allocate(s, 3, offered, 0, &r), PERR_OK);
	assert_int_equal(r.outcome, ALLOC_PRO_RATA);
	assert_int_equal(r.requested_total, INT64_MAX);
	assert_true(s[0].allocated + s[1].allocated + s[2].allocated == offered);
	for (int i = 0; i < 3; i++)
		assert_true(s[i].allocated <= s[i].requested);
	/* A's share checked against 128-bit arithmetic done here. */
	{
		__int128 p = (__int128)s[0].requested * offered;
		int64_t fl = (int64_t)(p / INT64_MAX);

		assert_true(s[0].allocated == fl || s[0].allocated == fl + 1);
	}
}

static void
test_overflow_rejected(void **state)
{
	struct alloc_sub s[] = { SUB("A", 1, INT64_MAX), SUB("B", 2, 1) };
	struct alloc_result r;
	struct alloc_money m;

	assert_int_equal(allocate(s, 2, 100, 0, &r), PERR_MONEY_OVERFLOW);
	assert_non_null(strstr(perr_detail(), "overflow"));

	/* Units fine, money not: 10^12 units x 10^8 minor units. */
	struct alloc_sub t[] = { SUB("A", 1, 1000000000000LL) };
	assert_int_equal(allocate(t, 1, 1000000000000LL, 0, &r), PERR_OK);
	assert_int_equal(alloc_money(t, 1, &r, 100000000LL, 150, &m), PERR_MONEY_OVERFLOW);
}

static void
test_bad_input_rejected(void **state)
{
	struct alloc_sub s[] = { SUB("A", 1, 5), SUB("A", 2, 6) };
	struct alloc_sub z[] = { SUB("Z", 1, 0) };
	struct alloc_result r;

	assert_int_equal(allocate(s, 2, 100, 0, &r), PERR_INTERNAL);
	assert_non_null(strstr(perr_detail(), "appears twice"));
	assert_int_equal(allocate(z, 1, 100, 0, &r), PERR_INTERNAL);
	assert_int_equal(allocate(s, 1, 0, 0, &r), PERR_INTERNAL);
	assert_int_equal(allocate(s, 1, 10, 11, &r), PERR_INTERNAL);
}

static void
test_money_rule(void **state)
{
	/* OFF-like: 3 x 10 requested for 10 units at 123.45, fee 150 bps. */
	struct alloc_sub s[] = { SUB("S1", 1, 10), SUB("S2", 2, 10), SUB("S3", 3, 10) };
	struct alloc_result r;
	struct alloc_money m;

	assert_int_equal(allocate(s, 3, 10, 0, &r), PERR_OK);
	assert_int_equal(alloc_money(s, 3, &r, 12345, 150, &m), PERR_OK);
	assert_int_equal(m.subscribed_minor, 30 * 12345);
	assert_int_equal(m.gross_minor, 10 * 12345);          /* 123450 */
	assert_int_equal(m.fee_minor, 1851);                  /* 1851.75 rounded down */
	assert_int_equal(m.proceeds_minor, 123450 - 1851);
	assert_int_equal(m.refunded_minor, 20 * 12345);
	assert_int_equal(s[0].refund_minor, 6 * 12345);       /* S1 got the leftover: 4 */
	assert_int_equal(s[1].refund_minor, 7 * 12345);
	assert_int_equal(alloc_money_check("T", s, 3, &r, 10, 12345, &m), PERR_OK);

	/* A tampered result is caught. */
	m.fee_minor += 1;
	assert_int_equal(alloc_money_check("T", s, 3, &r, 10, 12345, &m), PERR_CONSERVATION);
	assert_non_null(strstr(perr_detail(), "T: proceeds"));
	m.fee_minor -= 1;
	s[2].allocated += 1;
	assert_int_equal(alloc_money_check("T", s, 3, &r, 10, 12345, &m), PERR_CONSERVATION);
	s[2].allocated -= 1;
	s[1].refund_minor -= 1;
	assert_int_equal(alloc_money_check("T", s, 3, &r, 10, 12345, &m), PERR_CONSERVATION);
	s[1].refund_minor += 1;

	/* Failed offering: everything refunded, no fee. */
	assert_int_equal(allocate(s, 3, 100, 50, &r), PERR_OK);
	assert_int_equal(r.outcome, ALLOC_FAILED);
	assert_int_equal(alloc_money(s, 3, &r, 12345, 150, &m), PERR_OK);
	assert_int_equal(m.gross_minor, 0);
	assert_int_equal(m.fee_minor, 0);
	assert_int_equal(m.refunded_minor, 30 * 12345);
	assert_int_equal(alloc_money_check("T", s, 3, &r, 100, 12345, &m), PERR_OK);
}

/* ---- property test ---- */

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* xorshift64*: deterministic for a given seed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static int64_t
rng_between(int64_t lo, int64_t hi)
{
	uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;   /* hi >= lo >= 0: no overflow in uint64 */

	return lo + (int64_t)(span ? rng() % span : rng() >> 1);
}

/* Rank order of the rule: larger remainder, earlier time, smaller id. */
static int
ranks_before(const struct alloc_sub *a, const struct alloc_sub *b, int64_t offered, int64_t total)
{
	int64_t ra = (int64_t)(((__int128)a->requested * offered) % total);
	int64_t rb = (int64_t)(((__int128)b->requested * offered) % total);

	if (ra != rb)
		return ra > rb;
	if (a->subscribed_at_us != b->subscribed_at_us)
		return a->subscribed_at_us < b->subscribed_at_us;
	return strcmp(a->subscription_id, b->subscription_id) < 0;
}

static void
test_property_random(void **state)
{
	char ids[64][16];
	const char *seed_env = getenv("ALLOC_SEED");

	rng_state = seed_env ? strtoull(seed_env, NULL, 10) : 20261126ULL;
	if (rng_state == 0)
		rng_state = 1;
	for (int i = 0; i < 64; i++)
		snprintf(ids[i], sizeof ids[i], "S%03d", i);

	for (int iter = 0; iter < 20000; iter++) {
		struct alloc_sub s[64], p[64];
		struct alloc_result r, rp;
		size_t n = (size_t)rng_between(1, 64);
		int64_t maxreq = (iter % 10 == 0) ? INT64_MAX / 64 : rng_between(1, 2000);
		int64_t total = 0, sum = 0, offered, min_units;

		for (size_t i = 0; i < n; i++) {
			s[i].subscription_id = ids[i];
			/* few distinct times so that the time tie-break and the id tie-break both matter */
			s[i].subscribed_at_us = rng_between(0, 3);
			s[i].requested = (rng() % 4 == 0) ? 5 : rng_between(1, maxreq);
			total += s[i].requested;
		}
		offered = rng_between(1, total > INT64_MAX / 2 ? INT64_MAX - 1 : total + total / 2 + 1);
		min_units = rng_between(0, offered);
		assert_int_equal(allocate(s, n, offered, min_units, &r), PERR_OK);
		assert_true(r.requested_total == total);
		for (size_t i = 0; i < n; i++) {
			assert_true(s[i].allocated >= 0);
			assert_true(s[i].allocated <= s[i].requested);
			sum += s[i].allocated;
		}
		assert_true(sum == r.allocated_total);
		assert_true(sum <= offered);
		if (total < min_units) {
			assert_int_equal(r.outcome, ALLOC_FAILED);
			assert_true(sum == 0);
		} else if (total <= offered) {
			assert_int_equal(r.outcome, ALLOC_FULL);
			assert_true(sum == total);
		} else {
			assert_int_equal(r.outcome, ALLOC_PRO_RATA);
			assert_true(sum == offered);
			/* Each gets floor or floor + 1, and every +1 outranks every plain floor. */
			for (size_t i = 0; i < n; i++) {
				int64_t fl = (int64_t)(((__int128)s[i].requested * offered) / total);

				assert_true(s[i].allocated == fl || s[i].allocated == fl + 1);
				for (size_t j = 0; j < n; j++) {
					int64_t flj = (int64_t)(((__int128)s[j].requested * offered) / total);

					if (s[i].allocated == fl + 1 && s[j].allocated == flj)
						assert_true(ranks_before(&s[i], &s[j], offered, total));
				}
			}
		}

		/* Shuffle: the same subscription gets the same units. */
		memcpy(p, s, n * sizeof *s);
		for (size_t i = n; i > 1; i--) {
			size_t j = (size_t)(rng() % i);
			struct alloc_sub t = p[i - 1];

			p[i - 1] = p[j];
			p[j] = t;
		}
		for (size_t i = 0; i < n; i++)
			p[i].allocated = -7;
		assert_int_equal(allocate(p, n, offered, min_units, &rp), PERR_OK);
		assert_int_equal(rp.outcome, r.outcome);
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < n; j++)
				if (strcmp(p[i].subscription_id, s[j].subscription_id) == 0)
					assert_true(p[i].allocated == s[j].allocated);

		/* The money rule conserves, whenever it fits in int64. */
		if (maxreq <= 2000) {
			struct alloc_money m;
			int64_t price = rng_between(1, 10000000);

			assert_int_equal(alloc_money(s, n, &r, price, (int)rng_between(0, 10000), &m), PERR_OK);
			assert_int_equal(alloc_money_check("P", s, n, &r, offered, price, &m), PERR_OK);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_subscriber),
		cmocka_unit_test(test_no_subscribers),
		cmocka_unit_test(test_equal_requests_leftover_by_time),
		cmocka_unit_test(test_equal_requests_leftover_by_id),
		cmocka_unit_test(test_requester_of_one_unit),
		cmocka_unit_test(test_total_equals_offered),
		cmocka_unit_test(test_min_equals_total),
		cmocka_unit_test(test_huge_numbers),
		cmocka_unit_test(test_overflow_rejected),
		cmocka_unit_test(test_bad_input_rejected),
		cmocka_unit_test(test_money_rule),
		cmocka_unit_test(test_property_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
