/*
 * reconcile.c - the reconcile stage: matches the statement lines of the business date (and those
 * carried from earlier nights) against the ledger's expected cash movements, carries and ages the
 * breaks, checks balances, missing statements and the trustee's unit register.
 *
 * One transaction. It first undoes this date's own results (its recon_match rows, and through
 * exceptions_reset() what it opened or closed on this date), so a rerun or --force replaces them and
 * never adds to them; results of other dates are not touched. Inputs are read with COPY TO STDOUT,
 * matched by the pure engine (engine/match.h: the rules, the window, determinism), and the matches are
 * written back with COPY. The configuration used is recorded in recon_run_config (sql/030).
 *
 * Candidates on date D: lines of PASSED statements with business_date <= D not yet matched, and
 * movements not yet matched expected on or before D + W business days (W = [match] window_days).
 *
 * Exceptions (type: severity; subject; what opens it; what closes it):
 *   UNMATCHED_STATEMENT: ERROR; line:ID; a candidate line nothing explains; a later match.
 *   AMOUNT_MISMATCH: ERROR; line:ID; the line's reference names a movement (or batch) of the same
 *     direction within the window but the amounts differ; amount = the bank's, detail shows both and
 *     the difference; ledger_id = the movement (or batch id). The movement is not also UNMATCHED_LEDGER.
 *   AMBIGUOUS: WARNING; line:ID; a line without reference fits several movements (or a movement fits
 *     several lines) by amount and date; ledger_id lists the candidates. Money is not lost, a person
 *     must choose, hence a warning.
 *   DUPLICATE_LINE: ERROR; line:ID; the bank's own reference appears again on the same account: the
 *     first line is matched normally, the repeat is never matched. Closed only by a person.
 *   UNMATCHED_LEDGER: ERROR; movement:ID; a movement not matched once business_days_between(
 *     expected_date, D) > W. Before that it is PENDING, not an exception: see pending_movements(d)
 *     and the view pending_movement in sql/030_reconcile.sql.
 *   STATEMENT_CONTINUITY_BREAK: ERROR; continuity:ACCOUNT; see "Statement continuity" below; closed
 *     when a later night's difference is zero. (Called LEDGER_BALANCE_BREAK before sql/140.)
 *   BOOK_BALANCE_BREAK: ERROR; book:ACCOUNT; see "Bank reconciliation" below; closed when a later
 *     night's statement agrees with the book balance.
 *   HOLDING_MISMATCH / HOLDING_MISSING_AT_TRUSTEE / HOLDING_MISSING_IN_LEDGER: ERROR;
 *     holding:OFFERING:INVESTOR; the trustee register received for D (the latest trustee_register row
 *     with business_date D, as of its as_of_date R) against the ledger's holding as of R (the row
 *     with the greatest as_of_date <= R); a missing row counts as 0 units. Closed when a later
 *     register agrees. No register for D: nothing is checked.
 *   STATEMENT_MISSING: ERROR (WARNING if the source is not required); statement:ACCOUNT:DATE; a
 *     [source.*] with account_no (not a register) has no statement with business_date D. Closed when
 *     a later run finds one for that date.
 * A line or movement that gets matched later closes its open exceptions, closed_by naming the run,
 * the rule and the other side. A line whose verdict changes (e.g. UNMATCHED_STATEMENT to AMBIGUOUS)
 * closes the old type and opens the new one. Ages are business days from opened_date (see
 * open_exceptions_as_of(d) in sql/030).
 *
 * Statement continuity (STATEMENT_CONTINUITY_BREAK), per account with a PASSED statement for D. It
 * proves nothing about the platform's books (the bank reconciliation below does that); it proves the
 * bank's statements as loaded are whole: no line lost, altered or left in a rejected statement.
 *   anchor          = opening balance of the account's first PASSED statement (earliest opening date)
 *   confirmed       = anchor + the signed sum of the movements matched on or before D to lines of
 *                     statements of business date <= D (what the bank has confirmed of the ledger)
 *   bank closing    = closing balance of the account's latest PASSED statement of business date D
 *   open lines      = signed sum of that account's lines (PASSED statements, business date <= D)
 *                     not matched on or before D (unmatched, ambiguous, mismatched, duplicates)
 *   unexplained     = (bank closing - open lines) - confirmed; not zero is a break.
 * Every match is exact, so a difference means money on the bank's statements that no loaded line
 * accounts for: a statement gap, a statement rejected by its gate, or lines lost or altered.
 *
 * Bank reconciliation (BOOK_BALANCE_BREAK), per bank account, into bank_rec and bank_rec_item
 * (sql/140 defines each figure): balance per bank (closing of D's PASSED statement), + deposits in
 * transit, - outstanding payments (movements expected on or before D not matched by D), - bank items
 * not in the books (lines not matched by D; movements matched by D but expected after it) = adjusted
 * bank balance, beside the book balance of D from the ledger extract (book_balance). A difference is
 * a break; no book balance for D is said so (status NO_BOOK_BALANCE), never assumed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "exceptions.h"
#include "jsonout.h"
#include "log.h"
#include "progress.h"
#include "match.h"
#include "money.h"
#include "stage.h"
#include "util.h"

#define STAGE "reconcile"

static void step_time(const char *step, int64_t *t);

/* A camt.054 notification line (its id: LINE_ID) carries a statement entry covered by D (docs/reconcile.md). */
#define NOTIF_COVERED(LINE_ID) \
	"EXISTS (SELECT 1 FROM recon_match_notification rn JOIN recon_match cm ON cm.match_id = rn.match_id" \
	" WHERE rn.notif_line_id = " LINE_ID " AND rn.carries AND cm.business_date <= p.d)"

/* Bits for the exception types this stage opens (for the open-exception index below). */
enum {
	T_UNMATCHED_STATEMENT = 1 << 0,
	T_UNMATCHED_LEDGER = 1 << 1,
	T_AMOUNT_MISMATCH = 1 << 2,
	T_AMBIGUOUS = 1 << 3,
	T_DUPLICATE_LINE = 1 << 4,
	T_STATEMENT_CONTINUITY_BREAK = 1 << 5,
	T_HOLDING_MISMATCH = 1 << 6,
	T_HOLDING_MISSING_AT_TRUSTEE = 1 << 7,
	T_HOLDING_MISSING_IN_LEDGER = 1 << 8,
	T_STATEMENT_MISSING = 1 << 9,
	T_BOOK_BALANCE_BREAK = 1 << 10,
};

static const struct { unsigned bit; const char *name; } type_names[] = {
	{ T_UNMATCHED_STATEMENT, "UNMATCHED_STATEMENT" },
	{ T_UNMATCHED_LEDGER, "UNMATCHED_LEDGER" },
	{ T_AMOUNT_MISMATCH, "AMOUNT_MISMATCH" },
	{ T_AMBIGUOUS, "AMBIGUOUS" },
	{ T_DUPLICATE_LINE, "DUPLICATE_LINE" },
	{ T_STATEMENT_CONTINUITY_BREAK, "STATEMENT_CONTINUITY_BREAK" },
	{ T_HOLDING_MISMATCH, "HOLDING_MISMATCH" },
	{ T_HOLDING_MISSING_AT_TRUSTEE, "HOLDING_MISSING_AT_TRUSTEE" },
	{ T_HOLDING_MISSING_IN_LEDGER, "HOLDING_MISSING_IN_LEDGER" },
	{ T_STATEMENT_MISSING, "STATEMENT_MISSING" },
	{ T_BOOK_BALANCE_BREAK, "BOOK_BALANCE_BREAK" },
};
#define N_TYPES (sizeof type_names / sizeof type_names[0])
#define LINE_TYPES (T_UNMATCHED_STATEMENT | T_AMOUNT_MISMATCH | T_AMBIGUOUS | T_DUPLICATE_LINE)
#define HOLDING_TYPES (T_HOLDING_MISMATCH | T_HOLDING_MISSING_AT_TRUSTEE | T_HOLDING_MISSING_IN_LEDGER)

static unsigned
type_bit(const char *name)
{
	size_t i;

	for (i = 0; i < N_TYPES; i++)
		if (!strcmp(type_names[i].name, name))
			return type_names[i].bit;
	return 0;
}

/* A growing buffer of COPY text-format rows. */
struct cbuf {
	char *b;
	size_t len, cap;
};

static void
cb_reserve(struct cbuf *c, size_t n)
{
	if (c->len + n + 1 > c->cap) {
		while (c->len + n + 1 > c->cap)
			c->cap = c->cap ? c->cap * 2 : 1 << 16;
		c->b = xrealloc(c->b, c->cap);
	}
}

/* Appends one field (NULL: \N), escaped for COPY text format, then a tab or (last) a newline. */
static void
cb_field(struct cbuf *c, const char *s, bool last)
{
	if (s == NULL) {
		cb_reserve(c, 3);
		memcpy(c->b + c->len, "\\N", 2);
		c->len += 2;
	} else {
		cb_reserve(c, strlen(s) * 2 + 1);
		for (; *s; s++) {
			switch (*s) {
			case '\\': c->b[c->len++] = '\\'; c->b[c->len++] = '\\'; break;
			case '\t': c->b[c->len++] = '\\'; c->b[c->len++] = 't'; break;
			case '\n': c->b[c->len++] = '\\'; c->b[c->len++] = 'n'; break;
			case '\r': c->b[c->len++] = '\\'; c->b[c->len++] = 'r'; break;
			default: c->b[c->len++] = *s;
			}
		}
	}
	cb_reserve(c, 1);
	c->b[c->len++] = last ? '\n' : '\t';
}

/* Appends a plain string, keeping the buffer NUL-terminated. */
static void
cb_str(struct cbuf *c, const char *s)
{
	size_t n = strlen(s);

	cb_reserve(c, n);
	memcpy(c->b + c->len, s, n);
	c->len += n;
	c->b[c->len] = '\0';
}

static void
cb_i64(struct cbuf *c, int64_t v, bool last)
{
	char tmp[24];

	snprintf(tmp, sizeof tmp, "%lld", (long long)v);
	cb_field(c, tmp, last);
}

/* Sends the buffer if it is large (or `all`) and empties it. */
static enum perr
cb_flush(PGconn *db, struct cbuf *c, bool all)
{
	enum perr e;

	if (c->len == 0 || (!all && c->len < (1 << 20)))
		return PERR_OK;
	e = db_copy_put(db, c->b, c->len);
	c->len = 0;
	return e;
}

struct open_exc {
	char *subject;
	unsigned mask;      /* T_* bits of the types open for the subject */
};

/* The last string interned for a column whose value repeats row after row. */
struct last_str {
	uint32_t off;
	bool set;
};

struct recon {
	struct stage_ctx *ctx;
	const struct config *cfg;
	struct match_pool pool;
	struct match_line *lines;
	size_t nl, capl;
	struct match_movement *movs;
	size_t nm, capm;
	struct match_params prm;
	struct match_result res;
	date_t cutoff;
	char cutoff_iso[DATE_BUFSZ];
	struct open_exc *open;     /* open exceptions of this stage, sorted by subject (bytewise) */
	size_t n_open;
	struct last_str last_account, last_currency;
	struct cbuf exc;           /* exceptions to open in bulk (COPY rows for recon_exc) */
	size_t n_exc;
	int64_t opened_bulk;
};

/* ---- reading COPY TO STDOUT ---- */

/* Decodes a COPY text field in place (backslash escapes); returns false for \N. */
static bool
copy_unescape(char *s)
{
	char *r = s, *w = s;

	if (s[0] == '\\' && s[1] == 'N' && s[2] == '\0')
		return false;
	while (*r) {
		if (*r != '\\') {
			*w++ = *r++;
			continue;
		}
		r++;
		switch (*r) {
		case 'b': *w++ = '\b'; r++; break;
		case 'f': *w++ = '\f'; r++; break;
		case 'n': *w++ = '\n'; r++; break;
		case 'r': *w++ = '\r'; r++; break;
		case 't': *w++ = '\t'; r++; break;
		case 'v': *w++ = '\v'; r++; break;
		case '\0': break;
		default:
			if (*r >= '0' && *r <= '7') {
				int v = 0, k;

				for (k = 0; k < 3 && *r >= '0' && *r <= '7'; k++)
					v = v * 8 + (*r++ - '0');
				*w++ = (char)v;
			} else
				*w++ = *r++;
		}
	}
	*w = '\0';
	return true;
}

static bool
parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (*s == '\0')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

typedef enum perr (*row_fn)(struct recon *r, char **f);

/*
 * Runs a COPY (...) TO STDOUT whose rows have exactly `nfields` fields and calls fn for each.
 * The COPY is always drained, even after a failure, so the connection stays usable.
 */
static enum perr
copy_out(struct recon *r, const char *sql, int nfields, row_fn fn, int64_t *rows)
{
	PGconn *db = r->ctx->db;
	PGresult *res = PQexec(db, sql);
	enum perr e = PERR_OK;
	char *f[16];

	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		e = perr_set(PERR_DB, "reconcile: %s (SQLSTATE %s) in: %.60s", PQerrorMessage(db),
		    db_sqlstate(res), sql);
		PQclear(res);
		return e;
	}
	PQclear(res);
	*rows = 0;
	for (;;) {
		char *buf = NULL, *p;
		int len = PQgetCopyData(db, &buf, 0), n;

		if (len == -1)
			break;
		if (len < 0) {
			if (e == PERR_OK)
				e = perr_set(PERR_DB, "reconcile: reading COPY data: %s", PQerrorMessage(db));
			break;
		}
		if (e == PERR_OK) {
			if (len == 0 || buf[len - 1] != '\n')
				e = perr_set(PERR_DB, "reconcile: COPY row without a line end");
			else {
				buf[len - 1] = '\0';
				for (n = 0, p = buf; n < 16; n++) {
					f[n] = p;
					p = strchr(p, '\t');
					if (p == NULL) {
						n++;
						break;
					}
					*p++ = '\0';
				}
				if (n != nfields)
					e = perr_set(PERR_DB, "reconcile: COPY row has %d fields, expected %d", n, nfields);
				else {
					int k;

					for (k = 0; k < n; k++)
						if (!copy_unescape(f[k]))
							f[k] = NULL;
					e = fn(r, f);
					(*rows)++;
				}
			}
		}
		PQfreemem(buf);
	}
	while ((res = PQgetResult(db)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && e == PERR_OK)
			e = perr_set(PERR_DB, "reconcile: COPY failed: %s (SQLSTATE %s)", PQresultErrorMessage(res),
			    db_sqlstate(res));
		PQclear(res);
	}
	return e;
}

/* Interns a value that repeats on most rows (account, currency): the last one is remembered. */
static enum perr
intern_repeated(struct recon *r, const char *s, struct last_str *last, uint32_t *out)
{
	if (s == NULL)
		s = "";
	if (last->set && strcmp(match_pool_str(&r->pool, last->off), s) == 0) {
		*out = last->off;
		return PERR_OK;
	}
	*out = match_pool_intern(&r->pool, s, strlen(s));
	if (*out == UINT32_MAX)
		return PERR_NOMEM;
	last->off = *out;
	last->set = true;
	return PERR_OK;
}

static enum perr
intern(struct recon *r, const char *s, uint32_t *out)
{
	*out = match_pool_intern(&r->pool, s ? s : "", s ? strlen(s) : 0);
	if (*out == UINT32_MAX)
		return PERR_NOMEM;
	return PERR_OK;
}

/* line_id, account, currency, amount, value date (days since 1970), reference, bank_ref, dup flag */
static enum perr
row_line(struct recon *r, char **f)
{
	struct match_line *l;
	int64_t day, dup;
	enum perr e;

	if (r->nl == r->capl) {
		r->capl = r->capl ? r->capl * 2 : 4096;
		r->lines = xrealloc(r->lines, r->capl * sizeof *r->lines);
	}
	l = &r->lines[r->nl];
	if (!f[0] || !f[3] || !f[4] || !f[7] || !parse_i64(f[0], &l->line_id) || !parse_i64(f[3], &l->amount) ||
	    !parse_i64(f[4], &day) || !parse_i64(f[7], &dup))
		return perr_set(PERR_INTERNAL, "reconcile: unexpected statement line row from the database");
	l->value_date = (date_t)day;
	l->flags = dup ? MATCH_LINE_DUP_OF_MATCHED : 0;
	if ((e = intern_repeated(r, f[1], &r->last_account, &l->account)) ||
	    (e = intern_repeated(r, f[2], &r->last_currency, &l->currency)) ||
	    (e = intern(r, f[5], &l->reference)) || (e = intern(r, f[6], &l->bank_ref)))
		return e;
	r->nl++;
	return PERR_OK;
}

/* movement_id, account, currency, signed amount, expected date (days), reference, batch_id */
static enum perr
row_movement(struct recon *r, char **f)
{
	struct match_movement *m;
	int64_t day;
	enum perr e;

	if (r->nm == r->capm) {
		r->capm = r->capm ? r->capm * 2 : 4096;
		r->movs = xrealloc(r->movs, r->capm * sizeof *r->movs);
	}
	m = &r->movs[r->nm];
	if (!f[3] || !f[4] || !parse_i64(f[3], &m->amount) || !parse_i64(f[4], &day))
		return perr_set(PERR_INTERNAL, "reconcile: unexpected cash movement row from the database");
	m->expected_date = (date_t)day;
	/* Movement ids are unique and never compared by offset: stored, not interned. */
	m->movement_id = match_pool_store(&r->pool, f[0] ? f[0] : "", f[0] ? strlen(f[0]) : 0);
	if (m->movement_id == UINT32_MAX)
		return PERR_NOMEM;
	if ((e = intern_repeated(r, f[1], &r->last_account, &m->account)) ||
	    (e = intern_repeated(r, f[2], &r->last_currency, &m->currency)) || (e = intern(r, f[5], &m->reference)) ||
	    (e = intern(r, f[6], &m->batch_id)))
		return e;
	r->nm++;
	return PERR_OK;
}

/* ---- formatting for detail sentences ---- */

static const char *
S(const struct recon *r, uint32_t off)
{
	return match_pool_str(&r->pool, off);
}

/* "SGD 1500.00" (absolute value: direction is said in words); buf of at least 48 bytes. */
static char *
fmt_money(const char *cur, int64_t minor, bool absolute, char *buf, size_t size)
{
	const struct currency *c = currency_find(cur);
	char num[MONEY_BUFSZ];

	if (absolute && minor < 0 && minor != INT64_MIN)
		minor = -minor;
	money_format(minor, c ? c->exponent : 0, num);
	snprintf(buf, size, "%s %s%s", cur, num, c ? "" : " (minor units)");
	return buf;
}

static const char *
direction(int64_t amount)
{
	return amount < 0 ? "debit" : "credit";
}

/* ---- exceptions ---- */

static int
cmp_open(const void *a, const void *b)
{
	return strcmp(((const struct open_exc *)a)->subject, ((const struct open_exc *)b)->subject);
}

static enum perr
load_open_exceptions(struct recon *r)
{
	const char *params[1] = { STAGE };
	PGresult *res;
	int i, n;
	size_t k = 0;

	res = db_query(r->ctx->db, PGRES_TUPLES_OK,
	    "SELECT subject, type FROM exception WHERE status = 'OPEN' AND stage = $1"
	    " ORDER BY subject COLLATE \"C\", type", 1, params);
	if (res == NULL)
		return PERR_DB;
	n = PQntuples(res);
	r->open = xcalloc((size_t)n + 1, sizeof *r->open);
	for (i = 0; i < n; i++) {
		const char *subj = PQgetvalue(res, i, 0);

		if (k == 0 || strcmp(r->open[k - 1].subject, subj) != 0)
			r->open[k++].subject = xstrdup(subj);
		r->open[k - 1].mask |= type_bit(PQgetvalue(res, i, 1));
	}
	r->n_open = k;
	PQclear(res);
	/* ORDER BY ... COLLATE "C" is bytewise, like strcmp; sort anyway so bsearch cannot be misled. */
	qsort(r->open, r->n_open, sizeof *r->open, cmp_open);
	return PERR_OK;
}

static unsigned
open_mask(const struct recon *r, const char *subject)
{
	struct open_exc key, *x;

	if (r->n_open == 0)
		return 0;
	key.subject = (char *)subject;
	x = bsearch(&key, r->open, r->n_open, sizeof key, cmp_open);
	return x ? x->mask : 0;
}

/* Closes every open type in `mask` for the subject. */
static enum perr
close_types(struct recon *r, const char *subject, unsigned mask, const char *closed_by)
{
	size_t i;
	enum perr e;

	mask &= open_mask(r, subject);
	for (i = 0; i < N_TYPES; i++) {
		if (!(mask & type_names[i].bit))
			continue;
		if ((e = exception_close(r->ctx, type_names[i].name, subject, closed_by)) != PERR_OK)
			return e;
	}
	return PERR_OK;
}

/* Queues an exception to be opened with the others in one statement (see flush_exceptions). */
static void
queue_exception(struct recon *r, const struct exception_rec *x)
{
	struct cbuf *c = &r->exc;

	cb_field(c, x->type, false);
	cb_field(c, x->severity, false);
	cb_field(c, x->subject, false);
	cb_field(c, x->account_no, false);
	cb_field(c, x->item_date, false);
	if (x->has_amount)
		cb_i64(c, x->amount_minor, false);
	else
		cb_field(c, NULL, false);
	cb_field(c, x->currency, false);
	cb_field(c, x->reference ? x->reference : "", false);
	cb_field(c, x->statement_ref ? x->statement_ref : "", false);
	cb_field(c, x->ledger_id ? x->ledger_id : "", false);
	cb_field(c, x->detail, true);
	r->n_exc++;
}

/* Opens the queued exceptions in one go (exceptions_open_many: the same rule as exception_open). */
static enum perr
flush_exceptions(struct recon *r)
{
	int64_t ts = now_ms();
	enum perr e;

	if (r->n_exc == 0)
		return PERR_OK;
	e = exceptions_open_many(r->ctx, STAGE, r->exc.b, r->exc.len, &r->opened_bulk);
	r->exc.len = 0;
	step_time("exceptions: COPY and INSERT", &ts);
	return e;
}

/* ---- the steps ---- */

static enum perr
undo_date(struct recon *r)
{
	char run[24];
	const char *params[1] = { run };
	enum perr e;

	/*
	 * The database's replace path (sql/130): this date's matches, recorded in history_replace;
	 * recon_match_movement rows go with their match (ON DELETE CASCADE).
	 */
	snprintf(run, sizeof run, "%lld", (long long)r->ctx->run_id);
	if ((e = db_call(r->ctx->db, "SELECT recon_replace_date($1::bigint)", 1, params)))
		return e;
	/* The date's bank reconciliation statements (sql/140), their items by ON DELETE CASCADE. */
	if ((e = db_call(r->ctx->db, "SELECT bank_rec_replace_date($1::bigint)", 1, params)))
		return e;
	return exceptions_reset(r->ctx, STAGE);
}

/* The run's matching parameters as recon_run_config.params (jsonb); the caller frees the text. */
static char *
params_json(const struct config *cfg, const char *cutoff_iso)
{
	json_t *o = json_object(), *rules = json_object(), *hol = json_array();
	char d[DATE_BUFSZ];
	size_t i;

	jsonout_set(rules, "reference", json_boolean(cfg->rule_reference));
	jsonout_set(rules, "batch", json_boolean(cfg->rule_batch));
	jsonout_set(rules, "amount_date", json_boolean(cfg->rule_amount_date));
	for (i = 0; i < cfg->calendar.n_holidays; i++)
		json_array_append_new(hol, jsonout_str(date_format_iso(cfg->calendar.holidays[i], d)));
	jsonout_set(o, "window_days", jsonout_int(cfg->match_window_days));
	jsonout_set(o, "rules", rules);
	jsonout_set(o, "cutoff_date", jsonout_str(cutoff_iso));
	jsonout_set(o, "holidays", hol);
	jsonout_set(o, "max_candidates_listed", jsonout_int(MATCH_MAX_CANDIDATES));
	return jsonout_dumps(o, JSONOUT_COMPACT);
}

static enum perr
record_config(struct recon *r)
{
	const struct config *cfg = r->cfg;
	struct cbuf hol = { 0 };
	char run[24], win[16], tmp[DATE_BUFSZ + 4], rules[64], li[24], mi[24], ma[24], *json = NULL;
	const char *params[11];
	size_t i;
	enum perr e;

	/* The holiday table, so that SQL counts business days like the C code. */
	if ((e = db_exec(r->ctx->db, "DELETE FROM business_holiday")) != PERR_OK)
		return e;
	cb_reserve(&hol, 2);
	hol.b[hol.len++] = '{';
	for (i = 0; i < cfg->calendar.n_holidays; i++) {
		date_format_iso(cfg->calendar.holidays[i], tmp);
		cb_reserve(&hol, DATE_BUFSZ + 1);
		hol.len += (size_t)sprintf(hol.b + hol.len, "%s%s", i ? "," : "", tmp);
	}
	cb_reserve(&hol, 2);
	hol.b[hol.len++] = '}';
	hol.b[hol.len] = '\0';
	params[0] = hol.b;
	if ((e = db_command(r->ctx->db,
	    "INSERT INTO business_holiday (holiday) SELECT DISTINCT unnest($1::date[])", 1, params)) != PERR_OK)
		goto out;

	snprintf(rules, sizeof rules, "{%s%s%s%s%s}", cfg->rule_reference ? "reference" : "",
	    cfg->rule_reference && (cfg->rule_batch || cfg->rule_amount_date) ? "," : "",
	    cfg->rule_batch ? "batch" : "", cfg->rule_batch && cfg->rule_amount_date ? "," : "",
	    cfg->rule_amount_date ? "amount_date" : "");
	json = params_json(cfg, r->cutoff_iso);
	snprintf(run, sizeof run, "%lld", (long long)r->ctx->run_id);
	snprintf(win, sizeof win, "%d", cfg->match_window_days);
	snprintf(li, sizeof li, "%zu", r->nl);
	snprintf(mi, sizeof mi, "%zu", r->nm);
	snprintf(ma, sizeof ma, "%zu", r->res.n_matches);
	params[0] = run;
	params[1] = r->ctx->date_iso;
	params[2] = win;
	params[3] = rules;
	params[4] = r->cutoff_iso;
	params[5] = hol.b;
	params[6] = cfg->digest;
	params[7] = json;
	params[8] = li;
	params[9] = mi;
	params[10] = ma;
	e = db_command(r->ctx->db,
	    "INSERT INTO recon_run_config (run_id, business_date, window_days, rules, cutoff_date, holidays,"
	    "  config_digest, params, lines_in, movements_in, matches)"
	    " VALUES ($1::bigint, $2::date, $3::integer, $4::text[], $5::date, $6::date[], $7, $8::jsonb,"
	    "  $9::bigint, $10::bigint, $11::bigint)", 11, params);
out:
	free(hol.b);
	free(json);
	return e;
}

/*
 * camt.054 notifications (docs/reconcile.md "camt.054 notifications"), before the candidates are
 * read. A notification line (of a NOTIFICATION statement, business date <= D, not linked yet) is
 * linked to the camt.053 entry (the lines of one Ntry, PASSED statement, business date <= D) of
 * the same account and currency that shares its AcctSvcrRef or NtryRef or - an entry booked as one
 * line - its MsgId or PmtInfId; a notification line that links to several entries links to none.
 * Per entry, with the notification lines linked to it:
 *   - the entry is not matched and the lines sum to its amount: each of its lines is matched by
 *     rule NOTIFIED (no movement) and the notification lines carry the matching (they are candidates
 *     like any line, matched tonight or already matched on an earlier night: never twice);
 *   - the entry is not matched and the sums differ: an AMOUNT_MISMATCH on its first line (both sums
 *     in the detail); its lines are not candidates tonight;
 *   - the entry was matched by another rule on an earlier night: the notification lines are linked
 *     to that match without carrying, and are not candidates (what they detail is explained).
 * Cost: one query over the new notification lines and the lines they link to (indexed keys).
 */
static enum perr
notification_cover(struct recon *r)
{
	PGconn *db = r->ctx->db;
	const char *params[2] = { r->ctx->date_iso, NULL };
	char run[24];
	PGresult *res;
	enum perr e;
	int i, n;

	snprintf(run, sizeof run, "%lld", (long long)r->ctx->run_id);
	params[1] = run;
	if ((e = db_command(db,
	    "CREATE TEMP TABLE recon_cover ON COMMIT DROP AS"
	    " WITH nl AS (SELECT n.line_id, n.account_no, n.currency, n.amount_minor, n.entry_svcr_ref, n.entry_ref,"
	    "                    n.msg_id, n.pmtinf_id"
	    "               FROM statement_line n JOIN statement s ON s.statement_id = n.statement_id"
	    "              WHERE s.gate = 'NOTIFICATION' AND s.business_date <= $1::date"
	    "                AND NOT EXISTS (SELECT 1 FROM recon_match_notification rn WHERE rn.notif_line_id = n.line_id)),"
	    " link AS (SELECT DISTINCT nl.line_id AS notif, l.statement_id, l.entry_no"
	    "            FROM nl JOIN statement_line l ON l.account_no = nl.account_no AND l.currency = nl.currency"
	    "             AND l.entry_no > 0"
	    "             AND ((nl.entry_svcr_ref <> '' AND l.entry_svcr_ref = nl.entry_svcr_ref)"
	    "               OR (nl.entry_ref <> '' AND l.entry_ref = nl.entry_ref)"
	    "               OR (l.amount_minor = l.entry_amount_minor AND nl.msg_id <> '' AND l.msg_id = nl.msg_id)"
	    "               OR (l.amount_minor = l.entry_amount_minor AND nl.pmtinf_id <> '' AND l.pmtinf_id = nl.pmtinf_id))"
	    "            JOIN statement s ON s.statement_id = l.statement_id"
	    "           WHERE s.gate = 'PASSED' AND s.business_date <= $1::date),"
	    " one AS (SELECT notif, min(statement_id) AS statement_id, min(entry_no) AS entry_no FROM link"
	    "          GROUP BY notif HAVING count(*) = 1)"
	    " SELECT one.statement_id, one.entry_no, one.notif, n.amount_minor AS notif_minor,"
	    "        sum(n.amount_minor) OVER (PARTITION BY one.statement_id, one.entry_no) AS notif_sum,"
	    "        count(*) OVER (PARTITION BY one.statement_id, one.entry_no) AS notif_count"
	    "   FROM one JOIN statement_line n ON n.line_id = one.notif", 1, params)) != PERR_OK)
		return e;
	/* The entries and what to do with each: their lines, amount, first line and existing match. */
	if ((e = db_exec(db,
	    "CREATE TEMP TABLE recon_cover_entry ON COMMIT DROP AS"
	    " SELECT c.statement_id, c.entry_no, max(c.notif_sum) AS notif_sum, max(c.notif_count) AS notif_count,"
	    "        (SELECT max(l.entry_amount_minor) FROM statement_line l WHERE l.statement_id = c.statement_id"
	    "          AND l.entry_no = c.entry_no) AS entry_minor,"
	    "        (SELECT min(l.line_id) FROM statement_line l WHERE l.statement_id = c.statement_id"
	    "          AND l.entry_no = c.entry_no) AS first_line,"
	    "        (SELECT min(m.match_id) FROM statement_line l JOIN recon_match m ON m.line_id = l.line_id"
	    "          WHERE l.statement_id = c.statement_id AND l.entry_no = c.entry_no) AS match_id"
	    "   FROM recon_cover c GROUP BY c.statement_id, c.entry_no")) != PERR_OK)
		return e;
	/* covered: every line of the entry matched NOTIFIED, the notification lines carry */
	if ((e = db_command(db,
	    "WITH ins AS (INSERT INTO recon_match (business_date, rule, line_id, run_id)"
	    "   SELECT $1::date, 'NOTIFIED', l.line_id, $2::bigint"
	    "     FROM recon_cover_entry ce JOIN statement_line l ON l.statement_id = ce.statement_id"
	    "      AND l.entry_no = ce.entry_no"
	    "    WHERE ce.match_id IS NULL AND ce.notif_sum = ce.entry_minor"
	    "   RETURNING match_id, line_id)"
	    " INSERT INTO recon_match_notification (match_id, notif_line_id, carries)"
	    "   SELECT ins.match_id, c.notif, true"
	    "     FROM recon_cover_entry ce JOIN ins ON ins.line_id = ce.first_line"
	    "     JOIN recon_cover c ON c.statement_id = ce.statement_id AND c.entry_no = ce.entry_no", 2, params))
	    != PERR_OK)
		return e;
	/* explained by an earlier match of the entry: linked, not carrying */
	if ((e = db_exec(db,
	    "INSERT INTO recon_match_notification (match_id, notif_line_id, carries)"
	    " SELECT ce.match_id, c.notif, false FROM recon_cover_entry ce"
	    "   JOIN recon_cover c ON c.statement_id = ce.statement_id AND c.entry_no = ce.entry_no"
	    "  WHERE ce.match_id IS NOT NULL")) != PERR_OK)
		return e;
	/* the sums differ: the entry's lines wait (not candidates), an AMOUNT_MISMATCH says why */
	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT ce.first_line, l.account_no, l.currency, l.value_date, ce.entry_minor, ce.notif_sum, ce.notif_count,"
	    "       l.entry_svcr_ref, (SELECT string_agg(c.notif::text, ',' ORDER BY c.notif) FROM recon_cover c"
	    "                           WHERE c.statement_id = ce.statement_id AND c.entry_no = ce.entry_no)"
	    "  FROM recon_cover_entry ce JOIN statement_line l ON l.line_id = ce.first_line"
	    " WHERE ce.match_id IS NULL AND ce.notif_sum <> ce.entry_minor ORDER BY ce.first_line", 0, NULL);
	if (res == NULL)
		return PERR_DB;
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		struct exception_rec x;
		char subject[48], detail[600], a[48], b[48];
		int64_t entry = 0, sum = 0;
		const char *cur = PQgetvalue(res, i, 2);

		(void)parse_i64(PQgetvalue(res, i, 4), &entry);
		(void)parse_i64(PQgetvalue(res, i, 5), &sum);
		snprintf(subject, sizeof subject, "line:%s", PQgetvalue(res, i, 0));
		snprintf(detail, sizeof detail, "The bank's statement entry %s of %s does not equal the sum %s of the %s"
		    " camt.054 notification lines that detail it (lines %s): the entry is not matched until the bank"
		    " explains the difference.", PQgetvalue(res, i, 7), fmt_money(cur, entry, false, a, sizeof a),
		    fmt_money(cur, sum, false, b, sizeof b), PQgetvalue(res, i, 6), PQgetvalue(res, i, 8));
		memset(&x, 0, sizeof x);
		x.type = "AMOUNT_MISMATCH";
		x.severity = "ERROR";
		x.subject = subject;
		x.account_no = PQgetvalue(res, i, 1);
		x.item_date = PQgetvalue(res, i, 3);
		x.has_amount = true;
		x.amount_minor = entry;
		x.currency = cur;
		x.statement_ref = PQgetvalue(res, i, 7);
		x.ledger_id = PQgetvalue(res, i, 8);
		x.detail = detail;
		if ((e = exception_open(r->ctx, STAGE, &x, NULL)) != PERR_OK) {
			PQclear(res);
			return e;
		}
	}
	PQclear(res);
	return PERR_OK;
}

/* The earlier breaks of the lines matched NOTIFIED tonight close (after load_open_exceptions). */
static enum perr
notification_close(struct recon *r)
{
	const char *params[1] = { r->ctx->date_iso };
	PGresult *res;
	enum perr e = PERR_OK;
	int i, n;

	res = db_query(r->ctx->db, PGRES_TUPLES_OK,
	    "SELECT m.line_id FROM recon_match m WHERE m.business_date = $1::date AND m.rule = 'NOTIFIED'"
	    " ORDER BY m.line_id", 1, params);
	if (res == NULL)
		return PERR_DB;
	n = PQntuples(res);
	for (i = 0; i < n && e == PERR_OK; i++) {
		char subject[48], closed_by[160];

		snprintf(subject, sizeof subject, "line:%s", PQgetvalue(res, i, 0));
		if (!(open_mask(r, subject) & LINE_TYPES))
			continue;
		snprintf(closed_by, sizeof closed_by, "reconcile run %lld: NOTIFIED, detailed by camt.054 notification lines",
		    (long long)r->ctx->run_id);
		e = close_types(r, subject, LINE_TYPES, closed_by);
	}
	PQclear(res);
	return e;
}

static enum perr
read_candidates(struct recon *r)
{
	const char *params[2] = { r->ctx->date_iso, r->cutoff_iso };
	int64_t n;
	enum perr e;

	/* COPY takes no parameters: the date and the cutoff go through a temporary table. */
	if ((e = db_exec(r->ctx->db, "CREATE TEMP TABLE recon_param (d date NOT NULL, cutoff date NOT NULL)"
	    " ON COMMIT DROP")) != PERR_OK)
		return e;
	if ((e = db_command(r->ctx->db, "INSERT INTO recon_param VALUES ($1::date, $2::date)", 2, params)))
		return e;
	/* Without statistics the planner takes the one-row table for thousands of rows. */
	if ((e = db_exec(r->ctx->db, "ANALYZE recon_param")) != PERR_OK)
		return e;
	e = copy_out(r,
	    "COPY (SELECT l.line_id, l.account_no, l.currency, l.amount_minor, l.value_date - DATE '1970-01-01',"
	    "        l.reference, l.bank_ref,"
	    "        CASE WHEN d.bank_ref IS NULL THEN 0 ELSE 1 END"
	    "   FROM statement_line l JOIN statement s ON s.statement_id = l.statement_id"
	    "   CROSS JOIN recon_param p"
	    /* bank references already used by a matched line of the account: a repeat is a duplicate
	     * (among statement lines, and among notification lines: a notification line shares its
	     * entry's AcctSvcrRef with the statement line it details) */
	    "   LEFT JOIN (SELECT DISTINCT o.account_no, o.bank_ref, os.gate = 'NOTIFICATION' AS notif"
	    "                FROM statement_line o JOIN statement os ON os.statement_id = o.statement_id"
	    "               JOIN recon_match om ON om.line_id = o.line_id WHERE o.bank_ref <> '') d"
	    "          ON d.account_no = l.account_no AND d.bank_ref = l.bank_ref"
	    "         AND d.notif = (s.gate = 'NOTIFICATION')"
	    "  WHERE s.gate IN ('PASSED', 'NOTIFICATION') AND s.business_date <= p.d"
	    "    AND NOT EXISTS (SELECT 1 FROM recon_match m WHERE m.line_id = l.line_id)"
	    /* notification_cover: an entry waiting for its notifications' sum, a notification explained */
	    "    AND NOT EXISTS (SELECT 1 FROM recon_cover_entry ce WHERE ce.statement_id = l.statement_id"
	    "                     AND ce.entry_no = l.entry_no AND ce.match_id IS NULL AND ce.notif_sum <> ce.entry_minor)"
	    "    AND NOT EXISTS (SELECT 1 FROM recon_match_notification rn WHERE rn.notif_line_id = l.line_id"
	    "                     AND NOT rn.carries)) TO STDOUT",
	    8, row_line, &n);
	if (e != PERR_OK)
		return e;
	return copy_out(r,
	    "COPY (SELECT c.movement_id, c.account_no, c.currency,"
	    "        CASE c.direction WHEN 'CREDIT' THEN c.amount_minor ELSE -c.amount_minor END,"
	    "        c.expected_date - DATE '1970-01-01', c.reference, coalesce(c.batch_id, '')"
	    "   FROM cash_movement c, recon_param p"
	    "  WHERE c.expected_date <= p.cutoff"
	    "    AND NOT EXISTS (SELECT 1 FROM recon_match_movement mm WHERE mm.movement_id = c.movement_id)"
	    /* a cancelled transfer's movements are no longer expected (pipeline transfer cancel) */
	    "    AND NOT EXISTS (SELECT 1 FROM cash_movement_void v WHERE v.movement_id = c.movement_id))"
	    " TO STDOUT", 7, row_movement, &n);
}

static enum perr
write_matches(struct recon *r)
{
	PGconn *db = r->ctx->db;
	struct match_result *res = &r->res;
	struct cbuf c = { 0 };
	int64_t base = 0, *ids = NULL, next;
	char run[24], buf[24];
	const char *params[1];
	PGresult *pr;
	enum perr e = PERR_OK;
	size_t i;

	if (res->n_matches == 0)
		return PERR_OK;
	/* Reserve a block of match ids (the pipeline lock keeps other writers out). */
	pr = db_query(db, PGRES_TUPLES_OK, "SELECT nextval(pg_get_serial_sequence('recon_match', 'match_id'))",
	    0, NULL);
	if (pr == NULL)
		return PERR_DB;
	base = db_get_i64(pr, 0, 0);
	PQclear(pr);
	snprintf(buf, sizeof buf, "%lld", (long long)(base + (int64_t)res->n_matches - 1));
	params[0] = buf;
	pr = db_query(db, PGRES_TUPLES_OK,
	    "SELECT setval(pg_get_serial_sequence('recon_match', 'match_id'), $1::bigint)", 1, params);
	if (pr == NULL)
		return PERR_DB;
	PQclear(pr);

	ids = xmalloc((r->nl + 1) * sizeof *ids);
	snprintf(run, sizeof run, "%lld", (long long)r->ctx->run_id);
	if ((e = db_copy_begin(db, "COPY recon_match (match_id, business_date, rule, line_id, run_id) FROM STDIN")))
		goto out;
	next = base;
	for (i = 0; i < r->nl; i++) {
		if (res->line_verdict[i] != MATCH_LINE_MATCHED)
			continue;
		ids[i] = next++;
		cb_i64(&c, ids[i], false);
		cb_field(&c, r->ctx->date_iso, false);
		cb_field(&c, match_rule_name((enum match_rule)res->line_rule[i]), false);
		cb_i64(&c, r->lines[i].line_id, false);
		cb_field(&c, run, true);
		if ((e = cb_flush(db, &c, false)) != PERR_OK)
			goto out;
	}
	if ((e = cb_flush(db, &c, true)) != PERR_OK || (e = db_copy_end(db)) != PERR_OK)
		goto out;
	if ((e = db_copy_begin(db, "COPY recon_match_movement (match_id, movement_id) FROM STDIN")))
		goto out;
	for (i = 0; i < r->nm; i++) {
		if (res->mov_verdict[i] != MATCH_MOV_MATCHED)
			continue;
		cb_i64(&c, ids[res->mov_line[i]], false);
		cb_field(&c, S(r, r->movs[i].movement_id), true);
		if ((e = cb_flush(db, &c, false)) != PERR_OK)
			goto out;
	}
	if ((e = cb_flush(db, &c, true)) != PERR_OK || (e = db_copy_end(db)) != PERR_OK)
		goto out;
out:
	free(ids);
	free(c.b);
	return e;
}

static enum perr
line_exceptions(struct recon *r)
{
	struct match_result *res = &r->res;
	char subject[48], date[DATE_BUFSZ], detail[1024], amt[48], amt2[48], diff[48], closed_by[256];
	struct cbuf lb = { 0 };      /* AMBIGUOUS: the candidates' ids, comma-separated (any length) */
	const char *ledger;
	size_t i, k;
	enum perr e;

	for (i = 0; i < r->nl; i++) {
		const struct match_line *l = &r->lines[i];
		struct exception_rec x;
		unsigned bit = 0;
		uint32_t p = res->line_partner[i];
		const char *cur = S(r, l->currency);

		snprintf(subject, sizeof subject, "line:%lld", (long long)l->line_id);
		date_format_iso(l->value_date, date);
		fmt_money(cur, l->amount, true, amt, sizeof amt);
		memset(&x, 0, sizeof x);
		x.subject = subject;
		x.account_no = S(r, l->account);
		x.item_date = date;
		x.has_amount = true;
		x.amount_minor = l->amount;
		x.currency = cur;
		x.reference = S(r, l->reference);
		x.statement_ref = S(r, l->bank_ref);
		x.ledger_id = "";
		x.detail = detail;
		x.severity = "ERROR";
		ledger = "";

		switch ((enum match_line_verdict)res->line_verdict[i]) {
		case MATCH_LINE_MATCHED: {
			const struct match_movement *m = &r->movs[p];

			if (!(open_mask(r, subject) & LINE_TYPES))
				continue;
			snprintf(closed_by, sizeof closed_by, "reconcile run %lld: %s match with movement %s%s",
			    (long long)r->ctx->run_id, match_rule_name((enum match_rule)res->line_rule[i]),
			    S(r, m->movement_id), res->line_rule[i] == MATCH_RULE_BATCH ? " and the rest of its batch" : "");
			if ((e = close_types(r, subject, LINE_TYPES, closed_by)) != PERR_OK)
				goto out;
			continue;
		}
		case MATCH_LINE_UNMATCHED:
			bit = T_UNMATCHED_STATEMENT;
			x.type = "UNMATCHED_STATEMENT";
			if (l->reference)
				snprintf(detail, sizeof detail, "The bank %s of %s on %s (bank reference %s, reference %s)"
				    " matches no expected movement in the ledger.", direction(l->amount), amt, date,
				    *x.statement_ref ? x.statement_ref : "none", S(r, l->reference));
			else
				snprintf(detail, sizeof detail, "The bank %s of %s on %s (bank reference %s) carries no"
				    " reference and no expected movement of that amount is within %d business days.",
				    direction(l->amount), amt, date, *x.statement_ref ? x.statement_ref : "none",
				    r->prm.window_days);
			break;
		case MATCH_LINE_AMOUNT_MISMATCH: {
			const struct match_mismatch *mm = match_find_mismatch(res, (uint32_t)i);
			int64_t d = 0;

			bit = T_AMOUNT_MISMATCH;
			x.type = "AMOUNT_MISMATCH";
			if (mm == NULL)
			{
				e = perr_set(PERR_INTERNAL, "reconcile: mismatch record missing for line %lld",
				    (long long)l->line_id);
				goto out;
			}
			ledger = mm->batch ? S(r, r->movs[mm->movement].batch_id) : S(r, r->movs[mm->movement].movement_id);
			fmt_money(cur, mm->ledger_amount, true, amt2, sizeof amt2);
			if (!money_sub(l->amount, mm->ledger_amount, &d))
				snprintf(diff, sizeof diff, "too large to compute");
			else {
				char num[MONEY_BUFSZ];
				const struct currency *c = currency_find(cur);

				money_format(d, c ? c->exponent : 0, num);
				snprintf(diff, sizeof diff, "%s %s", cur, num);
			}
			snprintf(detail, sizeof detail, "Reference %s matches ledger %s %s, but the bank shows a %s of %s"
			    " on %s and the ledger expects %s (difference bank minus ledger: %s).", S(r, l->reference),
			    mm->batch ? "batch" : "movement", ledger, direction(l->amount), amt, date, amt2, diff);
			break;
		}
		case MATCH_LINE_AMBIGUOUS: {
			const struct match_ambiguous *a = match_find_ambiguous(res, (uint32_t)i);

			bit = T_AMBIGUOUS;
			x.type = "AMBIGUOUS";
			x.severity = "WARNING";
			if (a == NULL)
			{
				e = perr_set(PERR_INTERNAL, "reconcile: ambiguity record missing for line %lld",
				    (long long)l->line_id);
				goto out;
			}
			lb.len = 0;
			for (k = 0; k < a->n_listed; k++) {
				if (k)
					cb_str(&lb, ",");
				cb_str(&lb, S(r, r->movs[a->candidates[k]].movement_id));
			}
			if (a->n_candidates > a->n_listed) {
				char more[32];

				snprintf(more, sizeof more, ",+%u more", a->n_candidates - a->n_listed);
				cb_str(&lb, more);
			}
			ledger = lb.b;
			snprintf(detail, sizeof detail, "The bank %s of %s on %s has no reference and %u expected"
			    " movement%s of that amount within %d business days (%s)%s; it is not matched by guess:"
			    " choose by hand.", direction(l->amount), amt, date, a->n_candidates,
			    a->n_candidates == 1 ? "" : "s", r->prm.window_days, ledger,
			    a->n_competing_lines > 1 ? ", and other bank lines compete for the same movements" : "");
			if (a->n_competing_lines > 1) {
				size_t dl = strlen(detail);

				snprintf(detail + dl, sizeof detail - dl, " (%u lines in all).", a->n_competing_lines);
			}
			break;
		}
		case MATCH_LINE_DUPLICATE:
			bit = T_DUPLICATE_LINE;
			x.type = "DUPLICATE_LINE";
			if (p != MATCH_NONE)
				snprintf(detail, sizeof detail, "Bank reference %s appears twice on account %s: this %s of"
				    " %s on %s repeats statement line %lld and is not matched.", x.statement_ref,
				    x.account_no, direction(l->amount), amt, date, (long long)r->lines[p].line_id);
			else
				snprintf(detail, sizeof detail, "Bank reference %s appears twice on account %s: this %s of"
				    " %s on %s repeats a line already matched on an earlier night and is not matched.",
				    x.statement_ref, x.account_no, direction(l->amount), amt, date);
			break;
		}
		x.ledger_id = ledger;
		snprintf(closed_by, sizeof closed_by, "reconcile run %lld: the line is now %s",
		    (long long)r->ctx->run_id, x.type);
		if ((e = close_types(r, subject, LINE_TYPES & ~bit, closed_by)) != PERR_OK)
			goto out;
		queue_exception(r, &x);
	}
	e = PERR_OK;
out:
	free(lb.b);
	return e;
}

static enum perr
movement_exceptions(struct recon *r)
{
	struct match_result *res = &r->res;
	const struct calendar *cal = &r->cfg->calendar;
	char date[DATE_BUFSZ], end[DATE_BUFSZ], detail[1024], amt[48], closed_by[256];
	char *subject = NULL;       /* "movement:ID", grown to fit: movement ids have no length limit */
	size_t cap = 0;
	int w = r->prm.window_days;
	size_t i;
	enum perr e = PERR_OK;

	for (i = 0; i < r->nm && e == PERR_OK; i++) {
		const struct match_movement *m = &r->movs[i];
		struct exception_rec x;
		const char *mid = S(r, m->movement_id);
		size_t need = strlen(mid) + sizeof "movement:";

		if (need > cap) {
			cap = need * 2;
			subject = xrealloc(subject, cap);
		}
		snprintf(subject, cap, "movement:%s", mid);
		if (res->mov_verdict[i] != MATCH_MOV_UNMATCHED) {
			const struct match_line *l = &r->lines[res->mov_line[i]];

			if (!(open_mask(r, subject) & T_UNMATCHED_LEDGER))
				continue;
			snprintf(closed_by, sizeof closed_by, "reconcile run %lld: %s statement line %lld (bank"
			    " reference %s)", (long long)r->ctx->run_id,
			    res->mov_verdict[i] == MATCH_MOV_MATCHED ? "matched by" : "named, with another amount, by",
			    (long long)l->line_id, S(r, l->bank_ref));
			e = close_types(r, subject, T_UNMATCHED_LEDGER, closed_by);
			continue;
		}
		/* Pending while the window is open; a break once it has closed. */
		if (calendar_business_days_between(cal, m->expected_date, r->ctx->date) <= w)
			continue;
		date_format_iso(m->expected_date, date);
		date_format_iso(calendar_add_business_days(cal, m->expected_date, w), end);
		fmt_money(S(r, m->currency), m->amount, true, amt, sizeof amt);
		snprintf(detail, sizeof detail, "The ledger expected a %s of %s on account %s on %s (reference %s%s%s);"
		    " it has not appeared on any statement by %s, the end of its %d-business-day window.",
		    direction(m->amount), amt, S(r, m->account), date, m->reference ? S(r, m->reference) : "none",
		    m->batch_id ? ", batch " : "", m->batch_id ? S(r, m->batch_id) : "", end, w);
		memset(&x, 0, sizeof x);
		x.type = "UNMATCHED_LEDGER";
		x.severity = "ERROR";
		x.subject = subject;
		x.account_no = S(r, m->account);
		x.item_date = date;
		x.has_amount = true;
		x.amount_minor = m->amount;
		x.currency = S(r, m->currency);
		x.reference = S(r, m->reference);
		x.statement_ref = "";
		x.ledger_id = mid;
		x.detail = detail;
		queue_exception(r, &x);
	}
	free(subject);
	return e;
}

static bool
numeric_i64(const char *s, int64_t *out)
{
	return parse_i64(s, out);
}

static enum perr
continuity_checks(struct recon *r)
{
	PGresult *res;
	int i, n;
	enum perr e = PERR_OK;

	res = db_query(r->ctx->db, PGRES_TUPLES_OK,
	    "WITH p AS (SELECT d FROM recon_param),"
	    " acc AS (SELECT DISTINCT ON (s.account_no) s.account_no, s.currency, s.closing_minor"
	    "           FROM statement s, p WHERE s.business_date = p.d AND s.gate = 'PASSED'"
	    "          ORDER BY s.account_no, s.closing_date DESC, s.statement_id DESC),"
	    " anchor AS (SELECT DISTINCT ON (s.account_no) s.account_no, s.opening_minor, s.opening_date,"
	    "                   s.statement_no"
	    "              FROM statement s JOIN acc ON acc.account_no = s.account_no"
	    "             WHERE s.gate = 'PASSED'"
	    "             ORDER BY s.account_no, s.opening_date, s.statement_id),"
	    /* A line matched on or before D belongs to a statement of business date <= D (candidates
	     * never include later ones), and a movement is matched only on its own account. */
	    " matched AS (SELECT c.account_no,"
	    "                    sum(CASE c.direction WHEN 'CREDIT' THEN c.amount_minor ELSE -c.amount_minor END) AS s"
	    "               FROM recon_match m JOIN recon_match_movement mm ON mm.match_id = m.match_id"
	    "               JOIN cash_movement c ON c.movement_id = mm.movement_id"
	    "               JOIN statement_line ml ON ml.line_id = m.line_id"
	    "               JOIN statement ms ON ms.statement_id = ml.statement_id, p"
	    "              WHERE m.business_date <= p.d"
	    /* a notification line's match counts once a statement entry of business date <= D is covered by it */
	    "                AND (ms.gate <> 'NOTIFICATION' OR EXISTS (SELECT 1 FROM recon_match_notification rn"
	    "                      JOIN recon_match cm ON cm.match_id = rn.match_id"
	    "                     WHERE rn.notif_line_id = m.line_id AND rn.carries AND cm.business_date <= p.d))"
	    "              GROUP BY c.account_no),"
	    " open AS (SELECT l.account_no, sum(l.amount_minor) AS s"
	    "            FROM statement_line l JOIN statement s3 ON s3.statement_id = l.statement_id, p"
	    "           WHERE s3.gate = 'PASSED' AND s3.business_date <= p.d"
	    "             AND NOT EXISTS (SELECT 1 FROM recon_match m WHERE m.line_id = l.line_id"
	    "                              AND m.business_date <= p.d)"
	    "           GROUP BY l.account_no"
	    /* and the notification lines that carry a covered entry but are not matched themselves */
	    "          UNION ALL SELECT n.account_no, sum(n.amount_minor)"
	    "            FROM recon_match_notification rn JOIN recon_match cm ON cm.match_id = rn.match_id"
	    "            JOIN statement_line n ON n.line_id = rn.notif_line_id, p"
	    "           WHERE rn.carries AND cm.business_date <= p.d"
	    "             AND NOT EXISTS (SELECT 1 FROM recon_match m WHERE m.line_id = n.line_id"
	    "                              AND m.business_date <= p.d)"
	    "           GROUP BY n.account_no)"
	    " SELECT acc.account_no, acc.currency, acc.closing_minor, anchor.opening_minor,"
	    "        anchor.opening_date, anchor.statement_no, coalesce(matched.s, 0), coalesce(open.s, 0)"
	    "   FROM acc JOIN anchor ON anchor.account_no = acc.account_no"
	    "   LEFT JOIN matched ON matched.account_no = acc.account_no"
	    "   LEFT JOIN (SELECT account_no, sum(s) AS s FROM open GROUP BY account_no) open"
	    "          ON open.account_no = acc.account_no"
	    "  ORDER BY acc.account_no", 0, NULL);
	if (res == NULL)
		return PERR_DB;
	n = PQntuples(res);
	for (i = 0; i < n && e == PERR_OK; i++) {
		const char *acct = PQgetvalue(res, i, 0), *cur = PQgetvalue(res, i, 1);
		int64_t closing, anchor, matched, open, ledger, explained, diff;
		char subject[64], detail[1024], b1[48], b2[48], b3[48], b4[48], b5[48], b6[48], b7[48], closed_by[160];
		struct exception_rec x;

		if (!numeric_i64(PQgetvalue(res, i, 2), &closing) || !numeric_i64(PQgetvalue(res, i, 3), &anchor) ||
		    !numeric_i64(PQgetvalue(res, i, 6), &matched) || !numeric_i64(PQgetvalue(res, i, 7), &open) ||
		    !money_add(anchor, matched, &ledger) || !money_sub(closing, open, &explained) ||
		    !money_sub(explained, ledger, &diff)) {
			e = perr_set(PERR_MONEY_OVERFLOW, "reconcile: balance of account %s does not fit in 64 bits", acct);
			break;
		}
		snprintf(subject, sizeof subject, "continuity:%s", acct);
		if (diff == 0) {
			snprintf(closed_by, sizeof closed_by, "reconcile run %lld: the statements are continuous on %s",
			    (long long)r->ctx->run_id, r->ctx->date_iso);
			e = close_types(r, subject, T_STATEMENT_CONTINUITY_BREAK, closed_by);
			continue;
		}
		snprintf(detail, sizeof detail, "Statement continuity: bank closing balance %s less open statement"
		    " lines %s is %s, but the first opening balance plus the matched movements is %s (opening"
		    " balance %s of statement %s on %s plus matched movements %s): unexplained difference %s;"
		    " a statement or lines are missing or altered.",
		    fmt_money(cur, closing, false, b1, sizeof b1), fmt_money(cur, open, false, b2, sizeof b2),
		    fmt_money(cur, explained, false, b3, sizeof b3), fmt_money(cur, ledger, false, b4, sizeof b4),
		    fmt_money(cur, anchor, false, b5, sizeof b5), PQgetvalue(res, i, 5), PQgetvalue(res, i, 4),
		    fmt_money(cur, matched, false, b6, sizeof b6), fmt_money(cur, diff, false, b7, sizeof b7));
		memset(&x, 0, sizeof x);
		x.type = "STATEMENT_CONTINUITY_BREAK";
		x.severity = "ERROR";
		x.subject = subject;
		x.account_no = acct;
		x.item_date = r->ctx->date_iso;
		x.has_amount = true;
		x.amount_minor = diff;
		x.currency = cur;
		x.detail = detail;
		e = exception_open(r->ctx, STAGE, &x, NULL);
	}
	PQclear(res);
	return e;
}

/*
 * The reconciling items of D (see "Bank reconciliation" at the top and sql/140) into a temporary
 * table, every item signed (credits positive) and aged in business days from its own date to D.
 */
static enum perr
bank_rec_items(struct recon *r)
{
	return db_exec(r->ctx->db,
	    "CREATE TEMP TABLE rec_item ON COMMIT DROP AS"
	    " WITH p AS (SELECT d FROM recon_param),"
	    /* a camt.054 notification line's match counts once the statement entry it details is covered */
	    " mm AS (SELECT x.movement_id, m.line_id FROM recon_match m"
	    "          JOIN recon_match_movement x ON x.match_id = m.match_id"
	    "          JOIN statement_line ml ON ml.line_id = m.line_id"
	    "          JOIN statement ms ON ms.statement_id = ml.statement_id, p WHERE m.business_date <= p.d"
	    "           AND (ms.gate <> 'NOTIFICATION' OR " NOTIF_COVERED("m.line_id") "))"
	    " SELECT c.account_no,"
	    "        CASE c.direction WHEN 'CREDIT' THEN 'DEPOSIT_IN_TRANSIT' ELSE 'OUTSTANDING_PAYMENT' END AS kind,"
	    "        'movement:' || c.movement_id AS item, c.expected_date AS item_date,"
	    "        business_days_between(c.expected_date, p.d) AS age_days,"
	    "        CASE c.direction WHEN 'CREDIT' THEN c.amount_minor ELSE -c.amount_minor END AS amount_minor,"
	    "        c.reference"
	    "   FROM cash_movement c, p"
	    "  WHERE c.expected_date <= p.d AND NOT EXISTS (SELECT 1 FROM mm WHERE mm.movement_id = c.movement_id)"
	    /* a cancelled transfer's movements are not outstanding (pipeline transfer cancel) */
	    "    AND NOT EXISTS (SELECT 1 FROM cash_movement_void v WHERE v.movement_id = c.movement_id)"
	    " UNION ALL"
	    " SELECT l.account_no, 'BANK_NOT_IN_BOOKS', 'line:' || l.line_id, l.value_date,"
	    "        business_days_between(l.value_date, p.d), l.amount_minor, l.reference"
	    "   FROM statement_line l JOIN statement s ON s.statement_id = l.statement_id, p"
	    "  WHERE (s.gate = 'PASSED' OR (s.gate = 'NOTIFICATION' AND " NOTIF_COVERED("l.line_id") "))"
	    "    AND s.business_date <= p.d"
	    "    AND NOT EXISTS (SELECT 1 FROM mm WHERE mm.line_id = l.line_id)"
	    /* an entry covered by its notification lines is explained by them (they are counted instead) */
	    "    AND NOT EXISTS (SELECT 1 FROM recon_match nm WHERE nm.line_id = l.line_id AND nm.rule = 'NOTIFIED'"
	    "                     AND nm.business_date <= p.d)"
	    /* on the bank and matched, but the books expect it only after D: not in D's book balance */
	    " UNION ALL"
	    " SELECT c.account_no, 'BANK_NOT_IN_BOOKS', 'movement:' || c.movement_id, l.value_date,"
	    "        business_days_between(l.value_date, p.d),"
	    "        CASE c.direction WHEN 'CREDIT' THEN c.amount_minor ELSE -c.amount_minor END, c.reference"
	    "   FROM mm JOIN cash_movement c ON c.movement_id = mm.movement_id"
	    "   JOIN statement_line l ON l.line_id = mm.line_id, p"
	    "  WHERE c.expected_date > p.d");
}

/*
 * One bank_rec row per bank account for D, and its items; the exception each item is about (the
 * open one with the item as subject, or the AMOUNT_MISMATCH naming the movement) is linked.
 */
static enum perr
bank_rec_rows(struct recon *r)
{
	char run[24];
	const char *params[1] = { run };
	enum perr e;

	snprintf(run, sizeof run, "%lld", (long long)r->ctx->run_id);
	e = db_command(r->ctx->db,
	    "WITH p AS (SELECT d FROM recon_param),"
	    " st AS (SELECT DISTINCT ON (s.account_no) s.account_no, s.statement_id, s.closing_minor"
	    "          FROM statement s, p WHERE s.business_date = p.d AND s.gate = 'PASSED'"
	    "         ORDER BY s.account_no, s.closing_date DESC, s.statement_id DESC),"
	    " sums AS (SELECT account_no,"
	    "                 coalesce(sum(amount_minor) FILTER (WHERE kind = 'DEPOSIT_IN_TRANSIT'), 0) AS dit,"
	    "                 coalesce(-sum(amount_minor) FILTER (WHERE kind = 'OUTSTANDING_PAYMENT'), 0) AS op,"
	    "                 coalesce(sum(amount_minor) FILTER (WHERE kind = 'BANK_NOT_IN_BOOKS'), 0) AS bnb"
	    "            FROM rec_item GROUP BY account_no),"
	    " f AS (SELECT a.account_no, a.currency, a.purpose, st.statement_id, st.closing_minor,"
	    "              coalesce(sums.dit, 0)::bigint AS dit, coalesce(sums.op, 0)::bigint AS op,"
	    "              coalesce(sums.bnb, 0)::bigint AS bnb, b.balance_minor AS book"
	    "         FROM bank_account a CROSS JOIN p"
	    "         LEFT JOIN st ON st.account_no = a.account_no"
	    "         LEFT JOIN sums ON sums.account_no = a.account_no"
	    "         LEFT JOIN book_balance b ON b.account_no = a.account_no AND b.as_of_date = p.d),"
	    " g AS (SELECT f.*, f.closing_minor + f.dit - f.op - f.bnb AS adj FROM f)"
	    " INSERT INTO bank_rec (business_date, account_no, currency, purpose, status, statement_id,"
	    "   bank_closing, in_transit, outstanding, bank_not_books, adjusted_bank, book_balance, difference, run_id)"
	    " SELECT p.d, g.account_no, g.currency, g.purpose,"
	    "        CASE WHEN g.statement_id IS NULL THEN 'NO_STATEMENT' WHEN g.book IS NULL THEN 'NO_BOOK_BALANCE'"
	    "             WHEN g.adj = g.book THEN 'AGREED' ELSE 'BREAK' END,"
	    "        g.statement_id, g.closing_minor, g.dit, g.op, g.bnb, g.adj, g.book, g.adj - g.book, $1::bigint"
	    "   FROM g, p", 1, params);
	if (e != PERR_OK)
		return e;
	return db_exec(r->ctx->db,
	    "INSERT INTO bank_rec_item (business_date, account_no, kind, item, item_date, age_days, amount_minor,"
	    "   reference, exception_id)"
	    " SELECT p.d, i.account_no, i.kind, i.item, i.item_date, i.age_days, i.amount_minor, i.reference,"
	    "        coalesce(bs.id, bm.id)"
	    "   FROM rec_item i JOIN recon_param p ON true"
	    "   JOIN bank_rec b ON b.business_date = p.d AND b.account_no = i.account_no"
	    /* one pass over the open exceptions each (hash joins), not a lookup per item */
	    "   LEFT JOIN (SELECT subject, min(exception_id) AS id FROM exception WHERE status = 'OPEN'"
	    "               GROUP BY subject) bs ON bs.subject = i.item"
	    "   LEFT JOIN (SELECT 'movement:' || ledger_id AS item, min(exception_id) AS id FROM exception"
	    "               WHERE status = 'OPEN' AND type = 'AMOUNT_MISMATCH' GROUP BY ledger_id) bm ON bm.item = i.item"
	    "  WHERE b.status <> 'NO_STATEMENT'");
}

/* The BOOK_BALANCE_BREAK of one bank_rec row in `res` (a difference), with the statement's arithmetic. */
static enum perr
book_balance_break(struct recon *r, PGresult *res, int i)
{
	const char *acct = PQgetvalue(res, i, 0), *cur = PQgetvalue(res, i, 1);
	int64_t v[7];
	char subject[64], detail[1024], b[7][48];
	struct exception_rec x;
	int k;

	for (k = 0; k < 6; k++)
		if (!numeric_i64(PQgetvalue(res, i, 3 + k), &v[k]))
			return perr_set(PERR_INTERNAL, "reconcile: unexpected bank_rec row for %s", acct);
	if (!money_sub(v[4], v[5], &v[6]))
		return perr_set(PERR_MONEY_OVERFLOW, "reconcile: difference of account %s does not fit in 64 bits", acct);
	for (k = 0; k < 7; k++)
		fmt_money(cur, v[k], false, b[k], sizeof b[k]);
	/* v: bank closing, in transit, outstanding, bank items not in the books, adjusted, book */
	snprintf(subject, sizeof subject, "book:%s", acct);
	snprintf(detail, sizeof detail, "Bank reconciliation of %s on %s: balance per bank %s (statement %s)"
	    " + deposits in transit %s - outstanding payments %s - bank items not in the books %s ="
	    " adjusted bank balance %s; the book balance is %s: difference %s (adjusted bank minus book)"
	    " that no reconciling item explains.", acct, r->ctx->date_iso, b[0], PQgetvalue(res, i, 2), b[1],
	    b[2], b[3], b[4], b[5], b[6]);
	memset(&x, 0, sizeof x);
	x.type = "BOOK_BALANCE_BREAK";
	x.severity = "ERROR";
	x.subject = subject;
	x.account_no = acct;
	x.item_date = r->ctx->date_iso;
	x.has_amount = true;
	x.amount_minor = v[6];
	x.currency = cur;
	x.detail = detail;
	return exception_open(r->ctx, STAGE, &x, NULL);
}

/*
 * The bank reconciliation statement of every account for D (bank_rec, bank_rec_item), and its
 * breaks: a difference opens a BOOK_BALANCE_BREAK, an agreeing statement closes one. An account
 * without a book balance or a statement for D neither opens nor closes anything.
 */
static enum perr
bank_reconciliation(struct recon *r)
{
	PGresult *res;
	int i, n;
	enum perr e;

	if ((e = bank_rec_items(r)) != PERR_OK || (e = bank_rec_rows(r)) != PERR_OK)
		return e;
	res = db_query(r->ctx->db, PGRES_TUPLES_OK,
	    "SELECT b.account_no, b.currency, coalesce(s.statement_no, ''), b.bank_closing, b.in_transit,"
	    "       b.outstanding, b.bank_not_books, b.adjusted_bank, b.book_balance, b.status"
	    "  FROM bank_rec b JOIN recon_param p ON b.business_date = p.d"
	    "  LEFT JOIN statement s ON s.statement_id = b.statement_id"
	    " WHERE b.status IN ('AGREED', 'BREAK') ORDER BY b.account_no", 0, NULL);
	if (res == NULL)
		return PERR_DB;
	n = PQntuples(res);
	for (i = 0, e = PERR_OK; i < n && e == PERR_OK; i++) {
		char subject[64], closed_by[160];

		if (!strcmp(PQgetvalue(res, i, 9), "BREAK")) {
			e = book_balance_break(r, res, i);
			continue;
		}
		snprintf(subject, sizeof subject, "book:%s", PQgetvalue(res, i, 0));
		snprintf(closed_by, sizeof closed_by, "reconcile run %lld: the bank reconciliation agrees with the"
		    " book balance on %s", (long long)r->ctx->run_id, r->ctx->date_iso);
		e = close_types(r, subject, T_BOOK_BALANCE_BREAK, closed_by);
	}
	PQclear(res);
	return e;
}

static enum perr
statement_checks(struct recon *r)
{
	const struct config *cfg = r->cfg;
	size_t i;
	enum perr e;

	for (i = 0; i < cfg->n_sources; i++) {
		const struct source_cfg *s = &cfg->sources[i];
		const char *params[2];
		PGresult *res;
		int found, k, n;
		char subject[128], detail[512];

		if (s->account_no == NULL || !strcmp(s->format, "trustee_register"))
			continue;
		params[0] = s->account_no;
		params[1] = r->ctx->date_iso;
		res = db_query(r->ctx->db, PGRES_TUPLES_OK,
		    "SELECT count(*) FROM statement WHERE account_no = $1 AND business_date = $2::date"
		    "   AND gate <> 'NOTIFICATION'", 2, params);
		if (res == NULL)
			return PERR_DB;
		found = db_get_i64(res, 0, 0) > 0;
		PQclear(res);
		if (!found) {
			struct exception_rec x;

			snprintf(subject, sizeof subject, "statement:%s:%s", s->account_no, r->ctx->date_iso);
			snprintf(detail, sizeof detail, "No statement for account %s (source %s) was loaded for business"
			    " date %s: its lines cannot be matched and its balance cannot be checked.", s->account_no,
			    s->name, r->ctx->date_iso);
			memset(&x, 0, sizeof x);
			x.type = "STATEMENT_MISSING";
			x.severity = s->required ? "ERROR" : "WARNING";
			x.subject = subject;
			x.account_no = s->account_no;
			x.item_date = r->ctx->date_iso;
			x.detail = detail;
			if ((e = exception_open(r->ctx, STAGE, &x, NULL)) != PERR_OK)
				return e;
		}
		/* Earlier missing statements of this account that have arrived since. */
		res = db_query(r->ctx->db, PGRES_TUPLES_OK,
		    "SELECT x.subject, x.item_date FROM exception x"
		    " WHERE x.type = 'STATEMENT_MISSING' AND x.status = 'OPEN' AND x.account_no = $1"
		    "   AND x.item_date < $2::date"
		    "   AND EXISTS (SELECT 1 FROM statement s WHERE s.account_no = x.account_no"
		    "                AND s.business_date = x.item_date AND s.gate <> 'NOTIFICATION')", 2, params);
		if (res == NULL)
			return PERR_DB;
		n = PQntuples(res);
		for (k = 0; k < n; k++) {
			char closed_by[160];

			snprintf(closed_by, sizeof closed_by, "reconcile run %lld: the statement for %s has been loaded",
			    (long long)r->ctx->run_id, PQgetvalue(res, k, 1));
			if ((e = exception_close(r->ctx, "STATEMENT_MISSING", PQgetvalue(res, k, 0), closed_by))) {
				PQclear(res);
				return e;
			}
		}
		PQclear(res);
	}
	return PERR_OK;
}

static int
cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum perr
holding_checks(struct recon *r)
{
	PGresult *res;
	int i, n;
	enum perr e = PERR_OK;
	char **raised = NULL;
	size_t k;
	bool have_register;

	res = db_query(r->ctx->db, PGRES_TUPLES_OK,
	    "SELECT count(*) FROM trustee_register t, recon_param p WHERE t.business_date = p.d", 0, NULL);
	if (res == NULL)
		return PERR_DB;
	have_register = db_get_i64(res, 0, 0) > 0;
	PQclear(res);
	if (!have_register)
		return PERR_OK;
	res = db_query(r->ctx->db, PGRES_TUPLES_OK,
	    "WITH reg AS (SELECT t.register_id, t.as_of_date FROM trustee_register t, recon_param p"
	    "              WHERE t.business_date = p.d ORDER BY t.register_id DESC LIMIT 1),"
	    " tr AS (SELECT h.offering_id, h.investor_id, h.units FROM trustee_holding h"
	    "          JOIN reg ON reg.register_id = h.register_id),"
	    " lg AS (SELECT DISTINCT ON (h.offering_id, h.investor_id) h.offering_id, h.investor_id, h.units"
	    "          FROM holding h, reg WHERE h.as_of_date <= reg.as_of_date"
	    "         ORDER BY h.offering_id, h.investor_id, h.as_of_date DESC)"
	    " SELECT coalesce(tr.offering_id, lg.offering_id), coalesce(tr.investor_id, lg.investor_id),"
	    "        tr.units, lg.units, (SELECT as_of_date FROM reg)"
	    "   FROM tr FULL JOIN lg ON lg.offering_id = tr.offering_id AND lg.investor_id = tr.investor_id"
	    "  WHERE coalesce(tr.units, 0) <> coalesce(lg.units, 0)"
	    "  ORDER BY 1, 2", 0, NULL);
	if (res == NULL)
		return PERR_DB;
	n = PQntuples(res);
	raised = xcalloc((size_t)n + 1, sizeof *raised);
	for (i = 0; i < n && e == PERR_OK; i++) {
		const char *off = PQgetvalue(res, i, 0), *inv = PQgetvalue(res, i, 1), *asof = PQgetvalue(res, i, 4);
		bool t_null = PQgetisnull(res, i, 2), l_null = PQgetisnull(res, i, 3);
		int64_t tu = t_null ? 0 : db_get_i64(res, i, 2), lu = l_null ? 0 : db_get_i64(res, i, 3);
		char detail[512], closed_by[160], *subject;
		struct exception_rec x;
		unsigned bit;

		subject = raised[i] = xasprintf("holding:%s:%s", off, inv);
		memset(&x, 0, sizeof x);
		if (tu == 0) {
			x.type = "HOLDING_MISSING_AT_TRUSTEE";
			bit = T_HOLDING_MISSING_AT_TRUSTEE;
			snprintf(detail, sizeof detail, "The ledger holds %lld units of %s for investor %s as of %s, but"
			    " the trustee's register of that date shows none.", (long long)lu, off, inv, asof);
		} else if (lu == 0) {
			x.type = "HOLDING_MISSING_IN_LEDGER";
			bit = T_HOLDING_MISSING_IN_LEDGER;
			snprintf(detail, sizeof detail, "The trustee's register as of %s shows %lld units of %s for"
			    " investor %s, but the ledger holds none.", asof, (long long)tu, off, inv);
		} else {
			x.type = "HOLDING_MISMATCH";
			bit = T_HOLDING_MISMATCH;
			snprintf(detail, sizeof detail, "The trustee's register as of %s shows %lld units of %s for"
			    " investor %s; the ledger holds %lld (register minus ledger: %lld).", asof, (long long)tu,
			    off, inv, (long long)lu, (long long)(tu - lu));
		}
		x.severity = "ERROR";
		x.subject = subject;
		x.item_date = asof;
		x.reference = off;
		x.ledger_id = inv;
		x.detail = detail;
		snprintf(closed_by, sizeof closed_by, "reconcile run %lld: now %s", (long long)r->ctx->run_id, x.type);
		if ((e = close_types(r, subject, HOLDING_TYPES & ~bit, closed_by)) == PERR_OK)
			e = exception_open(r->ctx, STAGE, &x, NULL);
	}
	PQclear(res);
	/* The query's order is the database's collation; bsearch needs strcmp's. */
	if (e == PERR_OK)
		qsort(raised, (size_t)n, sizeof *raised, cmp_cstr);
	/* Carried holding breaks that the register now agrees with. */
	for (k = 0; k < r->n_open && e == PERR_OK; k++) {
		char closed_by[160];

		if (!(r->open[k].mask & HOLDING_TYPES) ||
		    bsearch(&r->open[k].subject, raised, (size_t)n, sizeof *raised, cmp_cstr) != NULL)
			continue;
		snprintf(closed_by, sizeof closed_by, "reconcile run %lld: the trustee register of %s agrees",
		    (long long)r->ctx->run_id, r->ctx->date_iso);
		e = close_types(r, r->open[k].subject, HOLDING_TYPES, closed_by);
	}
	for (i = 0; i < n; i++)
		free(raised[i]);
	free(raised);
	return e;
}

/* The stage's progress on a terminal, one unit per step below (NULL when not a terminal). */
#define RECON_STEPS 11
static struct progress_bar *steps_bar;
static int steps_done;

/*
 * Logs (at debug level, -v) how long a step took: where the time of a large night goes; and
 * moves the progress bar on by one step.
 */
static void
step_time(const char *step, int64_t *t)
{
	char ms[24];
	int64_t now = now_ms();

	progress_bar_update(steps_bar, ++steps_done);
	snprintf(ms, sizeof ms, "%lld", (long long)(now - *t));
	log_event(LOG_DEBUG, STAGE, "step done", "step", step, "ms", ms, (const char *)NULL);
	*t = now;
}

static void
recon_free(struct recon *r)
{
	size_t i;

	match_result_free(&r->res);
	match_pool_free(&r->pool);
	free(r->lines);
	free(r->movs);
	for (i = 0; i < r->n_open; i++)
		free(r->open[i].subject);
	free(r->open);
	free(r->exc.b);
}

enum perr
stage_reconcile(struct stage_ctx *ctx)
{
	struct recon r;
	enum perr e;
	int64_t t0 = now_ms(), t_read, t_match, t_write, ts;
	char n1[24], n2[24], n3[24], n4[24], n5[80];

	memset(&r, 0, sizeof r);
	r.ctx = ctx;
	r.cfg = ctx->cfg;
	match_pool_init(&r.pool);
	r.prm.window_days = r.cfg->match_window_days;
	r.prm.rule_reference = r.cfg->rule_reference;
	r.prm.rule_batch = r.cfg->rule_batch;
	r.prm.rule_amount_date = r.cfg->rule_amount_date;
	r.prm.calendar = &r.cfg->calendar;
	r.cutoff = calendar_add_business_days(&r.cfg->calendar, ctx->date, r.prm.window_days);
	date_format_iso(r.cutoff, r.cutoff_iso);

	steps_done = 0;
	steps_bar = progress_bar_start("reconcile", RECON_STEPS, PROGRESS_ITEMS);
	if ((e = db_begin(ctx->db)) != PERR_OK)
		goto out;
	/* Hash joins over a night's lines and movements: give them memory for this transaction only. */
	if ((e = db_exec(ctx->db, "SET LOCAL work_mem = '64MB'")) != PERR_OK)
		goto fail;
	ts = t0;
	if ((e = undo_date(&r)) != PERR_OK)
		goto fail;
	step_time("undo this date", &ts);
	if ((e = notification_cover(&r)) != PERR_OK)
		goto fail;
	if ((e = read_candidates(&r)) != PERR_OK)
		goto fail;
	step_time("read candidates", &ts);
	/* Interning is over: drop the pool's lookup table and the arrays' spare capacity. */
	match_pool_freeze(&r.pool);
	if (r.nl > 0 && r.capl > r.nl) {
		r.lines = xrealloc(r.lines, r.nl * sizeof *r.lines);
		r.capl = r.nl;
	}
	if (r.nm > 0 && r.capm > r.nm) {
		r.movs = xrealloc(r.movs, r.nm * sizeof *r.movs);
		r.capm = r.nm;
	}
	t_read = now_ms();
	ctx->rows_in = (int64_t)(r.nl + r.nm);
	if ((e = match_run(&r.pool, r.lines, r.nl, r.movs, r.nm, &r.prm, &r.res)) != PERR_OK)
		goto fail;
	t_match = now_ms();
	step_time("match", &ts);
	ts = t_match;
	if ((e = write_matches(&r)) != PERR_OK)
		goto fail;
	step_time("write matches", &ts);
	ctx->rows_out = (int64_t)r.res.n_matches;
	if ((e = load_open_exceptions(&r)) != PERR_OK)
		goto fail;
	if ((e = line_exceptions(&r)) != PERR_OK || (e = movement_exceptions(&r)) != PERR_OK
	    || (e = notification_close(&r)) != PERR_OK)
		goto fail;
	step_time("close and queue exceptions", &ts);
	if ((e = flush_exceptions(&r)) != PERR_OK)
		goto fail;
	step_time("open exceptions", &ts);
	if ((e = continuity_checks(&r)) != PERR_OK)
		goto fail;
	step_time("statement continuity", &ts);
	if ((e = statement_checks(&r)) != PERR_OK || (e = holding_checks(&r)) != PERR_OK)
		goto fail;
	step_time("statement and holding checks", &ts);
	if ((e = record_config(&r)) != PERR_OK)
		goto fail;
	/* After record_config: the items' ages count business days with this run's holidays. */
	if ((e = bank_reconciliation(&r)) != PERR_OK)
		goto fail;
	step_time("bank reconciliation", &ts);
	if ((e = db_commit(ctx->db)) != PERR_OK)
		goto out;
	step_time("commit", &ts);
	t_write = now_ms();
	snprintf(n1, sizeof n1, "%zu", r.nl);
	snprintf(n2, sizeof n2, "%zu", r.nm);
	snprintf(n3, sizeof n3, "%zu", r.res.n_matches);
	snprintf(n4, sizeof n4, "%lld", (long long)ctx->exceptions);
	snprintf(n5, sizeof n5, "read=%lld,match=%lld,write=%lld", (long long)(t_read - t0), (long long)(t_match - t_read),
	    (long long)(t_write - t_match));
	progress_bar_update(steps_bar, RECON_STEPS);
	progress_bar_end(steps_bar);
	steps_bar = NULL;
	log_event(LOG_INFO, STAGE, "reconciled", "lines", n1, "movements", n2, "matches", n3,
	    "exceptions_opened", n4, "ms", n5, (const char *)NULL);
	goto out;
fail:
	db_rollback(ctx->db);
out:
	progress_bar_end(steps_bar);
	steps_bar = NULL;
	recon_free(&r);
	return e;
}
