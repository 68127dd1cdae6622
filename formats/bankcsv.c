/*
 * bankcsv.c - a bank's CSV statement export, driven by its layout (layout.h, formats/README.md).
 *
 * One statement per file: preamble rows, an optional header row, transaction rows, trailer rows.
 * The file is read line by line (so every message names its line), each line's bytes are
 * validated as UTF-8 or converted exactly from ISO-8859-1, and fed to libcsv in strict mode
 * (CSV_STRICT | CSV_STRICT_FINI: a stray quote is an error, never a field that swallows the rest
 * of the file). Every record's field count is checked against what the layout expects there.
 * Memory is constant: one record is held at a time.
 *
 * A file whose rows are newest-first (declared, or detected by `order = detect`) is read twice:
 * a first pass checks it and learns its row count, its oldest row's balance and dates; the second
 * gives every line its canonical number (1 = the oldest) and checks the running balance backwards.
 * The lines then reach the sink in the file's order, newest first (numbers descending): the
 * parser stays streaming, and a line's number, not its arrival, is its place in the statement.
 */
#include "layout.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "refx.h"
#include "util.h"

#define CSV_MAX_LINE 65536

enum phase { PH_PREAMBLE, PH_HEADER, PH_DATA, PH_TRAILER, PH_DONE };

/* What the first pass over a newest-first (or order = detect) file learned, for the second pass. */
struct scan {
	int64_t rows;                 /* transaction rows (skipped rows not counted) */
	date_t first_date, last_date; /* the first and last rows' order dates, in file order */
	date_t first_value, last_value;
	int64_t bal[2], amt[2];       /* the first two rows' balances and amounts (detect) */
	int64_t last_bal, last_amt;   /* the last row's, in file order */
};

/* A control total from a trailer (or preamble) cell, checked at the end. */
struct control {
	bool present;
	int64_t value;
	long line;
	char what[96];
};

struct bc {
	const struct layout *lay;
	const struct parse_opts *o;
	const struct stmt_sink *sink;
	const struct refx *rx;
	const char *path;
	long lineno;          /* the physical line being fed to libcsv */
	long rec_line;        /* where the current record started */
	struct fbuf fields[LAYOUT_MAX_CELLS];
	size_t nf;
	size_t nf_seen;       /* fields in the record, even beyond LAYOUT_MAX_CELLS */
	bool failed;
	enum perr err;
	enum phase phase;
	size_t sub;           /* preamble / trailer row index */

	bool have_stmt_date, have_open_date, have_close_date;
	date_t stmt_date, open_date, close_date;
	bool currency_set;
	struct stmt_header h;
	bool begun;
	int64_t prev_balance, prev_amount;  /* the previous row's, in file order */
	int64_t first_bal, first_amt;       /* the first row's, in file order */
	date_t first_value, last_value;     /* the oldest and newest rows' value dates */
	date_t prev_date;                   /* the previous row's order date */
	int64_t file_rows;                  /* transaction rows so far, in file order */

	struct scan *scan_out;        /* the first pass: learn, check what needs no direction, emit nothing */
	const struct scan *scan_in;   /* the second pass of a newest-first file */
	bool reverse;                 /* rows are newest-first */
	struct control ctl_count, ctl_debits, ctl_credits;
	int64_t sum_debits, sum_credits;    /* absolute, over the lines */
	char xbuf[REFX_MAX_LEN + 1];        /* a value taken out by an extract pattern */

	struct stmt_line l;
	struct fbuf narr, cust, bank, text;
	char ref[REFX_MAX_LEN + 1];
};

static void
fail(struct bc *b, enum perr e)
{
	b->failed = true;
	b->err = e;
}

static enum perr
rerr(struct bc *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "path:line: layout: message" for the current record. */
static enum perr
rerr(struct bc *b, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return perr_set(PERR_PARSE, "%s:%ld: %s: %s", b->path, b->rec_line, b->lay->name, msg);
}

static const char *
field(struct bc *b, size_t i)
{
	return b->fields[i].p ? b->fields[i].p : "";
}

/* The column's name for messages: its header text, else its role. */
static const char *
col_name(const struct layout *lay, size_t i)
{
	if (lay->header.n > i)
		return lay->header.cells[i].text;
	return layout_role_name(lay->columns[i]);
}

/*
 * Parses an amount in the layout's style; with crdr a trailing "CR" (credit, positive) or "DR"
 * (debit, negative) may follow, separated by an optional space.
 */
static enum perr set_currency(struct bc *b, const char *what, const char *v);

static bool
is_code(const char *s)
{
	return s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] >= 'A' && s[2] <= 'Z';
}

/*
 * amount_currency = prefix/suffix: takes the code off "SGD 5,000.00" / "5,000.00 SGD" (one space
 * or none between) and checks it against the statement's currency (or sets it). *s and *n are
 * moved past the code. An amount without a code is in the statement's currency.
 */
static enum perr
strip_currency(struct bc *b, const char *what, const char **s, size_t *n)
{
	const char *p = *s, *code;
	char c[4];
	size_t len = *n;

	if (b->lay->amount_currency == ACCY_PREFIX && len >= 3 && is_code(p)) {
		code = p;
		p += 3;
		len -= 3;
		if (len > 0 && *p == ' ') {
			p++;
			len--;
		}
	} else if (b->lay->amount_currency == ACCY_SUFFIX && len >= 3 && is_code(p + len - 3)) {
		code = p + len - 3;
		len -= 3;
		if (len > 0 && p[len - 1] == ' ')
			len--;
	} else {
		return PERR_OK;      /* no code: the statement's currency */
	}
	memcpy(c, code, 3);
	c[3] = '\0';
	*s = p;
	*n = len;
	return set_currency(b, what, c);
}

static enum perr
parse_money(struct bc *b, const char *what, const char *s, int64_t *out)
{
	size_t n = strlen(s);
	const char *orig = s;
	int sign = 1;
	enum perr e;

	if (b->lay->amount_currency != ACCY_NONE && (e = strip_currency(b, what, &s, &n)) != PERR_OK)
		return e;
	if (b->lay->crdr && n >= 2 && (strncmp(s + n - 2, "CR", 2) == 0 || strncmp(s + n - 2, "DR", 2) == 0)) {
		sign = s[n - 2] == 'D' ? -1 : 1;
		n -= 2;
		if (n > 0 && s[n - 1] == ' ')
			n--;
	}
	if (!b->currency_set)
		return rerr(b, "%s: amount before the currency is known, expected the currency first", what);
	e = money_parse(s, n, b->h.exponent, &b->lay->money, out);
	if (e != PERR_OK) {
		rerr(b, "%s: %s", what, perr_detail());
		return e;
	}
	if (sign < 0) {
		if (*out < 0)
			return rerr(b, "%s: amount \"%s\" has both a minus and DR", what, orig);
		*out = -*out;
	}
	return PERR_OK;
}

static enum perr
set_currency(struct bc *b, const char *what, const char *v)
{
	const struct currency *c = currency_find(v);

	if (c == NULL)
		return rerr(b, "%s: currency \"%s\" is not a known ISO 4217 code", what, v);
	if (b->currency_set && strcmp(b->h.currency, v) != 0)
		return rerr(b, "%s: currency \"%s\" differs from the statement's currency %s", what, v, b->h.currency);
	memcpy(b->h.currency, c->code, 4);
	b->h.exponent = c->exponent;
	b->currency_set = true;
	return PERR_OK;
}

static enum perr
take_date(struct bc *b, const char *what, const char *v, date_t *out)
{
	size_t i;
	char fmts[128] = "";

	if (layout_parse_date(b->lay, v, out))
		return PERR_OK;
	for (i = 0; i < b->lay->n_date_formats; i++) {
		if (i > 0)
			strncat(fmts, " or ", sizeof fmts - strlen(fmts) - 1);
		strncat(fmts, b->lay->date_formats[i], sizeof fmts - strlen(fmts) - 1);
	}
	return rerr(b, "%s: date \"%s\" is not a valid date, expected %s", what, v, fmts);
}

/*
 * The value of a cell of role r: the cell itself, or what the layout's extract pattern for r takes
 * out of it (into b->xbuf). A cell the pattern does not match is an error.
 */
static enum perr
extracted(struct bc *b, enum layout_role r, const char *what, const char *v, const char **out)
{
	size_t i;

	*out = v;
	for (i = 0; i < b->lay->n_extract; i++) {
		const struct layout_extract *x = &b->lay->extract[i];
		const char *texts[1] = { v };

		if (x->role != r)
			continue;
		if (refx_extract(x->rx, texts, 1, b->xbuf, sizeof b->xbuf) == 0)
			return rerr(b, "%s: \"%.80s\" does not match the extract pattern %s (layout line %d)", what, v,
			    x->pattern, x->src_line);
		*out = b->xbuf;
		return PERR_OK;
	}
	return PERR_OK;
}

/* A control total: {count} a whole number, {total_debits}/{total_credits} unsigned amounts. */
static enum perr
take_control(struct bc *b, enum layout_role r, const char *what, const char *v)
{
	struct control *c = r == ROLE_TOTAL_COUNT ? &b->ctl_count : r == ROLE_TOTAL_DEBITS ? &b->ctl_debits
	    : &b->ctl_credits;
	enum perr e;

	if (r == ROLE_TOTAL_COUNT) {
		const char *p;

		c->value = 0;
		for (p = v; *p >= '0' && *p <= '9' && c->value < INT64_MAX / 10 - 9; p++)
			c->value = c->value * 10 + (*p - '0');
		if (*v == '\0' || *p != '\0')
			return rerr(b, "%s: row count \"%.40s\" is not a whole number", what, v);
	} else {
		if ((e = parse_money(b, what, v, &c->value)) != PERR_OK)
			return e;
		if (c->value < 0)
			return rerr(b, "%s: control total \"%s\" is negative, expected the sum as a positive amount", what, v);
	}
	c->present = true;
	c->line = b->rec_line;
	snprintf(c->what, sizeof c->what, "%s", what);
	return PERR_OK;
}

/* A preamble or trailer cell holding a value. */
static enum perr
capture(struct bc *b, enum layout_role r, const char *what, const char *cell)
{
	size_t n;
	int64_t a;
	const char *v;
	enum perr e;

	if ((e = extracted(b, r, what, cell, &v)) != PERR_OK)
		return e;
	n = strlen(v);
	switch (r) {
	case ROLE_TOTAL_COUNT:
	case ROLE_TOTAL_DEBITS:
	case ROLE_TOTAL_CREDITS:
		return take_control(b, r, what, v);
	case ROLE_ACCOUNT:
		if (n == 0 || n >= sizeof b->h.account)
			return rerr(b, "%s: account \"%s\" must be 1 to %zu characters", what, v, sizeof b->h.account - 1);
		memcpy(b->h.account, v, n + 1);
		return PERR_OK;
	case ROLE_CURRENCY:
		return set_currency(b, what, v);
	case ROLE_STATEMENT_NO:
		if (n == 0 || n >= sizeof b->h.statement_no)
			return rerr(b, "%s: statement number \"%s\" must be 1 to %zu characters", what, v,
			    sizeof b->h.statement_no - 1);
		memcpy(b->h.statement_no, v, n + 1);
		return PERR_OK;
	case ROLE_STATEMENT_DATE:
		b->have_stmt_date = true;
		return take_date(b, what, v, &b->stmt_date);
	case ROLE_OPENING_DATE:
		b->have_open_date = true;
		return take_date(b, what, v, &b->open_date);
	case ROLE_CLOSING_DATE:
		b->have_close_date = true;
		return take_date(b, what, v, &b->close_date);
	case ROLE_OPENING:
	case ROLE_CLOSING:
		if ((e = parse_money(b, what, v, &a)) != PERR_OK)
			return e;
		if (r == ROLE_OPENING) {
			b->h.opening.present = true;
			b->h.opening.amount_minor = a;
		} else {
			b->h.closing.present = true;
			b->h.closing.amount_minor = a;
		}
		return PERR_OK;
	default:
		return PERR_OK;
	}
}

static bool
row_matches(struct bc *b, const struct layout_row *spec)
{
	size_t i;

	if (b->nf_seen != spec->n)
		return false;
	for (i = 0; i < spec->n; i++)
		if (spec->cells[i].kind == CELL_LITERAL && strcmp(field(b, i), spec->cells[i].text) != 0)
			return false;
	return true;
}

static void
describe_row(const struct layout_row *spec, char *buf, size_t cap)
{
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < spec->n; i++) {
		const struct layout_cell *c = &spec->cells[i];
		char cell[160];

		if (c->kind == CELL_LITERAL)
			snprintf(cell, sizeof cell, "%s\"%s\"", i ? "," : "", c->text);
		else if (c->kind == CELL_ROLE)
			snprintf(cell, sizeof cell, "%s{%s}", i ? "," : "", layout_role_name(c->role));
		else
			snprintf(cell, sizeof cell, "%s*", i ? "," : "");
		strncat(buf, cell, cap - strlen(buf) - 1);
	}
}

/* Checks a preamble/header/trailer record against its row spec and captures its values. */
static enum perr
match_row(struct bc *b, const struct layout_row *spec, const char *what)
{
	char desc[512], name[96];
	size_t i;
	enum perr e;

	describe_row(spec, desc, sizeof desc);
	if (b->nf_seen != spec->n)
		return rerr(b, "%s has %zu fields, expected %zu: %s", what, b->nf_seen, spec->n, desc);
	for (i = 0; i < spec->n; i++) {
		const struct layout_cell *c = &spec->cells[i];

		if (c->kind == CELL_LITERAL && strcmp(field(b, i), c->text) != 0)
			return rerr(b, "%s field %zu is \"%.80s\", expected \"%s\"", what, i + 1, field(b, i), c->text);
		if (c->kind == CELL_ROLE) {
			snprintf(name, sizeof name, "%s field %zu (%s)", what, i + 1, layout_role_name(c->role));
			if ((e = capture(b, c->role, name, field(b, i))) != PERR_OK)
				return e;
		}
	}
	return PERR_OK;
}

static enum perr
begin_statement(struct bc *b)
{
	if (b->begun)
		return PERR_OK;
	b->begun = true;
	if (!b->currency_set && b->lay->currency[0] != '\0')
		set_currency(b, "currency", b->lay->currency);
	if (b->h.opening.present) {
		b->h.opening.mark = b->h.opening.amount_minor < 0 ? 'D' : 'C';
		if (b->have_open_date)
			b->h.opening.date = b->open_date;
		else if (b->have_stmt_date)
			b->h.opening.date = b->stmt_date;
		else
			b->h.opening.date = b->first_value;
	}
	if (b->lay->statement_no_src == SNO_DATE && b->have_stmt_date) {
		int y, m, d;

		date_to_ymd(b->stmt_date, &y, &m, &d);
		snprintf(b->h.statement_no, sizeof b->h.statement_no, "%04d%02d%02d", y, m, d);
	}
	if (b->scan_out == NULL && b->sink->begin != NULL)
		return b->sink->begin(b->sink->arg, &b->h);
	return PERR_OK;
}

/* True if the row is not a transaction: a skip pattern matches its column (Pending, a subtotal). */
static bool
skipped_row(struct bc *b)
{
	const struct layout *lay = b->lay;
	size_t i, j;
	char scratch[REFX_MAX_LEN + 1];

	for (i = 0; i < lay->n_skip; i++)
		for (j = 0; j < lay->n_columns; j++) {
			const char *texts[1] = { field(b, j) };

			if (lay->columns[j] == lay->skip[i].role
			    && refx_extract(lay->skip[i].rx, texts, 1, scratch, sizeof scratch) > 0)
				return true;
		}
	return false;
}

/* The row's cells into b->l (amount, dates, texts); *balance the running balance cell. */
static enum perr
read_cells(struct bc *b, int64_t *balance, date_t *order_date)
{
	const struct layout *lay = b->lay;
	size_t i;
	int64_t debit = 0, credit = 0;
	bool have_debit = false, have_credit = false, have_value = false;
	enum perr e;

	for (i = 0; i < lay->n_columns; i++) {
		const char *v;
		const char *name = col_name(lay, i);
		int64_t a;
		date_t d;

		if ((e = extracted(b, lay->columns[i], name, field(b, i), &v)) != PERR_OK)
			return e;
		switch (lay->columns[i]) {
		case ROLE_VALUE_DATE:
		case ROLE_ENTRY_DATE:
			if ((e = take_date(b, name, v, &d)) != PERR_OK)
				return e;
			if (lay->columns[i] == ROLE_VALUE_DATE) {
				b->l.value_date = d;
				have_value = true;
			} else {
				b->l.entry_date = d;
				b->l.has_entry_date = true;
			}
			break;
		case ROLE_NARRATIVE:
			if (v[0] != '\0') {
				if (b->narr.len > 0)
					fbuf_putc(&b->narr, ' ');
				fbuf_append(&b->narr, v, strlen(v));
			}
			break;
		case ROLE_BANK_REF:
			fbuf_append(&b->bank, v, strlen(v));
			break;
		case ROLE_CUSTOMER_REF:
			fbuf_append(&b->cust, v, strlen(v));
			break;
		case ROLE_TYPE_CODE:
			if (strlen(v) >= sizeof b->l.type_code)
				return rerr(b, "%s: type code \"%.40s\" is longer than %zu characters", name, v,
				    sizeof b->l.type_code - 1);
			memcpy(b->l.type_code, v, strlen(v) + 1);
			break;
		case ROLE_AMOUNT:
			if ((e = parse_money(b, name, v, &a)) != PERR_OK)
				return e;
			if (a == 0)
				return rerr(b, "%s: amount \"%s\" is zero, expected a movement", name, v);
			b->l.amount_minor = a;
			break;
		case ROLE_DEBIT:
		case ROLE_CREDIT:
			if (v[0] == '\0')
				break;
			if ((e = parse_money(b, name, v, &a)) != PERR_OK)
				return e;
			if (a <= 0)
				return rerr(b, "%s: amount \"%s\" must be positive in a %s column", name, v,
				    layout_role_name(lay->columns[i]));
			if (lay->columns[i] == ROLE_DEBIT) {
				debit = a;
				have_debit = true;
			} else {
				credit = a;
				have_credit = true;
			}
			break;
		case ROLE_BALANCE:
			if ((e = parse_money(b, name, v, balance)) != PERR_OK)
				return e;
			break;
		default:
			break;
		}
	}
	if (lay->amount_style == AMT_DEBIT_CREDIT) {
		if (have_debit == have_credit)
			return rerr(b, "%s and %s: %s, expected exactly one of the two",
			    col_name(lay, (size_t)lay->col_of[ROLE_DEBIT]), col_name(lay, (size_t)lay->col_of[ROLE_CREDIT]),
			    have_debit ? "both are filled" : "both are empty");
		b->l.amount_minor = have_debit ? -debit : credit;
	}
	if (!have_value)
		b->l.value_date = b->l.entry_date;
	*order_date = b->l.has_entry_date ? b->l.entry_date : b->l.value_date;
	return PERR_OK;
}

/* Rows must keep the declared (or detected) order of their dates. */
static enum perr
check_order(struct bc *b, date_t d)
{
	const struct layout *lay = b->lay;
	char got[DATE_BUFSZ], prev[DATE_BUFSZ];
	int col;

	if (b->lay->order == ORDER_FILE || b->file_rows == 0 || b->scan_out != NULL)
		return PERR_OK;
	if (b->reverse ? d <= b->prev_date : d >= b->prev_date)
		return PERR_OK;
	col = lay->col_of[ROLE_ENTRY_DATE] >= 0 ? lay->col_of[ROLE_ENTRY_DATE] : lay->col_of[ROLE_VALUE_DATE];
	return rerr(b, "%s: date %s is %s the previous row's %s: the rows are not %s first%s", col_name(lay, (size_t)col),
	    date_format_iso(d, got), b->reverse ? "after" : "before", date_format_iso(b->prev_date, prev),
	    b->reverse ? "newest" : "oldest", lay->order == ORDER_DETECT ? " (as the first and last rows say)" : "");
}

/*
 * The running balance: each row's balance must follow from the previous row's (file order) and
 * the amount - forwards, or for newest-first rows backwards (the previous row is the later one).
 */
static enum perr
check_running(struct bc *b, int64_t balance)
{
	const struct layout *lay = b->lay;
	int64_t expect;
	bool ok;
	char got[MONEY_BUFSZ], want[MONEY_BUFSZ];

	if (b->file_rows == 0 || b->scan_out != NULL)
		return PERR_OK;
	ok = b->reverse ? money_sub(b->prev_balance, b->prev_amount, &expect)
	    : money_add(b->prev_balance, b->l.amount_minor, &expect);
	if (!ok)
		return rerr(b, "balance plus amount overflows");
	if (expect == balance)
		return PERR_OK;
	return rerr(b, "%s: running balance %s does not follow from the %s row's balance and %s amount, expected %s",
	    col_name(lay, (size_t)lay->col_of[ROLE_BALANCE]), money_format(balance, b->h.exponent, got),
	    b->reverse ? "previous (later)" : "previous", b->reverse ? "that row's" : "this",
	    money_format(expect, b->h.exponent, want));
}

/* What the first pass keeps of a row. */
static void
scan_row(struct bc *b, int64_t balance, date_t d)
{
	struct scan *sc = b->scan_out;

	if (sc->rows < 2) {
		sc->bal[sc->rows] = balance;
		sc->amt[sc->rows] = b->l.amount_minor;
	}
	if (sc->rows == 0) {
		sc->first_date = d;
		sc->first_value = b->l.value_date;
	}
	sc->last_date = d;
	sc->last_value = b->l.value_date;
	sc->last_bal = balance;
	sc->last_amt = b->l.amount_minor;
	sc->rows++;
}

/* The balances, dates and totals a row moves: first/last rows, the opening from a running balance. */
static enum perr
account_row(struct bc *b, int64_t balance, date_t d)
{
	const struct layout *lay = b->lay;
	int64_t a = b->l.amount_minor;
	bool bal_col = lay->col_of[ROLE_BALANCE] >= 0;
	enum perr e;

	if ((e = check_order(b, d)) != PERR_OK)
		return e;
	if (bal_col && (e = check_running(b, balance)) != PERR_OK)
		return e;
	if (b->file_rows == 0) {
		b->first_bal = balance;
		b->first_amt = a;
		if (b->reverse)
			b->last_value = b->l.value_date;
		else
			b->first_value = b->l.value_date;
		if (bal_col && lay->opening_src == BAL_RUNNING) {
			int64_t open_bal = b->reverse ? b->scan_in->last_bal : balance;
			int64_t open_amt = b->reverse ? b->scan_in->last_amt : a;

			if (!money_sub(open_bal, open_amt, &b->h.opening.amount_minor))
				return rerr(b, "balance minus amount overflows");
			b->h.opening.present = true;
		}
	}
	if (!b->reverse)
		b->last_value = b->l.value_date;
	b->prev_balance = balance;
	b->prev_amount = a;
	b->prev_date = d;
	b->file_rows++;
	if (!money_add(a < 0 ? b->sum_debits : b->sum_credits, a < 0 ? -a : a, a < 0 ? &b->sum_debits : &b->sum_credits))
		return perr_set(PERR_MONEY_OVERFLOW, "%s:%ld: %s: the sum of the statement's %s overflows",
		    b->path, b->rec_line, lay->name, a < 0 ? "debits" : "credits");
	return PERR_OK;
}

static enum perr
data_row(struct bc *b)
{
	const struct layout *lay = b->lay;
	int64_t balance = 0;
	date_t d = 0;
	const char *texts[3];
	enum perr e;

	if (b->nf_seen != lay->n_columns)
		return rerr(b, "transaction row has %zu fields, expected %zu", b->nf_seen, lay->n_columns);
	if (skipped_row(b))
		return PERR_OK;
	memset(&b->l, 0, sizeof b->l);
	b->l.src_line = b->rec_line;
	fbuf_reset(&b->narr);
	fbuf_reset(&b->cust);
	fbuf_reset(&b->bank);
	fbuf_append(&b->narr, "", 0);
	fbuf_append(&b->cust, "", 0);
	fbuf_append(&b->bank, "", 0);
	if (lay->col_of[ROLE_CURRENCY] >= 0
	    && (e = set_currency(b, col_name(lay, (size_t)lay->col_of[ROLE_CURRENCY]),
	    field(b, (size_t)lay->col_of[ROLE_CURRENCY]))) != PERR_OK)
		return e;
	if ((e = read_cells(b, &balance, &d)) != PERR_OK)
		return e;
	strcpy(b->l.mark, b->l.amount_minor < 0 ? "D" : "C");
	if (b->scan_out != NULL) {
		scan_row(b, balance, d);
		return PERR_OK;
	}
	if ((e = account_row(b, balance, d)) != PERR_OK)
		return e;
	if ((e = begin_statement(b)) != PERR_OK)
		return e;
	if (!money_add(b->h.sum_minor, b->l.amount_minor, &b->h.sum_minor))
		return perr_set(PERR_MONEY_OVERFLOW, "%s:%ld: %s: the sum of the statement's lines overflows",
		    b->path, b->rec_line, lay->name);
	b->h.line_count++;
	b->l.line_no = b->reverse ? b->scan_in->rows - b->h.line_count + 1 : b->h.line_count;
	texts[0] = b->narr.p;
	texts[1] = b->cust.p;
	texts[2] = b->bank.p;
	refx_extract(b->rx, texts, 3, b->ref, sizeof b->ref);
	b->l.narrative = b->narr.p;
	b->l.customer_ref = b->cust.p;
	b->l.bank_ref = b->bank.p;
	b->l.supplementary = "";
	b->l.reference = b->ref;
	if (b->sink->line != NULL)
		return b->sink->line(b->sink->arg, &b->h, &b->l);
	return PERR_OK;
}

static enum perr
record(struct bc *b)
{
	const struct layout *lay = b->lay;
	char what[64];
	size_t i, idx;

	if (b->nf_seen > LAYOUT_MAX_CELLS)
		return rerr(b, "row has %zu fields, expected at most %d", b->nf_seen, LAYOUT_MAX_CELLS);
	for (i = 0; i < b->nf; i++) {
		char *nl;

		while (b->fields[i].p != NULL && (nl = strchr(b->fields[i].p, '\n')) != NULL) {
			if (!lay->multiline_cells)
				return rerr(b, "field %zu contains a line break, expected one line per row "
				    "(or multiline_cells = yes)", i + 1);
			*nl = ' ';      /* a line break inside a quoted cell reads as one space */
		}
	}
	switch (b->phase) {
	case PH_PREAMBLE:
		idx = b->sub;
		snprintf(what, sizeof what, "preamble row %zu", idx + 1);
		b->sub++;
		if (b->sub == lay->n_preamble) {
			b->phase = lay->header.n ? PH_HEADER : PH_DATA;
			b->sub = 0;
		}
		return match_row(b, &lay->preamble[idx], what);
	case PH_HEADER:
		b->phase = PH_DATA;
		return match_row(b, &lay->header, "header row");
	case PH_DATA:
		if (lay->n_trailer > 0 && row_matches(b, &lay->trailer[0])) {
			b->phase = PH_TRAILER;
			b->sub = 0;
			return record(b);
		}
		return data_row(b);
	case PH_TRAILER:
		idx = b->sub;
		snprintf(what, sizeof what, "trailer row %zu", idx + 1);
		b->sub++;
		if (b->sub == lay->n_trailer)
			b->phase = PH_DONE;
		return match_row(b, &lay->trailer[idx], what);
	case PH_DONE:
		return rerr(b, "row after the trailer, expected the end of the file");
	}
	return PERR_INTERNAL;
}

static void
cb_field(void *s, size_t len, void *data)
{
	struct bc *b = data;

	if (b->failed)
		return;
	b->nf_seen++;
	if (b->nf >= LAYOUT_MAX_CELLS)
		return;
	fbuf_reset(&b->fields[b->nf]);
	fbuf_append(&b->fields[b->nf], s ? s : "", s ? len : 0);
	b->nf++;
}

static void
cb_record(int c, void *data)
{
	struct bc *b = data;
	enum perr e;

	(void)c;
	if (b->failed)
		return;
	e = record(b);
	if (e != PERR_OK)
		fail(b, e);
	b->nf = b->nf_seen = 0;
	b->rec_line = b->lineno + 1;
}

static int
no_space(unsigned char c)
{
	(void)c;
	return 0;
}

/* The trailer's control totals against the lines. */
static enum perr
check_controls(struct bc *b)
{
	char want[MONEY_BUFSZ], got[MONEY_BUFSZ];

	if (b->ctl_count.present && b->ctl_count.value != b->h.line_count) {
		b->rec_line = b->ctl_count.line;
		return rerr(b, "%s: control total of %lld rows, but the file has %lld transaction rows", b->ctl_count.what,
		    (long long)b->ctl_count.value, (long long)b->h.line_count);
	}
	if (b->ctl_debits.present && b->ctl_debits.value != b->sum_debits) {
		b->rec_line = b->ctl_debits.line;
		return rerr(b, "%s: control total of debits %s, but the debit rows add up to %s", b->ctl_debits.what,
		    money_format(b->ctl_debits.value, b->h.exponent, want), money_format(b->sum_debits, b->h.exponent, got));
	}
	if (b->ctl_credits.present && b->ctl_credits.value != b->sum_credits) {
		b->rec_line = b->ctl_credits.line;
		return rerr(b, "%s: control total of credits %s, but the credit rows add up to %s", b->ctl_credits.what,
		    money_format(b->ctl_credits.value, b->h.exponent, want), money_format(b->sum_credits, b->h.exponent, got));
	}
	return PERR_OK;
}

/* The balances that come from the rows: running balance, closing minus lines. */
static enum perr
derive_balances(struct bc *b)
{
	const struct layout *lay = b->lay;

	if (lay->opening_src == BAL_RUNNING && b->h.line_count == 0)
		return rerr(b, "no transaction rows, so no running balance to take the opening balance from");
	if (lay->closing_src == BAL_RUNNING) {
		b->h.closing.present = true;
		b->h.closing.amount_minor = b->h.line_count == 0 ? b->h.opening.amount_minor
		    : b->reverse ? b->first_bal : b->prev_balance;
	}
	if (lay->opening_src == BAL_DERIVED && b->h.closing.present) {
		if (!money_sub(b->h.closing.amount_minor, b->h.sum_minor, &b->h.opening.amount_minor))
			return rerr(b, "closing balance minus the lines overflows");
		b->h.opening.present = true;
	}
	return PERR_OK;
}

/*
 * A running balance that disagrees with the stated balances while opening + lines = closing
 * holds is a file contradicting itself (malformed). When the sum does not hold either, the
 * completeness gate reports it as a balance break.
 */
static enum perr
check_running_ends(struct bc *b)
{
	int64_t sum_close, io, ic;

	if (b->lay->col_of[ROLE_BALANCE] < 0 || b->h.line_count == 0)
		return PERR_OK;
	if (b->reverse) {
		ic = b->first_bal;
		if (!money_sub(b->prev_balance, b->prev_amount, &io))
			return rerr(b, "balance minus amount overflows");
	} else {
		ic = b->prev_balance;
		if (!money_sub(b->first_bal, b->first_amt, &io))
			return rerr(b, "balance minus amount overflows");
	}
	if (money_add(b->h.opening.amount_minor, b->h.sum_minor, &sum_close) && sum_close == b->h.closing.amount_minor
	    && (io != b->h.opening.amount_minor || ic != b->h.closing.amount_minor))
		return rerr(b, "the running balance column disagrees with the opening and closing balances");
	return PERR_OK;
}

static enum perr
finish(struct bc *b)
{
	const struct layout *lay = b->lay;
	char od[DATE_BUFSZ], cd[DATE_BUFSZ];
	enum perr e;

	b->rec_line = b->lineno > 0 ? b->lineno : 1;
	if (b->phase == PH_PREAMBLE)
		return rerr(b, "end of file before preamble row %zu: the file is truncated", b->sub + 1);
	if (b->phase == PH_HEADER)
		return rerr(b, "end of file before the header row: the file is truncated");
	if (lay->n_trailer > 0 && b->phase != PH_DONE) {
		char desc[512];

		describe_row(&lay->trailer[b->phase == PH_TRAILER ? b->sub : 0], desc, sizeof desc);
		return rerr(b, "end of file before the trailer row %s: the file is truncated", desc);
	}
	if (b->scan_out != NULL)
		return PERR_OK;      /* the first pass: the second checks the rest */
	if (!b->currency_set)
		return rerr(b, "no currency: the file has no rows to take it from");
	if ((e = derive_balances(b)) != PERR_OK)
		return e;
	if (!b->have_stmt_date && !b->have_open_date && b->h.line_count == 0)
		return rerr(b, "no date for the balances: no statement date and no rows");
	if (!b->begun) {
		if ((e = begin_statement(b)) != PERR_OK)
			return e;
	}
	if (!b->h.opening.present || !b->h.closing.present)
		return rerr(b, "the opening or closing balance is missing");
	b->h.opening.mark = b->h.opening.amount_minor < 0 ? 'D' : 'C';
	b->h.closing.mark = b->h.closing.amount_minor < 0 ? 'D' : 'C';
	b->h.opening.date = b->have_open_date ? b->open_date : b->have_stmt_date ? b->stmt_date : b->first_value;
	b->h.closing.date = b->have_close_date ? b->close_date : b->have_stmt_date ? b->stmt_date : b->last_value;
	if (b->h.opening.date > b->h.closing.date)
		return rerr(b, "the opening date %s is after the closing date %s, expected opening <= closing",
		    date_format_iso(b->h.opening.date, od), date_format_iso(b->h.closing.date, cd));
	if (lay->statement_no_src == SNO_DATE) {
		int y, m, d;

		date_to_ymd(b->h.closing.date, &y, &m, &d);
		snprintf(b->h.statement_no, sizeof b->h.statement_no, "%04d%02d%02d", y, m, d);
	}
	if ((e = check_running_ends(b)) != PERR_OK || (e = check_controls(b)) != PERR_OK)
		return e;
	if (b->sink->end != NULL)
		return b->sink->end(b->sink->arg, &b->h);
	return PERR_OK;
}

/* libcsv is inside a quoted field (a line break there is part of the cell). */
static bool
in_quoted_field(const struct csv_parser *p)
{
	return p->quoted && p->pstate == 2;   /* FIELD_BEGUN of a quoted field */
}

/* One line's ending against the layout's: NULL if right, else what is wrong. */
static const char *
bad_ending(const struct layout *lay, bool crlf)
{
	if (crlf && lay->line_ending == LE_LF)
		return "line ends with CRLF, expected LF";
	if (!crlf && lay->line_ending == LE_CRLF)
		return "line ends with LF, expected CRLF";
	return NULL;
}

static void
bc_free(struct bc *b)
{
	size_t i;

	for (i = 0; i < LAYOUT_MAX_CELLS; i++)
		fbuf_free(&b->fields[i]);
	fbuf_free(&b->narr);
	fbuf_free(&b->cust);
	fbuf_free(&b->bank);
	fbuf_free(&b->text);
	free(b);
}

/*
 * One pass over the file. scan_out != NULL: the first pass of a file that may be newest-first
 * (learn, emit nothing); scan_in != NULL: the second pass of a newest-first file.
 */
static enum perr
parse_pass(FILE *fp, const struct layout *lay, const struct parse_opts *o, const struct stmt_sink *sink,
    struct scan *scan_out, const struct scan *scan_in)
{
	struct bc *b;
	struct csv_parser p;
	char *raw = NULL;
	size_t cap = 0;
	long n;
	bool last_had_nl = true;
	enum perr e = PERR_OK;

	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		return perr_set(PERR_NOMEM, "%s: cannot initialise the CSV parser", o->path);
	csv_set_delim(&p, (unsigned char)lay->delimiter);
	csv_set_quote(&p, (unsigned char)lay->quote);
	csv_set_space_func(&p, no_space);
	/* libcsv's default terminators (CR, LF) are right: each line reaches it without its CR. */
	b = xcalloc(1, sizeof *b);
	b->lay = lay;
	b->o = o;
	b->sink = sink;
	b->rx = o->refx != NULL ? o->refx : lay->refx;
	b->path = o->path;
	b->rec_line = 1;
	b->phase = lay->n_preamble ? PH_PREAMBLE : lay->header.n ? PH_HEADER : PH_DATA;
	b->h.file = o->path;
	b->h.format = lay->name;
	b->h.src_line = 1;
	b->scan_out = scan_out;
	b->scan_in = scan_in;
	b->reverse = scan_in != NULL;
	if (b->reverse)
		b->first_value = scan_in->last_value;
	if (lay->currency[0] != '\0')   /* a fixed currency holds for the preamble's balances too */
		set_currency(b, "currency", lay->currency);
	for (;;) {
		const char *s, *ending;
		size_t len;
		bool crlf = false;

		b->lineno++;
		n = read_line(fp, &raw, &cap, CSV_MAX_LINE, b->path, b->lineno);
		if (n < 0) {
			e = perr_last();
			goto out;
		}
		if (n == 0)
			break;
		len = (size_t)n;
		last_had_nl = raw[len - 1] == '\n';
		if (!last_had_nl)
			break;
		len--;
		if (len > 0 && raw[len - 1] == '\r') {
			len--;
			crlf = true;
		}
		ending = bad_ending(lay, crlf);
		if (ending != NULL && !lay->multiline_cells) {
			e = perr_set(PERR_PARSE, "%s:%ld: %s: %s", b->path, b->lineno, lay->name, ending);
			goto out;
		}
		s = raw;
		if (b->lineno == 1 && lay->encoding == ENC_UTF8 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
			s += 3;   /* a UTF-8 byte order mark */
			len -= 3;
		}
		if ((e = text_decode(s, len, lay->encoding, &b->text, b->path, b->lineno, lay->name)) != PERR_OK)
			goto out;
		if (b->text.len == 0 && p.pstate == 0) {
			if (lay->preamble_blank_lines && (b->phase == PH_PREAMBLE || b->phase == PH_HEADER)) {
				b->rec_line = b->lineno + 1;
				continue;
			}
			e = perr_set(PERR_PARSE, "%s:%ld: %s: empty line, expected a row", b->path, b->lineno, lay->name);
			goto out;
		}
		fbuf_putc(&b->text, '\n');
		if (csv_parse(&p, b->text.p, b->text.len, cb_field, cb_record, b) != b->text.len) {
			if (b->failed) {
				e = b->err;
				goto out;
			}
			e = perr_set(PERR_PARSE, "%s:%ld: %s: stray quote or text after a closing quote (strict CSV), "
			    "expected each field either quoted whole or without quotes", b->path, b->lineno, lay->name);
			goto out;
		}
		if (b->failed) {
			e = b->err;
			goto out;
		}
		if (ending != NULL && !in_quoted_field(&p)) {
			/* multiline_cells: a line break inside a quoted cell may be of either kind */
			e = perr_set(PERR_PARSE, "%s:%ld: %s: %s", b->path, b->lineno, lay->name, ending);
			goto out;
		}
	}
	b->lineno--;
	if (!last_had_nl) {
		e = perr_set(PERR_PARSE, "%s:%ld: %s: the last line has no line ending: the file is truncated",
		    b->path, b->lineno + 1, lay->name);
		goto out;
	}
	if (csv_fini(&p, cb_field, cb_record, b) != 0) {
		e = perr_set(PERR_PARSE, "%s:%ld: %s: end of file inside a quoted field that starts at line %ld: "
		    "the file is truncated", b->path, b->lineno, lay->name, b->rec_line);
		goto out;
	}
	if (b->failed) {
		e = b->err;
		goto out;
	}
	e = finish(b);
out:
	csv_free(&p);
	free(raw);
	bc_free(b);
	return e;
}

/* Newest-first or oldest-first, from the first pass: the dates, else the running balance. */
static bool
scan_says_newest_first(const struct layout *lay, const struct scan *sc)
{
	int64_t x;

	if (lay->order == ORDER_NEWEST_FIRST)
		return true;
	if (sc->rows < 2 || sc->first_date < sc->last_date)
		return false;
	if (sc->first_date > sc->last_date)
		return true;
	/* all on one day: the running balance tells, if there is one */
	if (lay->col_of[ROLE_BALANCE] < 0)
		return false;
	if (money_add(sc->bal[0], sc->amt[1], &x) && x == sc->bal[1])
		return false;
	return money_add(sc->bal[1], sc->amt[0], &x) && x == sc->bal[0];
}

enum perr
bankcsv_parse(FILE *fp, const struct layout *lay, const struct parse_opts *o, const struct stmt_sink *sink)
{
	struct scan sc;
	enum perr e;

	if (lay->order != ORDER_NEWEST_FIRST && lay->order != ORDER_DETECT)
		return parse_pass(fp, lay, o, sink, NULL, NULL);
	memset(&sc, 0, sizeof sc);
	if ((e = parse_pass(fp, lay, o, sink, &sc, NULL)) != PERR_OK)
		return e;
	if (fseeko(fp, 0, SEEK_SET) != 0)
		return perr_set(PERR_IO, "%s: %s: cannot read the file a second time (order = %s needs a seekable file)",
		    o->path, lay->name, lay->order == ORDER_DETECT ? "detect" : "newest_first");
	clearerr(fp);
	return parse_pass(fp, lay, o, sink, NULL, scan_says_newest_first(lay, &sc) ? &sc : NULL);
}
