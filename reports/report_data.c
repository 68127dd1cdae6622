/*
 * report_data.c - cursors over the report's snapshot, strict value conversion and the small pure
 * helpers shared by the sheets (see report_data.h).
 */
#include "report_data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "util.h"

const char *const rd_age_bucket_names[RD_AGE_BUCKETS] = { "0-1", "2-5", "6-30", ">30" };

const char *const rd_exception_types[RD_N_TYPES] = {
	"UNMATCHED_STATEMENT", "UNMATCHED_LEDGER", "AMOUNT_MISMATCH", "AMBIGUOUS",
	"DUPLICATE_LINE", "BALANCE_BREAK", "STATEMENT_GAP", "STATEMENT_CONTINUITY_BREAK", "BOOK_BALANCE_BREAK", "LEDGER_BALANCE_BREAK",
	"HOLDING_MISMATCH", "HOLDING_MISSING_AT_TRUSTEE", "HOLDING_MISSING_IN_LEDGER",
	"STATEMENT_MISSING", "FILE_CONFLICT", "FILE_QUARANTINED", "SETTLEMENT_BLOCKED",
	/* the bank's answers (sql/115, engine/payment_status.h) */
	"PAYMENT_REJECTED", "PAYMENT_STATUS_MISSING", "PAYMENT_STATUS_UNKNOWN", "PAYMENT_STATUS_CONFLICT",
};

/* The cursor name is one of the report's own constants (never input); checked anyway. */
static bool
rd_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= sizeof(((struct rd_cursor *)0)->name))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || name[i] == '_'))
			return false;
	return true;
}

enum perr
rd_open(struct rd_cursor *c, PGconn *db, const char *name, const char *sql, int nparams,
    const char *const *params)
{
	char *decl;
	enum perr rc;

	memset(c, 0, sizeof(*c));
	c->db = db;
	if (!rd_name_ok(name))
		return perr_set(PERR_INTERNAL, "report: bad cursor name \"%s\"", name);
	snprintf(c->name, sizeof(c->name), "%s", name);
	/* Values go as parameters; only the cursor's own constant name is part of the text. */
	decl = xasprintf("DECLARE %s NO SCROLL CURSOR FOR %s", name, sql);
	rc = db_command(db, decl, nparams, params);
	free(decl);
	if (rc != PERR_OK)
		return rc;
	c->open = true;
	return PERR_OK;
}

enum perr
rd_next(struct rd_cursor *c, bool *has)
{
	*has = false;
	if (!c->open)
		return perr_set(PERR_INTERNAL, "report: cursor %s is not open", c->name);
	if (c->res != NULL && c->row + 1 < PQntuples(c->res)) {
		c->row++;
		c->rows_read++;
		*has = true;
		return PERR_OK;
	}
	if (c->eof)
		return PERR_OK;
	if (c->res != NULL) {
		PQclear(c->res);
		c->res = NULL;
	}
	char sql[80];
	snprintf(sql, sizeof(sql), "FETCH %d FROM %s", RD_FETCH, c->name);
	c->res = db_query(c->db, PGRES_TUPLES_OK, sql, 0, NULL);
	if (c->res == NULL)
		return perr_last() != PERR_OK ? perr_last() : PERR_DB;
	if (PQntuples(c->res) < RD_FETCH)
		c->eof = true;
	if (PQntuples(c->res) == 0) {
		PQclear(c->res);
		c->res = NULL;
		return PERR_OK;
	}
	c->row = 0;
	c->rows_read++;
	*has = true;
	return PERR_OK;
}

void
rd_close(struct rd_cursor *c)
{
	if (c->res != NULL) {
		PQclear(c->res);
		c->res = NULL;
	}
	if (c->open) {
		char sql[64];
		snprintf(sql, sizeof(sql), "CLOSE %s", c->name);
		/* Cleanup path: a failure here surfaces at COMMIT/ROLLBACK anyway. */
		(void)db_exec(c->db, sql);
		c->open = false;
	}
}

const char *
rd_val(const struct rd_cursor *c, int col)
{
	if (c->res == NULL || PQgetisnull(c->res, c->row, col))
		return NULL;
	return PQgetvalue(c->res, c->row, col);
}

enum perr
rd_parse_i64(const char *s, const char *what, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return perr_set(PERR_DB, "report: %s: expected an integer, got %s", what,
		    s == NULL ? "NULL" : "an empty value");
	if (!((*s >= '0' && *s <= '9') || *s == '-'))
		return perr_set(PERR_DB, "report: %s: expected an integer, got \"%s\"", what, s);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return perr_set(PERR_MONEY_OVERFLOW, "report: %s: %s does not fit in 64 bits", what, s);
	if (errno != 0 || end == s || *end != '\0')
		return perr_set(PERR_DB, "report: %s: expected an integer, got \"%s\"", what, s);
	*out = (int64_t)v;
	return PERR_OK;
}

enum perr
rd_parse_date(const char *s, const char *what, date_t *out)
{
	if (s == NULL || date_parse_iso(s, out) != PERR_OK)
		return perr_set(PERR_DB, "report: %s: expected a date YYYY-MM-DD, got \"%s\"", what,
		    s == NULL ? "NULL" : s);
	return PERR_OK;
}

enum perr
rd_count(PGconn *db, const char *sql, int nparams, const char *const *params, int64_t *out)
{
	PGresult *res = db_query(db, PGRES_TUPLES_OK, sql, nparams, params);
	enum perr rc;

	if (res == NULL)
		return perr_last() != PERR_OK ? perr_last() : PERR_DB;
	if (PQntuples(res) != 1 || PQnfields(res) != 1) {
		int n = PQntuples(res);
		PQclear(res);
		return perr_set(PERR_INTERNAL, "report: a count query returned %d rows", n);
	}
	rc = rd_parse_i64(PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0), "count", out);
	PQclear(res);
	return rc;
}

int
rd_age_bucket(int age_days)
{
	if (age_days <= 1)
		return 0;
	if (age_days <= 5)
		return 1;
	if (age_days <= 30)
		return 2;
	return 3;
}

date_t
rd_pending_from(const struct calendar *cal, date_t d, int window)
{
	/*
	 * calendar_add_business_days is non-decreasing in its start date, so the answer is the first
	 * date x with add(x, window) >= d. It lies within window business days (plus weekends and
	 * holidays) before d; start well before and walk forward: O(window) calls.
	 */
	date_t x = d - (date_t)(window * 3 + 60);

	if (window <= 0)
		return d;
	while (x < d && calendar_add_business_days(cal, x, window) < d)
		x++;
	return x;
}

const char *
rd_cell_text(const char *s, size_t max, char *buf)
{
	size_t n = strlen(s);

	if (n <= max)
		return s;
	/* Back up to the start of a UTF-8 character: continuation bytes are 10xxxxxx. */
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	memcpy(buf, s, max);
	memcpy(buf + max, " [truncated]", sizeof(" [truncated]"));
	return buf;
}

int
rd_type_index(const char *type)
{
	for (int i = 0; i < RD_N_TYPES; i++)
		if (strcmp(rd_exception_types[i], type) == 0)
			return i;
	return -1;
}
