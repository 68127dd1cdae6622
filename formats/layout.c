/*
 * layout.c - reads the .layout language (formats/README.md): "key = value" lines, '#' comments.
 * Every key is checked, unknown keys and impossible combinations are errors naming the line, so
 * a new bank's layout fails when it is loaded, not in the middle of the night.
 */
#include "layout.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "refx.h"
#include "util.h"

static const char *const role_names[ROLE_COUNT] = {
	[ROLE_NONE] = "",
	[ROLE_ACCOUNT] = "account", [ROLE_CURRENCY] = "currency", [ROLE_STATEMENT_NO] = "statement_no",
	[ROLE_STATEMENT_DATE] = "statement_date", [ROLE_OPENING] = "opening", [ROLE_CLOSING] = "closing",
	[ROLE_OPENING_DATE] = "opening_date", [ROLE_CLOSING_DATE] = "closing_date",
	[ROLE_ENTRY_DATE] = "entry_date", [ROLE_VALUE_DATE] = "value_date", [ROLE_NARRATIVE] = "narrative",
	[ROLE_BANK_REF] = "bank_ref", [ROLE_CUSTOMER_REF] = "customer_ref", [ROLE_TYPE_CODE] = "type_code",
	[ROLE_AMOUNT] = "amount", [ROLE_DEBIT] = "debit", [ROLE_CREDIT] = "credit",
	[ROLE_BALANCE] = "balance", [ROLE_IGNORE] = "ignore", [ROLE_STATUS] = "status",
	[ROLE_TOTAL_COUNT] = "count", [ROLE_TOTAL_DEBITS] = "total_debits",
	[ROLE_TOTAL_CREDITS] = "total_credits",
};

const char *
layout_role_name(enum layout_role r)
{
	return r < ROLE_COUNT ? role_names[r] : "?";
}

static enum layout_role
role_find(const char *s, size_t n)
{
	int i;

	for (i = 1; i < ROLE_COUNT; i++)
		if (strlen(role_names[i]) == n && memcmp(role_names[i], s, n) == 0)
			return (enum layout_role)i;
	return ROLE_NONE;
}

static void
row_free(struct layout_row *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->cells[i].text);
	r->n = 0;
}

void
layout_free(struct layout *lay)
{
	size_t i;

	if (lay == NULL)
		return;
	free(lay->name);
	free(lay->path);
	for (i = 0; i < lay->n_date_formats; i++)
		free(lay->date_formats[i]);
	for (i = 0; i < lay->n_preamble; i++)
		row_free(&lay->preamble[i]);
	for (i = 0; i < lay->n_trailer; i++)
		row_free(&lay->trailer[i]);
	row_free(&lay->header);
	for (i = 0; i < lay->n_reference_patterns; i++)
		free(lay->reference_patterns[i]);
	refx_free(lay->refx);
	for (i = 0; i < lay->n_extract; i++) {
		free(lay->extract[i].pattern);
		refx_free(lay->extract[i].rx);
	}
	for (i = 0; i < lay->n_skip; i++) {
		free(lay->skip[i].pattern);
		refx_free(lay->skip[i].rx);
	}
	free(lay);
}

/* Layout file error: "path:line: message". */
static enum perr
lerr(const char *path, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static enum perr
lerr(const char *path, int line, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line == 0)     /* a check of the whole layout */
		return perr_set(PERR_CONFIG, "%s: %s", path, msg);
	return perr_set(PERR_CONFIG, "%s:%d: %s", path, line, msg);
}

static const char *
skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/*
 * Parses a cell list: items separated by ',', each a "quoted literal" ("" is a quote inside),
 * a {role}, or * (any content, ignored). Roles allowed are checked by the caller.
 */
static enum perr
parse_cells(const char *path, int line, const char *v, struct layout_row *row)
{
	const char *p = skip_ws(v);

	row->n = 0;
	row->src_line = line;
	if (*p == '\0')
		return lerr(path, line, "empty cell list, expected \"literal\", {role} or * separated by commas");
	for (;;) {
		struct layout_cell *c;

		if (row->n == LAYOUT_MAX_CELLS)
			return lerr(path, line, "more than %d cells", LAYOUT_MAX_CELLS);
		c = &row->cells[row->n];
		memset(c, 0, sizeof *c);
		p = skip_ws(p);
		if (*p == '"') {
			struct fbuf b = { 0 };

			p++;
			for (;;) {
				if (*p == '\0') {
					fbuf_free(&b);
					return lerr(path, line, "unterminated quoted literal, expected a closing \"");
				}
				if (*p == '"' && p[1] == '"') {
					fbuf_putc(&b, '"');
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					fbuf_putc(&b, *p++);
				}
			}
			fbuf_append(&b, "", 0);
			c->kind = CELL_LITERAL;
			c->text = b.p;
		} else if (*p == '{') {
			const char *e = strchr(p, '}');

			if (e == NULL)
				return lerr(path, line, "unterminated {role}, expected }");
			c->kind = CELL_ROLE;
			c->role = role_find(p + 1, (size_t)(e - p - 1));
			if (c->role == ROLE_NONE)
				return lerr(path, line, "unknown role {%.*s}", (int)(e - p - 1), p + 1);
			p = e + 1;
		} else if (*p == '*') {
			c->kind = CELL_ANY;
			p++;
		} else {
			return lerr(path, line, "cell \"%.20s\" is not a \"literal\", {role} or *", p);
		}
		row->n++;
		p = skip_ws(p);
		if (*p == '\0')
			return PERR_OK;
		if (*p != ',')
			return lerr(path, line, "unexpected \"%.20s\" after a cell, expected a comma", p);
		p++;
	}
}

/* A plain comma-separated list of role names (the columns key). */
static enum perr
parse_columns(const char *path, int line, const char *v, struct layout *lay)
{
	const char *p = v;

	lay->n_columns = 0;
	for (;;) {
		const char *s = skip_ws(p), *e;
		size_t n;
		enum layout_role r;

		e = s;
		while (*e != '\0' && *e != ',' && *e != ' ' && *e != '\t')
			e++;
		n = (size_t)(e - s);
		if (n == 1 && *s == '-')
			r = ROLE_IGNORE;
		else
			r = role_find(s, n);
		if (r == ROLE_NONE || r == ROLE_ACCOUNT || r == ROLE_STATEMENT_NO || r == ROLE_STATEMENT_DATE
		    || r == ROLE_OPENING || r == ROLE_CLOSING || r == ROLE_OPENING_DATE || r == ROLE_CLOSING_DATE
		    || r == ROLE_TOTAL_COUNT || r == ROLE_TOTAL_DEBITS || r == ROLE_TOTAL_CREDITS)
			return lerr(path, line, "column role \"%.*s\" is not one of entry_date value_date narrative "
			    "bank_ref customer_ref type_code amount debit credit balance currency status ignore (or -)",
			    (int)n, s);
		if (lay->n_columns == LAYOUT_MAX_CELLS)
			return lerr(path, line, "more than %d columns", LAYOUT_MAX_CELLS);
		lay->columns[lay->n_columns++] = r;
		p = skip_ws(e);
		if (*p == '\0')
			return PERR_OK;
		if (*p != ',')
			return lerr(path, line, "unexpected \"%.20s\", expected a comma between column roles", p);
		p++;
	}
}

static bool
one_char(const char *v, char *out)
{
	if (strcmp(v, "tab") == 0) {
		*out = '\t';
		return true;
	}
	if (strcmp(v, "none") == 0) {
		*out = 0;
		return true;
	}
	if (strlen(v) != 1)
		return false;
	*out = v[0];
	return true;
}

static bool
date_format_ok(const char *f)
{
	bool y = false, m = false, d = false;

	while (*f) {
		if (strncmp(f, "MON", 3) == 0) {
			m = true;
			f += 3;
		} else if (strncmp(f, "YYYY", 4) == 0) {
			y = true;
			f += 4;
		} else if (strncmp(f, "YY", 2) == 0 || strncmp(f, "MM", 2) == 0 || strncmp(f, "DD", 2) == 0) {
			if (f[0] == 'Y') y = true;
			if (f[0] == 'M') m = true;
			if (f[0] == 'D') d = true;
			f += 2;
		} else if (*f == 'M' || *f == 'D') {
			if (*f == 'M') m = true; else d = true;
			f++;
		} else if (isalnum((unsigned char)*f)) {
			return false;
		} else {
			f++;
		}
	}
	return y && m && d;
}

static int
take_digits(const char **s, int min, int max)
{
	int v = 0, n = 0;

	while (n < max && **s >= '0' && **s <= '9') {
		v = v * 10 + (**s - '0');
		(*s)++;
		n++;
	}
	return n >= min ? v : -1;
}

/* An English month abbreviation (Jan ... Dec, any case) at *s: its number, or -1. */
static int
take_month_name(const char **s)
{
	static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	int i;

	for (i = 0; i < 12; i++)
		if (strncasecmp(*s, names + 3 * i, 3) == 0) {
			*s += 3;
			return i + 1;
		}
	return -1;
}

static bool
parse_date_with(const char *f, const char *s, date_t *out)
{
	int y = -1, m = -1, d = -1;

	while (*f) {
		if (strncmp(f, "MON", 3) == 0) {
			m = take_month_name(&s);
			f += 3;
		} else if (strncmp(f, "YYYY", 4) == 0) {
			y = take_digits(&s, 4, 4);
			f += 4;
		} else if (strncmp(f, "YY", 2) == 0) {
			y = take_digits(&s, 2, 2);
			if (y >= 0)
				y += 2000;
			f += 2;
		} else if (strncmp(f, "MM", 2) == 0) {
			m = take_digits(&s, 2, 2);
			f += 2;
		} else if (strncmp(f, "DD", 2) == 0) {
			d = take_digits(&s, 2, 2);
			f += 2;
		} else if (*f == 'M') {
			m = take_digits(&s, 1, 2);
			f++;
		} else if (*f == 'D') {
			d = take_digits(&s, 1, 2);
			f++;
		} else {
			if (*s != *f)
				return false;
			s++;
			f++;
		}
	}
	if (*s != '\0' || y < 0 || m < 0 || d < 0 || !date_valid(y, m, d))
		return false;
	*out = date_from_ymd(y, m, d);
	return true;
}

bool
layout_parse_date(const struct layout *lay, const char *s, date_t *out)
{
	size_t i;

	for (i = 0; i < lay->n_date_formats; i++)
		if (parse_date_with(lay->date_formats[i], s, out))
			return true;
	return false;
}

/*
 * "extract = ROLE PATTERN" or "skip = ROLE PATTERN": the role's name, blanks, a PCRE2 pattern
 * (compiled here, under the same limits as the reference patterns).
 */
static enum perr
parse_pattern_key(const char *path, int line, const char *key, const char *v, struct layout *lay)
{
	bool is_skip = key[0] == 's';
	const char *e = v, *pat;
	enum layout_role r;
	char origin[600], *pattern;
	struct refx *rx = NULL;

	while (*e != '\0' && *e != ' ' && *e != '\t')
		e++;
	r = role_find(v, (size_t)(e - v));
	pat = skip_ws(e);
	if (r == ROLE_NONE || r == ROLE_IGNORE || *pat == '\0')
		return lerr(path, line, "%s \"%.40s\" is not a role followed by a pattern, expected e.g. %s", key, v,
		    is_skip ? "skip = status ^Pending$" : "extract = account ([0-9]{3}-[0-9]-[0-9]{6})");
	if (is_skip ? lay->n_skip == LAYOUT_MAX_SKIP : lay->n_extract == LAYOUT_MAX_EXTRACT)
		return lerr(path, line, "more than %d %s lines", LAYOUT_MAX_SKIP, key);
	pattern = xstrdup(pat);
	snprintf(origin, sizeof origin, "%s:%d: %s %s", path, line, key, layout_role_name(r));
	if (refx_compile((const char *const *)&pattern, 1, origin, &rx) != PERR_OK) {
		free(pattern);
		return PERR_CONFIG;
	}
	if (is_skip) {
		lay->skip[lay->n_skip] = (struct layout_skip){ .role = r, .pattern = pattern, .rx = rx, .src_line = line };
		lay->n_skip++;
	} else {
		lay->extract[lay->n_extract] = (struct layout_extract){ .role = r, .pattern = pattern, .rx = rx,
		    .src_line = line };
		lay->n_extract++;
	}
	return PERR_OK;
}

static bool
yes_no(const char *v, bool *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0) {
		*out = true;
		return true;
	}
	if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0) {
		*out = false;
		return true;
	}
	return false;
}

static enum balance_src
balance_src(const char *v)
{
	if (strcmp(v, "preamble") == 0) return BAL_PREAMBLE;
	if (strcmp(v, "trailer") == 0) return BAL_TRAILER;
	if (strcmp(v, "running_balance") == 0) return BAL_RUNNING;
	if (strcmp(v, "closing_minus_lines") == 0) return BAL_DERIVED;
	return BAL_UNSET;
}

/* Counts a role over the preamble (where = 1), the trailer (2) or both (3). */
static int
count_role(const struct layout *lay, enum layout_role r, int where)
{
	size_t i, j;
	int n = 0;

	if (where & 1)
		for (i = 0; i < lay->n_preamble; i++)
			for (j = 0; j < lay->preamble[i].n; j++)
				n += lay->preamble[i].cells[j].kind == CELL_ROLE && lay->preamble[i].cells[j].role == r;
	if (where & 2)
		for (i = 0; i < lay->n_trailer; i++)
			for (j = 0; j < lay->trailer[i].n; j++)
				n += lay->trailer[i].cells[j].kind == CELL_ROLE && lay->trailer[i].cells[j].role == r;
	return n;
}

static enum perr
check_rows(const char *path, const struct layout_row *rows, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < rows[i].n; j++) {
			enum layout_role r = rows[i].cells[j].role;

			if (rows[i].cells[j].kind == CELL_ROLE && r != ROLE_ACCOUNT && r != ROLE_CURRENCY
			    && r != ROLE_STATEMENT_NO && r != ROLE_STATEMENT_DATE && r != ROLE_OPENING
			    && r != ROLE_CLOSING && r != ROLE_OPENING_DATE && r != ROLE_CLOSING_DATE
			    && r != ROLE_IGNORE && r != ROLE_TOTAL_COUNT && r != ROLE_TOTAL_DEBITS
			    && r != ROLE_TOTAL_CREDITS)
				return lerr(path, rows[i].src_line, "role {%s} cannot be in a preamble or trailer row, "
				    "expected one of account currency statement_no statement_date opening closing "
				    "opening_date closing_date count total_debits total_credits ignore", layout_role_name(r));
		}
	return PERR_OK;
}

static bool
has_column(const struct layout *lay, enum layout_role r)
{
	size_t i;

	for (i = 0; i < lay->n_columns; i++)
		if (lay->columns[i] == r)
			return true;
	return false;
}

/* The whole-layout checks, once every key is read. */
static enum perr
validate(struct layout *lay)
{
	const char *p = lay->path;
	size_t i;
	int n_amount = 0, n_debit = 0, n_credit = 0, n_balance = 0, n_dates = 0;
	enum perr e;

	if (lay->delimiter == 0)
		return lerr(p, 0, "no delimiter, expected delimiter = , (or ; or tab)");
	if (lay->delimiter == lay->quote)
		return lerr(p, 0, "the delimiter and the quote are the same character");
	if (lay->n_date_formats == 0)
		return lerr(p, 0, "no date_format, expected e.g. date_format = DD/MM/YYYY");
	if (lay->n_columns == 0)
		return lerr(p, 0, "no columns, expected columns = value_date, narrative, amount, ...");
	if (lay->header.n != 0 && lay->header.n != lay->n_columns)
		return lerr(p, lay->header.src_line, "header has %zu cells but columns has %zu roles",
		    lay->header.n, lay->n_columns);
	for (i = 0; i < ROLE_COUNT; i++)
		lay->col_of[i] = -1;
	for (i = 0; i < lay->n_columns; i++) {
		enum layout_role r = lay->columns[i];

		n_amount += r == ROLE_AMOUNT;
		n_debit += r == ROLE_DEBIT;
		n_credit += r == ROLE_CREDIT;
		n_balance += r == ROLE_BALANCE;
		n_dates += r == ROLE_VALUE_DATE || r == ROLE_ENTRY_DATE;
		if (r != ROLE_NARRATIVE && r != ROLE_IGNORE) {
			if (lay->col_of[r] != -1)
				return lerr(p, 0, "column role %s is given twice (only narrative may repeat)",
				    layout_role_name(r));
			lay->col_of[r] = (int)i;
		}
	}
	if (n_dates == 0)
		return lerr(p, 0, "columns has no value_date or entry_date");
	if (lay->amount_style == AMT_SIGNED && (n_amount != 1 || n_debit || n_credit))
		return lerr(p, 0, "amount = signed needs exactly one amount column and no debit/credit columns");
	if (lay->amount_style == AMT_DEBIT_CREDIT && (n_amount || n_debit != 1 || n_credit != 1))
		return lerr(p, 0, "amount = debit_credit needs one debit and one credit column and no amount column");
	if (lay->amount_style == AMT_UNSET)
		return lerr(p, 0, "no amount style, expected amount = signed or amount = debit_credit");
	if ((e = check_rows(p, lay->preamble, lay->n_preamble)) != PERR_OK
	    || (e = check_rows(p, lay->trailer, lay->n_trailer)) != PERR_OK)
		return e;
	if (lay->opening_src == BAL_UNSET || lay->closing_src == BAL_UNSET)
		return lerr(p, 0, "opening and closing must say where the balances are: preamble, trailer "
		    "or running_balance (opening also closing_minus_lines)");
	if (lay->closing_src == BAL_DERIVED)
		return lerr(p, 0, "closing = closing_minus_lines is not possible, expected preamble, trailer or "
		    "running_balance");
	if (lay->opening_src == BAL_DERIVED && lay->closing_src == BAL_RUNNING)
		return lerr(p, 0, "opening = closing_minus_lines needs closing = preamble or trailer (with a "
		    "running balance, say opening = running_balance)");
	for (i = 0; i < lay->n_skip; i++)
		if (!has_column(lay, lay->skip[i].role))
			return lerr(p, lay->skip[i].src_line, "skip = %s ...: columns has no %s column",
			    layout_role_name(lay->skip[i].role), layout_role_name(lay->skip[i].role));
	for (i = 0; i < lay->n_extract; i++) {
		enum layout_role r = lay->extract[i].role;

		if (!has_column(lay, r) && count_role(lay, r, 3) == 0)
			return lerr(p, lay->extract[i].src_line, "extract = %s ...: no {%s} cell or %s column to take it from",
			    layout_role_name(r), layout_role_name(r), layout_role_name(r));
	}
	if (lay->opening_src == BAL_PREAMBLE && count_role(lay, ROLE_OPENING, 1) != 1)
		return lerr(p, 0, "opening = preamble needs exactly one {opening} cell in the preamble");
	if (lay->opening_src == BAL_TRAILER && count_role(lay, ROLE_OPENING, 2) != 1)
		return lerr(p, 0, "opening = trailer needs exactly one {opening} cell in the trailer");
	if (lay->closing_src == BAL_PREAMBLE && count_role(lay, ROLE_CLOSING, 1) != 1)
		return lerr(p, 0, "closing = preamble needs exactly one {closing} cell in the preamble");
	if (lay->closing_src == BAL_TRAILER && count_role(lay, ROLE_CLOSING, 2) != 1)
		return lerr(p, 0, "closing = trailer needs exactly one {closing} cell in the trailer");
	if ((lay->opening_src == BAL_RUNNING || lay->closing_src == BAL_RUNNING) && n_balance != 1)
		return lerr(p, 0, "running_balance needs a balance column");
	if (lay->opening_src != BAL_PREAMBLE && lay->opening_src != BAL_TRAILER && count_role(lay, ROLE_OPENING, 3))
		return lerr(p, 0, "an {opening} cell is given but opening = running_balance");
	if (lay->closing_src != BAL_PREAMBLE && lay->closing_src != BAL_TRAILER && count_role(lay, ROLE_CLOSING, 3))
		return lerr(p, 0, "a {closing} cell is given but closing = running_balance");
	if (lay->statement_no_src == SNO_UNSET)
		return lerr(p, 0, "no statement_no, expected statement_no = field (a {statement_no} cell) or date");
	if (lay->statement_no_src == SNO_FIELD && count_role(lay, ROLE_STATEMENT_NO, 3) != 1)
		return lerr(p, 0, "statement_no = field needs exactly one {statement_no} cell");
	if (count_role(lay, ROLE_ACCOUNT, 3) > 1 || count_role(lay, ROLE_CURRENCY, 3) > 1
	    || count_role(lay, ROLE_STATEMENT_DATE, 3) > 1 || count_role(lay, ROLE_TOTAL_COUNT, 3) > 1
	    || count_role(lay, ROLE_TOTAL_DEBITS, 3) > 1 || count_role(lay, ROLE_TOTAL_CREDITS, 3) > 1)
		return lerr(p, 0, "{account}, {currency}, {statement_date}, {count}, {total_debits} and "
		    "{total_credits} may each appear once");
	if (lay->currency[0] == '\0' && count_role(lay, ROLE_CURRENCY, 3) == 0 && lay->col_of[ROLE_CURRENCY] < 0
	    && lay->amount_currency == ACCY_NONE)
		return lerr(p, 0, "no currency: give currency = XXX, a {currency} cell, a currency column or "
		    "amount_currency = prefix|suffix");
	return PERR_OK;
}

enum perr
layout_load(const char *path, struct layout **out)
{
	char *buf = NULL;
	size_t len;
	enum perr e;

	*out = NULL;
	if (read_file(path, &buf, &len, 1 << 20) != PERR_OK)
		return perr_set(PERR_CONFIG, "%s: cannot read the layout: %s", path, perr_detail());
	e = layout_parse(path, buf, len, out);
	free(buf);
	return e;
}

enum perr
layout_parse(const char *path, const char *text, size_t len, struct layout **out)
{
	struct layout *lay;
	char *buf, *line, *next;
	int lineno = 0;
	enum perr e;
	const char *base, *dot;

	*out = NULL;
	buf = xmalloc(len + 1);
	memcpy(buf, text, len);
	buf[len] = '\0';
	lay = xcalloc(1, sizeof *lay);
	lay->path = xstrdup(path);
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	dot = strstr(base, ".layout");
	lay->name = dot ? xstrndup(base, (size_t)(dot - base)) : xstrdup(base);
	lay->quote = '"';
	lay->money = money_style_plain;
	lay->money.allow_sign = false;
	lay->encoding = ENC_UTF8;
	if (memchr(buf, '\0', len) != NULL) {
		e = lerr(path, 0, "NUL byte in the layout");
		goto fail;
	}
	for (line = buf; line != NULL && *line != '\0'; line = next) {
		char *eq, *key, *v, *end;

		lineno++;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		end = line + strlen(line);
		while (end > line && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		key = (char *)skip_ws(line);
		if (*key == '\0' || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (eq == NULL) {
			e = lerr(path, lineno, "\"%.30s\" is not key = value", key);
			goto fail;
		}
		v = (char *)skip_ws(eq + 1);
		end = eq;
		while (end > key && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		*end = '\0';
		if (strcmp(key, "name") == 0) {
			if (strcmp(v, lay->name) != 0) {
				e = lerr(path, lineno, "name \"%s\" differs from the file name, expected \"%s\"", v, lay->name);
				goto fail;
			}
		} else if (strcmp(key, "delimiter") == 0) {
			if (!one_char(v, &lay->delimiter) || lay->delimiter == 0 || lay->delimiter == '\n'
			    || lay->delimiter == '\r' || lay->delimiter == '"') {
				e = lerr(path, lineno, "delimiter \"%s\" is not one character (or tab)", v);
				goto fail;
			}
		} else if (strcmp(key, "quote") == 0) {
			if (!one_char(v, &lay->quote)) {
				e = lerr(path, lineno, "quote \"%s\" is not one character (or none)", v);
				goto fail;
			}
		} else if (strcmp(key, "encoding") == 0) {
			if (!text_encoding_from_name(v, &lay->encoding)) {
				e = lerr(path, lineno, "encoding \"%s\" is not UTF-8 or ISO-8859-1", v);
				goto fail;
			}
		} else if (strcmp(key, "line_ending") == 0) {
			if (strcmp(v, "CRLF") == 0) lay->line_ending = LE_CRLF;
			else if (strcmp(v, "LF") == 0) lay->line_ending = LE_LF;
			else if (strcmp(v, "any") == 0) lay->line_ending = LE_ANY;
			else {
				e = lerr(path, lineno, "line_ending \"%s\" is not CRLF, LF or any", v);
				goto fail;
			}
		} else if (strcmp(key, "date_format") == 0) {
			if (lay->n_date_formats == LAYOUT_MAX_DATEFMT || !date_format_ok(v)) {
				e = lerr(path, lineno, "date_format \"%s\" needs day, month and year (DD or D, MM or M, "
				    "YYYY or YY), at most %d formats", v, LAYOUT_MAX_DATEFMT);
				goto fail;
			}
			lay->date_formats[lay->n_date_formats++] = xstrdup(v);
		} else if (strcmp(key, "decimal") == 0) {
			if (strcmp(v, ".") != 0 && strcmp(v, ",") != 0) {
				e = lerr(path, lineno, "decimal \"%s\" is not . or ,", v);
				goto fail;
			}
			lay->money.decimal_sep = v[0];
		} else if (strcmp(key, "thousands") == 0) {
			char c;

			if (strcmp(v, "space") == 0)
				c = ' ';
			else if (!one_char(v, &c) || (c != 0 && c != ',' && c != '.' && c != '\'')) {
				e = lerr(path, lineno, "thousands \"%s\" is not , . ' space or none", v);
				goto fail;
			}
			lay->money.thousands_sep = c;
		} else if (strcmp(key, "negative") == 0) {
			char *tok, *save = NULL;

			lay->money.allow_sign = lay->money.allow_parens = lay->money.allow_trailing_minus = false;
			lay->crdr = false;
			for (tok = strtok_r(v, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save)) {
				if (strcmp(tok, "minus") == 0) lay->money.allow_sign = true;
				else if (strcmp(tok, "parens") == 0) lay->money.allow_parens = true;
				else if (strcmp(tok, "trailing_minus") == 0) lay->money.allow_trailing_minus = true;
				else if (strcmp(tok, "crdr") == 0) lay->crdr = true;
				else {
					e = lerr(path, lineno, "negative \"%s\" is not minus, parens, trailing_minus or crdr", tok);
					goto fail;
				}
			}
		} else if (strcmp(key, "amount") == 0) {
			if (strcmp(v, "signed") == 0) lay->amount_style = AMT_SIGNED;
			else if (strcmp(v, "debit_credit") == 0) lay->amount_style = AMT_DEBIT_CREDIT;
			else {
				e = lerr(path, lineno, "amount \"%s\" is not signed or debit_credit", v);
				goto fail;
			}
		} else if (strcmp(key, "currency") == 0) {
			if (currency_find(v) == NULL) {
				e = lerr(path, lineno, "currency \"%s\" is not a known ISO 4217 code", v);
				goto fail;
			}
			memcpy(lay->currency, v, 4);
		} else if (strcmp(key, "preamble") == 0 || strcmp(key, "trailer") == 0) {
			bool pre = key[0] == 'p';
			size_t *n = pre ? &lay->n_preamble : &lay->n_trailer;
			struct layout_row *rows = pre ? lay->preamble : lay->trailer;

			if (*n == LAYOUT_MAX_ROWS) {
				e = lerr(path, lineno, "more than %d %s rows", LAYOUT_MAX_ROWS, key);
				goto fail;
			}
			e = parse_cells(path, lineno, v, &rows[*n]);
			(*n)++;
			if (e != PERR_OK)
				goto fail;
			if (!pre && rows[*n - 1].cells[0].kind != CELL_LITERAL) {
				e = lerr(path, lineno, "a trailer row must start with a \"literal\" cell, so that it is "
				    "told apart from a transaction row");
				goto fail;
			}
		} else if (strcmp(key, "header") == 0) {
			size_t i;

			if (lay->header.n != 0) {
				e = lerr(path, lineno, "header given twice");
				goto fail;
			}
			if ((e = parse_cells(path, lineno, v, &lay->header)) != PERR_OK)
				goto fail;
			for (i = 0; i < lay->header.n; i++)
				if (lay->header.cells[i].kind != CELL_LITERAL) {
					e = lerr(path, lineno, "header cells must be \"literals\"");
					goto fail;
				}
		} else if (strcmp(key, "columns") == 0) {
			if ((e = parse_columns(path, lineno, v, lay)) != PERR_OK)
				goto fail;
		} else if (strcmp(key, "opening") == 0 || strcmp(key, "closing") == 0) {
			enum balance_src b = balance_src(v);

			if (b == BAL_UNSET) {
				e = lerr(path, lineno, "%s \"%s\" is not preamble, trailer, running_balance or "
				    "closing_minus_lines", key, v);
				goto fail;
			}
			if (key[0] == 'o')
				lay->opening_src = b;
			else
				lay->closing_src = b;
		} else if (strcmp(key, "statement_no") == 0) {
			if (strcmp(v, "field") == 0) lay->statement_no_src = SNO_FIELD;
			else if (strcmp(v, "date") == 0) lay->statement_no_src = SNO_DATE;
			else {
				e = lerr(path, lineno, "statement_no \"%s\" is not field or date", v);
				goto fail;
			}
		} else if (strcmp(key, "reference") == 0) {
			if (lay->n_reference_patterns == 8) {
				e = lerr(path, lineno, "more than 8 reference patterns");
				goto fail;
			}
			lay->reference_patterns[lay->n_reference_patterns++] = xstrdup(v);
		} else if (strcmp(key, "order") == 0) {
			if (strcmp(v, "oldest_first") == 0) lay->order = ORDER_OLDEST_FIRST;
			else if (strcmp(v, "newest_first") == 0) lay->order = ORDER_NEWEST_FIRST;
			else if (strcmp(v, "detect") == 0) lay->order = ORDER_DETECT;
			else {
				e = lerr(path, lineno, "order \"%s\" is not oldest_first, newest_first or detect", v);
				goto fail;
			}
		} else if (strcmp(key, "amount_currency") == 0) {
			if (strcmp(v, "prefix") == 0) lay->amount_currency = ACCY_PREFIX;
			else if (strcmp(v, "suffix") == 0) lay->amount_currency = ACCY_SUFFIX;
			else if (strcmp(v, "none") == 0) lay->amount_currency = ACCY_NONE;
			else {
				e = lerr(path, lineno, "amount_currency \"%s\" is not prefix, suffix or none", v);
				goto fail;
			}
		} else if (strcmp(key, "preamble_blank_lines") == 0 || strcmp(key, "multiline_cells") == 0) {
			if (!yes_no(v, key[0] == 'p' ? &lay->preamble_blank_lines : &lay->multiline_cells)) {
				e = lerr(path, lineno, "%s \"%s\" is not yes or no", key, v);
				goto fail;
			}
		} else if (strcmp(key, "extract") == 0 || strcmp(key, "skip") == 0) {
			if ((e = parse_pattern_key(path, lineno, key, v, lay)) != PERR_OK)
				goto fail;
		} else if (strcmp(key, "crdr") == 0) {
			if (!yes_no(v, &lay->crdr)) {
				e = lerr(path, lineno, "crdr \"%s\" is not yes or no", v);
				goto fail;
			}
		} else {
			e = lerr(path, lineno, "unknown key \"%s\", expected one of name delimiter quote encoding "
			    "line_ending date_format decimal thousands negative amount currency preamble header "
			    "columns trailer opening closing statement_no reference order amount_currency "
			    "preamble_blank_lines multiline_cells extract skip", key);
			goto fail;
		}
	}
	if (lay->money.thousands_sep == lay->money.decimal_sep) {
		e = lerr(path, lineno, "thousands and decimal separators are the same");
		goto fail;
	}
	if ((e = validate(lay)) != PERR_OK)
		goto fail;
	if (lay->n_reference_patterns > 0) {
		char origin[512];

		snprintf(origin, sizeof origin, "%s", path);
		e = refx_compile((const char *const *)lay->reference_patterns, lay->n_reference_patterns,
		    origin, &lay->refx);
		if (e != PERR_OK)
			goto fail;
	}
	free(buf);
	*out = lay;
	return PERR_OK;
fail:
	free(buf);
	layout_free(lay);
	return e;
}
