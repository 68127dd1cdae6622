/*
 * allocate.h - the pure arithmetic of closing an offering: who gets how many DABS units, and what
 * money moves (refunds, gross, fee, proceeds). No I/O, no database: the settle stage feeds it rows
 * and writes back what it computes, and the unit tests drive it directly.
 *
 * THE ALLOCATION RULE (also in the README):
 *   total = sum of the units requested by the offering's ACTIVE subscriptions.
 *   - total <  min_units      -> FAILED: every subscription gets 0 units and is refunded in full.
 *   - total <= units_offered  -> FULL: every subscription gets exactly what it requested.
 *   - otherwise               -> PRO_RATA, whole units: each subscription first gets
 *         floor(requested x offered / total);
 *     the units left over (offered - sum of those floors, always fewer than the number of
 *     subscriptions) go one each to the subscriptions with the largest remainder
 *         (requested x offered) mod total,
 *     ties broken by the earlier subscribed_at, then the smaller subscription_id (byte order).
 *     Nobody gets more than requested (the floor is below the request because offered < total, so
 *     floor + 1 <= requested), the allocated units sum to exactly units_offered, and the result does
 *     not depend on the order of the input.
 *   The products are computed in 128-bit integers, so any int64 inputs are exact.
 *
 * THE MONEY RULE:
 *   refund(sub) = (requested - allocated) x unit_price
 *   gross       = allocated_total x unit_price
 *   fee         = floor(gross x fee_bps / 10000) minor units (rounded down: the platform never
 *                 takes a fraction of a cent more than its rate)
 *   proceeds    = gross - fee
 *   Conservation, checked by alloc_money_check(): subscribed money (sum of requested x price) =
 *   gross + refunds; proceeds + fee = gross; allocated units <= units_offered.
 */
#ifndef PIPELINE_ALLOCATE_H
#define PIPELINE_ALLOCATE_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

enum alloc_outcome { ALLOC_FAILED = 0, ALLOC_FULL = 1, ALLOC_PRO_RATA = 2 };

/* "FAILED", "FULL" or "PRO_RATA" (the offering_settlement.outcome values). */
const char *alloc_outcome_name(enum alloc_outcome o);

/* One ACTIVE subscription. The caller owns subscription_id; allocate() only reads it. */
struct alloc_sub {
	const char *subscription_id;   /* unique within the offering: the last tie-break */
	int64_t subscribed_at_us;      /* microseconds since the epoch: the first tie-break */
	int64_t requested;             /* > 0 */
	int64_t allocated;             /* output */
	int64_t refund_minor;          /* output of alloc_money() */
};

struct alloc_result {
	enum alloc_outcome outcome;
	int64_t requested_total;       /* units */
	int64_t allocated_total;       /* units */
};

/*
 * Applies the allocation rule to subs[0..n) in place (sets every .allocated). The order of subs is
 * not changed and does not influence the result. Rejects (PERR_INTERNAL / PERR_MONEY_OVERFLOW, with
 * a detail) a non-positive request, offered <= 0, min_units outside [0, offered], a total that
 * overflows int64, or duplicate subscription ids.
 */
enum perr allocate(struct alloc_sub *subs, size_t n, int64_t units_offered, int64_t min_units,
    struct alloc_result *out);

struct alloc_money {
	int64_t subscribed_minor;      /* sum of requested x unit_price */
	int64_t gross_minor;           /* allocated_total x unit_price */
	int64_t fee_minor;
	int64_t proceeds_minor;
	int64_t refunded_minor;        /* sum of the refunds */
};

/*
 * The money rule for an allocation already made: sets every subs[i].refund_minor and *out.
 * PERR_MONEY_OVERFLOW if any amount does not fit in int64 minor units; PERR_INTERNAL on bad input
 * (unit_price <= 0, fee_bps outside 0..10000).
 */
enum perr alloc_money(struct alloc_sub *subs, size_t n, const struct alloc_result *res,
    int64_t unit_price_minor, int fee_bps, struct alloc_money *out);

/*
 * The conservation checks, recomputed independently from subs: units allocated sum to
 * res->allocated_total <= units_offered and nobody above request; subscribed = gross + refunds;
 * proceeds + fee = gross; gross = allocated_total x price. PERR_CONSERVATION with the broken
 * equation in the detail (prefixed by `what`, e.g. the offering id).
 */
enum perr alloc_money_check(const char *what, const struct alloc_sub *subs, size_t n,
    const struct alloc_result *res, int64_t units_offered, int64_t unit_price_minor,
    const struct alloc_money *m);

#endif
