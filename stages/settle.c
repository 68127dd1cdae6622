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
 *   A. per offering, ONE transaction (each table's rows in one INSERT ... FROM unnest), as named
 *      steps (settle_offering): allocation rows, offering_settlement, balanced journal postings,
 *      transfers (READY, or AWAITING_APPROVAL above the four-eyes limit), issuance rows, holdings;
 *      then the PRE-COMMIT CHECK (check_offering_files: the offering's transfers as a payment
 *      message by pain001_check and the pain.001 schema, its issuance rows by the issuance writer;
 *      investor ids by the journal's rule before anything): an offering a file could never carry
 *      is refused whole, nothing of it committed (PERR_PAYMENT_DATA); conservation checked in C and
 *      again in SQL before COMMIT. An offering with an offering_settlement row is never allocated
 *      again (not even with --force); one the ledger marks SETTLED is never touched.
 *   B. the READY transfers are put into a new payment file (outbound_file row with its message id
 *      and creation time fixed now; transfers FILED; their cash movements expected on the next
 *      business day), in one transaction.
 *   C. every payment file not yet uploaded nor voided: its bytes re-created from the rows (a rerun
 *      gives the same bytes; a stored SHA-256 proves it), validated against the pain.001.001.03
 *      schema (libxml2), written atomically under <data_dir>/outbox/<date>/, uploaded and verified
 *      with transport_put_each (read back before and after the rename; same name and content on
 *      the server: no-op; different: PERR_REMOTE_CONFLICT, never overwritten), every attempt
 *      recorded (outbound_attempt), and the upload recorded (uploaded_at, transfers UPLOADED).
 *   D. DELIVERY VERSUS PAYMENT: the ACTIVE issuance rows of offerings whose transfers are paid as
 *      far as [settle] issue_after asks (dvp_paid_sql) go into a new issuance file, which is then
 *      delivered like C (and held at delivery if its payment is not through).
 * Each of B, C, D runs even if an earlier one failed; D's condition, not the order, keeps units
 * from going before money.
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
#include <unistd.h>

#include "allocate.h"
#include "db.h"
#include "exceptions.h"
#include "issuance_file.h"
#include "log.h"
#include "money.h"
#include "pain001.h"
#include "paytext.h"
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

static enum perr file_issuance_where(struct stage_ctx *ctx, char **pendingp);
static enum perr check_offering_files(struct stage_ctx *ctx, const char *oid, const char *exec_iso);

/* What settling one offering works with, step to step. */
struct settle_work {
	const char *oid;
	struct offering_info o;
	struct sub_row *rows;       /* owned */
	struct alloc_sub *subs;     /* owned; subs[i] belongs to rows[i] */
	size_t n, *order;           /* order: indexes sorted by investor (owned) */
	struct alloc_result ar;
	struct alloc_money am;
	char hold_iso[DATE_BUFSZ];  /* the holdings' date, and the payment's execution date */
};

static void
settle_work_free(struct settle_work *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->rows[i].subscription_id);
		free(w->rows[i].investor_id);
	}
	free(w->rows);
	free(w->subs);
	free(w->order);
	free(w->o.trustee_account);
}

/* The offering's active subscriptions, in subscription id order. */
static enum perr
load_subscriptions(struct stage_ctx *ctx, struct settle_work *w)
{
	const char *params[1] = { w->oid };
	PGresult *res;

	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT subscription_id, investor_id, units,"
	    "       (extract(epoch FROM subscribed_at) * 1000000)::bigint"
	    "  FROM subscription WHERE offering_id = $1 AND status = 'ACTIVE'"
	    " ORDER BY subscription_id", 1, params);
	if (res == NULL)
		return PERR_DB;
	w->n = (size_t)PQntuples(res);
	w->rows = xcalloc(w->n ? w->n : 1, sizeof *w->rows);
	w->subs = xcalloc(w->n ? w->n : 1, sizeof *w->subs);
	w->order = xcalloc(w->n ? w->n : 1, sizeof *w->order);
	for (size_t i = 0; i < w->n; i++) {
		w->rows[i].subscription_id = xstrdup(PQgetvalue(res, (int)i, 0));
		w->rows[i].investor_id = xstrdup(PQgetvalue(res, (int)i, 1));
		w->subs[i].subscription_id = w->rows[i].subscription_id;
		w->subs[i].requested = db_get_i64(res, (int)i, 2);
		w->subs[i].subscribed_at_us = db_get_i64(res, (int)i, 3);
		w->order[i] = i;
	}
	PQclear(res);
	ctx->rows_in += (int64_t)w->n;
	return PERR_OK;
}

/* Every investor id must be able to name a journal account (WALLET:<investor>): checked first. */
static enum perr
check_investor_ids(const struct settle_work *w)
{
	for (size_t i = 0; i < w->n; i++)
		if (!paytext_journal_id_valid(w->rows[i].investor_id))
			return perr_set(PERR_PAYMENT_DATA, "%s: refused before commit: subscription %s: investor_id "
			    "\"%.64s\" cannot name a journal account (WALLET:<investor_id> takes [A-Za-z0-9_-], at "
			    "most %d characters); nothing of offering %s was committed or delivered", w->oid,
			    w->rows[i].subscription_id, w->rows[i].investor_id, PAYTEXT_JOURNAL_ID_MAX, w->oid);
	return PERR_OK;
}

/* Allocation and money, checked for conservation in C. */
static enum perr
compute_allocation(struct settle_work *w)
{
	enum perr rc;

	if ((rc = allocate(w->subs, w->n, w->o.units_offered, w->o.min_units, &w->ar)) != PERR_OK ||
	    (rc = alloc_money(w->subs, w->n, &w->ar, w->o.unit_price, w->o.fee_bps, &w->am)) != PERR_OK ||
	    (rc = alloc_money_check(w->oid, w->subs, w->n, &w->ar, w->o.units_offered, w->o.unit_price,
	    &w->am)) != PERR_OK) {
		if (rc != PERR_CONSERVATION) {
			char d[1024];

			snprintf(d, sizeof d, "%s", perr_detail());
			perr_set(rc, "%s: %s", w->oid, d);
		}
	}
	return rc;
}

/*
 * The accounts the money would move between, and the account gate. A refusal by the gate rolls
 * the offering's transaction back, records SETTLEMENT_BLOCKED and sets *blocked.
 */
static enum perr
gate_offering(struct stage_ctx *ctx, struct settle_work *w, bool *blocked)
{
	const struct config *cfg = ctx->cfg;
	char *why = NULL, *subject, *full;
	enum perr rc;

	if (w->am.gross_minor <= 0)
		return PERR_OK;
	if ((rc = check_accounts(ctx, w->oid, &w->o)) != PERR_OK ||
	    (rc = account_blocked(ctx, cfg->client_money_account, &why)) != PERR_OK || why == NULL)
		return rc;
	subject = xasprintf("offering:%s", w->oid);
	db_rollback(ctx->db);
	full = xasprintf("offering %s was not settled: %s", w->oid, why);
	if ((rc = db_begin(ctx->db)) == PERR_OK &&
	    (rc = raise_blocked(ctx, subject, cfg->client_money_account, w->oid, w->am.gross_minor,
	    w->o.currency, full)) == PERR_OK)
		rc = db_commit(ctx->db);
	free(subject);
	free(full);
	free(why);
	*blocked = true;
	return rc;
}

/* The allocation rows: one statement for all. */
static enum perr
insert_allocations(struct stage_ctx *ctx, const struct settle_work *w)
{
	struct pgarr sid, inv, req, alo, ref;
	const char *params[8];
	char run[24];
	enum perr rc;

	pgarr_init(&sid);
	pgarr_init(&inv);
	pgarr_init(&req);
	pgarr_init(&alo);
	pgarr_init(&ref);
	for (size_t i = 0; i < w->n; i++) {
		pgarr_text(&sid, w->rows[i].subscription_id);
		pgarr_text(&inv, w->rows[i].investor_id);
		pgarr_i64(&req, w->subs[i].requested);
		pgarr_i64(&alo, w->subs[i].allocated);
		pgarr_i64(&ref, w->subs[i].refund_minor);
	}
	params[0] = w->oid;
	params[1] = ctx->date_iso;
	params[2] = i64s(ctx->run_id, run);
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
	if (rc == PERR_OK)
		ctx->rows_out += (int64_t)w->n;
	return rc;
}

/* The offering_settlement row: from now on the offering is never allocated again. */
static enum perr
insert_settlement(struct stage_ctx *ctx, const struct settle_work *w)
{
	const char *params[10];
	char b[7][24];
	enum perr rc;

	params[0] = w->oid;
	params[1] = alloc_outcome_name(w->ar.outcome);
	params[2] = i64s(w->ar.requested_total, b[0]);
	params[3] = i64s(w->ar.allocated_total, b[1]);
	params[4] = i64s(w->am.gross_minor, b[2]);
	params[5] = i64s(w->am.fee_minor, b[3]);
	params[6] = i64s(w->am.proceeds_minor, b[4]);
	params[7] = i64s(w->am.refunded_minor, b[5]);
	params[8] = ctx->date_iso;
	params[9] = i64s(ctx->run_id, b[6]);
	rc = db_command(ctx->db,
	    "INSERT INTO offering_settlement (offering_id, outcome, requested_units, allocated_units,"
	    "  gross_minor, fee_minor, proceeds_minor, refunded_minor, business_date, run_id)"
	    " VALUES ($1, $2, $3::bigint, $4::bigint, $5::bigint, $6::bigint, $7::bigint, $8::bigint,"
	    "  $9::date, $10::bigint)", 10, params);
	if (rc == PERR_OK)
		ctx->rows_out++;
	return rc;
}

/* The issuance records and the holdings of the investors in inv/units. */
static enum perr
insert_issuance_holdings(struct stage_ctx *ctx, const struct settle_work *w, struct pgarr *inv,
    struct pgarr *units, int64_t n_issue)
{
	const char *params[7];
	char price[24];
	enum perr rc;

	params[0] = w->oid;
	params[1] = i64s(w->o.unit_price, price);
	params[2] = w->o.currency;
	params[3] = w->o.settlement_date;
	params[4] = ctx->date_iso;
	params[5] = pgarr_str(inv);
	params[6] = pgarr_str(units);
	rc = db_command(ctx->db,
	    "INSERT INTO issuance (issuance_id, offering_id, investor_id, units, unit_price_minor,"
	    "  amount_minor, currency, settlement_date, business_date)"
	    " SELECT 'ISS-' || $1 || '-' || u.i, $1, u.i, u.n, $2::bigint, u.n * $2::bigint, $3,"
	    "        $4::date, $5::date"
	    "   FROM unnest($6::text[], $7::bigint[]) AS u(i, n)", 7, params);
	if (rc != PERR_OK)
		return rc;
	params[0] = w->hold_iso;
	params[1] = w->oid;
	params[2] = pgarr_str(inv);
	params[3] = pgarr_str(units);
	rc = db_command(ctx->db,
	    "INSERT INTO holding (as_of_date, offering_id, investor_id, units, origin)"
	    " SELECT $1::date, $2, u.i, coalesce((SELECT h.units FROM holding h"
	    "     WHERE h.offering_id = $2 AND h.investor_id = u.i AND h.as_of_date <= $1::date"
	    "     ORDER BY h.as_of_date DESC LIMIT 1), 0) + u.n, 'SETTLE'"
	    "   FROM unnest($3::text[], $4::bigint[]) AS u(i, n)", 4, params);
	ctx->rows_out += 2 * n_issue;
	return rc;
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

/* Journal transactions of two postings each, gathered for one journal_post_batch. */
struct jbatch {
	struct pgarr key, desc, pkey, acct, amt;
	int64_t n;
};

static void
jbatch_init(struct jbatch *b)
{
	pgarr_init(&b->key);
	pgarr_init(&b->desc);
	pgarr_init(&b->pkey);
	pgarr_init(&b->acct);
	pgarr_init(&b->amt);
	b->n = 0;
}

/* One transaction `key`: `debit` +amount, `credit` -amount. Takes ownership of key and desc. */
static void
jbatch_add(struct jbatch *b, char *key, char *desc, const char *debit, const char *credit, int64_t amount)
{
	pgarr_text(&b->key, key);
	pgarr_text(&b->desc, desc);
	pgarr_text(&b->pkey, key); pgarr_text(&b->acct, debit); pgarr_i64(&b->amt, amount);
	pgarr_text(&b->pkey, key); pgarr_text(&b->acct, credit); pgarr_i64(&b->amt, -amount);
	b->n++;
	free(key);
	free(desc);
}

static enum perr
jbatch_post(struct stage_ctx *ctx, struct jbatch *b, const char *kind, const char *currency)
{
	if (b->n == 0)
		return PERR_OK;
	return journal_post_batch(ctx, kind, currency, &b->key, &b->desc, &b->pkey, &b->acct, &b->amt, 2 * b->n);
}

static void
jbatch_free(struct jbatch *b)
{
	pgarr_free(&b->key);
	pgarr_free(&b->desc);
	pgarr_free(&b->pkey);
	pgarr_free(&b->acct);
	pgarr_free(&b->amt);
}

/*
 * Per investor (an investor's subscriptions summed): the CLOSE and REFUND journal transactions,
 * two postings each (one small transaction per investor keeps the database's balance check
 * linear), the issuance record and the holding.
 */
static enum perr
post_per_investor(struct stage_ctx *ctx, struct settle_work *w)
{
	struct jbatch close, refunds;
	struct pgarr i_inv, i_units;                           /* issuance and holdings */
	char *escrow = xasprintf("ESCROW:%s", w->oid);
	int64_t n_issue = 0;
	const char *oid = w->oid;
	enum perr rc;

	sort_rows = w->rows;
	qsort(w->order, w->n, sizeof *w->order, by_investor);
	jbatch_init(&close);
	jbatch_init(&refunds);
	pgarr_init(&i_inv);
	pgarr_init(&i_units);
	for (size_t k = 0; k < w->n;) {
		const char *inv = w->rows[w->order[k]].investor_id;
		int64_t money = 0, refund = 0, units = 0;
		size_t j = k;
		char *wallet;

		/* each sum is bounded by a total checked for overflow by alloc_money */
		for (; j < w->n && strcmp(w->rows[w->order[j]].investor_id, inv) == 0; j++) {
			money += w->subs[w->order[j]].requested * w->o.unit_price;
			refund += w->subs[w->order[j]].refund_minor;
			units += w->subs[w->order[j]].allocated;
		}
		k = j;
		wallet = xasprintf("WALLET:%s", inv);
		jbatch_add(&close, xasprintf("SETTLE:%s:CLOSE:%s", oid, inv),
		    xasprintf("Subscription of %s to offering %s closed: money moved to escrow", inv, oid),
		    wallet, escrow, money);
		if (refund > 0)
			jbatch_add(&refunds, xasprintf("SETTLE:%s:REFUND:%s", oid, inv),
			    xasprintf("Offering %s %s: %s refunded what was not allocated", oid,
			    w->ar.outcome == ALLOC_FAILED ? "failed" : "allocated", inv), escrow, wallet, refund);
		if (units > 0) {
			pgarr_text(&i_inv, inv);
			pgarr_i64(&i_units, units);
			n_issue++;
		}
		free(wallet);
	}
	rc = jbatch_post(ctx, &close, "SUBSCRIPTION_CLOSE", w->o.currency);
	if (rc == PERR_OK)
		rc = jbatch_post(ctx, &refunds, "REFUND", w->o.currency);
	if (rc == PERR_OK && n_issue > 0)
		rc = insert_issuance_holdings(ctx, w, &i_inv, &i_units, n_issue);
	jbatch_free(&close);
	jbatch_free(&refunds);
	pgarr_free(&i_inv);
	pgarr_free(&i_units);
	free(escrow);
	return rc;
}

/* The proceeds and fee transfers, each with its journal transaction. */
static enum perr
create_transfers(struct stage_ctx *ctx, const struct settle_work *w)
{
	enum perr rc = PERR_OK;

	if (w->am.proceeds_minor > 0)
		rc = create_transfer(ctx, w->oid, "PROCEEDS", w->o.trustee_account, w->am.proceeds_minor,
		    w->o.currency);
	if (rc == PERR_OK && w->am.fee_minor > 0)
		rc = create_transfer(ctx, w->oid, "FEE", ctx->cfg->operating_account, w->am.fee_minor,
		    w->o.currency);
	return rc;
}

/* Conservation, again, from what the database now holds. */
static enum perr
check_conservation(struct stage_ctx *ctx, const struct settle_work *w)
{
	const char *params[1] = { w->oid };
	PGresult *res;
	enum perr rc = PERR_OK;

	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT (SELECT coalesce(sum(p.amount_minor), 0) FROM journal_posting p"
	    "          WHERE p.ledger_account = 'ESCROW:' || $1),"
	    "       (SELECT coalesce(sum(allocated_units), 0) FROM allocation WHERE offering_id = $1),"
	    "       (SELECT coalesce(sum(units), 0) FROM issuance WHERE offering_id = $1),"
	    "       (SELECT coalesce(sum(amount_minor), 0) FROM transfer WHERE offering_id = $1),"
	    "       (SELECT coalesce(sum(refund_minor), 0) FROM allocation WHERE offering_id = $1),"
	    "       (SELECT units_offered FROM offering WHERE offering_id = $1)", 1, params);
	if (res == NULL)
		return PERR_DB;
	if (db_get_i64(res, 0, 0) != 0 || db_get_i64(res, 0, 1) != w->ar.allocated_total ||
	    db_get_i64(res, 0, 2) != w->ar.allocated_total || db_get_i64(res, 0, 3) != w->am.gross_minor ||
	    db_get_i64(res, 0, 4) != w->am.refunded_minor || db_get_i64(res, 0, 1) > db_get_i64(res, 0, 5))
		rc = perr_set(PERR_CONSERVATION, "%s: conservation failed in the database: escrow balance %s "
		    "(expected 0), allocated units %s / issued units %s (expected %lld, offered %s), "
		    "transfers %s (expected gross %lld), refunds %s (expected %lld); nothing committed",
		    w->oid, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
		    (long long)w->ar.allocated_total, PQgetvalue(res, 0, 5), PQgetvalue(res, 0, 3),
		    (long long)w->am.gross_minor, PQgetvalue(res, 0, 4), (long long)w->am.refunded_minor);
	PQclear(res);
	return rc;
}

static void
log_settled(const struct settle_work *w)
{
	const struct currency *c = currency_find(w->o.currency);
	int e = c ? c->exponent : 2;
	char g[MONEY_BUFSZ], f[MONEY_BUFSZ], p[MONEY_BUFSZ], r[MONEY_BUFSZ], b0[24], b1[24];

	log_event(LOG_INFO, STAGE, "offering settled", "offering", w->oid,
	    "outcome", alloc_outcome_name(w->ar.outcome), "requested", i64s(w->ar.requested_total, b0),
	    "allocated", i64s(w->ar.allocated_total, b1), "gross", money_format(w->am.gross_minor, e, g),
	    "fee", money_format(w->am.fee_minor, e, f), "proceeds", money_format(w->am.proceeds_minor, e, p),
	    "refunded", money_format(w->am.refunded_minor, e, r), "currency", w->o.currency, (const char *)NULL);
}

/*
 * Settles one offering in one transaction (see the top of the file), as named steps. *blocked
 * says it was refused because of a broken account (not an error). Returns an error with nothing
 * of the offering committed: the pre-commit check refuses data a file could never carry.
 */
static enum perr
settle_offering(struct stage_ctx *ctx, const char *oid, date_t holding_date, bool *blocked)
{
	struct settle_work w;
	enum perr rc;

	*blocked = false;
	memset(&w, 0, sizeof w);
	w.oid = oid;
	date_format_iso(holding_date, w.hold_iso);
	if ((rc = db_begin(ctx->db)) != PERR_OK)
		return rc;
	if ((rc = load_offering(ctx, oid, &w.o)) != PERR_OK || w.o.settled)   /* settled meanwhile */
		goto out;
	if ((rc = load_subscriptions(ctx, &w)) != PERR_OK ||
	    (rc = check_investor_ids(&w)) != PERR_OK ||
	    (rc = compute_allocation(&w)) != PERR_OK ||
	    (rc = gate_offering(ctx, &w, blocked)) != PERR_OK || *blocked)
		goto out;
	if ((rc = insert_allocations(ctx, &w)) != PERR_OK ||
	    (rc = insert_settlement(ctx, &w)) != PERR_OK ||
	    (rc = post_per_investor(ctx, &w)) != PERR_OK ||
	    (rc = create_transfers(ctx, &w)) != PERR_OK ||
	    (rc = check_offering_files(ctx, oid, w.hold_iso)) != PERR_OK ||
	    (rc = check_conservation(ctx, &w)) != PERR_OK ||
	    (rc = db_commit(ctx->db)) != PERR_OK)
		goto out;
	log_settled(&w);
	fault_point("rows_committed");
out:
	if ((rc != PERR_OK || w.o.settled) && PQtransactionStatus(ctx->db) != PQTRANS_IDLE)
		db_rollback(ctx->db);
	settle_work_free(&w);
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

/*
 * DELIVERY VERSUS PAYMENT: a SQL condition, true when every transfer of the offering `oid_sql`
 * names has been paid as far as [settle] issue_after asks: uploaded and verified (UPLOADED or
 * later), accepted by the bank (ACCEPTED, SETTLED: pain.002), or settled (SETTLED, or its debit on
 * the client-money statement matched by reconcile: recon_match_movement of "<transfer>-DR").
 * Cancelled transfers count through their replacement; a cancelled one without a replacement
 * holds the units back. An offering without transfers has nothing paid and issues nothing.
 * Caller frees.
 */
static char *
dvp_paid_sql(const struct config *cfg, const char *oid_sql)
{
	const char *paid =
	    cfg->issue_after == ISSUE_AFTER_ACCEPTED ? "t.status IN ('ACCEPTED', 'SETTLED')" :
	    cfg->issue_after == ISSUE_AFTER_SETTLED ? "(t.status = 'SETTLED' OR EXISTS (SELECT 1 FROM"
		" recon_match_movement mm WHERE mm.movement_id = t.transfer_id || '-DR'))" :
	    "t.status IN ('UPLOADED', 'ACCEPTED', 'SETTLED')";

	return xasprintf("EXISTS (SELECT 1 FROM transfer t WHERE t.offering_id = %s AND t.status <> 'CANCELLED')"
	    " AND NOT EXISTS (SELECT 1 FROM transfer t WHERE t.offering_id = %s AND t.status <> 'CANCELLED'"
	    "                 AND NOT %s)"
	    " AND NOT EXISTS (SELECT 1 FROM transfer c WHERE c.offering_id = %s AND c.status = 'CANCELLED'"
	    "                 AND NOT EXISTS (SELECT 1 FROM transfer r WHERE r.replaces = c.transfer_id))",
	    oid_sql, oid_sql, paid, oid_sql);
}

static const char *
issue_after_name(const struct config *cfg)
{
	return cfg->issue_after == ISSUE_AFTER_ACCEPTED ? "accepted" :
	    cfg->issue_after == ISSUE_AFTER_SETTLED ? "settled" : "uploaded";
}

/*
 * Issuance rows of offerings whose payments are through (dvp_paid_sql) -> one new issuance file.
 * Records of a voided issuance file (`pipeline issuance`) are filed again.
 */
static enum perr
file_issuance(struct stage_ctx *ctx)
{
	char *pending = NULL;
	enum perr rc = file_issuance_where(ctx, &pending);

	free(pending);
	return rc;
}

static enum perr
file_issuance_where(struct stage_ctx *ctx, char **pendingp)
{
	const struct config *cfg = ctx->cfg;
	PGresult *res;
	char *paid = dvp_paid_sql(cfg, "issuance.offering_id");
	char *pending = *pendingp = xasprintf(" (issuance_file IS NULL OR issuance_file IN (SELECT file_name FROM outbound_file"
	    "   WHERE voided_at IS NOT NULL)) AND status = 'ACTIVE' AND business_date <= $1::date AND %s", paid);
	char *sql, *name = NULL;
	const char *params[1];
	int64_t n;
	enum perr rc;

	free(paid);     /* copied into pending */
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

/*
 * The payment message of the transfers `res` holds (the columns of payment_rows_sql), with its
 * remittance texts in remit[] (caller frees each, then the arrays). exec_date NULL: the rows'
 * expected debit date, which must be one for all.
 */
static const char payment_rows_sql[] =
    "SELECT t.transfer_id, t.amount_minor, t.currency, ta.name, t.to_account, t.purpose,"
    "       t.offering_id, t.from_account, fa.name, fa.currency,"
    "       coalesce(to_char(cm.expected_date, 'YYYY-MM-DD'), '')"
    "  FROM transfer t"
    "  JOIN bank_account ta ON ta.account_no = t.to_account"
    "  JOIN bank_account fa ON fa.account_no = t.from_account"
    "  LEFT JOIN cash_movement cm ON cm.movement_id = t.transfer_id || '-DR'";

static enum perr
payment_msg(struct stage_ctx *ctx, PGresult *res, const char *what, const char *exec_date,
    struct pain001_msg *m, struct pain001_payment **pp, char ***remitp)
{
	const struct config *cfg = ctx->cfg;
	int n = PQntuples(res);
	struct pain001_payment *p = xcalloc((size_t)n, sizeof *p);
	char **remit = xcalloc((size_t)n, sizeof *remit);

	*pp = p;
	*remitp = remit;
	for (int i = 0; i < n; i++) {
		if (strcmp(PQgetvalue(res, i, 7), PQgetvalue(res, 0, 7)) != 0 ||
		    (exec_date == NULL && (strcmp(PQgetvalue(res, i, 10), PQgetvalue(res, 0, 10)) != 0 ||
		    PQgetvalue(res, i, 10)[0] == '\0')))
			return perr_set(PERR_INTERNAL, "payment file %s: transfer %s has another debtor account or "
			    "execution date than the file", what, PQgetvalue(res, i, 0));
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
	memset(m, 0, sizeof *m);
	m->initiating_party = cfg->company && cfg->company[0] ? cfg->company : PQgetvalue(res, 0, 8);
	m->debtor_name = cfg->debtor_name && cfg->debtor_name[0] ? cfg->debtor_name : PQgetvalue(res, 0, 8);
	m->debtor_account = PQgetvalue(res, 0, 7);
	m->debtor_currency = PQgetvalue(res, 0, 9);
	m->debtor_bic = cfg->debtor_bic && cfg->debtor_bic[0] ? cfg->debtor_bic : NULL;
	m->execution_date = exec_date ? exec_date : PQgetvalue(res, 0, 10);
	m->payments = p;
	m->n_payments = (size_t)n;
	return PERR_OK;
}

static void
payment_msg_free(int n, struct pain001_payment *p, char **remit)
{
	for (int i = 0; remit && i < n; i++)
		free(remit[i]);
	free(remit);
	free(p);
}

/* The pain.001 schema (formats/pain001.h). Caller frees. */
static char *
schema_path(const struct config *cfg)
{
	return pain001_schema_path(cfg->formats_dir);
}

/* The bytes of payment file `name`, from the transfer rows, valid by the schema. Caller frees *out. */
static enum perr
build_payment_file(struct stage_ctx *ctx, const char *name, const char *msg_id, const char *created,
    char **out, size_t *len)
{
	const char *params[1] = { name };
	struct pain001_payment *p = NULL;
	struct pain001_msg m;
	char **remit = NULL, *sql, *xsd;
	PGresult *res;
	int n;
	enum perr rc;

	sql = xasprintf("%s WHERE t.payment_file = $1 ORDER BY t.transfer_id", payment_rows_sql);
	res = db_query(ctx->db, PGRES_TUPLES_OK, sql, 1, params);
	free(sql);
	if (res == NULL)
		return PERR_DB;
	n = PQntuples(res);
	if (n == 0) {
		PQclear(res);
		return perr_set(PERR_INTERNAL, "payment file %s has no transfers", name);
	}
	rc = payment_msg(ctx, res, name, NULL, &m, &p, &remit);
	if (rc == PERR_OK) {
		m.msg_id = msg_id;
		m.creation_time = created;
		rc = pain001_build(&m, out, len);
	}
	if (rc == PERR_OK) {
		xsd = schema_path(ctx->cfg);
		if ((rc = pain001_schema_validate(xsd, *out, *len, name)) != PERR_OK) {
			free(*out);
			*out = NULL;
		}
		free(xsd);
	}
	payment_msg_free(n, p, remit);
	PQclear(res);
	return rc;
}

/* The bytes of the issuance records `filter` ($1 = param) selects, as a file. Caller frees *out. */
static enum perr
issuance_bytes(struct stage_ctx *ctx, const char *filter, const char *param, const char *what,
    char **out, size_t *len)
{
	const char *params[1] = { param };
	struct issuance_row *r;
	PGresult *res;
	char *sql;
	int n;
	enum perr rc;

	sql = xasprintf("SELECT issuance_id, offering_id, investor_id, units, unit_price_minor, amount_minor,"
	    "       currency, to_char(settlement_date, 'YYYY-MM-DD')"
	    "  FROM issuance WHERE %s ORDER BY issuance_id", filter);
	res = db_query(ctx->db, PGRES_TUPLES_OK, sql, 1, params);
	free(sql);
	if (res == NULL)
		return PERR_DB;
	n = PQntuples(res);
	if (n == 0) {
		PQclear(res);
		return perr_set(PERR_INTERNAL, "issuance file %s has no records", what);
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

/* The bytes of issuance file `name`, from the issuance rows. Caller frees *out. */
static enum perr
build_issuance_file(struct stage_ctx *ctx, const char *name, char **out, size_t *len)
{
	return issuance_bytes(ctx, "issuance_file = $1", name, name, out, len);
}

/* Which configuration or ledger field a pain.001 element comes from, for the refusal message. */
static const char *
field_source(const char *detail)
{
	if (strstr(detail, "Cdtr/Nm"))
		return " (Cdtr/Nm is the creditor account's name in the ledger, accounts.csv `name`)";
	if (strstr(detail, "Dbtr/Nm"))
		return " (Dbtr/Nm is [settle] debtor_name, else the client-money account's name)";
	if (strstr(detail, "InitgPty/Nm"))
		return " (InitgPty/Nm is [company] name, else the client-money account's name)";
	if (strstr(detail, "CdtrAcct") || strstr(detail, "DbtrAcct"))
		return " (an account number in the ledger or [accounts])";
	if (strstr(detail, "BIC"))
		return " ([settle] debtor_bic)";
	return "";
}

/*
 * PRE-COMMIT CHECK: refuses an offering whose files could never be made, inside its open
 * transaction, before COMMIT: its transfers as one payment message by the writer's own rules
 * (pain001_check; then built and validated by the pain.001.001.03 schema) and its issuance
 * records as an issuance file (issuance_csv_build). PERR_PAYMENT_DATA naming the field; the
 * caller rolls back, so nothing of the offering is committed and nothing is delivered.
 */
static enum perr
check_offering_files(struct stage_ctx *ctx, const char *oid, const char *exec_iso)
{
	const char *params[1] = { oid };
	struct pain001_payment *p = NULL;
	struct pain001_msg m;
	char **remit = NULL, *sql, *buf = NULL, *xsd, created[32];
	size_t len = 0;
	PGresult *res;
	int n;
	enum perr rc = PERR_OK;

	sql = xasprintf("%s WHERE t.offering_id = $1 AND t.status <> 'CANCELLED' ORDER BY t.transfer_id",
	    payment_rows_sql);
	res = db_query(ctx->db, PGRES_TUPLES_OK, sql, 1, params);
	free(sql);
	if (res == NULL)
		return PERR_DB;
	n = PQntuples(res);
	if (n > 0 && (rc = payment_msg(ctx, res, oid, exec_iso, &m, &p, &remit)) == PERR_OK) {
		snprintf(created, sizeof created, "%sT00:00:00Z", ctx->date_iso);
		m.msg_id = "DABS-PAY-CHECK";
		m.creation_time = created;
		if ((rc = pain001_check(&m)) == PERR_OK && (rc = pain001_build(&m, &buf, &len)) == PERR_OK) {
			xsd = schema_path(ctx->cfg);
			rc = pain001_schema_validate(xsd, buf, len, "the payment file");
			free(xsd);
			free(buf);
			buf = NULL;
		}
	}
	payment_msg_free(n, p, remit);
	PQclear(res);
	if (rc == PERR_OK) {
		res = db_query(ctx->db, PGRES_TUPLES_OK,
		    "SELECT count(*) FROM issuance WHERE offering_id = $1 AND status = 'ACTIVE'", 1, params);
		if (res == NULL)
			return PERR_DB;
		n = (int)db_get_i64(res, 0, 0);
		PQclear(res);
		if (n > 0 && (rc = issuance_bytes(ctx, "offering_id = $1 AND status = 'ACTIVE'", oid, oid,
		    &buf, &len)) == PERR_OK)
			free(buf);
	}
	if (rc == PERR_OK || rc == PERR_DB)
		return rc;
	{
		char d[1024];

		snprintf(d, sizeof d, "%s", perr_detail());
		return perr_set(rc == PERR_CONFIG ? rc : PERR_PAYMENT_DATA, "%s: refused before commit: %s%s; "
		    "nothing of offering %s was committed or delivered", oid, d, field_source(d), oid);
	}
}

struct outbound {
	char *name, *kind, *date, *msg_id, *created, *sha;   /* sha "" if not yet written */
};

/*
 * DvP at delivery: *wait is true while an issuance file holds a record of an offering whose
 * payments are not through (dvp_paid_sql); then it is not sent and the next run tries again.
 * (Files are filed only once paid, but a file made by an older version, or a transfer rejected
 * since, is held here.)
 */
static enum perr
issuance_waits(struct stage_ctx *ctx, const char *name, bool *wait)
{
	const char *params[1] = { name };
	char *paid = dvp_paid_sql(ctx->cfg, "i.offering_id"), *sql;
	PGresult *res;

	sql = xasprintf("SELECT string_agg(DISTINCT i.offering_id, ', ') FROM issuance i"
	    " WHERE i.issuance_file = $1 AND NOT (%s)", paid);
	res = db_query(ctx->db, PGRES_TUPLES_OK, sql, 1, params);
	free(sql);
	free(paid);
	if (res == NULL)
		return PERR_DB;
	*wait = !PQgetisnull(res, 0, 0);
	if (*wait)
		log_event(LOG_WARN, STAGE, "issuance file held until its payment is through (delivery versus payment)",
		    "file", name, "offerings", PQgetvalue(res, 0, 0), "issue_after", issue_after_name(ctx->cfg),
		    (const char *)NULL);
	PQclear(res);
	return PERR_OK;
}

/* Where record_attempt writes, and its first failure (a database error). */
struct attempt_rec {
	struct stage_ctx *ctx;
	const char *name;
	enum perr rc;
};

/*
 * One upload attempt, verified or not, as an outbound_attempt row (autocommit: it stays even if
 * the run fails), called by transport_put_each after each try. Keeps the failure's detail intact.
 */
static void
record_attempt(void *arg, enum perr result, const char *detail)
{
	struct attempt_rec *a = arg;
	char d[1024];
	const char *params[3] = { a->name, result == PERR_OK ? "true" : "false", d };

	snprintf(d, sizeof d, "%s", detail);
	if (db_command(a->ctx->db, "INSERT INTO outbound_attempt (file_name, verified, detail)"
	    " VALUES ($1, $2::boolean, $3)", 3, params) != PERR_OK && a->rc == PERR_OK)
		a->rc = PERR_DB;
	if (result != PERR_OK)
		perr_set(result, "%s", d);    /* the upload's detail, not the insert's */
}

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

	if (!pay) {
		bool wait;

		if ((rc = issuance_waits(ctx, f->name, &wait)) != PERR_OK || wait)
			return rc;
	}
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
	{
		struct attempt_rec ar = { ctx, f->name, PERR_OK };

		rc = transport_put_each(ep, path, f->name, &already, record_attempt, &ar);
		if (rc != PERR_OK) {
			char d[1024];

			snprintf(d, sizeof d, "%s", perr_detail());
			perr_set(rc, "uploading %s: %s", f->name, d);
			goto out;
		}
		if ((rc = ar.rc) != PERR_OK)
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

/* Delivers every file of `kind` not yet uploaded nor voided, oldest first. */
static enum perr
deliver_pending(struct stage_ctx *ctx, const char *kind)
{
	const char *params[1] = { kind };
	PGresult *res;
	struct outbound *v;
	int n;
	enum perr rc = PERR_OK, first = PERR_OK;
	char first_detail[1024] = "";

	res = db_query(ctx->db, PGRES_TUPLES_OK,
	    "SELECT file_name, kind, to_char(business_date, 'YYYY-MM-DD'), msg_id,"
	    "       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	    "       coalesce(sha256, '')"
	    "  FROM outbound_file WHERE uploaded_at IS NULL AND voided_at IS NULL AND kind = $1"
	    " ORDER BY business_date, file_name", 1, params);
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
	    "SELECT offering_id FROM offering o WHERE subscription_close <= $1::date AND o.status <> 'SETTLED'"
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

	/* B. rows into files; C. files out: payments first, then the issuance their payment allows */
	{
		/* each step runs even if an earlier one failed (a bank server down must not hold back
		 * the issuance of an offering paid earlier); DvP is in the condition, not in the order */
		enum perr step;

		for (int k = 0; k < 4; k++) {
			step = k == 0 ? (rc = file_transfers(ctx, next_bd)) :
			    k == 1 ? (rc == PERR_OK ? deliver_pending(ctx, "PAIN001") : PERR_OK) :
			    k == 2 ? (rc = file_issuance(ctx)) :
			    (rc == PERR_OK ? deliver_pending(ctx, "ISSUANCE") : PERR_OK);
			if (step != PERR_OK && first == PERR_OK) {
				first = step;
				snprintf(first_detail, sizeof first_detail, "%s", perr_detail());
			}
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
