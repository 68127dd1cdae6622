/*
 * settle.c - the settle stage: closes the offerings whose subscription period has ended, allocates
 * DABS units (engine/allocate.h states the rule), refunds the excess, instructs the bank to pay the
 * proceeds to the trustee and the fee to the operating account (pain.001 payment files), and sends
 * the trustee the DABS issuance records - each exactly once.
 *
 * EXACTLY ONCE. The database is the source of truth and everything has a deterministic id:
 *   transfers   "TRF-<offering>-PROCEEDS", "TRF-<offering>-FEE"     (unique (offering, purpose))
 *   issuance    "ISS-<offering>-<investor>"                          (unique (offering, investor))
 *   journal     txn_key "SETTLE:<offering>:CLOSE:<investor>", "SETTLE:<offering>:REFUND:<investor>",
 *               "TRANSFER:<transfer id>"
 *   movements   "<transfer id>-DR" (client money), "<transfer id>-CR" (receiving account)
 *   files       pain001-<YYYYMMDD>-<NN>.xml (msg id DABS-PAY-<YYYYMMDD>-<NN>),
 *               issuance-<YYYYMMDD>-<NN>.csv (msg id DABS-ISS-<YYYYMMDD>-<NN>)
 * The order of work, each step finishing what an interrupted earlier run left:
 *   A. per offering, ONE transaction (each table's rows in one INSERT ... FROM unnest): allocation
 *      rows, offering_settlement, balanced journal postings, transfers (READY, or AWAITING_APPROVAL above the four-eyes limit), issuance rows,
 *      holdings; conservation checked in C and again in SQL before COMMIT. An offering with an
 *      offering_settlement row is never allocated again (not even with --force).
 *   B. one transaction per kind: the READY transfers are put into a new payment file (outbound_file
 *      row with its message id and creation time fixed now; transfers FILED; their cash movements
 *      expected on the next business day); the issuance rows of offerings whose transfers are all
 *      filed go into a new issuance file.
 *   C. for every outbound file not yet recorded as uploaded: its bytes are re-created from the rows
 *      (a rerun gives the same bytes; a stored SHA-256 proves it), written atomically under
 *      <data_dir>/outbox/<date>/, uploaded with transport_put (same name and content on the server:
 *      no-op; different: PERR_REMOTE_CONFLICT, never overwritten), and the upload recorded
 *      (outbound_file.uploaded_at, transfers UPLOADED).
 * Before A, the bank's answers are applied (engine/payment_status.h: pain.002 statuses and the
 * statement's debits move transfers UPLOADED -> ACCEPTED -> SETTLED or -> REJECTED).
 * A process killed anywhere leaves a state from which the next run (or `settle --force`) finishes.
 * Test-only fault hook: PIPELINE_FAULT=settle:rows_committed|file_written|file_uploaded|upload_recorded
 * raises SIGKILL right after that point is first reached.
 *
 * JOURNAL (amounts signed, debit positive, credit negative; every txn sums to zero), one CLOSE and
 * one REFUND transaction per investor (an investor's subscriptions summed) - small transactions,
 * because the database's balance trigger re-sums a transaction for each of its postings:
 *   CLOSE     WALLET:<investor> +subscribed money          ESCROW:<offering> -the same
 *   REFUND    ESCROW:<offering> +refund                    WALLET:<investor> -refund
 *   PROCEEDS  ESCROW:<offering> +proceeds                  BANK:<client money> -proceeds
 *   FEE       ESCROW:<offering> +fee, FEES -fee, BANK:<operating> +fee, BANK:<client money> -fee
 * so the escrow of a settled offering nets to exactly zero (checked before COMMIT).
 *
 * HOLDINGS: the trustee registers the units the business day after settlement, so the holding rows
 * (origin SETTLE) are dated as_of_date = the next business day after the settle date, and carry the
 * investor's previous holding of the offering plus the allocated units.
 *
 * FOUR EYES: a transfer above [settle] four_eyes_limit (or in a currency other than the limit's,
 * which cannot be compared) waits as AWAITING_APPROVAL, in no file, until `pipeline approve`; the
 * offering's issuance records wait with it (units are issued once the money is instructed).
 *
 * BROKEN ACCOUNTS: unless [settle] pay_despite_breaks, nothing is paid out of an account whose
 * statement for the date failed the completeness gate (statement.gate BALANCE_BREAK, a file of its
 * source QUARANTINED on the date or an open FILE_QUARANTINED exception for it) or that has an open
 * STATEMENT_CONTINUITY_BREAK or BOOK_BALANCE_BREAK exception (reconcile: the statements are not
 * whole, or the bank does not reconcile to the books). An offering that would pay from it is not settled today (a FAILED
 * offering pays nothing and still settles); an approved transfer is not filed. Either way a
 * SETTLEMENT_BLOCKED exception (subject "offering:<id>" / "transfer:<id>") and a log line say why,
 * and the stage carries on with the other offerings. The exception closes when the work is done.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "allocate.h"
#include "db.h"
#include "exceptions.h"
#include "issuance_file.h"
#include "log.h"
#include "money.h"
#include "pain001.h"
#include "payment_status.h"
#include "stage.h"
#include "transport.h"
#include "util.h"

#define STAGE "settle"

/* ---- small helpers ---- */

static void
fault_point(const char *point)
{
	const char *f = getenv("PIPELINE_FAULT");

	if (f && strncmp(f, "settle:", 7) == 0 && strcmp(f + 7, point) == 0) {
		log_event(LOG_WARN, STAGE, "fault injection: killing the process", "point", point,
		    (const char *)NULL);
		raise(SIGKILL);
	}
}

static const char *
i64s(int64_t v, char buf[24])
{
	snprintf(buf, 24, "%lld", (long long)v);
	return buf;
}

static int64_t
parse_i64(const char *s)
{
	return strtoll(s, NULL, 10);
}

/* "YYYYMMDD" from "YYYY-MM-DD". */
static void
compact_date(const char *iso, char out[9])
{
	memcpy(out, iso, 4);
	memcpy(out + 4, iso + 5, 2);
	memcpy(out + 6, iso + 8, 2);
	out[8] = '\0';
}

/* Where an endpoint delivers to, for outbound_file.destination. Caller frees. */
static char *
endpoint_describe(const struct endpoint_cfg *ep)
{
	if (ep->transport == TRANSPORT_SFTP)
		return xasprintf("sftp://%s@%s:%d%s%s", ep->user ? ep->user : "", ep->host ? ep->host : "",
		    ep->port, (ep->remote_dir && ep->remote_dir[0] == '/') ? "" : "/",
		    ep->remote_dir ? ep->remote_dir : "");
	return xasprintf("dir:%s", ep->remote_dir ? ep->remote_dir : "");
}

/*
 * PostgreSQL array literals ("{\"a\",\"b\"}", "{1,2}") built in memory, so that a table gets its
 * rows in one INSERT ... SELECT FROM unnest($n::text[], ...) instead of one round trip per row.
 */
struct pgarr {
	char *buf;
	size_t len, cap, n;
};

static void
pgarr_init(struct pgarr *a)
{
	a->cap = 64;
	a->buf = xmalloc(a->cap);
	a->buf[0] = '{';
	a->buf[1] = '\0';
	a->len = 1;
	a->n = 0;
}

static void
pgarr_reserve(struct pgarr *a, size_t more)
{
	if (a->len + more + 2 > a->cap) {
		while (a->len + more + 2 > a->cap)
			a->cap *= 2;
		a->buf = xrealloc(a->buf, a->cap);
	}
}

static void
pgarr_text(struct pgarr *a, const char *v)
{
	pgarr_reserve(a, 2 * strlen(v) + 3);
	if (a->n++)
		a->buf[a->len++] = ',';
	a->buf[a->len++] = '"';
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			a->buf[a->len++] = '\\';
		a->buf[a->len++] = *v;
	}
	a->buf[a->len++] = '"';
	a->buf[a->len] = '\0';
}

static void
pgarr_i64(struct pgarr *a, int64_t v)
{
	pgarr_reserve(a, 24);
	a->len += (size_t)snprintf(a->buf + a->len, 24, "%s%lld", a->n++ ? "," : "", (long long)v);
}

/* The finished literal; the array takes no more elements after this. Owned by a. */
static const char *
pgarr_str(struct pgarr *a)
{
	if (a->buf[a->len - 1] != '}' || a->len == 1) {
		pgarr_reserve(a, 1);
		a->buf[a->len++] = '}';
		a->buf[a->len] = '\0';
	}
	return a->buf;
}

static void
pgarr_free(struct pgarr *a)
{
	free(a->buf);
	a->buf = NULL;
}

/* ---- the account gate ---- */

/*
 * Decides whether money may leave `account` on ctx->date. *why is NULL if it may, else a sentence
 * saying why not (caller frees). With pay_despite_breaks the answer is always yes.
 */
static enum perr
account_blocked(struct stage_ctx *ctx, const char *account, char **why)
{
	struct pgarr arr;
	const char *params[3];
	PGresult *res;
	int64_t gate, ledger_break, quarantined_exc, quarantined_load;

	*why = NULL;
	if (ctx->cfg->pay_despite_breaks)
		return PERR_OK;
	pgarr_init(&arr);
	for (size_t i = 0; i < ctx->cfg->n_sources; i++)
		if (ctx->cfg->sources[i].account_no && strcmp(ctx->cfg->sources[i].account_no, account) == 0)
			pgarr_text(&arr, ctx->cfg->sources[i].name);
	params[0] = account;
	params[1] = ctx->date_iso;
	params[2] = pgarr_str(&arr);
	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT"
	    " (SELECT count(*) FROM statement WHERE account_no = $1 AND business_date = $2::date"
	    "     AND gate = 'BALANCE_BREAK')"
	    " + (SELECT count(*) FROM exception WHERE status = 'OPEN' AND type = 'BALANCE_BREAK'"
	    "     AND account_no = $1 AND opened_date = $2::date),"
	    " (SELECT count(*) FROM exception WHERE status = 'OPEN' AND type IN ('STATEMENT_CONTINUITY_BREAK', 'BOOK_BALANCE_BREAK')"
	    "     AND account_no = $1),"
	    " (SELECT count(*) FROM exception e WHERE e.status = 'OPEN' AND e.type = 'FILE_QUARANTINED'"
	    "     AND (e.account_no = $1 OR e.subject IN (SELECT 'file:' || f.file_id FROM fetched_file f"
	    "                                            WHERE f.source = ANY ($3::text[])))),"
	    " (SELECT count(*) FROM file_load l JOIN fetched_file f USING (file_id)"
	    "     WHERE l.status = 'QUARANTINED' AND l.business_date = $2::date"
	    "       AND f.source = ANY ($3::text[]))",
	    3, params);
	pgarr_free(&arr);
	if (res == NULL)
		return PERR_DB;
	gate = db_get_i64(res, 0, 0);
	ledger_break = db_get_i64(res, 0, 1);
	quarantined_exc = db_get_i64(res, 0, 2);
	quarantined_load = db_get_i64(res, 0, 3);
	PQclear(res);
	if (gate > 0)
		*why = xasprintf("the statement of account %s for %s failed the completeness gate "
		    "(opening balance + lines != closing balance)", account, ctx->date_iso);
	else if (quarantined_load > 0 || quarantined_exc > 0)
		*why = xasprintf("a statement file of account %s was quarantined and is not resolved", account);
	else if (ledger_break > 0)
		*why = xasprintf("account %s has an unresolved STATEMENT_CONTINUITY_BREAK or BOOK_BALANCE_BREAK", account);
	return PERR_OK;
}

/* Opens (or carries) a SETTLEMENT_BLOCKED exception and logs the refusal. */
static enum perr
raise_blocked(struct stage_ctx *ctx, const char *subject, const char *account, const char *ref,
    int64_t amount, const char *currency, const char *why)
{
	struct exception_rec e;
	char *detail = xasprintf("Payment refused: %s. Nothing is paid out of this account until the "
	    "break is resolved (or [settle] pay_despite_breaks is set); the next settle run retries.", why);
	enum perr rc;

	memset(&e, 0, sizeof e);
	e.type = "SETTLEMENT_BLOCKED";
	e.severity = "ERROR";
	e.subject = subject;
	e.account_no = account;
	e.item_date = ctx->date_iso;
	e.has_amount = amount > 0;
	e.amount_minor = amount;
	e.currency = currency;
	e.reference = ref;
	e.detail = detail;
	log_event(LOG_WARN, STAGE, "payment refused", "subject", subject, "account", account,
	    "why", why, (const char *)NULL);
	rc = exception_open(ctx, STAGE, &e, NULL);
	free(detail);
	return rc;
}

/* ---- A. settling one offering ---- */

struct sub_row {
	char *subscription_id;
	char *investor_id;
};

struct posting {
	char *account;      /* owned */
	int64_t amount;
};

/* Inserts a journal transaction and its non-zero postings (which must sum to zero). */
static enum perr
journal_post(struct stage_ctx *ctx, const char *key, const char *kind, const char *desc,
    const char *currency, const struct posting *p, size_t n)
{
	__int128 sum = 0;
	const char *params[5];
	char txn[24], amt[24];
	PGresult *res;

	for (size_t i = 0; i < n; i++)
		sum += p[i].amount;
	if (sum != 0)
		return perr_set(PERR_CONSERVATION, "journal %s: postings sum to %lld, expected 0", key,
		    (long long)sum);
	params[0] = key;
	params[1] = ctx->date_iso;
	params[2] = kind;
	params[3] = desc;
	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "INSERT INTO journal_txn (txn_key, business_date, kind, description)"
	    " VALUES ($1, $2::date, $3, $4) RETURNING txn_id", 4, params);
	if (res == NULL)
		return PERR_DB;
	snprintf(txn, sizeof txn, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	for (size_t i = 0; i < n; i++) {
		if (p[i].amount == 0)
			continue;
		params[0] = txn;
		params[1] = p[i].account;
		params[2] = currency;
		params[3] = i64s(p[i].amount, amt);
		if (db_command(ctx->db,
		    "INSERT INTO journal_posting (txn_id, ledger_account, currency, amount_minor)"
		    " VALUES ($1::bigint, $2, $3, $4::bigint)", 4, params) != PERR_OK)
			return PERR_DB;
		ctx->rows_out++;
	}
	return PERR_OK;
}

/*
 * Inserts many journal transactions at once: keys/descs name the transactions, pkeys/accts/amts
 * their postings (pkeys says which transaction each belongs to; none may be zero). Two statements
 * whatever the count. The database checks every transaction balances at COMMIT.
 */
static enum perr
journal_post_batch(struct stage_ctx *ctx, const char *kind, const char *currency, struct pgarr *keys,
    struct pgarr *descs, struct pgarr *pkeys, struct pgarr *accts, struct pgarr *amts, int64_t n_post)
{
	const char *params[8];
	PGresult *res;
	int64_t got;

	params[0] = ctx->date_iso;
	params[1] = kind;
	params[2] = pgarr_str(keys);
	params[3] = pgarr_str(descs);
	params[4] = currency;
	params[5] = pgarr_str(pkeys);
	params[6] = pgarr_str(accts);
	params[7] = pgarr_str(amts);
	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "WITH t AS (INSERT INTO journal_txn (txn_key, business_date, kind, description)"
	    "           SELECT u.k, $1::date, $2, u.d FROM unnest($3::text[], $4::text[]) AS u(k, d)"
	    "           RETURNING txn_id, txn_key),"
	    "     p AS (INSERT INTO journal_posting (txn_id, ledger_account, currency, amount_minor)"
	    "           SELECT t.txn_id, q.a, $5, q.m"
	    "             FROM unnest($6::text[], $7::text[], $8::bigint[]) AS q(k, a, m)"
	    "             JOIN t ON t.txn_key = q.k"
	    "           RETURNING 1)"
	    " SELECT count(*) FROM p", 8, params);
	if (res == NULL)
		return PERR_DB;
	got = db_get_i64(res, 0, 0);
	PQclear(res);
	if (got != n_post)
		return perr_set(PERR_INTERNAL, "journal %s: %lld postings written, %lld expected", kind,
		    (long long)got, (long long)n_post);
	ctx->rows_out += got;
	return PERR_OK;
}

struct offering_info {
	char currency[4];
	int64_t unit_price;
	int64_t units_offered;
	int64_t min_units;
	char settlement_date[DATE_BUFSZ];
	int fee_bps;
	char *trustee_account;
	bool settled;
};

/* Inserts one transfer, its journal transaction, and returns whether it waits for approval. */
static enum perr
create_transfer(struct stage_ctx *ctx, const char *oid, const char *purpose, const char *to,
    int64_t amount, const char *currency)
{
	const struct config *cfg = ctx->cfg;
	char *id = xasprintf("TRF-%s-%s", oid, purpose), *key = xasprintf("TRANSFER:%s", id), *desc;
	bool hold = cfg->four_eyes_limit_minor != INT64_MAX &&
	    (amount > cfg->four_eyes_limit_minor ||
	     (cfg->four_eyes_currency && strcmp(cfg->four_eyes_currency, currency) != 0));
	const char *params[9];
	char amt[24];
	struct posting p[4];
	size_t np = 0;
	enum perr rc;

	params[0] = id;
	params[1] = oid;
	params[2] = purpose;
	params[3] = cfg->client_money_account;
	params[4] = to;
	params[5] = i64s(amount, amt);
	params[6] = currency;
	params[7] = ctx->date_iso;
	params[8] = ctx->operator_name ? ctx->operator_name : "scheduler";
	if (db_command(ctx->db,
	    hold ? "INSERT INTO transfer (transfer_id, offering_id, purpose, from_account, to_account,"
		   " amount_minor, currency, business_date, status, created_by)"
		   " VALUES ($1, $2, $3, $4, $5, $6::bigint, $7, $8::date, 'AWAITING_APPROVAL', $9)"
		 : "INSERT INTO transfer (transfer_id, offering_id, purpose, from_account, to_account,"
		   " amount_minor, currency, business_date, status, created_by)"
		   " VALUES ($1, $2, $3, $4, $5, $6::bigint, $7, $8::date, 'READY', $9)",
	    9, params) != PERR_OK) {
		free(id);
		free(key);
		return PERR_DB;
	}
	ctx->rows_out++;
	p[np].account = xasprintf("ESCROW:%s", oid);
	p[np++].amount = amount;
	if (strcmp(purpose, "FEE") == 0) {
		p[np].account = xstrdup("FEES");
		p[np++].amount = -amount;
		p[np].account = xasprintf("BANK:%s", to);
		p[np++].amount = amount;
	}
	p[np].account = xasprintf("BANK:%s", cfg->client_money_account);
	p[np++].amount = -amount;
	desc = xasprintf("%s of offering %s: %s to %s", strcmp(purpose, "FEE") ? "Proceeds" : "Platform fee",
	    oid, cfg->client_money_account, to);
	rc = journal_post(ctx, key, purpose, desc, currency, p, np);
	for (size_t i = 0; i < np; i++)
		free(p[i].account);
	if (rc == PERR_OK && hold) {
		char buf[MONEY_BUFSZ];
		const struct currency *c = currency_find(currency);

		log_event(LOG_WARN, STAGE, "transfer held for four-eyes approval", "transfer", id,
		    "amount", money_format(amount, c ? c->exponent : 2, buf), "currency", currency,
		    "approve_with", "pipeline approve TRANSFER_ID --by NAME", (const char *)NULL);
	}
	free(desc);
	free(id);
	free(key);
	return rc;
}

static enum perr
load_offering(struct stage_ctx *ctx, const char *oid, struct offering_info *o)
{
	const char *params[1] = { oid };
	PGresult *res;

	/*
	 * One settlement of an offering at a time, until commit. An advisory lock rather than FOR UPDATE:
	 * the nightly role may not update the ledger's offerings, and FOR UPDATE needs that privilege.
	 */
	res = db_query(ctx->db, PGRES_TUPLES_OK, "SELECT pg_advisory_xact_lock(1885958248, hashtext($1))",
	    1, params);
	if (res == NULL)
		return PERR_DB;
	PQclear(res);
	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT o.currency, o.unit_price_minor, o.units_offered, o.min_units,"
	    "       to_char(o.settlement_date, 'YYYY-MM-DD'), o.fee_bps, o.trustee_account_no,"
	    "       EXISTS (SELECT 1 FROM offering_settlement s WHERE s.offering_id = o.offering_id)"
	    "  FROM offering o WHERE o.offering_id = $1", 1, params);
	if (res == NULL)
		return PERR_DB;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return perr_set(PERR_NOT_FOUND, "offering %s does not exist", oid);
	}
	snprintf(o->currency, sizeof o->currency, "%s", PQgetvalue(res, 0, 0));
	o->unit_price = db_get_i64(res, 0, 1);
	o->units_offered = db_get_i64(res, 0, 2);
	o->min_units = db_get_i64(res, 0, 3);
	snprintf(o->settlement_date, sizeof o->settlement_date, "%s", PQgetvalue(res, 0, 4));
	o->fee_bps = (int)db_get_i64(res, 0, 5);
	o->trustee_account = xstrdup(PQgetvalue(res, 0, 6));
	o->settled = PQgetvalue(res, 0, 7)[0] == 't';
	PQclear(res);
	return PERR_OK;
}

/* The accounts money moves between must exist and hold the offering's currency. */
static enum perr
check_accounts(struct stage_ctx *ctx, const char *oid, const struct offering_info *o)
{
	const char *accts[3] = { ctx->cfg->client_money_account, ctx->cfg->operating_account,
	    o->trustee_account };
	const char *role[3] = { "client money ([accounts] client_money)", "operating ([accounts] operating)",
	    "trustee (offering.trustee_account_no)" };

	for (int i = 0; i < 3; i++) {
		const char *params[1] = { accts[i] };
		PGresult *res;

		if (accts[i] == NULL || accts[i][0] == '\0')
			return perr_set(PERR_CONFIG, "%s: the %s account is not configured", oid, role[i]);
		res = db_query(ctx->db, PGRES_TUPLES_OK,
		    "SELECT currency FROM bank_account WHERE account_no = $1", 1, params);
		if (res == NULL)
			return PERR_DB;
		if (PQntuples(res) != 1) {
			PQclear(res);
			return perr_set(PERR_NOT_FOUND, "%s: the %s account %s is not in the ledger's bank accounts",
			    oid, role[i], accts[i]);
		}
		if (strcmp(PQgetvalue(res, 0, 0), o->currency) != 0) {
			perr_set(PERR_CURRENCY, "%s: the %s account %s holds %s, the offering is in %s", oid,
			    role[i], accts[i], PQgetvalue(res, 0, 0), o->currency);
			PQclear(res);
			return PERR_CURRENCY;
		}
		PQclear(res);
	}
	return PERR_OK;
}

/* Index order of subscriptions by investor (for per-investor sums). */
static const struct sub_row *sort_rows;
static int
by_investor(const void *a, const void *b)
{
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	int c = strcmp(sort_rows[ia].investor_id, sort_rows[ib].investor_id);

	return c ? c : strcmp(sort_rows[ia].subscription_id, sort_rows[ib].subscription_id);
}

/*
 * Settles one offering in one transaction (see the top of the file). *blocked says it was refused
 * because of a broken account (not an error). Returns an error with nothing of the offering
 * committed.
 */
static enum perr
settle_offering(struct stage_ctx *ctx, const char *oid, date_t holding_date, bool *blocked)
{
	const struct config *cfg = ctx->cfg;
	struct offering_info o;
	struct sub_row *rows = NULL;
	struct alloc_sub *subs = NULL;
	size_t n = 0, *order = NULL;
	struct alloc_result ar;
	struct alloc_money am;
	const char *params[10];
	char b[10][24], hold_iso[DATE_BUFSZ], *why = NULL;
	PGresult *res = NULL;
	enum perr rc;

	*blocked = false;
	memset(&o, 0, sizeof o);
	date_format_iso(holding_date, hold_iso);
	if ((rc = db_begin(ctx->db)) != PERR_OK)
		return rc;
	if ((rc = load_offering(ctx, oid, &o)) != PERR_OK)
		goto out;
	if (o.settled) {         /* settled meanwhile: never allocate twice */
		db_rollback(ctx->db);
		free(o.trustee_account);
		return PERR_OK;
	}

	params[0] = oid;
	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT subscription_id, investor_id, units,"
	    "       (extract(epoch FROM subscribed_at) * 1000000)::bigint"
	    "  FROM subscription WHERE offering_id = $1 AND status = 'ACTIVE'"
	    " ORDER BY subscription_id", 1, params);
	if (res == NULL) {
		rc = PERR_DB;
		goto out;
	}
	n = (size_t)PQntuples(res);
	rows = xcalloc(n ? n : 1, sizeof *rows);
	subs = xcalloc(n ? n : 1, sizeof *subs);
	order = xcalloc(n ? n : 1, sizeof *order);
	for (size_t i = 0; i < n; i++) {
		rows[i].subscription_id = xstrdup(PQgetvalue(res, (int)i, 0));
		rows[i].investor_id = xstrdup(PQgetvalue(res, (int)i, 1));
		subs[i].subscription_id = rows[i].subscription_id;
		subs[i].requested = db_get_i64(res, (int)i, 2);
		subs[i].subscribed_at_us = db_get_i64(res, (int)i, 3);
		order[i] = i;
	}
	PQclear(res);
	res = NULL;
	ctx->rows_in += (int64_t)n;

	if ((rc = allocate(subs, n, o.units_offered, o.min_units, &ar)) != PERR_OK ||
	    (rc = alloc_money(subs, n, &ar, o.unit_price, o.fee_bps, &am)) != PERR_OK ||
	    (rc = alloc_money_check(oid, subs, n, &ar, o.units_offered, o.unit_price, &am)) != PERR_OK) {
		if (rc != PERR_CONSERVATION) {
			char d[1024];

			snprintf(d, sizeof d, "%s", perr_detail());
			perr_set(rc, "%s: %s", oid, d);
		}
		goto out;
	}

	if (am.gross_minor > 0) {
		if ((rc = check_accounts(ctx, oid, &o)) != PERR_OK)
			goto out;
		if ((rc = account_blocked(ctx, cfg->client_money_account, &why)) != PERR_OK)
			goto out;
		if (why != NULL) {
			char *subject = xasprintf("offering:%s", oid), *full;

			db_rollback(ctx->db);
			full = xasprintf("offering %s was not settled: %s", oid, why);
			if ((rc = db_begin(ctx->db)) == PERR_OK &&
			    (rc = raise_blocked(ctx, subject, cfg->client_money_account, oid, am.gross_minor,
			    o.currency, full)) == PERR_OK)
				rc = db_commit(ctx->db);
			free(subject);
			free(full);
			*blocked = true;
			goto out;
		}
	}

	/* allocations: one statement for all */
	{
		struct pgarr sid, inv, req, alo, ref;

		pgarr_init(&sid);
		pgarr_init(&inv);
		pgarr_init(&req);
		pgarr_init(&alo);
		pgarr_init(&ref);
		for (size_t i = 0; i < n; i++) {
			pgarr_text(&sid, rows[i].subscription_id);
			pgarr_text(&inv, rows[i].investor_id);
			pgarr_i64(&req, subs[i].requested);
			pgarr_i64(&alo, subs[i].allocated);
			pgarr_i64(&ref, subs[i].refund_minor);
		}
		params[0] = oid;
		params[1] = ctx->date_iso;
		params[2] = i64s(ctx->run_id, b[0]);
		params[3] = pgarr_str(&sid);
		params[4] = pgarr_str(&inv);
		params[5] = pgarr_str(&req);
		params[6] = pgarr_str(&alo);
		params[7] = pgarr_str(&ref);
		rc = db_command(ctx->db,
		    "INSERT INTO allocation (subscription_id, offering_id, investor_id, requested_units,"
		    "  allocated_units, refund_minor, business_date, run_id)"
		    " SELECT u.s, $1, u.i, u.r, u.a, u.f, $2::date, $3::bigint"
		    "   FROM unnest($4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[])"
		    "        AS u(s, i, r, a, f)", 8, params);
		pgarr_free(&sid);
		pgarr_free(&inv);
		pgarr_free(&req);
		pgarr_free(&alo);
		pgarr_free(&ref);
		if (rc != PERR_OK)
			goto out;
		ctx->rows_out += (int64_t)n;
	}
	params[0] = oid;
	params[1] = alloc_outcome_name(ar.outcome);
	params[2] = i64s(ar.requested_total, b[0]);
	params[3] = i64s(ar.allocated_total, b[1]);
	params[4] = i64s(am.gross_minor, b[2]);
	params[5] = i64s(am.fee_minor, b[3]);
	params[6] = i64s(am.proceeds_minor, b[4]);
	params[7] = i64s(am.refunded_minor, b[5]);
	params[8] = ctx->date_iso;
	params[9] = i64s(ctx->run_id, b[6]);
	if ((rc = db_command(ctx->db,
	    "INSERT INTO offering_settlement (offering_id, outcome, requested_units, allocated_units,"
	    "  gross_minor, fee_minor, proceeds_minor, refunded_minor, business_date, run_id)"
	    " VALUES ($1, $2, $3::bigint, $4::bigint, $5::bigint, $6::bigint, $7::bigint, $8::bigint,"
	    "  $9::date, $10::bigint)", 10, params)) != PERR_OK)
		goto out;
	ctx->rows_out++;

	/*
	 * Per investor (an investor's subscriptions summed): the CLOSE and REFUND journal transactions,
	 * two postings each (one small transaction per investor keeps the database's balance check
	 * linear), the issuance record and the holding.
	 */
	sort_rows = rows;
	qsort(order, n, sizeof *order, by_investor);
	{
		struct pgarr c_key, c_desc, c_pkey, c_acct, c_amt;     /* CLOSE */
		struct pgarr r_key, r_desc, r_pkey, r_acct, r_amt;     /* REFUND */
		struct pgarr i_inv, i_units;                           /* issuance and holdings */
		char *escrow = xasprintf("ESCROW:%s", oid);
		int64_t n_close = 0, n_refund = 0, n_issue = 0;

		pgarr_init(&c_key); pgarr_init(&c_desc); pgarr_init(&c_pkey); pgarr_init(&c_acct); pgarr_init(&c_amt);
		pgarr_init(&r_key); pgarr_init(&r_desc); pgarr_init(&r_pkey); pgarr_init(&r_acct); pgarr_init(&r_amt);
		pgarr_init(&i_inv); pgarr_init(&i_units);
		for (size_t k = 0; k < n;) {
			const char *inv = rows[order[k]].investor_id;
			int64_t money = 0, refund = 0, units = 0;
			size_t j = k;
			char *tk, *td, *wallet;

			/* each sum is bounded by a total checked for overflow by alloc_money */
			for (; j < n && strcmp(rows[order[j]].investor_id, inv) == 0; j++) {
				money += subs[order[j]].requested * o.unit_price;
				refund += subs[order[j]].refund_minor;
				units += subs[order[j]].allocated;
			}
			k = j;
			wallet = xasprintf("WALLET:%s", inv);
			tk = xasprintf("SETTLE:%s:CLOSE:%s", oid, inv);
			td = xasprintf("Subscription of %s to offering %s closed: money moved to escrow", inv, oid);
			pgarr_text(&c_key, tk);
			pgarr_text(&c_desc, td);
			pgarr_text(&c_pkey, tk); pgarr_text(&c_acct, wallet); pgarr_i64(&c_amt, money);
			pgarr_text(&c_pkey, tk); pgarr_text(&c_acct, escrow); pgarr_i64(&c_amt, -money);
			n_close++;
			free(tk);
			free(td);
			if (refund > 0) {
				tk = xasprintf("SETTLE:%s:REFUND:%s", oid, inv);
				td = xasprintf("Offering %s %s: %s refunded what was not allocated", oid,
				    ar.outcome == ALLOC_FAILED ? "failed" : "allocated", inv);
				pgarr_text(&r_key, tk);
				pgarr_text(&r_desc, td);
				pgarr_text(&r_pkey, tk); pgarr_text(&r_acct, escrow); pgarr_i64(&r_amt, refund);
				pgarr_text(&r_pkey, tk); pgarr_text(&r_acct, wallet); pgarr_i64(&r_amt, -refund);
				n_refund++;
				free(tk);
				free(td);
			}
			if (units > 0) {
				pgarr_text(&i_inv, inv);
				pgarr_i64(&i_units, units);
				n_issue++;
			}
			free(wallet);
		}
		rc = PERR_OK;
		if (n_close > 0)
			rc = journal_post_batch(ctx, "SUBSCRIPTION_CLOSE", o.currency, &c_key, &c_desc, &c_pkey,
			    &c_acct, &c_amt, 2 * n_close);
		if (rc == PERR_OK && n_refund > 0)
			rc = journal_post_batch(ctx, "REFUND", o.currency, &r_key, &r_desc, &r_pkey, &r_acct,
			    &r_amt, 2 * n_refund);
		if (rc == PERR_OK && n_issue > 0) {
			params[0] = oid;
			params[1] = i64s(o.unit_price, b[0]);
			params[2] = o.currency;
			params[3] = o.settlement_date;
			params[4] = ctx->date_iso;
			params[5] = pgarr_str(&i_inv);
			params[6] = pgarr_str(&i_units);
			rc = db_command(ctx->db,
			    "INSERT INTO issuance (issuance_id, offering_id, investor_id, units, unit_price_minor,"
			    "  amount_minor, currency, settlement_date, business_date)"
			    " SELECT 'ISS-' || $1 || '-' || u.i, $1, u.i, u.n, $2::bigint, u.n * $2::bigint, $3,"
			    "        $4::date, $5::date"
			    "   FROM unnest($6::text[], $7::bigint[]) AS u(i, n)", 7, params);
			if (rc == PERR_OK) {
				params[0] = hold_iso;
				params[1] = oid;
				params[2] = pgarr_str(&i_inv);
				params[3] = pgarr_str(&i_units);
				rc = db_command(ctx->db,
				    "INSERT INTO holding (as_of_date, offering_id, investor_id, units, origin)"
				    " SELECT $1::date, $2, u.i, coalesce((SELECT h.units FROM holding h"
				    "     WHERE h.offering_id = $2 AND h.investor_id = u.i AND h.as_of_date <= $1::date"
				    "     ORDER BY h.as_of_date DESC LIMIT 1), 0) + u.n, 'SETTLE'"
				    "   FROM unnest($3::text[], $4::bigint[]) AS u(i, n)", 4, params);
			}
			ctx->rows_out += 2 * n_issue;
		}
		pgarr_free(&c_key); pgarr_free(&c_desc); pgarr_free(&c_pkey); pgarr_free(&c_acct); pgarr_free(&c_amt);
		pgarr_free(&r_key); pgarr_free(&r_desc); pgarr_free(&r_pkey); pgarr_free(&r_acct); pgarr_free(&r_amt);
		pgarr_free(&i_inv); pgarr_free(&i_units);
		free(escrow);
		if (rc != PERR_OK)
			goto out;
	}

	/* transfers */
	if (am.proceeds_minor > 0 &&
	    (rc = create_transfer(ctx, oid, "PROCEEDS", o.trustee_account, am.proceeds_minor, o.currency)) != PERR_OK)
		goto out;
	if (am.fee_minor > 0 &&
	    (rc = create_transfer(ctx, oid, "FEE", cfg->operating_account, am.fee_minor, o.currency)) != PERR_OK)
		goto out;

	/* conservation, again, from what the database now holds */
	params[0] = oid;
	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT (SELECT coalesce(sum(p.amount_minor), 0) FROM journal_posting p"
	    "          WHERE p.ledger_account = 'ESCROW:' || $1),"
	    "       (SELECT coalesce(sum(allocated_units), 0) FROM allocation WHERE offering_id = $1),"
	    "       (SELECT coalesce(sum(units), 0) FROM issuance WHERE offering_id = $1),"
	    "       (SELECT coalesce(sum(amount_minor), 0) FROM transfer WHERE offering_id = $1),"
	    "       (SELECT coalesce(sum(refund_minor), 0) FROM allocation WHERE offering_id = $1),"
	    "       (SELECT units_offered FROM offering WHERE offering_id = $1)", 1, params);
	if (res == NULL) {
		rc = PERR_DB;
		goto out;
	}
	if (db_get_i64(res, 0, 0) != 0 || db_get_i64(res, 0, 1) != ar.allocated_total ||
	    db_get_i64(res, 0, 2) != ar.allocated_total || db_get_i64(res, 0, 3) != am.gross_minor ||
	    db_get_i64(res, 0, 4) != am.refunded_minor || db_get_i64(res, 0, 1) > db_get_i64(res, 0, 5)) {
		rc = perr_set(PERR_CONSERVATION, "%s: conservation failed in the database: escrow balance %s "
		    "(expected 0), allocated units %s / issued units %s (expected %lld, offered %s), "
		    "transfers %s (expected gross %lld), refunds %s (expected %lld); nothing committed",
		    oid, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
		    (long long)ar.allocated_total, PQgetvalue(res, 0, 5), PQgetvalue(res, 0, 3),
		    (long long)am.gross_minor, PQgetvalue(res, 0, 4), (long long)am.refunded_minor);
		goto out;
	}
	PQclear(res);
	res = NULL;

	if ((rc = db_commit(ctx->db)) != PERR_OK)
		goto out;
	{
		const struct currency *c = currency_find(o.currency);
		int e = c ? c->exponent : 2;
		char g[MONEY_BUFSZ], f[MONEY_BUFSZ], p[MONEY_BUFSZ], r[MONEY_BUFSZ];

		log_event(LOG_INFO, STAGE, "offering settled", "offering", oid,
		    "outcome", alloc_outcome_name(ar.outcome), "requested", i64s(ar.requested_total, b[0]),
		    "allocated", i64s(ar.allocated_total, b[1]), "gross", money_format(am.gross_minor, e, g),
		    "fee", money_format(am.fee_minor, e, f), "proceeds", money_format(am.proceeds_minor, e, p),
		    "refunded", money_format(am.refunded_minor, e, r), "currency", o.currency, (const char *)NULL);
	}
	fault_point("rows_committed");
	rc = PERR_OK;
out:
	if (res)
		PQclear(res);
	if (rc != PERR_OK && PQtransactionStatus(ctx->db) != PQTRANS_IDLE)
		db_rollback(ctx->db);
	for (size_t i = 0; i < n; i++) {
		free(rows[i].subscription_id);
		free(rows[i].investor_id);
	}
	free(rows);
	free(subs);
	free(order);
	free(why);
	free(o.trustee_account);
	return rc;
}

/* ---- B. putting rows into files ---- */

/* The next free file number of a kind for the date, and its name and message id. */
static enum perr
new_outbound(struct stage_ctx *ctx, const char *kind, const struct endpoint_cfg *ep, char **name)
{
	char ymd[9], seq[24];
	const char *params[5];
	PGresult *res;
	int64_t n;
	char *msg_id, *dest;
	enum perr rc;

	params[0] = kind;
	params[1] = ctx->date_iso;
	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT count(*) + 1 FROM outbound_file WHERE kind = $1 AND business_date = $2::date", 2, params);
	if (res == NULL)
		return PERR_DB;
	n = db_get_i64(res, 0, 0);
	PQclear(res);
	compact_date(ctx->date_iso, ymd);
	snprintf(seq, sizeof seq, "%02lld", (long long)n);
	if (strcmp(kind, "PAIN001") == 0) {
		*name = xasprintf("pain001-%s-%s.xml", ymd, seq);
		msg_id = xasprintf("DABS-PAY-%s-%s", ymd, seq);
	} else {
		*name = xasprintf("issuance-%s-%s.csv", ymd, seq);
		msg_id = xasprintf("DABS-ISS-%s-%s", ymd, seq);
	}
	dest = endpoint_describe(ep);
	params[0] = *name;
	params[1] = kind;
	params[2] = ctx->date_iso;
	params[3] = msg_id;
	params[4] = dest;
	/* The creation time is fixed here, to the second, and re-used by every re-creation. */
	rc = db_command(ctx->db,
	    "INSERT INTO outbound_file (file_name, kind, business_date, msg_id, created_at, destination)"
	    " VALUES ($1, $2, $3::date, $4, date_trunc('second', clock_timestamp()), $5)", 5, params);
	free(msg_id);
	free(dest);
	if (rc != PERR_OK) {
		free(*name);
		*name = NULL;
	}
	return rc;
}

/*
 * READY transfers -> a new payment file (FILED), with their expected cash movements: one file per
 * debtor account (normally just the client-money account), one transaction for all.
 */
static enum perr
file_transfers(struct stage_ctx *ctx, date_t next_bd)
{
	const struct config *cfg = ctx->cfg;
	PGresult *res;
	char next_iso[DATE_BUFSZ], *name = NULL, *last_acct = NULL, *why = NULL;
	bool last_blocked = false;
	const char *params1[1];
	int filed = 0, files = 0;
	enum perr rc;

	date_format_iso(next_bd, next_iso);
	if ((rc = db_begin(ctx->db)) != PERR_OK)
		return rc;
	/* a rerun for an earlier date never files what later dates created */
	params1[0] = ctx->date_iso;
	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT transfer_id, from_account, amount_minor, currency FROM transfer"
	    " WHERE status = 'READY' AND business_date <= $1::date ORDER BY from_account, transfer_id"
	    " FOR UPDATE", 1, params1);
	if (res == NULL) {
		db_rollback(ctx->db);
		return PERR_DB;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		const char *id = PQgetvalue(res, i, 0), *from = PQgetvalue(res, i, 1);
		const char *params[2];

		if (last_acct == NULL || strcmp(last_acct, from) != 0) {
			free(last_acct);
			free(why);
			last_acct = xstrdup(from);
			free(name);             /* another debtor: another file */
			name = NULL;
			if ((rc = account_blocked(ctx, from, &why)) != PERR_OK)
				goto fail;
			last_blocked = why != NULL;
		}
		if (last_blocked) {
			char *subject = xasprintf("transfer:%s", id);
			char *full = xasprintf("transfer %s was not filed: %s", id, why);

			rc = raise_blocked(ctx, subject, from, id, parse_i64(PQgetvalue(res, i, 2)),
			    PQgetvalue(res, i, 3), full);
			free(subject);
			free(full);
			if (rc != PERR_OK)
				goto fail;
			continue;
		}
		if (name == NULL) {
			if (!cfg->have_payments_out) {
				rc = perr_set(PERR_CONFIG, "%s: transfers are ready but [outbound.payments] is not configured",
				    cfg->path);
				goto fail;
			}
			if ((rc = new_outbound(ctx, "PAIN001", &cfg->payments_out, &name)) != PERR_OK)
				goto fail;
			files++;
		}
		params[0] = id;
		params[1] = name;
		if ((rc = db_command(ctx->db,
		    "UPDATE transfer SET status = 'FILED', payment_file = $2 WHERE transfer_id = $1"
		    "   AND status = 'READY'", 2, params)) != PERR_OK)
			goto fail;
		params[1] = next_iso;
		if ((rc = db_command(ctx->db,
		    "INSERT INTO cash_movement (movement_id, account_no, direction, amount_minor, currency,"
		    "  expected_date, reference, kind, origin)"
		    " SELECT transfer_id || '-DR', from_account, 'DEBIT', amount_minor, currency, $2::date,"
		    "        transfer_id, purpose, 'SETTLE' FROM transfer WHERE transfer_id = $1"
		    " UNION ALL"
		    " SELECT transfer_id || '-CR', to_account, 'CREDIT', amount_minor, currency, $2::date,"
		    "        transfer_id, purpose, 'SETTLE' FROM transfer WHERE transfer_id = $1",
		    2, params)) != PERR_OK)
			goto fail;
		ctx->rows_out += 3;
		filed++;
	}
	PQclear(res);
	res = NULL;
	if ((rc = db_commit(ctx->db)) != PERR_OK)
		goto fail;
	if (filed > 0) {
		char nb[24], nf[24];

		log_event(LOG_INFO, STAGE, "payment file made", "files", i64s(files, nf), "transfers",
		    i64s(filed, nb), "expected_on_statement", next_iso, (const char *)NULL);
	}
	free(name);
	free(last_acct);
	free(why);
	return PERR_OK;
fail:
	if (res)
		PQclear(res);
	db_rollback(ctx->db);
	free(name);
	free(last_acct);
	free(why);
	return rc;
}

/* Issuance rows of offerings whose transfers are all filed -> one new issuance file. */
static enum perr
file_issuance(struct stage_ctx *ctx)
{
	static const char *pending =
	    " issuance_file IS NULL AND business_date <= $1::date AND NOT EXISTS (SELECT 1 FROM transfer t"
	    "   WHERE t.offering_id = issuance.offering_id AND t.status IN ('AWAITING_APPROVAL', 'READY'))";
	const struct config *cfg = ctx->cfg;
	PGresult *res;
	char *sql, *name = NULL;
	const char *params[1];
	int64_t n;
	enum perr rc;

	if ((rc = db_begin(ctx->db)) != PERR_OK)
		return rc;
	sql = xasprintf("SELECT issuance_id FROM issuance WHERE %s ORDER BY issuance_id FOR UPDATE", pending);
	params[0] = ctx->date_iso;
	res = db_query(ctx->db, PGRES_TUPLES_OK, sql, 1, params);
	free(sql);
	if (res == NULL) {
		db_rollback(ctx->db);
		return PERR_DB;
	}
	n = PQntuples(res);
	PQclear(res);
	if (n == 0) {
		db_rollback(ctx->db);
		return PERR_OK;
	}
	if (!cfg->have_issuance_out) {
		db_rollback(ctx->db);
		return perr_set(PERR_CONFIG, "%s: issuance records are ready but [outbound.issuance] is not configured",
		    cfg->path);
	}
	if ((rc = new_outbound(ctx, "ISSUANCE", &cfg->issuance_out, &name)) != PERR_OK) {
		db_rollback(ctx->db);
		return rc;
	}
	{
		const char *p2[2] = { ctx->date_iso, name };

		sql = xasprintf("UPDATE issuance SET issuance_file = $2 WHERE %s", pending);
		rc = db_command(ctx->db, sql, 2, p2);
	}
	free(sql);
	if (rc == PERR_OK)
		rc = db_commit(ctx->db);
	if (rc != PERR_OK) {
		db_rollback(ctx->db);
		free(name);
		return rc;
	}
	{
		char nb[24];

		log_event(LOG_INFO, STAGE, "issuance file made", "file", name, "records", i64s(n, nb),
		    (const char *)NULL);
	}
	ctx->rows_out += n;
	free(name);
	return PERR_OK;
}

/* ---- C. making, uploading and recording the files ---- */

/* The bytes of payment file `name`, from the transfer rows. Caller frees *out. */
static enum perr
build_payment_file(struct stage_ctx *ctx, const char *name, const char *msg_id, const char *created,
    char **out, size_t *len)
{
	const struct config *cfg = ctx->cfg;
	const char *params[1] = { name };
	struct pain001_payment *p = NULL;
	struct pain001_msg m;
	char **remit = NULL;
	PGresult *res;
	int n;
	enum perr rc = PERR_OK;

	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT t.transfer_id, t.amount_minor, t.currency, ta.name, t.to_account, t.purpose,"
	    "       t.offering_id, t.from_account, fa.name, fa.currency,"
	    "       coalesce(to_char(cm.expected_date, 'YYYY-MM-DD'), '')"
	    "  FROM transfer t"
	    "  JOIN bank_account ta ON ta.account_no = t.to_account"
	    "  JOIN bank_account fa ON fa.account_no = t.from_account"
	    "  LEFT JOIN cash_movement cm ON cm.movement_id = t.transfer_id || '-DR'"
	    " WHERE t.payment_file = $1 ORDER BY t.transfer_id", 1, params);
	if (res == NULL)
		return PERR_DB;
	n = PQntuples(res);
	if (n == 0) {
		PQclear(res);
		return perr_set(PERR_INTERNAL, "payment file %s has no transfers", name);
	}
	p = xcalloc((size_t)n, sizeof *p);
	remit = xcalloc((size_t)n, sizeof *remit);
	for (int i = 0; i < n; i++) {
		if (strcmp(PQgetvalue(res, i, 7), PQgetvalue(res, 0, 7)) != 0 ||
		    strcmp(PQgetvalue(res, i, 10), PQgetvalue(res, 0, 10)) != 0 ||
		    PQgetvalue(res, i, 10)[0] == '\0') {
			rc = perr_set(PERR_INTERNAL, "payment file %s: transfer %s has another debtor account or "
			    "execution date than the file", name, PQgetvalue(res, i, 0));
			goto out;
		}
		p[i].end_to_end_id = PQgetvalue(res, i, 0);
		p[i].amount_minor = parse_i64(PQgetvalue(res, i, 1));
		p[i].currency = PQgetvalue(res, i, 2);
		p[i].creditor_name = PQgetvalue(res, i, 3);
		p[i].creditor_account = PQgetvalue(res, i, 4);
		remit[i] = xasprintf("%s %s DABS offering %s", PQgetvalue(res, i, 0),
		    strcmp(PQgetvalue(res, i, 5), "FEE") == 0 ? "platform fee" : "proceeds",
		    PQgetvalue(res, i, 6));
		p[i].remittance = remit[i];
	}
	memset(&m, 0, sizeof m);
	m.msg_id = msg_id;
	m.creation_time = created;
	m.initiating_party = cfg->company && cfg->company[0] ? cfg->company : PQgetvalue(res, 0, 8);
	m.debtor_name = cfg->debtor_name && cfg->debtor_name[0] ? cfg->debtor_name : PQgetvalue(res, 0, 8);
	m.debtor_account = PQgetvalue(res, 0, 7);
	m.debtor_currency = PQgetvalue(res, 0, 9);
	m.debtor_bic = cfg->debtor_bic && cfg->debtor_bic[0] ? cfg->debtor_bic : NULL;
	m.execution_date = PQgetvalue(res, 0, 10);
	m.payments = p;
	m.n_payments = (size_t)n;
	rc = pain001_build(&m, out, len);
out:
	for (int i = 0; i < n; i++)
		free(remit[i]);
	free(remit);
	free(p);
	PQclear(res);
	return rc;
}

/* The bytes of issuance file `name`, from the issuance rows. Caller frees *out. */
static enum perr
build_issuance_file(struct stage_ctx *ctx, const char *name, char **out, size_t *len)
{
	const char *params[1] = { name };
	struct issuance_row *r;
	PGresult *res;
	int n;
	enum perr rc;

	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT issuance_id, offering_id, investor_id, units, unit_price_minor, amount_minor, currency,"
	    "       to_char(settlement_date, 'YYYY-MM-DD')"
	    "  FROM issuance WHERE issuance_file = $1 ORDER BY issuance_id", 1, params);
	if (res == NULL)
		return PERR_DB;
	n = PQntuples(res);
	if (n == 0) {
		PQclear(res);
		return perr_set(PERR_INTERNAL, "issuance file %s has no records", name);
	}
	r = xcalloc((size_t)n, sizeof *r);
	for (int i = 0; i < n; i++) {
		r[i].issuance_id = PQgetvalue(res, i, 0);
		r[i].offering_id = PQgetvalue(res, i, 1);
		r[i].investor_id = PQgetvalue(res, i, 2);
		r[i].units = parse_i64(PQgetvalue(res, i, 3));
		r[i].unit_price_minor = parse_i64(PQgetvalue(res, i, 4));
		r[i].amount_minor = parse_i64(PQgetvalue(res, i, 5));
		r[i].currency = PQgetvalue(res, i, 6);
		r[i].settlement_date = PQgetvalue(res, i, 7);
	}
	rc = issuance_csv_build(r, (size_t)n, out, len);
	free(r);
	PQclear(res);
	return rc;
}

struct outbound {
	char *name, *kind, *date, *msg_id, *created, *sha;   /* sha "" if not yet written */
};

/* Makes, writes, uploads and records one outbound file. */
static enum perr
deliver(struct stage_ctx *ctx, const struct outbound *f)
{
	const struct config *cfg = ctx->cfg;
	bool pay = strcmp(f->kind, "PAIN001") == 0;
	const struct endpoint_cfg *ep = pay ? &cfg->payments_out : &cfg->issuance_out;
	char *buf = NULL, *dir = NULL, *path = NULL, sha[65], disk_sha[65], size[24];
	size_t len = 0;
	bool already = false;
	const char *params[3];
	enum perr rc;

	rc = pay ? build_payment_file(ctx, f->name, f->msg_id, f->created, &buf, &len)
		 : build_issuance_file(ctx, f->name, &buf, &len);
	if (rc != PERR_OK)
		return rc;
	sha256_hex(buf, len, sha);
	if (f->sha[0] && strcmp(f->sha, sha) != 0) {
		rc = perr_set(PERR_INTERNAL, "%s: re-created content (sha256 %s) differs from the file first "
		    "written (sha256 %s); not uploaded. Did the rows or [settle] names in the configuration change?",
		    f->name, sha, f->sha);
		goto out;
	}
	dir = xasprintf("%s/outbox/%s", cfg->data_dir, f->date);
	path = xasprintf("%s/%s", dir, f->name);
	if ((rc = mkdir_p(dir, 0750)) != PERR_OK)
		goto out;
	{
		/* A run killed while writing this file left "NAME.tmp.PID"; we hold the run lock. */
		char *prefix = xasprintf("%s.tmp.", f->name);

		rc = remove_leftovers(dir, prefix);
		free(prefix);
		if (rc != PERR_OK)
			goto out;
	}
	if (sha256_file(path, disk_sha, NULL) != PERR_OK || strcmp(disk_sha, sha) != 0) {
		perr_clear();
		if ((rc = atomic_write_file(path, buf, len)) != PERR_OK)
			goto out;
	}
	fault_point("file_written");
	if (!f->sha[0]) {
		params[0] = f->name;
		params[1] = sha;
		params[2] = i64s((int64_t)len, size);
		if ((rc = db_command(ctx->db,
		    "UPDATE outbound_file SET sha256 = $2, size_bytes = $3::bigint, written_at = clock_timestamp()"
		    " WHERE file_name = $1 AND sha256 IS NULL", 3, params)) != PERR_OK)
			goto out;
	}
	if ((pay && !cfg->have_payments_out) || (!pay && !cfg->have_issuance_out)) {
		rc = perr_set(PERR_CONFIG, "%s: [outbound.%s] is not configured: %s cannot be delivered",
		    cfg->path, pay ? "payments" : "issuance", f->name);
		goto out;
	}
	if ((rc = transport_put(ep, path, f->name, &already)) != PERR_OK) {
		char d[1024];

		snprintf(d, sizeof d, "%s", perr_detail());
		perr_set(rc, "uploading %s: %s", f->name, d);
		goto out;
	}
	fault_point("file_uploaded");
	params[0] = f->name;
	if ((rc = db_begin(ctx->db)) != PERR_OK)
		goto out;
	if ((rc = db_command(ctx->db,
	    "UPDATE outbound_file SET uploaded_at = clock_timestamp() WHERE file_name = $1"
	    "   AND uploaded_at IS NULL", 1, params)) != PERR_OK ||
	    (pay && (rc = db_command(ctx->db,
	    "UPDATE transfer SET status = 'UPLOADED' WHERE payment_file = $1 AND status = 'FILED'",
	    1, params)) != PERR_OK) ||
	    (rc = db_commit(ctx->db)) != PERR_OK) {
		db_rollback(ctx->db);
		goto out;
	}
	log_event(LOG_INFO, STAGE, already ? "file was already delivered; recorded" : "file delivered",
	    "file", f->name, "sha256", sha, "size", size[0] ? size : i64s((int64_t)len, size),
	    (const char *)NULL);
	ctx->rows_out++;
	fault_point("upload_recorded");
out:
	free(buf);
	free(dir);
	free(path);
	return rc;
}

static enum perr
deliver_pending(struct stage_ctx *ctx)
{
	PGresult *res;
	struct outbound *v;
	int n;
	enum perr rc = PERR_OK, first = PERR_OK;
	char first_detail[1024] = "";

	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT file_name, kind, to_char(business_date, 'YYYY-MM-DD'), msg_id,"
	    "       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	    "       coalesce(sha256, '')"
	    "  FROM outbound_file WHERE uploaded_at IS NULL ORDER BY business_date, file_name", 0, NULL);
	if (res == NULL)
		return PERR_DB;
	n = PQntuples(res);
	v = xcalloc(n ? (size_t)n : 1, sizeof *v);
	for (int i = 0; i < n; i++) {
		v[i].name = xstrdup(PQgetvalue(res, i, 0));
		v[i].kind = xstrdup(PQgetvalue(res, i, 1));
		v[i].date = xstrdup(PQgetvalue(res, i, 2));
		v[i].msg_id = xstrdup(PQgetvalue(res, i, 3));
		v[i].created = xstrdup(PQgetvalue(res, i, 4));
		v[i].sha = xstrdup(PQgetvalue(res, i, 5));
	}
	PQclear(res);
	for (int i = 0; i < n; i++) {
		/* one file failing (a server down) does not stop the others; the first error is returned */
		if ((rc = deliver(ctx, &v[i])) != PERR_OK) {
			log_event(LOG_ERROR, STAGE, "file not delivered", "file", v[i].name,
			    "error", perr_detail(), (const char *)NULL);
			if (first == PERR_OK) {
				first = rc;
				snprintf(first_detail, sizeof first_detail, "%s", perr_detail());
			}
		}
	}
	for (int i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].kind);
		free(v[i].date);
		free(v[i].msg_id);
		free(v[i].created);
		free(v[i].sha);
	}
	free(v);
	if (first != PERR_OK)
		return perr_set(first, "%s", first_detail);
	return PERR_OK;
}

/* Closes the SETTLEMENT_BLOCKED exceptions whose work is now done. */
static enum perr
close_unblocked(struct stage_ctx *ctx)
{
	PGresult *res;
	char by[64];
	enum perr rc = PERR_OK;

	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT subject FROM exception WHERE type = 'SETTLEMENT_BLOCKED' AND status = 'OPEN' AND ("
	    "   (subject LIKE 'offering:%' AND substr(subject, 10) IN (SELECT offering_id FROM offering_settlement))"
	    "   OR (subject LIKE 'transfer:%' AND substr(subject, 10) IN"
	    "       (SELECT transfer_id FROM transfer WHERE status IN ('FILED', 'UPLOADED', 'ACCEPTED', 'SETTLED'))))"
	    " ORDER BY subject", 0, NULL);
	if (res == NULL)
		return PERR_DB;
	snprintf(by, sizeof by, "settle run %lld", (long long)ctx->run_id);
	for (int i = 0; i < PQntuples(res) && rc == PERR_OK; i++)
		rc = exception_close(ctx, "SETTLEMENT_BLOCKED", PQgetvalue(res, i, 0), by);
	PQclear(res);
	return rc;
}

enum perr
stage_settle(struct stage_ctx *ctx)
{
	const char *params[1] = { ctx->date_iso };
	date_t next_bd = calendar_next_business_day(&ctx->cfg->calendar, ctx->date);
	PGresult *res;
	enum perr rc, first = PERR_OK;
	char first_detail[1024] = "", nb[24];
	char **ids;
	int n, blocked_count = 0, settled = 0;

	if (ctx->force) {
		/* Settle never redoes: --force only re-evaluates its own exceptions, then finishes work. */
		if ((rc = db_begin(ctx->db)) != PERR_OK ||
		    (rc = exceptions_reset(ctx, STAGE)) != PERR_OK ||
		    (rc = db_commit(ctx->db)) != PERR_OK)
			return rc;
	}

	/* the bank's answers (pain.002, the statement's debits) first: what is filed, issued and
	 * reported below sees tonight's transfer statuses (engine/payment_status.h) */
	if ((rc = payment_status_apply(ctx)) != PERR_OK) {
		log_event(LOG_ERROR, STAGE, "payment statuses not applied", "error", perr_detail(), (const char *)NULL);
		first = rc;
		snprintf(first_detail, sizeof first_detail, "%s", perr_detail());
	}

	/* A. the offerings that closed on or before the date and are not settled */
	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT offering_id FROM offering o WHERE subscription_close <= $1::date"
	    "   AND NOT EXISTS (SELECT 1 FROM offering_settlement s WHERE s.offering_id = o.offering_id)"
	    " ORDER BY subscription_close, offering_id", 1, params);
	if (res == NULL)
		return PERR_DB;
	n = PQntuples(res);
	ids = xcalloc(n ? (size_t)n : 1, sizeof *ids);
	for (int i = 0; i < n; i++)
		ids[i] = xstrdup(PQgetvalue(res, i, 0));
	PQclear(res);
	for (int i = 0; i < n; i++) {
		bool blocked;

		rc = settle_offering(ctx, ids[i], next_bd, &blocked);
		if (rc != PERR_OK) {
			/* nothing of this offering was committed; carry on with the others */
			log_event(LOG_ERROR, STAGE, "offering not settled", "offering", ids[i],
			    "error", perr_detail(), (const char *)NULL);
			if (first == PERR_OK) {
				first = rc;
				snprintf(first_detail, sizeof first_detail, "%s", perr_detail());
			}
		} else if (blocked) {
			blocked_count++;
		} else {
			settled++;
		}
		free(ids[i]);
	}
	free(ids);

	/* B. rows into files; C. files out */
	if ((rc = file_transfers(ctx, next_bd)) != PERR_OK ||
	    (rc = file_issuance(ctx)) != PERR_OK ||
	    (rc = deliver_pending(ctx)) != PERR_OK) {
		if (first == PERR_OK) {
			first = rc;
			snprintf(first_detail, sizeof first_detail, "%s", perr_detail());
		}
	}
	if ((rc = close_unblocked(ctx)) != PERR_OK && first == PERR_OK) {
		first = rc;
		snprintf(first_detail, sizeof first_detail, "%s", perr_detail());
	}

	/* transfers still waiting for a second person are named every night until approved */
	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT transfer_id FROM transfer WHERE status = 'AWAITING_APPROVAL' ORDER BY transfer_id", 0, NULL);
	if (res != NULL) {
		for (int i = 0; i < PQntuples(res); i++)
			log_event(LOG_WARN, STAGE, "transfer awaiting four-eyes approval", "transfer",
			    PQgetvalue(res, i, 0), (const char *)NULL);
		PQclear(res);
	}
	log_event(LOG_INFO, STAGE, "settlement summary", "settled", i64s(settled, nb),
	    "blocked", blocked_count ? "yes" : "no", (const char *)NULL);
	if (first != PERR_OK)
		return perr_set(first, "%s", first_detail);
	return PERR_OK;
}
