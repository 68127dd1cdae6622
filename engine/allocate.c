/*
 * allocate.c - the allocation and money rules of closing an offering (see allocate.h for the rule,
 * which is the contract; this file only implements it). Pure: no I/O, no global state.
 */
#include "allocate.h"

#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "util.h"

const char *
alloc_outcome_name(enum alloc_outcome o)
{
	switch (o) {
	case ALLOC_FAILED: return "FAILED";
	case ALLOC_FULL: return "FULL";
	case ALLOC_PRO_RATA: return "PRO_RATA";
	}
	return "?";
}

/* Ranking of one subscription for the leftover units. */
struct rank {
	size_t idx;
	int64_t rem;            /* (requested x offered) mod total, < total */
	int64_t at_us;
	const char *id;
};

/* Largest remainder first, then earlier subscribed_at, then smaller subscription_id. */
static int
rank_cmp(const void *pa, const void *pb)
{
	const struct rank *a = pa, *b = pb;

	if (a->rem != b->rem)
		return a->rem > b->rem ? -1 : 1;
	if (a->at_us != b->at_us)
		return a->at_us < b->at_us ? -1 : 1;
	return strcmp(a->id, b->id);
}

static int
id_cmp(const void *pa, const void *pb)
{
	const char *const *a = pa, *const *b = pb;

	return strcmp(*a, *b);
}

/* Duplicate ids would make the tie-break (and the database) ambiguous. O(n log n). */
static enum perr
check_unique_ids(const struct alloc_sub *subs, size_t n)
{
	const char **ids;
	enum perr rc = PERR_OK;

	if (n < 2)
		return PERR_OK;
	ids = xcalloc(n, sizeof *ids);
	for (size_t i = 0; i < n; i++)
		ids[i] = subs[i].subscription_id;
	qsort(ids, n, sizeof *ids, id_cmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(ids[i - 1], ids[i]) == 0) {
			rc = perr_set(PERR_INTERNAL, "allocate: subscription id %s appears twice", ids[i]);
			break;
		}
	}
	free(ids);
	return rc;
}

enum perr
allocate(struct alloc_sub *subs, size_t n, int64_t units_offered, int64_t min_units,
    struct alloc_result *out)
{
	int64_t total = 0, given = 0, leftover;
	struct rank *ranks;
	enum perr rc;

	memset(out, 0, sizeof *out);
	if (units_offered <= 0)
		return perr_set(PERR_INTERNAL, "allocate: units_offered %lld, expected > 0",
		    (long long)units_offered);
	if (min_units < 0 || min_units > units_offered)
		return perr_set(PERR_INTERNAL, "allocate: min_units %lld, expected 0..%lld",
		    (long long)min_units, (long long)units_offered);
	for (size_t i = 0; i < n; i++) {
		if (subs[i].subscription_id == NULL || subs[i].subscription_id[0] == '\0')
			return perr_set(PERR_INTERNAL, "allocate: subscription %zu has no id", i);
		if (subs[i].requested <= 0)
			return perr_set(PERR_INTERNAL, "allocate: subscription %s requests %lld units, expected > 0",
			    subs[i].subscription_id, (long long)subs[i].requested);
		if (!money_add(total, subs[i].requested, &total))
			return perr_set(PERR_MONEY_OVERFLOW, "allocate: total requested units overflow at subscription %s",
			    subs[i].subscription_id);
	}
	if ((rc = check_unique_ids(subs, n)) != PERR_OK)
		return rc;
	out->requested_total = total;

	if (total < min_units) {
		out->outcome = ALLOC_FAILED;
		for (size_t i = 0; i < n; i++)
			subs[i].allocated = 0;
		return PERR_OK;
	}
	if (total <= units_offered) {
		out->outcome = ALLOC_FULL;
		for (size_t i = 0; i < n; i++)
			subs[i].allocated = subs[i].requested;
		out->allocated_total = total;
		return PERR_OK;
	}

	/* Pro rata. total > units_offered >= 1, so n >= 1 and every quotient is < requested. */
	out->outcome = ALLOC_PRO_RATA;
	ranks = xcalloc(n, sizeof *ranks);
	for (size_t i = 0; i < n; i++) {
		__int128 p = (__int128)subs[i].requested * units_offered;

		subs[i].allocated = (int64_t)(p / total);
		given += subs[i].allocated;   /* <= units_offered: cannot overflow */
		ranks[i].idx = i;
		ranks[i].rem = (int64_t)(p % total);
		ranks[i].at_us = subs[i].subscribed_at_us;
		ranks[i].id = subs[i].subscription_id;
	}
	leftover = units_offered - given;
	/* Each floor loses less than one unit, so 0 <= leftover < n. */
	if (leftover < 0 || (uint64_t)leftover >= (uint64_t)n) {
		free(ranks);
		return perr_set(PERR_INTERNAL, "allocate: %lld leftover units for %zu subscriptions",
		    (long long)leftover, n);
	}
	qsort(ranks, n, sizeof *ranks, rank_cmp);
	for (int64_t k = 0; k < leftover; k++) {
		struct alloc_sub *s = &subs[ranks[k].idx];

		/* The leftover equals sum(rem)/total, so the first `leftover` remainders are > 0. */
		if (ranks[k].rem == 0 || s->allocated + 1 > s->requested) {
			free(ranks);
			return perr_set(PERR_INTERNAL, "allocate: leftover unit for %s would break the rule",
			    s->subscription_id);
		}
		s->allocated++;
	}
	free(ranks);
	out->allocated_total = units_offered;
	return PERR_OK;
}

enum perr
alloc_money(struct alloc_sub *subs, size_t n, const struct alloc_result *res,
    int64_t unit_price_minor, int fee_bps, struct alloc_money *out)
{
	int64_t sum;

	memset(out, 0, sizeof *out);
	if (unit_price_minor <= 0)
		return perr_set(PERR_INTERNAL, "alloc_money: unit price %lld, expected > 0",
		    (long long)unit_price_minor);
	if (fee_bps < 0 || fee_bps > 10000)
		return perr_set(PERR_INTERNAL, "alloc_money: fee_bps %d, expected 0..10000", fee_bps);

	for (size_t i = 0; i < n; i++) {
		int64_t sub_money, refund;

		if (!money_mul(subs[i].requested, unit_price_minor, &sub_money) ||
		    !money_add(out->subscribed_minor, sub_money, &out->subscribed_minor))
			return perr_set(PERR_MONEY_OVERFLOW, "%s: subscribed money overflows int64 minor units",
			    subs[i].subscription_id);
		if (!money_mul(subs[i].requested - subs[i].allocated, unit_price_minor, &refund) ||
		    !money_add(out->refunded_minor, refund, &sum))
			return perr_set(PERR_MONEY_OVERFLOW, "%s: refund overflows int64 minor units",
			    subs[i].subscription_id);
		subs[i].refund_minor = refund;
		out->refunded_minor = sum;
	}
	if (!money_mul(res->allocated_total, unit_price_minor, &out->gross_minor))
		return perr_set(PERR_MONEY_OVERFLOW, "gross %lld units x %lld overflows int64 minor units",
		    (long long)res->allocated_total, (long long)unit_price_minor);
	/* gross >= 0, so integer division is the floor. */
	out->fee_minor = (int64_t)((__int128)out->gross_minor * fee_bps / 10000);
	out->proceeds_minor = out->gross_minor - out->fee_minor;
	return PERR_OK;
}

enum perr
alloc_money_check(const char *what, const struct alloc_sub *subs, size_t n,
    const struct alloc_result *res, int64_t units_offered, int64_t unit_price_minor,
    const struct alloc_money *m)
{
	__int128 units = 0, subscribed = 0, refunds = 0;

	for (size_t i = 0; i < n; i++) {
		if (subs[i].allocated < 0 || subs[i].allocated > subs[i].requested)
			return perr_set(PERR_CONSERVATION, "%s: subscription %s allocated %lld of %lld requested units",
			    what, subs[i].subscription_id, (long long)subs[i].allocated,
			    (long long)subs[i].requested);
		if ((__int128)(subs[i].requested - subs[i].allocated) * unit_price_minor != subs[i].refund_minor)
			return perr_set(PERR_CONSERVATION, "%s: subscription %s refund %lld != unallocated units x price",
			    what, subs[i].subscription_id, (long long)subs[i].refund_minor);
		units += subs[i].allocated;
		subscribed += (__int128)subs[i].requested * unit_price_minor;
		refunds += subs[i].refund_minor;
	}
	if (units != res->allocated_total || units > units_offered)
		return perr_set(PERR_CONSERVATION, "%s: units allocated %lld, recorded %lld, offered %lld",
		    what, (long long)units, (long long)res->allocated_total, (long long)units_offered);
	if ((__int128)res->allocated_total * unit_price_minor != m->gross_minor)
		return perr_set(PERR_CONSERVATION, "%s: gross %lld != %lld units x %lld",
		    what, (long long)m->gross_minor, (long long)res->allocated_total, (long long)unit_price_minor);
	if (subscribed != m->subscribed_minor || refunds != m->refunded_minor ||
	    subscribed != (__int128)m->gross_minor + refunds)
		return perr_set(PERR_CONSERVATION, "%s: subscribed money %lld != allocated money %lld + refunds %lld",
		    what, (long long)m->subscribed_minor, (long long)m->gross_minor, (long long)m->refunded_minor);
	if (m->fee_minor < 0 || m->proceeds_minor < 0 ||
	    (__int128)m->proceeds_minor + m->fee_minor != m->gross_minor)
		return perr_set(PERR_CONSERVATION, "%s: proceeds %lld + fee %lld != gross %lld",
		    what, (long long)m->proceeds_minor, (long long)m->fee_minor, (long long)m->gross_minor);
	return PERR_OK;
}
