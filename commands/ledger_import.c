/*
 * ledger_import.c - `pipeline ledger import DIR`: loads the platform's daily ledger extract.
 *
 * All or nothing: every file is parsed and checked, rows go through COPY into temporary staging
 * tables, cross-references are checked in SQL, and everything is inserted in ONE transaction. Any
 * bad row aborts the whole import with "file:line: field: reason" and nothing is loaded.
 * Idempotent: a row whose id already exists is skipped if it is identical and an error if it differs.
 *
 * The files are described by data (struct extract_file rows below): adding a column is a table
 * edit, not new code. Identifiers in the generated SQL come only from these constant tables;
 * values only ever travel through COPY.
 */
#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "db.h"
#include "log.h"
#include "money.h"
#include "utf8.h"
#include "util.h"

enum col_kind {
	C_ID,        /* non-empty text without control characters */
	C_TEXT,      /* any text (may be empty) */
	C_OPT,       /* optional: empty becomes NULL */
	C_ENUM,      /* one of `choices` */
	C_CURRENCY,  /* ISO 4217 code known to money.h */
	C_AMOUNT,    /* decimal in major units, currency in column `ref`; stored as minor units */
	C_UNITS,     /* whole number >= min */
	C_DATE,      /* YYYY-MM-DD */
	C_TIMESTAMP, /* ISO 8601 with offset: YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM) */
	C_BALANCE,   /* signed decimal in major units of the account in column `ref` (its currency is in
	                the database, not the row: the decimals are checked and the value scaled in SQL) */
};

struct column {
	const char *csv_name;
	const char *db_name;
	const char *db_type;
	enum col_kind kind;
	const char *choices;  /* C_ENUM: "A|B|C" */
	int ref;              /* C_AMOUNT: index of the currency column; C_UNITS: minimum */
	long max;             /* C_UNITS: maximum (0 = none) */
};

struct ref_check {
	const char *condition;  /* SQL over staging alias s; true means the row is bad */
	const char *message;    /* printf with one %s: the value of column `col` */
	const char *col;
};

#define MAX_COLS 12

struct extract_file {
	const char *file;
	const char *table;
	int n_cols;
	struct column cols[MAX_COLS];
	const char *key;        /* key columns, comma separated (db names) */
	struct ref_check checks[6];
	const char *index;      /* extra staging index for a check (columns), or NULL */
};

/* In load order: a file may refer to rows of files above it in the same extract. */
static const struct extract_file extract_files[] = {
	{ "accounts.csv", "bank_account", 4, {
		{ "account_no", "account_no", "text", C_ID, NULL, 0, 0 },
		{ "currency", "currency", "char(3)", C_CURRENCY, NULL, 0, 0 },
		{ "purpose", "purpose", "text", C_ENUM, "CLIENT_MONEY|OPERATING|TRUSTEE", 0, 0 },
		{ "name", "name", "text", C_ID, NULL, 0, 0 },
	  }, "account_no", { { NULL, NULL, NULL } }, NULL },
	{ "investors.csv", "investor", 4, {
		{ "investor_id", "investor_id", "text", C_ID, NULL, 0, 0 },
		{ "name", "name", "text", C_ID, NULL, 0, 0 },
		{ "virtual_account", "virtual_account", "text", C_ID, NULL, 0, 0 },
		{ "status", "status", "text", C_ENUM, "ACTIVE|SUSPENDED|CLOSED", 0, 0 },
	  }, "investor_id", {
		{ "EXISTS (SELECT 1 FROM investor i WHERE i.virtual_account = s.virtual_account"
		  " AND i.investor_id <> s.investor_id)"
		  " OR EXISTS (SELECT 1 FROM stg_investor o WHERE o.virtual_account = s.virtual_account"
		  " AND o.investor_id <> s.investor_id)",
		  "virtual account %s belongs to another investor", "virtual_account" },
		{ NULL, NULL, NULL } }, "virtual_account" },
	{ "offerings.csv", "offering", 11, {
		{ "offering_id", "offering_id", "text", C_ID, NULL, 0, 0 },
		{ "name", "name", "text", C_ID, NULL, 0, 0 },
		{ "currency", "currency", "char(3)", C_CURRENCY, NULL, 0, 0 },
		{ "unit_price", "unit_price_minor", "bigint", C_AMOUNT, NULL, 2, 0 },
		{ "units_offered", "units_offered", "bigint", C_UNITS, NULL, 1, 0 },
		{ "min_units", "min_units", "bigint", C_UNITS, NULL, 0, 0 },
		{ "subscription_open", "subscription_open", "date", C_DATE, NULL, 0, 0 },
		{ "subscription_close", "subscription_close", "date", C_DATE, NULL, 0, 0 },
		{ "settlement_date", "settlement_date", "date", C_DATE, NULL, 0, 0 },
		{ "fee_bps", "fee_bps", "integer", C_UNITS, NULL, 0, 10000 },
		{ "trustee_account_no", "trustee_account_no", "text", C_ID, NULL, 0, 0 },
	  }, "offering_id", {
		{ "NOT EXISTS (SELECT 1 FROM bank_account a WHERE a.account_no = s.trustee_account_no"
		  " AND a.purpose = 'TRUSTEE')", "trustee_account_no %s is not a TRUSTEE account in accounts.csv",
		  "trustee_account_no" },
		{ "s.min_units::bigint > s.units_offered::bigint", "min_units %s is more than units_offered",
		  "min_units" },
		{ "NOT (s.subscription_open::date <= s.subscription_close::date"
		  " AND s.subscription_close::date <= s.settlement_date::date)",
		  "dates out of order for %s (need open <= close <= settlement)", "offering_id" },
		{ NULL, NULL, NULL } }, NULL },
	{ "subscriptions.csv", "subscription", 6, {
		{ "subscription_id", "subscription_id", "text", C_ID, NULL, 0, 0 },
		{ "offering_id", "offering_id", "text", C_ID, NULL, 0, 0 },
		{ "investor_id", "investor_id", "text", C_ID, NULL, 0, 0 },
		{ "units", "units", "bigint", C_UNITS, NULL, 1, 0 },
		{ "subscribed_at", "subscribed_at", "timestamptz", C_TIMESTAMP, NULL, 0, 0 },
		{ "status", "status", "text", C_ENUM, "ACTIVE|CANCELLED", 0, 0 },
	  }, "subscription_id", {
		{ "NOT EXISTS (SELECT 1 FROM offering o WHERE o.offering_id = s.offering_id)",
		  "unknown offering %s", "offering_id" },
		{ "NOT EXISTS (SELECT 1 FROM investor i WHERE i.investor_id = s.investor_id)",
		  "unknown investor %s", "investor_id" },
		{ NULL, NULL, NULL } }, NULL },
	{ "cash_movements.csv", "cash_movement", 10, {
		{ "movement_id", "movement_id", "text", C_ID, NULL, 0, 0 },
		{ "account_no", "account_no", "text", C_ID, NULL, 0, 0 },
		{ "direction", "direction", "text", C_ENUM, "CREDIT|DEBIT", 0, 0 },
		{ "amount", "amount_minor", "bigint", C_AMOUNT, NULL, 4, 0 },
		{ "currency", "currency", "char(3)", C_CURRENCY, NULL, 0, 0 },
		{ "expected_date", "expected_date", "date", C_DATE, NULL, 0, 0 },
		{ "reference", "reference", "text", C_TEXT, NULL, 0, 0 },
		{ "kind", "kind", "text", C_ENUM, "DEPOSIT|WITHDRAWAL|PROCEEDS|FEE|REFUND|OTHER", 0, 0 },
		{ "investor_id", "investor_id", "text", C_OPT, NULL, 0, 0 },
		{ "batch_id", "batch_id", "text", C_OPT, NULL, 0, 0 },
	  }, "movement_id", {
		{ "NOT EXISTS (SELECT 1 FROM bank_account a WHERE a.account_no = s.account_no)",
		  "unknown account %s", "account_no" },
		{ "EXISTS (SELECT 1 FROM bank_account a WHERE a.account_no = s.account_no"
		  " AND a.currency <> s.currency)", "currency %s differs from the account's currency", "currency" },
		{ "s.investor_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM investor i"
		  " WHERE i.investor_id = s.investor_id)", "unknown investor %s", "investor_id" },
		{ NULL, NULL, NULL } }, NULL },
	{ "holdings.csv", "holding", 4, {
		{ "as_of_date", "as_of_date", "date", C_DATE, NULL, 0, 0 },
		{ "offering_id", "offering_id", "text", C_ID, NULL, 0, 0 },
		{ "investor_id", "investor_id", "text", C_ID, NULL, 0, 0 },
		{ "units", "units", "bigint", C_UNITS, NULL, 0, 0 },
	  }, "offering_id,investor_id,as_of_date", {
		{ "NOT EXISTS (SELECT 1 FROM offering o WHERE o.offering_id = s.offering_id)",
		  "unknown offering %s", "offering_id" },
		{ "NOT EXISTS (SELECT 1 FROM investor i WHERE i.investor_id = s.investor_id)",
		  "unknown investor %s", "investor_id" },
		{ NULL, NULL, NULL } }, NULL },
	{ "balances.csv", "book_balance", 3, {
		{ "account_no", "account_no", "text", C_ID, NULL, 0, 0 },
		{ "as_of_date", "as_of_date", "date", C_DATE, NULL, 0, 0 },
		{ "book_balance", "balance_minor", "bigint", C_BALANCE, NULL, 0, 0 },
	  }, "account_no,as_of_date", {
		{ "NOT EXISTS (SELECT 1 FROM bank_account a WHERE a.account_no = s.account_no)",
		  "unknown account %s", "account_no" },
		{ "scale(s.balance_minor::numeric) > (SELECT c.exponent FROM bank_account a"
		  " JOIN currency c ON c.code = a.currency WHERE a.account_no = s.account_no)",
		  "book_balance %s has more decimals than the account's currency allows", "balance_minor" },
		{ "abs(s.balance_minor::numeric) >= 1e15", "book_balance %s is out of range", "balance_minor" },
		{ NULL, NULL, NULL } }, NULL },
};
#define N_EXTRACT_FILES ((int)(sizeof extract_files / sizeof extract_files[0]))

/* ---- parsing one CSV file into COPY text ---- */

struct reader {
	const struct extract_file *ef;
	const char *path;
	long line;              /* physical line being fed to libcsv */
	long record_line;       /* line the current record started on */
	int field;              /* index of the next field in the record */
	char *fields[MAX_COLS];
	bool too_many;
	bool header_done;
	enum perr err;
	char *copy;             /* COPY text being built: line<TAB>col1<TAB>... */
	size_t copy_len, copy_cap;
	long rows;
};

static void
copy_append(struct reader *r, const char *s, size_t n)
{
	if (r->copy_len + n + 1 > r->copy_cap) {
		r->copy_cap = (r->copy_len + n + 1) * 2;
		r->copy = xrealloc(r->copy, r->copy_cap);
	}
	memcpy(r->copy + r->copy_len, s, n);
	r->copy_len += n;
	r->copy[r->copy_len] = '\0';
}

/* Appends a value escaped for COPY text format, or \N for NULL. */
static void
copy_field(struct reader *r, const char *v, bool first)
{
	const char *p;

	if (!first)
		copy_append(r, "\t", 1);
	if (v == NULL) {
		copy_append(r, "\\N", 2);
		return;
	}
	for (p = v; *p; p++) {
		switch (*p) {
		case '\\': copy_append(r, "\\\\", 2); break;
		case '\t': copy_append(r, "\\t", 2); break;
		case '\n': copy_append(r, "\\n", 2); break;
		case '\r': copy_append(r, "\\r", 2); break;
		default: copy_append(r, p, 1);
		}
	}
}

static bool
has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool
valid_timestamp(const char *s)
{
	/* YYYY-MM-DDTHH:MM:SS[.f+](Z|+HH:MM|-HH:MM) */
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t i, n = strlen(s);
	date_t d;
	char date[11];

	if (n < 20)
		return false;
	for (i = 0; i < sizeof shape - 1; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	memcpy(date, s, 10);
	date[10] = '\0';
	if (date_parse_iso(date, &d) != PERR_OK)
		return false;
	if ((s[11] - '0') * 10 + (s[12] - '0') > 23 || (s[14] - '0') * 10 + (s[15] - '0') > 59
	    || (s[17] - '0') * 10 + (s[18] - '0') > 59)
		return false;
	s += 19;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (!strcmp(s, "Z"))
		return true;
	return strlen(s) == 6 && (s[0] == '+' || s[0] == '-') && s[1] >= '0' && s[1] <= '2'
	    && s[2] >= '0' && s[2] <= '9' && s[3] == ':' && s[4] >= '0' && s[4] <= '5'
	    && s[5] >= '0' && s[5] <= '9';
}

/* -?DIGITS[.DIGITS], at most 15 integer and 4 decimal digits (no currency has more, money.h). */
static bool
valid_decimal(const char *s)
{
	size_t n;

	if (*s == '-')
		s++;
	n = strspn(s, "0123456789");
	if (n == 0 || n > 15)
		return false;
	s += n;
	if (*s == '\0')
		return true;
	if (*s++ != '.')
		return false;
	n = strspn(s, "0123456789");
	return n >= 1 && n <= 4 && s[n] == '\0';
}

static bool
enum_ok(const char *choices, const char *v)
{
	size_t n = strlen(v);
	const char *p = choices;

	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && !strncmp(p, v, n))
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

/*
 * Copies tmpl into out with its one "%s" (or "%.Ns", which also truncates v to N bytes) replaced
 * by v. Message templates are data here, so they are not handed to printf as formats.
 */
static void
fill(char *out, size_t n, const char *tmpl, const char *v)
{
	const char *at = strchr(tmpl, '%'), *p;
	int maxlen = -1;

	if (at == NULL) {
		snprintf(out, n, "%s", tmpl);
		return;
	}
	p = at + 1;
	if (*p == '.') {
		maxlen = 0;
		for (p++; *p >= '0' && *p <= '9'; p++)
			maxlen = maxlen * 10 + (*p - '0');
	}
	if (*p != 's') {
		snprintf(out, n, "%s", tmpl);
		return;
	}
	if (maxlen < 0)
		maxlen = (int)strlen(v);
	snprintf(out, n, "%.*s%.*s%s", (int)(at - tmpl), tmpl, maxlen, v, p + 1);
}

static enum perr
row_error(struct reader *r, const struct column *c, const char *tmpl, const char *v)
{
	char msg[256];

	fill(msg, sizeof msg, tmpl, v);
	return perr_set(PERR_IMPORT, "%s:%ld: %s: %s", r->path, r->record_line, c->csv_name, msg);
}

/* Validates one data record and appends it to the COPY text. */
static enum perr
take_record(struct reader *r)
{
	const struct extract_file *ef = r->ef;
	char buf[MONEY_BUFSZ], num[32];
	int i;

	copy_field(r, (snprintf(num, sizeof num, "%ld", r->record_line), num), true);
	for (i = 0; i < ef->n_cols; i++) {
		const struct column *c = &ef->cols[i];
		const char *v = r->fields[i];
		const struct currency *cur;
		const char *why = "";
		int64_t minor;
		date_t d;
		char *end;
		long long n;

		if (text_check(v, strlen(v), &why) != (size_t)-1 && strstr(why, "control") == NULL)
			return row_error(r, c, "is not valid UTF-8 (%s)", why);
		switch (c->kind) {
		case C_ID:
			if (*v == '\0' || has_control(v))
				return row_error(r, c, "%s", *v ? "contains control characters" : "is empty");
			copy_field(r, v, false);
			break;
		case C_TEXT:
			copy_field(r, v, false);
			break;
		case C_OPT:
			if (has_control(v))
				return row_error(r, c, "%s", "contains control characters");
			copy_field(r, *v ? v : NULL, false);
			break;
		case C_ENUM:
			if (!enum_ok(c->choices, v)) {
				char m[160];

				snprintf(m, sizeof m, "\"%.40s\" is not one of %s", v, c->choices);
				return row_error(r, c, "%s", m);
			}
			copy_field(r, v, false);
			break;
		case C_CURRENCY:
			if (currency_find(v) == NULL)
				return row_error(r, c, "unknown currency \"%.16s\"", v);
			copy_field(r, v, false);
			break;
		case C_AMOUNT:
			if ((cur = currency_find(r->fields[c->ref])) == NULL)
				return row_error(r, &ef->cols[c->ref], "unknown currency \"%.16s\"", r->fields[c->ref]);
			if (money_parse(v, strlen(v), cur->exponent, &money_style_plain, &minor) != PERR_OK)
				return perr_set(PERR_IMPORT, "%s:%ld: %s: %s (%s has %d decimal%s)", r->path,
				    r->record_line, c->csv_name, perr_detail(), cur->code, cur->exponent,
				    cur->exponent == 1 ? "" : "s");
			if (minor <= 0)
				return row_error(r, c, "amount \"%.32s\" must be positive", v);
			copy_field(r, (snprintf(buf, sizeof buf, "%lld", (long long)minor), buf), false);
			break;
		case C_UNITS:
			n = strtoll(v, &end, 10);
			if (*v == '\0' || *end != '\0' || *v == '+' || (*v == '-' && n == 0)
			    || strlen(v) > 18 || n < c->ref || (c->max && n > c->max)) {
				char m[120];

				if (c->max)
					snprintf(m, sizeof m, "\"%.24s\" is not a whole number from %d to %ld", v, c->ref, c->max);
				else
					snprintf(m, sizeof m, "\"%.24s\" is not a whole number >= %d", v, c->ref);
				return row_error(r, c, "%s", m);
			}
			copy_field(r, v, false);
			break;
		case C_DATE:
			if (date_parse_iso(v, &d) != PERR_OK)
				return row_error(r, c, "\"%.24s\" is not a date YYYY-MM-DD", v);
			copy_field(r, v, false);
			break;
		case C_BALANCE:
			if (!valid_decimal(v))
				return row_error(r, c, "\"%.32s\" is not a decimal amount like -1500.00", v);
			copy_field(r, v, false);
			break;
		case C_TIMESTAMP:
			if (!valid_timestamp(v))
				return row_error(r, c, "\"%.40s\" is not an ISO 8601 timestamp with offset", v);
			copy_field(r, v, false);
			break;
		}
	}
	copy_append(r, "\n", 1);
	r->rows++;
	return PERR_OK;
}

static void
on_field(void *s, size_t len, void *data)
{
	struct reader *r = data;

	if (r->err != PERR_OK)
		return;
	if (r->field == 0)
		r->record_line = r->line;
	if (r->field < r->ef->n_cols) {
		if (memchr(s, '\0', len) != NULL) {
			r->err = perr_set(PERR_IMPORT, "%s:%ld: contains a NUL byte", r->path, r->line);
			return;
		}
		r->fields[r->field] = xstrndup(s ? s : "", len);
	} else
		r->too_many = true;
	r->field++;
}

static void
on_record(int c, void *data)
{
	struct reader *r = data;
	const struct extract_file *ef = r->ef;
	int i;

	(void)c;
	if (r->err == PERR_OK) {
		if (r->field != ef->n_cols)
			r->err = perr_set(PERR_IMPORT, "%s:%ld: expected %d columns, found %d", r->path,
			    r->record_line, ef->n_cols, r->field);
		else if (!r->header_done) {
			for (i = 0; i < ef->n_cols; i++)
				if (strcmp(r->fields[i], ef->cols[i].csv_name) != 0) {
					r->err = perr_set(PERR_IMPORT, "%s:%ld: header column %d is \"%.40s\", "
					    "expected \"%s\"", r->path, r->record_line, i + 1, r->fields[i],
					    ef->cols[i].csv_name);
					break;
				}
			r->header_done = true;
		} else
			r->err = take_record(r);
	}
	for (i = 0; i < ef->n_cols && i < r->field; i++) {
		free(r->fields[i]);
		r->fields[i] = NULL;
	}
	r->field = 0;
	r->too_many = false;
}

/* Parses `path` into r->copy. Returns PERR_OK, or PERR_IMPORT with file:line in the detail. */
static enum perr
read_extract_file(struct reader *r)
{
	struct csv_parser p;
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int i;

	if ((fp = fopen(r->path, "rb")) == NULL)
		return perr_set(PERR_IMPORT, "%s: cannot open", r->path);
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
		fclose(fp);
		return perr_set(PERR_NOMEM, "csv_init failed");
	}
	while (r->err == PERR_OK && (n = getline(&line, &cap, fp)) > 0) {
		size_t off = 0;

		r->line++;
		if (r->line == 1 && n >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3))
			off = 3;        /* a UTF-8 byte-order mark, as spreadsheet exports write */
		if (csv_parse(&p, line + off, (size_t)n - off, on_field, on_record, r) != (size_t)n - off
		    && r->err == PERR_OK)
			r->err = perr_set(PERR_IMPORT, "%s:%ld: malformed CSV: %s", r->path, r->line,
			    csv_strerror(csv_error(&p)));
	}
	if (r->err == PERR_OK && csv_fini(&p, on_field, on_record, r) != 0)
		r->err = perr_set(PERR_IMPORT, "%s:%ld: malformed CSV at end of file: %s", r->path, r->line,
		    csv_strerror(csv_error(&p)));
	if (r->err == PERR_OK && !r->header_done)
		r->err = perr_set(PERR_IMPORT, "%s: empty file (a header row is required)", r->path);
	csv_free(&p);
	free(line);
	fclose(fp);
	for (i = 0; i < MAX_COLS; i++) {
		free(r->fields[i]);
		r->fields[i] = NULL;
	}
	return r->err;
}

/* ---- loading ---- */

enum join_form { J_DECL_TEXT, J_NAME, J_CAST_S, J_T };

/* The column list of ef in one of the forms the generated SQL needs, joined by ", ". */
static char *
sql_join(const struct extract_file *ef, enum join_form form)
{
	char *out = xstrdup(""), *tmp;
	int i;

	for (i = 0; i < ef->n_cols; i++) {
		const struct column *c = &ef->cols[i];
		const char *sep = i ? ", " : "";

		switch (form) {
		case J_DECL_TEXT: tmp = xasprintf("%s%s%s text", out, sep, c->db_name); break;
		case J_NAME: tmp = xasprintf("%s%s%s", out, sep, c->db_name); break;
		case J_CAST_S:
			if (c->kind == C_BALANCE)       /* major units to minor units of the account's currency */
				tmp = xasprintf("%s%s(s.%s::numeric * power(10::numeric, (SELECT cu.exponent"
				    " FROM bank_account ba JOIN currency cu ON cu.code = ba.currency"
				    " WHERE ba.account_no = s.%s)))::bigint", out, sep, c->db_name,
				    ef->cols[c->ref].db_name);
			else
				tmp = xasprintf("%s%ss.%s::%s", out, sep, c->db_name, c->db_type);
			break;
		default: tmp = xasprintf("%s%st.%s", out, sep, c->db_name); break;
		}
		free(out);
		out = tmp;
	}
	return out;
}

/* Runs a check query; a row back means a bad line: report it as file:line. */
static enum perr
first_bad_line(PGconn *db, const char *sql, const char *path, const char *fmt)
{
	PGresult *res = db_query(db, PGRES_TUPLES_OK, sql, 0, NULL);
	enum perr e = PERR_OK;

	if (res == NULL)
		return PERR_DB;
	if (PQntuples(res) > 0) {
		char msg[256];

		fill(msg, sizeof msg, fmt, PQgetvalue(res, 0, 1));
		e = perr_set(PERR_IMPORT, "%s:%s: %s", path, PQgetvalue(res, 0, 0), msg);
	}
	PQclear(res);
	return e;
}

static enum perr
load_file(PGconn *db, const struct extract_file *ef, struct reader *r, long *inserted)
{
	char *cols_text = sql_join(ef, J_DECL_TEXT);
	char *cols = sql_join(ef, J_NAME);
	char *cast = sql_join(ef, J_CAST_S);
	char *tcols = sql_join(ef, J_T);
	char *sql = NULL, *key_join = NULL, *tmp;
	const char *k;
	enum perr e;
	PGresult *res;
	int i;

	/* key join condition: t.k1 = s.k1::type AND ... */
	key_join = xstrdup("");
	for (k = ef->key; *k; ) {
		size_t len = strcspn(k, ",");

		for (i = 0; i < ef->n_cols; i++)
			if (strlen(ef->cols[i].db_name) == len && !strncmp(ef->cols[i].db_name, k, len))
				break;
		tmp = xasprintf("%s%st.%s = s.%s::%s", key_join, *key_join ? " AND " : "",
		    ef->cols[i].db_name, ef->cols[i].db_name, ef->cols[i].db_type);
		free(key_join);
		key_join = tmp;
		k += len + (k[len] == ',');
	}

	sql = xasprintf("CREATE TEMP TABLE stg_%s (line bigint, %s) ON COMMIT DROP", ef->table, cols_text);
	if ((e = db_exec(db, sql)) != PERR_OK)
		goto out;
	free(sql);
	sql = xasprintf("COPY stg_%s (line, %s) FROM STDIN", ef->table, cols);
	if ((e = db_copy_begin(db, sql)) != PERR_OK)
		goto out;
	if ((e = db_copy_put(db, r->copy ? r->copy : "", r->copy_len)) != PERR_OK
	    || (e = db_copy_end(db)) != PERR_OK)
		goto out;
	/* The checks below join the staging table: index and analyze it so they stay O(n log n). */
	free(sql);
	sql = xasprintf("CREATE INDEX ON stg_%s (%s)", ef->table, ef->key);
	if ((e = db_exec(db, sql)) != PERR_OK)
		goto out;
	if (ef->index) {
		free(sql);
		sql = xasprintf("CREATE INDEX ON stg_%s (%s)", ef->table, ef->index);
		if ((e = db_exec(db, sql)) != PERR_OK)
			goto out;
	}
	free(sql);
	sql = xasprintf("ANALYZE stg_%s", ef->table);
	if ((e = db_exec(db, sql)) != PERR_OK)
		goto out;

	/* the same id twice in this file */
	free(sql);
	sql = xasprintf("SELECT max(line), %s FROM stg_%s GROUP BY %s HAVING count(*) > 1 ORDER BY 1 LIMIT 1",
	    ef->key, ef->table, ef->key);
	if (strchr(ef->key, ',')) {
		free(sql);
		sql = xasprintf("SELECT max(line), concat_ws('/', %s) FROM stg_%s GROUP BY %s"
		    " HAVING count(*) > 1 ORDER BY 1 LIMIT 1", ef->key, ef->table, ef->key);
	}
	if ((e = first_bad_line(db, sql, r->path, "duplicate id %s in this file")) != PERR_OK)
		goto out;

	/* cross-references and cross-column rules */
	for (i = 0; ef->checks[i].condition; i++) {
		free(sql);
		sql = xasprintf("SELECT s.line, s.%s FROM stg_%s s WHERE %s ORDER BY s.line LIMIT 1",
		    ef->checks[i].col, ef->table, ef->checks[i].condition);
		if ((e = first_bad_line(db, sql, r->path, ef->checks[i].message)) != PERR_OK)
			goto out;
	}

	/* an existing id with different content is an error, never an update */
	{
		char *keys_s = xstrdup(""), *t2;

		for (k = ef->key; *k; ) {
			size_t len = strcspn(k, ",");

			t2 = xasprintf("%s%ss.%.*s", keys_s, *keys_s ? ", " : "", (int)len, k);
			free(keys_s);
			keys_s = t2;
			k += len + (k[len] == ',');
		}
		free(sql);
		sql = xasprintf("SELECT s.line, concat_ws('/', %s) FROM stg_%s s JOIN %s t ON %s"
		    " WHERE ROW(%s) IS DISTINCT FROM ROW(%s) ORDER BY s.line LIMIT 1",
		    keys_s, ef->table, ef->table, key_join, tcols, cast);
		free(keys_s);
	}
	if ((e = first_bad_line(db, sql, r->path,
	    "id %s already exists with different content (a ledger row is never changed by an import)"))
	    != PERR_OK)
		goto out;

	free(sql);
	sql = xasprintf("INSERT INTO %s (%s) SELECT %s FROM stg_%s s ORDER BY s.line ON CONFLICT DO NOTHING",
	    ef->table, cols, cast, ef->table);
	res = db_query(db, PGRES_COMMAND_OK, sql, 0, NULL);
	if (res == NULL) {
		e = perr_set(PERR_IMPORT, "%s: %s", r->path, perr_detail());
		goto out;
	}
	*inserted = atol(PQcmdTuples(res));
	PQclear(res);
	e = PERR_OK;
out:
	free(sql);
	free(key_join);
	free(cols_text);
	free(cols);
	free(cast);
	free(tcols);
	return e;
}

static void
usage_ledger(FILE *fp)
{
	fprintf(fp, "usage: pipeline ledger import DIR\n\n"
	    "Loads a ledger extract: accounts.csv, investors.csv, offerings.csv, subscriptions.csv,\n"
	    "cash_movements.csv, holdings.csv, balances.csv (any may be absent). All or nothing; importing the\n"
	    "same extract again changes nothing; a changed row with an existing id is an error.\n");
}

int
cmd_ledger(int argc, char **argv, const char *config_path)
{
	struct config *cfg = NULL;
	PGconn *db = NULL;
	struct reader readers[N_EXTRACT_FILES];
	long inserted[N_EXTRACT_FILES], total_rows = 0, total_new = 0;
	enum perr e = PERR_OK;
	struct stat st;
	int i;

	if (argc == 2 && !strcmp(argv[1], "--help")) {
		usage_ledger(stdout);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "import") != 0) {
		usage_ledger(stderr);
		return 2;
	}
	if (stat(argv[2], &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "pipeline: ledger import: %s is not a directory\n", argv[2]);
		return 2;
	}
	memset(readers, 0, sizeof readers);
	memset(inserted, 0, sizeof inserted);
	/* Parse and check every file before touching the database. */
	for (i = 0; i < N_EXTRACT_FILES && e == PERR_OK; i++) {
		char *path = xasprintf("%s/%s", argv[2], extract_files[i].file);

		readers[i].ef = &extract_files[i];
		readers[i].path = path;
		if (access(path, F_OK) != 0)
			continue;       /* absent: nothing of that kind today */
		e = read_extract_file(&readers[i]);
	}
	if (e != PERR_OK)
		goto out;
	if ((e = cli_open(config_path, "ledger import", &cfg, &db)) != PERR_OK)
		goto out;
	if ((e = db_lock_acquire(db)) != PERR_OK)
		goto out;
	if ((e = db_begin(db)) != PERR_OK)
		goto out;
	for (i = 0; i < N_EXTRACT_FILES; i++) {
		if (access(readers[i].path, F_OK) != 0)
			continue;
		if ((e = load_file(db, &extract_files[i], &readers[i], &inserted[i])) != PERR_OK) {
			db_rollback(db);
			goto out;
		}
		total_rows += readers[i].rows;
		total_new += inserted[i];
	}
	if ((e = db_commit(db)) != PERR_OK)
		goto out;
	/* Fresh statistics for the stages that plan queries over what was just loaded. */
	if (total_new > 0 && (e = db_exec(db, "SELECT pipeline_analyze('bank_account', 'investor', 'offering',"
	    " 'subscription', 'cash_movement', 'holding', 'book_balance')")) != PERR_OK)      /* as the owner (sql/090) */
		goto out;
	for (i = 0; i < N_EXTRACT_FILES; i++)
		if (access(readers[i].path, F_OK) == 0)
			printf("%-20s %7ld rows, %7ld new\n", extract_files[i].file, readers[i].rows, inserted[i]);
	printf("imported %s: %ld rows, %ld new, %ld already present\n", argv[2], total_rows, total_new,
	    total_rows - total_new);
out:
	for (i = 0; i < N_EXTRACT_FILES; i++) {
		free((char *)readers[i].path);
		free(readers[i].copy);
	}
	if (db) {
		db_lock_release(db);
		PQfinish(db);
	}
	config_free(cfg);
	if (e != PERR_OK) {
		if (e == PERR_IMPORT)
			fprintf(stderr, "pipeline: nothing was imported\n");
		return cli_fail(e);
	}
	return 0;
}
