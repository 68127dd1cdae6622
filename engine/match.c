/*
 * match.c - the pure matching engine (see match.h for the rules, the window and the guarantees).
 *
 * How groups are found without a quadratic step: every pass builds one compact key per candidate
 * item (group fields, side, date, item index), places the keys directly into hash buckets of their
 * group fields (a counting sort: two linear passes, no second key array), and sorts each bucket by
 * the full key (buckets hold one group on average; a huge group is one O(k log k) sort). A group is
 * then a contiguous run: its lines first, then its movements, each in date order, so every rule is
 * a linear walk (two pointers for the window). Which bucket a group lands in depends on string
 * offsets, hence on input order, but groups never interact inside a pass, so results do not.
 */
#include "match.h"

#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "util.h"

/* ---- the string pool ---- */

static uint64_t
pool_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;   /* FNV-1a, then a final mix for the low bits */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return h;
}

void
match_pool_init(struct match_pool *p)
{
	memset(p, 0, sizeof *p);
	p->cap = 1 << 16;
	p->buf = xmalloc(p->cap);
	p->buf[0] = '\0';
	p->len = 1;
	p->tcap = 1 << 12;
	p->table = xcalloc(p->tcap, sizeof *p->table);
}

void
match_pool_free(struct match_pool *p)
{
	free(p->buf);
	free(p->table);
	memset(p, 0, sizeof *p);
}

void
match_pool_freeze(struct match_pool *p)
{
	free(p->table);
	p->table = NULL;
	p->tcap = p->tcount = 0;
	if (p->cap > p->len + 1) {
		p->buf = xrealloc(p->buf, p->len + 1);
		p->cap = p->len + 1;
	}
}

static void
pool_grow_table(struct match_pool *p)
{
	size_t ncap = p->tcap * 2, i, j;
	uint32_t *nt = xcalloc(ncap, sizeof *nt);

	for (i = 0; i < p->tcap; i++) {
		uint32_t off = p->table[i];
		const char *s;

		if (off == 0)
			continue;
		s = p->buf + off;
		j = pool_hash(s, strlen(s)) & (ncap - 1);
		while (nt[j] != 0)
			j = (j + 1) & (ncap - 1);
		nt[j] = off;
	}
	free(p->table);
	p->table = nt;
	p->tcap = ncap;
}

uint32_t
match_pool_intern(struct match_pool *p, const char *s, size_t len)
{
	size_t j;
	uint32_t off;

	if (len == 0)
		return 0;
	if (p->table == NULL) {
		perr_set(PERR_INTERNAL, "match: string pool used after match_pool_freeze");
		return UINT32_MAX;
	}
	if ((p->tcount + 1) * 2 > p->tcap)
		pool_grow_table(p);
	j = pool_hash(s, len) & (p->tcap - 1);
	while ((off = p->table[j]) != 0) {
		if (memcmp(p->buf + off, s, len) == 0 && p->buf[off + len] == '\0')
			return off;
		j = (j + 1) & (p->tcap - 1);
	}
	if ((off = match_pool_store(p, s, len)) == UINT32_MAX)
		return off;
	p->table[j] = off;
	p->tcount++;
	return off;
}

uint32_t
match_pool_store(struct match_pool *p, const char *s, size_t len)
{
	uint32_t off;

	if (len == 0)
		return 0;
	if (p->len + len + 1 > UINT32_MAX - 1) {
		perr_set(PERR_NOMEM, "match: string pool over 4 GiB");
		return UINT32_MAX;
	}
	if (p->len + len + 1 > p->cap) {
		while (p->len + len + 1 > p->cap)
			p->cap *= 2;
		p->buf = xrealloc(p->buf, p->cap);
	}
	off = (uint32_t)p->len;
	memcpy(p->buf + off, s, len);
	p->buf[off + len] = '\0';
	p->len += len + 1;
	return off;
}

const char *
match_rule_name(enum match_rule r)
{
	switch (r) {
	case MATCH_RULE_NONE: return "NONE";
	case MATCH_RULE_REFERENCE: return "REFERENCE";
	case MATCH_RULE_BATCH: return "BATCH";
	case MATCH_RULE_AMOUNT_DATE: return "AMOUNT_DATE";
	}
	return "NONE";
}

/* ---- the engine ---- */

#define MOV_BIT 0x80000000u

/* One candidate item in one pass. Order: g1, g2, v, side (lines first), date, content tie-break. */
struct skey {
	uint32_t g1;   /* dense (account, currency) id, or the account for duplicates */
	uint32_t g2;   /* reference, batch id or bank reference; 0 when unused */
	int64_t v;     /* amount, sign, or 0 */
	date_t d;      /* value date / expected date */
	uint32_t idx;  /* line index, or movement index | MOV_BIT */
};

struct engine {
	const struct match_pool *pool;
	const struct match_line *lines;
	size_t nl;
	const struct match_movement *movs;
	size_t nm;
	const struct match_params *prm;
	struct match_result *res;
	/* business-day ordinals: ord[d - dmin] = business days in (dmin, d] */
	int32_t *ord;
	date_t dmin, dmax;
	/* dense ids for (account, currency) pairs */
	uint64_t *ac_keys;
	uint32_t *ac_ids;
	size_t ac_cap, ac_count;
	/* batch mismatch candidates: line, sum, movements in bm_movs[start..start+len) */
	struct bm { uint32_t line; uint32_t start, len; int64_t sum; } *bms;
	size_t n_bms, cap_bms;
	uint32_t *bm_movs;
	size_t n_bm_movs, cap_bm_movs;
	/* AMOUNT_DATE scratch: candidate ranges of the lines and movements of one group */
	struct range { uint32_t lo, hi; } *ad_lr, *ad_mr;
	size_t ad_cap;
	size_t cap_mismatches, cap_ambiguous;
};

static int32_t
ordinal(const struct engine *en, date_t d)
{
	return en->ord[d - en->dmin];
}

static bool
in_window(const struct engine *en, date_t a, date_t b)
{
	int32_t diff = ordinal(en, a) - ordinal(en, b);

	if (diff < 0)
		diff = -diff;
	return diff <= en->prm->window_days;
}

static uint32_t
ac_id(struct engine *en, uint32_t account, uint32_t currency)
{
	uint64_t k = ((uint64_t)account << 32) | currency;
	size_t j;

	if ((en->ac_count + 1) * 2 > en->ac_cap) {
		size_t ncap = en->ac_cap ? en->ac_cap * 2 : 64, i;
		uint64_t *nk = xmalloc(ncap * sizeof *nk);
		uint32_t *ni = xmalloc(ncap * sizeof *ni);

		for (i = 0; i < ncap; i++)
			nk[i] = UINT64_MAX;
		for (i = 0; i < en->ac_cap; i++) {
			if (en->ac_keys[i] == UINT64_MAX)
				continue;
			j = (size_t)((en->ac_keys[i] * 0x9E3779B97F4A7C15ULL) >> 20) & (ncap - 1);
			while (nk[j] != UINT64_MAX)
				j = (j + 1) & (ncap - 1);
			nk[j] = en->ac_keys[i];
			ni[j] = en->ac_ids[i];
		}
		free(en->ac_keys);
		free(en->ac_ids);
		en->ac_keys = nk;
		en->ac_ids = ni;
		en->ac_cap = ncap;
	}
	j = (size_t)((k * 0x9E3779B97F4A7C15ULL) >> 20) & (en->ac_cap - 1);
	while (en->ac_keys[j] != UINT64_MAX) {
		if (en->ac_keys[j] == k)
			return en->ac_ids[j];
		j = (j + 1) & (en->ac_cap - 1);
	}
	en->ac_keys[j] = k;
	en->ac_ids[j] = (uint32_t)en->ac_count++;
	return en->ac_ids[j];
}

static int
cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int
key_cmp(const void *pa, const void *pb, void *arg)
{
	const struct skey *a = pa, *b = pb;
	const struct engine *en = arg;
	int c;

	if (a->g1 != b->g1)
		return a->g1 < b->g1 ? -1 : 1;
	if (a->g2 != b->g2)
		return a->g2 < b->g2 ? -1 : 1;
	if ((c = cmp_i64(a->v, b->v)) != 0)
		return c;
	if ((a->idx & MOV_BIT) != (b->idx & MOV_BIT))
		return (a->idx & MOV_BIT) ? 1 : -1;
	if (a->d != b->d)
		return a->d < b->d ? -1 : 1;
	if (a->idx & MOV_BIT) {
		const struct match_movement *ma = &en->movs[a->idx & ~MOV_BIT];
		const struct match_movement *mb = &en->movs[b->idx & ~MOV_BIT];

		if (ma->movement_id == mb->movement_id)
			return 0;
		return strcmp(match_pool_str(en->pool, ma->movement_id), match_pool_str(en->pool, mb->movement_id));
	} else {
		const struct match_line *la = &en->lines[a->idx], *lb = &en->lines[b->idx];

		if ((c = cmp_i64(la->amount, lb->amount)) != 0)
			return c;
		if (la->currency != lb->currency &&
		    (c = strcmp(match_pool_str(en->pool, la->currency), match_pool_str(en->pool, lb->currency))) != 0)
			return c;
		if (la->bank_ref != lb->bank_ref &&
		    (c = strcmp(match_pool_str(en->pool, la->bank_ref), match_pool_str(en->pool, lb->bank_ref))) != 0)
			return c;
		if (la->reference != lb->reference &&
		    (c = strcmp(match_pool_str(en->pool, la->reference), match_pool_str(en->pool, lb->reference))) != 0)
			return c;
		return cmp_i64(la->line_id, lb->line_id);
	}
}

/* Builds the key of item i (line if i < nl, else movement i - nl); false: not a candidate. */
typedef bool (*key_fn)(struct engine *en, size_t i, struct skey *k);

static uint64_t
group_hash(const struct skey *k)
{
	uint64_t h = ((uint64_t)k->g1 << 32) ^ k->g2;

	h ^= (uint64_t)k->v * 0x9E3779B97F4A7C15ULL;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 31;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 29;
	return h;
}

static void
insertion_sort(struct skey *a, size_t n, struct engine *en)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		struct skey t = a[i];

		for (j = i; j > 0 && key_cmp(&a[j - 1], &t, en) > 0; j--)
			a[j] = a[j - 1];
		a[j] = t;
	}
}

/*
 * Builds the keys of one pass, grouped: returns a new array (caller frees) of *n keys in which every
 * group is a contiguous, fully ordered run. O(n) plus the sorting of the buckets.
 */
static struct skey *
build_groups(struct engine *en, key_fn fn, size_t *n_out)
{
	size_t total = en->nl + en->nm, n = 0, nb = 1, i, b;
	uint32_t *start;
	struct skey *keys, k;

	for (i = 0; i < total; i++)
		if (fn(en, i, &k))
			n++;
	*n_out = n;
	if (n == 0)
		return NULL;
	while (nb < n)
		nb <<= 1;
	start = xcalloc(nb + 1, sizeof *start);
	for (i = 0; i < total; i++)
		if (fn(en, i, &k))
			start[(group_hash(&k) & (nb - 1)) + 1]++;
	for (b = 0; b < nb; b++)
		start[b + 1] += start[b];
	keys = xmalloc(n * sizeof *keys);
	for (i = 0; i < total; i++)
		if (fn(en, i, &k))
			keys[start[group_hash(&k) & (nb - 1)]++] = k;
	/* start[b] now holds the end of bucket b, which is the beginning of bucket b + 1. */
	for (b = 0; b < nb; b++) {
		size_t lo = b == 0 ? 0 : start[b - 1], hi = start[b];

		if (hi - lo > 16)
			qsort_r(keys + lo, hi - lo, sizeof *keys, key_cmp, en);
		else if (hi - lo > 1)
			insertion_sort(keys + lo, hi - lo, en);
	}
	free(start);
	return keys;
}

static bool
same_group(const struct skey *a, const struct skey *b)
{
	return a->g1 == b->g1 && a->g2 == b->g2 && a->v == b->v;
}

/* Calls fn for each group: keys[a..b) lines, keys[b..c) movements. */
typedef void (*group_fn)(struct engine *en, struct skey *keys, size_t a, size_t b, size_t c);

static void
walk_groups(struct engine *en, struct skey *keys, size_t n, group_fn fn)
{
	size_t a = 0, b, c;

	while (a < n) {
		b = a;
		while (b < n && same_group(&keys[a], &keys[b]) && !(keys[b].idx & MOV_BIT))
			b++;
		c = b;
		while (c < n && same_group(&keys[a], &keys[c]))
			c++;
		fn(en, keys, a, b, c);
		a = c;
	}
}

static void
do_match(struct engine *en, uint32_t line, uint32_t mov, enum match_rule rule, bool first)
{
	struct match_result *r = en->res;

	if (first) {
		r->line_verdict[line] = MATCH_LINE_MATCHED;
		r->line_rule[line] = (uint8_t)rule;
		r->line_partner[line] = mov;
		r->n_matches++;
		r->n_by_rule[rule]++;
	}
	r->mov_verdict[mov] = MATCH_MOV_MATCHED;
	r->mov_line[mov] = line;
	r->n_movements_matched++;
}

static bool
line_open(const struct engine *en, size_t i)
{
	return en->res->line_verdict[i] == MATCH_LINE_UNMATCHED;
}

static bool
mov_open(const struct engine *en, size_t m)
{
	return en->res->mov_verdict[m] == MATCH_MOV_UNMATCHED;
}

/* ---- pass 0: duplicates by bank reference ---- */

static bool
key_dup(struct engine *en, size_t i, struct skey *k)
{
	const struct match_line *l;

	if (i >= en->nl)
		return false;
	l = &en->lines[i];
	if (l->bank_ref == 0)
		return false;
	k->g1 = l->account;
	k->g2 = l->bank_ref;
	k->v = 0;
	k->d = l->value_date;
	k->idx = (uint32_t)i;
	return true;
}

static void
group_dup(struct engine *en, struct skey *keys, size_t a, size_t b, size_t c)
{
	bool earlier = false;
	size_t i;

	(void)c;
	for (i = a; i < b; i++)
		if (en->lines[keys[i].idx].flags & MATCH_LINE_DUP_OF_MATCHED)
			earlier = true;
	for (i = earlier ? a : a + 1; i < b; i++) {
		en->res->line_verdict[keys[i].idx] = MATCH_LINE_DUPLICATE;
		en->res->line_partner[keys[i].idx] = earlier ? MATCH_NONE : keys[a].idx;
	}
}

/* ---- pass 1: REFERENCE ---- */

static bool
key_ref(struct engine *en, size_t i, struct skey *k)
{
	if (i < en->nl) {
		const struct match_line *l = &en->lines[i];

		if (l->reference == 0 || !line_open(en, i))
			return false;
		k->g1 = ac_id(en, l->account, l->currency);
		k->g2 = l->reference;
		k->v = l->amount;
		k->d = l->value_date;
		k->idx = (uint32_t)i;
	} else {
		const struct match_movement *m = &en->movs[i - en->nl];

		if (m->reference == 0 || !mov_open(en, i - en->nl))
			return false;
		k->g1 = ac_id(en, m->account, m->currency);
		k->g2 = m->reference;
		k->v = m->amount;
		k->d = m->expected_date;
		k->idx = (uint32_t)(i - en->nl) | MOV_BIT;
	}
	return true;
}

/*
 * Greedy pairing of lines[a..b) and movements[b..c), both in date order, within the window: the
 * earliest line takes the earliest movement it can reach; a movement too early for this line is
 * too early for every later one. This gives the largest number of pairs for a fixed-width window.
 */
static void
pair_in_window(struct engine *en, struct skey *keys, size_t a, size_t b, size_t c,
    void (*pair)(struct engine *, uint32_t, uint32_t))
{
	size_t i = a, j = b;
	int w = en->prm->window_days;

	while (i < b && j < c) {
		int32_t ol = ordinal(en, keys[i].d), om = ordinal(en, keys[j].d);

		if (om < ol - w)
			j++;
		else if (om > ol + w)
			i++;
		else {
			pair(en, keys[i].idx, keys[j].idx & ~MOV_BIT);
			i++;
			j++;
		}
	}
}

static void
pair_reference(struct engine *en, uint32_t line, uint32_t mov)
{
	do_match(en, line, mov, MATCH_RULE_REFERENCE, true);
}

static void
group_ref(struct engine *en, struct skey *keys, size_t a, size_t b, size_t c)
{
	pair_in_window(en, keys, a, b, c, pair_reference);
}

/* ---- pass 2: BATCH ---- */

static bool
key_batch(struct engine *en, size_t i, struct skey *k)
{
	if (i < en->nl) {
		const struct match_line *l = &en->lines[i];

		if (l->reference == 0 || !line_open(en, i))
			return false;
		k->g1 = ac_id(en, l->account, l->currency);
		k->g2 = l->reference;
		k->d = l->value_date;
		k->idx = (uint32_t)i;
	} else {
		const struct match_movement *m = &en->movs[i - en->nl];

		if (m->batch_id == 0 || !mov_open(en, i - en->nl))
			return false;
		k->g1 = ac_id(en, m->account, m->currency);
		k->g2 = m->batch_id;
		k->d = m->expected_date;
		k->idx = (uint32_t)(i - en->nl) | MOV_BIT;
	}
	k->v = 0;
	return true;
}

static void
group_batch(struct engine *en, struct skey *keys, size_t a, size_t b, size_t c)
{
	int64_t sum = 0;
	bool overflow = false;
	size_t i, j;
	date_t lo_d, hi_d;

	if (b == c || a == b)
		return;
	for (j = b; j < c; j++)
		if (!money_add(sum, en->movs[keys[j].idx & ~MOV_BIT].amount, &sum))
			overflow = true;
	if (overflow)
		return;             /* cannot equal any line: every line of the group stays unmatched */
	lo_d = keys[b].d;       /* movements are in date order */
	hi_d = keys[c - 1].d;
	for (i = a; i < b; i++) {
		const struct match_line *l = &en->lines[keys[i].idx];

		if (!in_window(en, l->value_date, lo_d) || !in_window(en, l->value_date, hi_d))
			continue;
		if (l->amount == sum) {
			for (j = b; j < c; j++)
				do_match(en, keys[i].idx, keys[j].idx & ~MOV_BIT, MATCH_RULE_BATCH, j == b);
			return;
		}
	}
	/* No line pays the batch exactly: the first line in the window with the same direction names it. */
	for (i = a; i < b; i++) {
		const struct match_line *l = &en->lines[keys[i].idx];
		struct bm *x;

		if (!in_window(en, l->value_date, lo_d) || !in_window(en, l->value_date, hi_d) ||
		    (l->amount > 0) != (sum > 0))
			continue;
		if (en->n_bms == en->cap_bms) {
			en->cap_bms = en->cap_bms ? en->cap_bms * 2 : 16;
			en->bms = xrealloc(en->bms, en->cap_bms * sizeof *en->bms);
		}
		x = &en->bms[en->n_bms++];
		x->line = keys[i].idx;
		x->sum = sum;
		x->start = (uint32_t)en->n_bm_movs;
		x->len = (uint32_t)(c - b);
		for (j = b; j < c; j++) {
			if (en->n_bm_movs == en->cap_bm_movs) {
				en->cap_bm_movs = en->cap_bm_movs ? en->cap_bm_movs * 2 : 64;
				en->bm_movs = xrealloc(en->bm_movs, en->cap_bm_movs * sizeof *en->bm_movs);
			}
			en->bm_movs[en->n_bm_movs++] = keys[j].idx & ~MOV_BIT;
		}
		return;
	}
}

/* ---- pass 3: AMOUNT_MISMATCH (reference agrees, amount does not) ---- */

static bool
key_mismatch(struct engine *en, size_t i, struct skey *k)
{
	if (!key_ref(en, i, k))
		return false;
	k->v = k->v > 0 ? 1 : -1;   /* the direction only */
	return true;
}

static void
add_mismatch(struct engine *en, uint32_t line, uint32_t mov, bool batch, int64_t ledger_amount)
{
	struct match_result *r = en->res;
	struct match_mismatch *x;

	if (r->n_mismatches == en->cap_mismatches) {
		en->cap_mismatches = en->cap_mismatches ? en->cap_mismatches * 2 : 16;
		r->mismatches = xrealloc(r->mismatches, en->cap_mismatches * sizeof *r->mismatches);
	}
	x = &r->mismatches[r->n_mismatches++];
	x->line = line;
	x->movement = mov;
	x->batch = batch;
	x->ledger_amount = ledger_amount;
	r->line_verdict[line] = MATCH_LINE_AMOUNT_MISMATCH;
	r->line_partner[line] = mov;
}

static void
pair_mismatch(struct engine *en, uint32_t line, uint32_t mov)
{
	add_mismatch(en, line, mov, false, en->movs[mov].amount);
	en->res->mov_verdict[mov] = MATCH_MOV_MISMATCH;
	en->res->mov_line[mov] = line;
}

static void
group_mismatch(struct engine *en, struct skey *keys, size_t a, size_t b, size_t c)
{
	pair_in_window(en, keys, a, b, c, pair_mismatch);
}

static void
apply_batch_mismatches(struct engine *en)
{
	size_t i, j;

	for (i = 0; i < en->n_bms; i++) {
		const struct bm *x = &en->bms[i];
		bool ok = line_open(en, x->line);

		for (j = 0; ok && j < x->len; j++)
			ok = mov_open(en, en->bm_movs[x->start + j]);
		if (!ok)
			continue;
		add_mismatch(en, x->line, en->bm_movs[x->start], true, x->sum);
		for (j = 0; j < x->len; j++) {
			en->res->mov_verdict[en->bm_movs[x->start + j]] = MATCH_MOV_MISMATCH;
			en->res->mov_line[en->bm_movs[x->start + j]] = x->line;
		}
	}
}

/* ---- pass 4: AMOUNT_DATE ---- */

static bool
key_amount(struct engine *en, size_t i, struct skey *k)
{
	if (i < en->nl) {
		const struct match_line *l = &en->lines[i];

		if (l->reference != 0 || !line_open(en, i))
			return false;
		k->g1 = ac_id(en, l->account, l->currency);
		k->v = l->amount;
		k->d = l->value_date;
		k->idx = (uint32_t)i;
	} else {
		const struct match_movement *m = &en->movs[i - en->nl];

		if (!mov_open(en, i - en->nl))
			return false;
		k->g1 = ac_id(en, m->account, m->currency);
		k->v = m->amount;
		k->d = m->expected_date;
		k->idx = (uint32_t)(i - en->nl) | MOV_BIT;
	}
	k->g2 = 0;
	return true;
}

static void
group_amount(struct engine *en, struct skey *keys, size_t a, size_t b, size_t c)
{
	size_t nl = b - a, nm = c - b, i, lo = 0, hi = 0;
	int w = en->prm->window_days;
	struct match_result *r = en->res;

	if (nl == 0)
		return;
	struct range *ad_lr, *ad_mr;

	if (nl > en->ad_cap || nm > en->ad_cap) {
		en->ad_cap = nl > nm ? nl : nm;
		en->ad_lr = xrealloc(en->ad_lr, en->ad_cap * sizeof *en->ad_lr);
		en->ad_mr = xrealloc(en->ad_mr, en->ad_cap * sizeof *en->ad_mr);
	}
	ad_lr = en->ad_lr;
	ad_mr = en->ad_mr;
	/* Candidate movements of each line: a window slides over the movements (both in date order). */
	for (i = 0; i < nl; i++) {
		int32_t o = ordinal(en, keys[a + i].d);

		while (lo < nm && ordinal(en, keys[b + lo].d) < o - w)
			lo++;
		if (hi < lo)
			hi = lo;
		while (hi < nm && ordinal(en, keys[b + hi].d) <= o + w)
			hi++;
		ad_lr[i].lo = (uint32_t)lo;
		ad_lr[i].hi = (uint32_t)hi;
	}
	/* Candidate lines of each movement, the same way. */
	lo = hi = 0;
	for (i = 0; i < nm; i++) {
		int32_t o = ordinal(en, keys[b + i].d);

		while (lo < nl && ordinal(en, keys[a + lo].d) < o - w)
			lo++;
		if (hi < lo)
			hi = lo;
		while (hi < nl && ordinal(en, keys[a + hi].d) <= o + w)
			hi++;
		ad_mr[i].lo = (uint32_t)lo;
		ad_mr[i].hi = (uint32_t)hi;
	}
	for (i = 0; i < nl; i++) {
		uint32_t clo = ad_lr[i].lo, chi = ad_lr[i].hi, line = keys[a + i].idx, k;
		struct match_ambiguous *x;

		if (chi == clo)
			continue;   /* no candidate: stays unmatched */
		if (chi - clo == 1 && ad_mr[clo].hi - ad_mr[clo].lo == 1) {
			do_match(en, line, keys[b + clo].idx & ~MOV_BIT, MATCH_RULE_AMOUNT_DATE, true);
			continue;
		}
		if (r->n_ambiguous == en->cap_ambiguous) {
			en->cap_ambiguous = en->cap_ambiguous ? en->cap_ambiguous * 2 : 16;
			r->ambiguous = xrealloc(r->ambiguous, en->cap_ambiguous * sizeof *r->ambiguous);
		}
		x = &r->ambiguous[r->n_ambiguous++];
		x->line = line;
		x->n_candidates = chi - clo;
		x->n_competing_lines = ad_mr[chi - 1].hi - ad_mr[clo].lo;
		x->n_listed = 0;
		for (k = clo; k < chi && x->n_listed < MATCH_MAX_CANDIDATES; k++)
			x->candidates[x->n_listed++] = keys[b + k].idx & ~MOV_BIT;
		r->line_verdict[line] = MATCH_LINE_AMBIGUOUS;
		r->line_partner[line] = x->candidates[0];
	}
}

/* ---- driver ---- */

static enum perr
run_pass(struct engine *en, key_fn kf, group_fn gf)
{
	size_t n;
	struct skey *keys = build_groups(en, kf, &n);

	if (keys != NULL)
		walk_groups(en, keys, n, gf);
	free(keys);
	return PERR_OK;
}

static int
cmp_mismatch(const void *a, const void *b)
{
	const struct match_mismatch *x = a, *y = b;

	return x->line < y->line ? -1 : x->line > y->line;
}

static int
cmp_ambiguous(const void *a, const void *b)
{
	const struct match_ambiguous *x = a, *y = b;

	return x->line < y->line ? -1 : x->line > y->line;
}

static enum perr
build_ordinals(struct engine *en)
{
	size_t i, span;
	int32_t n = 0;
	date_t d;

	if (en->nl == 0 && en->nm == 0)
		return PERR_OK;
	en->dmin = INT32_MAX;
	en->dmax = INT32_MIN;
	for (i = 0; i < en->nl; i++) {
		d = en->lines[i].value_date;
		en->dmin = d < en->dmin ? d : en->dmin;
		en->dmax = d > en->dmax ? d : en->dmax;
	}
	for (i = 0; i < en->nm; i++) {
		d = en->movs[i].expected_date;
		en->dmin = d < en->dmin ? d : en->dmin;
		en->dmax = d > en->dmax ? d : en->dmax;
	}
	if ((int64_t)en->dmax - en->dmin > 146097)
		return perr_set(PERR_DATE, "match: dates span more than 400 years (%d to %d days since 1970)",
		    en->dmin, en->dmax);
	span = (size_t)(en->dmax - en->dmin) + 1;
	en->ord = xmalloc(span * sizeof *en->ord);
	en->ord[0] = 0;
	for (i = 1; i < span; i++) {
		if (calendar_is_business_day(en->prm->calendar, en->dmin + (date_t)i))
			n++;
		en->ord[i] = n;
	}
	return PERR_OK;
}

enum perr
match_run(const struct match_pool *pool, const struct match_line *lines, size_t n_lines,
    const struct match_movement *movs, size_t n_movs, const struct match_params *params,
    struct match_result *res)
{
	struct engine en;
	enum perr e;
	size_t i;

	memset(res, 0, sizeof *res);
	if (params->window_days < 0 || params->window_days > 1000)
		return perr_set(PERR_USAGE, "match: window of %d business days is out of range 0..1000",
		    params->window_days);
	if (n_lines >= MOV_BIT || n_movs >= MOV_BIT)
		return perr_set(PERR_USAGE, "match: more than 2^31 lines or movements");
	memset(&en, 0, sizeof en);
	en.pool = pool;
	en.lines = lines;
	en.nl = n_lines;
	en.movs = movs;
	en.nm = n_movs;
	en.prm = params;
	en.res = res;
	if ((e = build_ordinals(&en)) != PERR_OK)
		return e;

	res->n_lines = n_lines;
	res->n_movements = n_movs;
	res->line_verdict = xcalloc(n_lines + 1, 1);
	res->line_rule = xcalloc(n_lines + 1, 1);
	res->line_partner = xmalloc((n_lines + 1) * sizeof *res->line_partner);
	res->mov_verdict = xcalloc(n_movs + 1, 1);
	res->mov_line = xmalloc((n_movs + 1) * sizeof *res->mov_line);
	for (i = 0; i < n_lines; i++)
		res->line_partner[i] = MATCH_NONE;
	for (i = 0; i < n_movs; i++)
		res->mov_line[i] = MATCH_NONE;

	run_pass(&en, key_dup, group_dup);
	if (params->rule_reference)
		run_pass(&en, key_ref, group_ref);
	if (params->rule_batch)
		run_pass(&en, key_batch, group_batch);
	/* A mismatch is only meaningful once the exact rule has had its chance. */
	if (params->rule_reference)
		run_pass(&en, key_mismatch, group_mismatch);
	apply_batch_mismatches(&en);
	if (params->rule_amount_date)
		run_pass(&en, key_amount, group_amount);
	if (res->n_mismatches > 1)
		qsort(res->mismatches, res->n_mismatches, sizeof *res->mismatches, cmp_mismatch);
	if (res->n_ambiguous > 1)
		qsort(res->ambiguous, res->n_ambiguous, sizeof *res->ambiguous, cmp_ambiguous);

	free(en.ord);
	free(en.ac_keys);
	free(en.ac_ids);
	free(en.bms);
	free(en.bm_movs);
	free(en.ad_lr);
	free(en.ad_mr);
	return PERR_OK;
}

void
match_result_free(struct match_result *res)
{
	free(res->line_verdict);
	free(res->line_rule);
	free(res->line_partner);
	free(res->mov_verdict);
	free(res->mov_line);
	free(res->mismatches);
	free(res->ambiguous);
	memset(res, 0, sizeof *res);
}

const struct match_ambiguous *
match_find_ambiguous(const struct match_result *res, uint32_t line)
{
	struct match_ambiguous key;

	if (res->n_ambiguous == 0)
		return NULL;
	key.line = line;
	return bsearch(&key, res->ambiguous, res->n_ambiguous, sizeof key, cmp_ambiguous);
}

const struct match_mismatch *
match_find_mismatch(const struct match_result *res, uint32_t line)
{
	struct match_mismatch key;

	if (res->n_mismatches == 0)
		return NULL;
	key.line = line;
	return bsearch(&key, res->mismatches, res->n_mismatches, sizeof key, cmp_mismatch);
}
