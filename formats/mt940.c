/*
 * mt940.c - a strict, streaming SWIFT MT940 (customer statement) parser.
 *
 * Accepted: several statements per file, separated by "-" lines or each in a
 * {1:...}{2:...}{4: ... -} envelope; CRLF or LF; fields in the order of the standard:
 *   :20: [:21:] :25: :28C: :60F:|:60M: (:61: [:86:])* :62F:|:62M: [:64:] (:65:)* [:86:]
 * (a statement without lines is a statement: opening = closing).
 * Continuation lines belong to the field above (:61: supplementary details, :86: narrative).
 * :61: is 6!n[4!n]2a[1!a]15d1!a3!c16x[//16x] with a second line of 34x supplementary details:
 * value date YYMMDD, entry date MMDD (its year inferred from the value date, also across a
 * year end), mark C, D, RC or RD, an optional funds-code letter (so "CR" is C with funds code R,
 * never a reversal), an amount with a decimal comma ("9," is 9.00), a type code Nxxx/Sxxx/Fxxx,
 * the customer reference and after "//" the bank's reference.
 * :86: continuation lines are joined exactly as sent (banks wrap at 65 characters inside a word or
 * an IBAN), and a structured :86: is decoded (formats/mt940_86.c).
 *
 * Dialects banks really send are tolerated and each is recorded as a deviation of the file
 * (struct deviations; refused instead when parse_opts.strict, `mt940_strict = yes`):
 *   framing    envelope blocks {1:}{2:}{3:}{4: over several lines, a {5:} trailer line, SOH/ETX
 *              (0x01/0x03) around messages, bank header lines before :20: (a BIC, "940", ":940:",
 *              "MT940", ING's "0000 01INGBNL2AXXXX00001" and "940 00"), blank lines inside a
 *              message, a last line without a line ending (not on a balance unless its amount has
 *              all its decimals: it may have been cut);
 *   fields     :28: for :28C:, statement and sequence numbers longer than 5 digits, :20: longer than
 *              16, trailing spaces, :61: with an empty or over-long customer reference (kept whole),
 *              a bank reference over 16 or supplementary details over 34, a customer reference
 *              padded to 16 and followed by the supplementary details on the same line (old
 *              Rabobank), a space before the type code, a type code padded with spaces, a zero
 *              amount, an amount over 15 characters (leading zeros), an empty :86:, several :86:
 *              for one :61: (joined as sent), :86: lines padded with spaces to 65, and the
 *              non-standard fields :NS:, :13:, :13D:, :34F:, :90C:, :90D:, :23: (kept apart, never
 *              merged into the field before them, not loaded).
 * Never tolerated: an unknown tag, a line starting with ':' that is not a tag, a field out of
 * order, a bad date (30 February), an amount without a decimal comma or with too many decimals, a
 * missing closing balance. They are errors naming the file, the line and the field. The balances
 * are checked by the completeness gate (stages/normalize.c), which no dialect relaxes.
 * Memory is constant: one statement line is held at a time.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "statement.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "mt940_86.h"
#include "refx.h"
#include "util.h"

#define MT940_MAX_LINE 4096        /* bytes in one physical line */
#define MT940_MAX_FIELD 8192       /* bytes in one field, continuation lines included */

enum { RE_TAGLINE, RE_BALANCE, RE_STMTLINE, RE_STMTNO, RE_ENVELOPE, RE_ENVEND, RE_HEADER, RE_COUNT };

static const char *const re_src[RE_COUNT] = {
	[RE_TAGLINE] = "^:([0-9]{2}[A-Z]?|NS):",
	[RE_BALANCE] = "^([CD])([0-9]{6})([A-Z]{3})([0-9,]{1,24})$",
	[RE_STMTLINE] = "^([0-9]{6})([0-9]{4})?(RC|RD|C|D)([A-Z])?([0-9][0-9,]{0,23})( *)([NSF][A-Z0-9 ]{3})(.*)$",
	[RE_STMTNO] = "^([0-9]{1,31})(?:/([0-9]{1,31}))?$",
	[RE_ENVELOPE] = "^\\{1:[^{}]*\\}(\\{2:[^{}]*\\})?(\\{3:(\\{[^{}]*\\})*\\})?\\{4:$",
	[RE_ENVEND] = "^-\\}(\\{5:.*\\})?$",
	/* bank header lines before :20: - a BIC (8 or 11), "940", ":940:", "MT940", ING's
	 * "0000 01INGBNL2AXXXX00001" and "940 00" */
	[RE_HEADER] = "^([A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?|940|940 [0-9]{2}|:940:|MT940|[0-9]{4} [0-9]{2}[A-Z]{6}[A-Z0-9]{2}[A-Z0-9]{0,12})$",
};

/* Tags that are not MT940 fields but that banks put in statements: kept apart, not loaded. */
static const char *const nonstandard_tags[] = { "NS", "13", "13D", "34F", "90C", "90D", "23" };

/* Compiled once per process; the patterns are fixed, so compilation cannot fail at run time. */
static pcre2_code *re[RE_COUNT];
static pcre2_match_data *re_md;

static enum perr
re_init(void)
{
	int i, err;
	PCRE2_SIZE off;

	if (re_md != NULL)
		return PERR_OK;
	for (i = 0; i < RE_COUNT; i++) {
		re[i] = pcre2_compile((PCRE2_SPTR)re_src[i], PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off, NULL);
		if (re[i] == NULL)
			return perr_set(PERR_INTERNAL, "mt940: pattern %d does not compile", i);
		(void)pcre2_jit_compile(re[i], PCRE2_JIT_COMPLETE);
	}
	re_md = pcre2_match_data_create(16, NULL);
	if (re_md == NULL)
		return perr_set(PERR_NOMEM, "mt940: out of memory");
	return PERR_OK;
}

/* Matches s against pattern i; true on a match. Group g is then [gs(g), ge(g)). */
static bool
re_match(int i, const char *s, size_t n)
{
	return pcre2_match(re[i], (PCRE2_SPTR)s, n, 0, PCRE2_NO_UTF_CHECK, re_md, NULL) > 0;
}

static bool
re_group(int g, const char *s, const char **start, size_t *len)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re_md);

	if (ov[2 * g] == PCRE2_UNSET) {
		*start = s;
		*len = 0;
		return false;
	}
	*start = s + ov[2 * g];
	*len = ov[2 * g + 1] - ov[2 * g];
	return true;
}

/* Where we are in a statement: what the last field was. */
enum stage {
	ST_OUTSIDE,     /* between statements */
	ST_20, ST_21, ST_25, ST_28, ST_60, ST_61, ST_61_86, ST_62, ST_64, ST_65, ST_INFO86,
};

struct mt {
	const struct parse_opts *o;
	const struct stmt_sink *sink;
	const char *path;
	long lineno;
	bool in_envelope;
	long envelope_line;
	struct fbuf env;        /* an envelope start being assembled over several lines */
	long env_start;         /* its first line, 0 when none */
	enum stage st;
	int nstatements;

	/* the field being assembled */
	char tag[4];
	long field_line;
	int field_lines;
	struct fbuf field;

	struct stmt_header h;
	/* the pending :61: line (emitted when its :86: is done or the next field starts) */
	bool pending;
	struct stmt_line l;
	struct fbuf cust, bank, supp, narr;
	struct info86 info;
	char ref[REFX_MAX_LEN + 1];

	struct fbuf text;  /* decoded current line */
};

static enum perr
ferr(struct mt *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records "path:line: MT940 :TAG: <message>" for the field being processed. */
static enum perr
ferr(struct mt *m, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return perr_set(PERR_PARSE, "%s:%ld: MT940 :%s: %s", m->path, m->field_line, m->tag, msg);
}

/*
 * A tolerated dialect at `line`: counted in the file's deviations, or, with mt940_strict, the
 * error "path:line: MT940: <what> is not standard MT940 (the source sets mt940_strict = yes)".
 */
static enum perr
deviate(struct mt *m, long line, const char *code, const char *what)
{
	if (m->o->strict)
		return perr_set(PERR_PARSE, "%s:%ld: MT940: %s is not standard MT940 (the source sets "
		    "mt940_strict = yes)", m->path, line, what);
	deviations_add(m->o->deviations, code, what, line);
	return PERR_OK;
}

static bool
digits2(const char *s, int *out)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return false;
	*out = (s[0] - '0') * 10 + (s[1] - '0');
	return true;
}

/* YYMMDD, years 2000-2099 (SWIFT dates are of this century). */
static bool
parse_yymmdd(const char *s, date_t *out)
{
	int y, mo, d;

	if (!digits2(s, &y) || !digits2(s + 2, &mo) || !digits2(s + 4, &d) || !date_valid(2000 + y, mo, d))
		return false;
	*out = date_from_ymd(2000 + y, mo, d);
	return true;
}

/*
 * The entry date MMDD has no year: take the year (value year - 1, same, + 1) that puts it closest
 * to the value date, so a December entry of a January value date falls in the year before.
 */
static bool
infer_entry_date(const char *s, date_t value, date_t *out)
{
	int vy, vm, vd, mo, d, dy;
	bool found = false;
	date_t best = 0;

	if (!digits2(s, &mo) || !digits2(s + 2, &d))
		return false;
	date_to_ymd(value, &vy, &vm, &vd);
	for (dy = -1; dy <= 1; dy++) {
		date_t c;

		if (!date_valid(vy + dy, mo, d))
			continue;
		c = date_from_ymd(vy + dy, mo, d);
		if (!found || abs(c - value) < abs(best - value)) {
			best = c;
			found = true;
		}
	}
	if (found)
		*out = best;
	return found;
}

static enum perr
parse_amount(struct mt *m, const char *s, size_t n, int64_t *out)
{
	enum perr e;

	if (memchr(s, ',', n) == NULL)
		return ferr(m, "amount \"%.*s\" has no decimal comma, expected e.g. \"1500,00\" or \"9,\"", (int)n, s);
	if (n > 15 && (e = deviate(m, m->field_line, "amount_long",
	    "amount longer than 15 characters (leading zeros)")) != PERR_OK)
		return e;
	e = money_parse(s, n, m->h.exponent, &money_style_mt940, out);
	if (e != PERR_OK)
		return ferr(m, "%s", perr_detail()), e;
	return PERR_OK;
}

/* :60F:, :62F:, :64:, :65: - mark, YYMMDD, currency, amount. */
static enum perr
parse_balance(struct mt *m, const char *v, size_t n, bool set_currency, struct stmt_balance *b)
{
	const char *g;
	size_t gl;
	char cur[4];
	const struct currency *c;
	enum perr e;

	if (!re_match(RE_BALANCE, v, n))
		return ferr(m, "balance \"%.*s\" is not D/C mark, YYMMDD date, currency and amount, "
		    "expected e.g. \"C261124SGD1250000,00\"", (int)(n > 80 ? 80 : n), v);
	re_group(2, v, &g, &gl);
	if (!parse_yymmdd(g, &b->date))
		return ferr(m, "date \"%.6s\" is not a valid YYMMDD date", g);
	re_group(3, v, &g, &gl);
	memcpy(cur, g, 3);
	cur[3] = '\0';
	c = currency_find(cur);
	if (c == NULL)
		return ferr(m, "currency \"%s\" is not a known ISO 4217 currency", cur);
	if (set_currency) {
		memcpy(m->h.currency, cur, 4);
		m->h.exponent = c->exponent;
	} else if (strcmp(cur, m->h.currency) != 0) {
		return ferr(m, "currency \"%s\" differs from the statement's currency %s", cur, m->h.currency);
	}
	/* group 4 must be read before re_match is used again */
	re_group(4, v, &g, &gl);
	{
		char amt[32];
		int64_t a;

		memcpy(amt, g, gl);
		amt[gl] = '\0';
		b->mark = v[0];
		e = parse_amount(m, amt, gl, &a);
		if (e != PERR_OK)
			return e;
		b->amount_minor = v[0] == 'D' ? -a : a;
	}
	b->present = true;
	return PERR_OK;
}

/*
 * The line's reference: the source's patterns over the decoded parts first (end-to-end
 * reference, remittance text, purpose), then the raw texts; with none matching, the end-to-end
 * reference of a structured :86:.
 */
static void
line_reference(struct mt *m)
{
	const char *texts[6];
	size_t n = 0;
	const char *e2e = info86_e2e(&m->info);

	if (m->info.kind != INFO86_TEXT) {
		texts[n++] = e2e;
		texts[n++] = m->info.svwz.p;
		texts[n++] = m->info.purpose.p;
	}
	texts[n++] = m->narr.p;
	texts[n++] = m->cust.p;
	texts[n++] = m->supp.p;
	if (refx_extract(m->o->refx, texts, n, m->ref, sizeof m->ref) == 0 && e2e != NULL)
		snprintf(m->ref, sizeof m->ref, "%s", e2e);
}

/* Sends the pending :61: line to the sink. */
static enum perr
flush_line(struct mt *m)
{
	if (!m->pending)
		return PERR_OK;
	m->pending = false;
	fbuf_append(&m->narr, "", 0);
	fbuf_append(&m->cust, "", 0);
	fbuf_append(&m->bank, "", 0);
	fbuf_append(&m->supp, "", 0);
	info86_decode(m->narr.p, m->narr.len, &m->info);
	m->ref[0] = '\0';
	line_reference(m);
	m->l.narrative = m->narr.p;
	m->l.customer_ref = m->cust.p;
	m->l.bank_ref = m->bank.p;
	m->l.supplementary = m->supp.p;
	m->l.reference = m->ref;
	m->l.info = &m->info;
	if (m->sink->line != NULL)
		return m->sink->line(m->sink->arg, &m->h, &m->l);
	return PERR_OK;
}

/* :61: after the amount: [spaces] type code, customer reference [//bank reference]. */
static enum perr
field_61_refs(struct mt *m, const char *rest, size_t restl)
{
	const char *sl = NULL;
	enum perr e;
	size_t i;

	for (i = 0; i + 1 < restl; i++)
		if (rest[i] == '/' && rest[i + 1] == '/') {
			sl = rest + i;
			break;
		}
	if (sl != NULL) {
		fbuf_append(&m->cust, rest, (size_t)(sl - rest));
		fbuf_append(&m->bank, sl + 2, restl - (size_t)(sl - rest) - 2);
	} else if (restl > 16 && rest[15] == ' ' && rest[16] != ' ') {
		/* a reference padded to its 16 characters, then the counterparty (old Rabobank) */
		if ((e = deviate(m, m->field_line, "details_on_first_line",
		    ":61: supplementary details after the padded customer reference, on the first line")) != PERR_OK)
			return e;
		fbuf_append(&m->cust, rest, 16);
		fbuf_append(&m->supp, rest + 16, restl - 16);
	} else {
		fbuf_append(&m->cust, rest, restl);
	}
	fbuf_append(&m->cust, "", 0);
	fbuf_append(&m->bank, "", 0);
	if (m->cust.len == 0 && (e = deviate(m, m->field_line, "customer_ref_empty",
	    ":61: with an empty customer reference")) != PERR_OK)
		return e;
	if (m->cust.len > 16 && (e = deviate(m, m->field_line, "customer_ref_long",
	    ":61: customer reference longer than 16 characters (kept whole)")) != PERR_OK)
		return e;
	if (sl != NULL && m->bank.len == 0)
		return ferr(m, "bank reference is empty after \"//\", expected 1 to 16 characters");
	if (m->bank.len > 16 && (e = deviate(m, m->field_line, "bank_ref_long",
	    ":61: bank reference longer than 16 characters (kept whole)")) != PERR_OK)
		return e;
	return PERR_OK;
}

/* The type code group: 1!a3!c, maybe padded with spaces (kept without the padding). */
static enum perr
field_61_type(struct mt *m, const char *g, size_t gl, bool space_before)
{
	enum perr e;
	size_t n = gl;

	if (space_before && (e = deviate(m, m->field_line, "space_before_type",
	    ":61: space before the transaction type code")) != PERR_OK)
		return e;
	if (memchr(g, ' ', gl) != NULL && (e = deviate(m, m->field_line, "type_code_padded",
	    ":61: transaction type code padded with spaces")) != PERR_OK)
		return e;
	while (n > 0 && g[n - 1] == ' ')
		n--;
	memcpy(m->l.type_code, g, n);
	m->l.type_code[n] = '\0';
	return PERR_OK;
}

static enum perr
field_61(struct mt *m, const char *v, size_t n)
{
	const char *nl = memchr(v, '\n', n);
	size_t first = nl ? (size_t)(nl - v) : n;
	const char *g, *rest;
	size_t gl, restl;
	char amt[32];
	int64_t a;
	bool space_before;
	enum perr e;

	if (nl != NULL && memchr(nl + 1, '\n', n - first - 1) != NULL)
		return ferr(m, "statement line has more than 2 lines, expected the line and one line of "
		    "supplementary details");
	if (!re_match(RE_STMTLINE, v, first))
		return ferr(m, "\"%.*s\" is not a statement line, expected "
		    "6!n[4!n]2a[1!a]15d1!a3!c16x[//16x] e.g. \"2611241124C1500,00NTRFNONREF//FT123\"",
		    (int)(first > 80 ? 80 : first), v);
	memset(&m->l, 0, sizeof m->l);
	m->l.src_line = m->field_line;
	re_group(1, v, &g, &gl);
	if (!parse_yymmdd(g, &m->l.value_date))
		return ferr(m, "value date \"%.6s\" is not a valid YYMMDD date", g);
	if (re_group(2, v, &g, &gl)) {
		if (!infer_entry_date(g, m->l.value_date, &m->l.entry_date))
			return ferr(m, "entry date \"%.4s\" is not a valid MMDD date", g);
		m->l.has_entry_date = true;
	}
	re_group(3, v, &g, &gl);
	memcpy(m->l.mark, g, gl);
	m->l.mark[gl] = '\0';
	if (re_group(4, v, &g, &gl))
		m->l.funds_code[0] = g[0];
	space_before = re_group(6, v, &g, &gl) && gl > 0;
	re_group(7, v, &g, &gl);
	{
		char type[8];
		size_t tl = gl;

		memcpy(type, g, tl);
		re_group(8, v, &rest, &restl);
		re_group(5, v, &g, &gl);
		memcpy(amt, g, gl);
		amt[gl] = '\0';
		if ((e = field_61_type(m, type, tl, space_before)) != PERR_OK)
			return e;
	}
	/* re_md is reused below: rest points into v, which stays valid */
	e = parse_amount(m, amt, gl, &a);
	if (e != PERR_OK)
		return e;
	if (a == 0 && (e = deviate(m, m->field_line, "zero_amount", ":61: zero amount")) != PERR_OK)
		return e;
	/* C and RD (reversal of a debit) add to the balance; D and RC take away. */
	m->l.amount_minor = (strcmp(m->l.mark, "C") == 0 || strcmp(m->l.mark, "RD") == 0) ? a : -a;
	fbuf_reset(&m->cust);
	fbuf_reset(&m->bank);
	fbuf_reset(&m->supp);
	fbuf_reset(&m->narr);
	fbuf_append(&m->narr, "", 0);
	if ((e = field_61_refs(m, rest, restl)) != PERR_OK)
		return e;
	if (nl != NULL) {
		if (m->supp.len > 0)
			return ferr(m, "supplementary details both after the customer reference and on a second line");
		fbuf_append(&m->supp, nl + 1, n - first - 1);
		if (m->supp.len > 34 && (e = deviate(m, m->field_line, "supplementary_long",
		    ":61: supplementary details longer than 34 characters (kept whole)")) != PERR_OK)
			return e;
	}
	if (!money_add(m->h.sum_minor, m->l.amount_minor, &m->h.sum_minor))
		return perr_set(PERR_MONEY_OVERFLOW, "%s:%ld: MT940 :61: the sum of the statement's lines "
		    "overflows", m->path, m->field_line);
	m->h.line_count++;
	m->l.line_no = m->h.line_count;
	m->pending = true;
	return PERR_OK;
}

static const char *
stage_expects(enum stage st)
{
	switch (st) {
	case ST_OUTSIDE: return ":20:";
	case ST_20: return ":21: or :25:";
	case ST_21: return ":25:";
	case ST_25: return ":28C:";
	case ST_28: return ":60F: or :60M:";
	case ST_60: return ":61: or :62F:/:62M:";
	case ST_61: return ":86:, :61: or :62F:/:62M:";
	case ST_61_86: return ":61: or :62F:/:62M:";
	case ST_62: return ":64:, :65:, :86: or the end of the statement";
	case ST_64:
	case ST_65: return ":65:, :86: or the end of the statement";
	case ST_INFO86: return "the end of the statement";
	}
	return "?";
}

static bool
is_nonstandard(const char *tag)
{
	for (size_t i = 0; i < sizeof nonstandard_tags / sizeof nonstandard_tags[0]; i++)
		if (strcmp(tag, nonstandard_tags[i]) == 0)
			return true;
	return false;
}

/* :20: starts a statement. */
static enum perr
field_20(struct mt *m, const char *v, size_t n)
{
	enum perr e;

	if (n == 0 || n >= sizeof m->h.transaction_ref || memchr(v, '\n', n))
		return ferr(m, "transaction reference \"%.*s\" must be 1 to 16 characters on one line",
		    (int)(n > 40 ? 40 : n), v);
	if (n > 16 && (e = deviate(m, m->field_line, "reference_20_long",
	    ":20: transaction reference longer than 16 characters")) != PERR_OK)
		return e;
	memset(&m->h, 0, sizeof m->h);
	m->h.file = m->path;
	m->h.format = "mt940";
	m->h.src_line = m->field_line;
	memcpy(m->h.transaction_ref, v, n);
	m->st = ST_20;
	return PERR_OK;
}

/* :28C: (or the older :28:) statement number [/sequence number]. */
static enum perr
field_28(struct mt *m, const char *v, size_t n)
{
	const char *g;
	size_t gl;
	bool long_no = false;
	enum perr e;

	if (!re_match(RE_STMTNO, v, n))
		return ferr(m, "statement number \"%.*s\" is not 5n[/5n], expected e.g. \"00045/001\"",
		    (int)(n > 40 ? 40 : n), v);
	re_group(1, v, &g, &gl);
	memcpy(m->h.statement_no, g, gl);
	long_no = gl > 5;
	if (re_group(2, v, &g, &gl)) {
		memcpy(m->h.sequence_no, g, gl);
		long_no = long_no || gl > 5;
	}
	if (strcmp(m->tag, "28") == 0 && (e = deviate(m, m->field_line, "tag_28",
	    ":28: instead of :28C:")) != PERR_OK)
		return e;
	if (long_no && (e = deviate(m, m->field_line, "statement_no_long",
	    "statement or sequence number longer than 5 digits")) != PERR_OK)
		return e;
	m->st = ST_28;
	return PERR_OK;
}

/*
 * :86: after a :61: (the line's narrative) or after the closing balance (for the owner). A second
 * :86: after the first (old Rabobank files: one :86: per line of text) continues the narrative,
 * joined as sent. The line goes to the sink at the next :61: or the closing balance.
 */
static enum perr
field_86(struct mt *m, const char *v, size_t n, enum stage st)
{
	enum perr e;
	size_t i;

	if (n == 0 && (e = deviate(m, m->field_line, "empty_86", "empty :86:")) != PERR_OK)
		return e;
	if (st != ST_61 && st != ST_61_86) {
		m->st = ST_INFO86;    /* information for the account owner: not a line */
		return PERR_OK;
	}
	if (st == ST_61)
		fbuf_reset(&m->narr);
	else if ((e = deviate(m, m->field_line, "repeated_86", "several :86: fields for one :61: (joined)")) != PERR_OK)
		return e;
	/*
	 * The lines are joined exactly as sent: a bank wraps at 65 characters, inside words too. Only
	 * padding goes: a line of spaces only, and the trailing spaces of a line padded to the full 65.
	 */
	for (i = 0; i < n;) {
		const char *nl = memchr(v + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (v + i)) : n - i, keep = len;

		while (keep > 0 && v[i + keep - 1] == ' ')
			keep--;
		if (keep == len || (keep > 0 && (len != 65 || len - keep < 2)))
			keep = len;
		else if ((e = deviate(m, m->field_line, "padded_86", ":86: lines padded with spaces to 65 "
		    "characters (the padding is dropped)")) != PERR_OK)
			return e;
		fbuf_append(&m->narr, v + i, keep);
		i += len + (nl != NULL);
	}
	fbuf_append(&m->narr, "", 0);
	m->st = ST_61_86;
	return PERR_OK;
}

/* Processes the complete field in m->field (tag m->tag). */
static enum perr
process_field(struct mt *m)
{
	const char *v = m->field.p ? m->field.p : "";
	size_t n = m->field.len;
	const char *t = m->tag;
	enum stage st = m->st;
	enum perr e;

#define EXPECT(cond) do { if (!(cond)) return ferr(m, "field is not expected here, expected %s", \
	    stage_expects(st)); } while (0)

	if (is_nonstandard(t)) {
		/* kept as its own field, never merged into the one before; the stage is unchanged */
		return deviate(m, m->field_line, "non_standard_field",
		    "non-standard field (:NS:, :13:, :13D:, :23:, :34F:, :90C: or :90D:), not loaded");
	} else if (strcmp(t, "20") == 0) {
		EXPECT(st == ST_OUTSIDE);
		return field_20(m, v, n);
	} else if (strcmp(t, "21") == 0) {
		EXPECT(st == ST_20);
		if (n == 0 || n > 16 || memchr(v, '\n', n))
			return ferr(m, "related reference must be 1 to 16 characters on one line");
		m->st = ST_21;
	} else if (strcmp(t, "25") == 0) {
		EXPECT(st == ST_20 || st == ST_21);
		if (n == 0 || n > 35 || memchr(v, '\n', n))
			return ferr(m, "account \"%.*s\" must be 1 to 35 characters on one line", (int)(n > 40 ? 40 : n), v);
		memcpy(m->h.account, v, n);
		m->st = ST_25;
	} else if (strcmp(t, "28C") == 0 || strcmp(t, "28") == 0) {
		EXPECT(st == ST_25);
		return field_28(m, v, n);
	} else if (strcmp(t, "60F") == 0 || strcmp(t, "60M") == 0) {
		EXPECT(st == ST_28);
		e = parse_balance(m, v, n, true, &m->h.opening);
		if (e != PERR_OK)
			return e;
		m->h.opening.intermediate = t[2] == 'M';
		m->st = ST_60;
		m->nstatements++;
		if (m->sink->begin != NULL && (e = m->sink->begin(m->sink->arg, &m->h)) != PERR_OK)
			return e;
	} else if (strcmp(t, "61") == 0) {
		EXPECT(st == ST_60 || st == ST_61 || st == ST_61_86);
		if ((e = flush_line(m)) != PERR_OK)
			return e;
		if ((e = field_61(m, v, n)) != PERR_OK)
			return e;
		m->st = ST_61;
	} else if (strcmp(t, "86") == 0) {
		EXPECT(st == ST_61 || st == ST_61_86 || st == ST_62 || st == ST_64 || st == ST_65);
		return field_86(m, v, n, st);
	} else if (strcmp(t, "62F") == 0 || strcmp(t, "62M") == 0) {
		EXPECT(st == ST_60 || st == ST_61 || st == ST_61_86);
		if ((e = flush_line(m)) != PERR_OK)
			return e;
		e = parse_balance(m, v, n, false, &m->h.closing);
		if (e != PERR_OK)
			return e;
		m->h.closing.intermediate = t[2] == 'M';
		m->st = ST_62;
	} else if (strcmp(t, "64") == 0) {
		EXPECT(st == ST_62);
		e = parse_balance(m, v, n, false, &m->h.closing_available);
		if (e != PERR_OK)
			return e;
		m->st = ST_64;
	} else if (strcmp(t, "65") == 0) {
		struct stmt_balance fwd;

		EXPECT(st == ST_62 || st == ST_64 || st == ST_65);
		memset(&fwd, 0, sizeof fwd);
		e = parse_balance(m, v, n, false, &fwd);
		if (e != PERR_OK)
			return e;
		m->st = ST_65;
	} else {
		return ferr(m, "unknown tag, expected one of :20: :21: :25: :28C: :60F: :60M: :61: :86: "
		    ":62F: :62M: :64: :65:");
	}
#undef EXPECT
	return PERR_OK;
}

/* Processes the field being assembled, if any. */
static enum perr
finish_field(struct mt *m)
{
	enum perr e;

	if (m->tag[0] == '\0')
		return PERR_OK;
	e = process_field(m);
	m->tag[0] = '\0';
	fbuf_reset(&m->field);
	return e;
}

/* The statement is over (separator, envelope end, next :20: or end of file). */
static enum perr
end_statement(struct mt *m, const char *where)
{
	enum perr e;

	if ((e = finish_field(m)) != PERR_OK)
		return e;
	if (m->st == ST_OUTSIDE)
		return PERR_OK;
	if (m->st < ST_62)
		return perr_set(PERR_PARSE, "%s:%ld: MT940: %s inside the statement that starts at line %ld "
		    "(:20: %s), expected %s first%s", m->path, m->lineno, where, m->h.src_line,
		    m->h.transaction_ref, stage_expects(m->st),
		    strcmp(where, "end of file") == 0 ? ": the file is truncated" : "");
	m->st = ST_OUTSIDE;
	if (m->sink->end != NULL)
		return m->sink->end(m->sink->arg, &m->h);
	return PERR_OK;
}

/* Trailing spaces of a line of a field other than :86: (where they are text). */
static enum perr
trim_field_line(struct mt *m, const char *tag, const char *s, size_t *n)
{
	size_t k = *n;

	if (strcmp(tag, "86") == 0 || is_nonstandard(tag))
		return PERR_OK;
	while (k > 0 && s[k - 1] == ' ')
		k--;
	if (k == *n)
		return PERR_OK;
	*n = k;
	return deviate(m, m->lineno, "trailing_spaces", "trailing spaces after a field");
}

/* A line starting with ":": a field tag. */
static enum perr
tag_line(struct mt *m, const char *s, size_t n)
{
	const char *g;
	size_t gl;
	enum perr e;

	if (!re_match(RE_TAGLINE, s, n))
		return perr_set(PERR_PARSE, "%s:%ld: MT940: line \"%.*s\" starts with ':' but is not a field "
		    "tag, expected :NN: or :NNa: (a field's text never starts a line with ':')",
		    m->path, m->lineno, (int)(n > 40 ? 40 : n), s);
	re_group(1, s, &g, &gl);
	if ((e = finish_field(m)) != PERR_OK)
		return e;
	/* A new :20: after a complete statement starts the next one without a separator. */
	if (gl == 2 && memcmp(g, "20", 2) == 0 && m->st >= ST_62) {
		if ((e = end_statement(m, "start of a new statement")) != PERR_OK)
			return e;
	}
	if (m->st == ST_OUTSIDE && !(gl == 2 && memcmp(g, "20", 2) == 0))
		return perr_set(PERR_PARSE, "%s:%ld: MT940 :%.*s: field outside a statement, expected "
		    ":20: to start one", m->path, m->lineno, (int)gl, g);
	memcpy(m->tag, g, gl);
	m->tag[gl] = '\0';
	m->field_line = m->lineno;
	m->field_lines = 1;
	fbuf_reset(&m->field);
	s += gl + 2;
	n -= gl + 2;
	if ((e = trim_field_line(m, m->tag, s, &n)) != PERR_OK)
		return e;
	fbuf_append(&m->field, s, n);
	return PERR_OK;
}

/* "-}" [{5:...}]: the end of an envelope. */
static enum perr
envelope_end(struct mt *m, const char *s, size_t n)
{
	enum perr e;

	if (!re_match(RE_ENVEND, s, n))
		return perr_set(PERR_PARSE, "%s:%ld: MT940: envelope end \"%.*s\" is malformed, expected "
		    "\"-}\" optionally followed by a {5:...} trailer", m->path, m->lineno, (int)(n > 40 ? 40 : n), s);
	if (!m->in_envelope)
		return perr_set(PERR_PARSE, "%s:%ld: MT940: envelope end \"-}\" without a {1:...}{4: "
		    "envelope start", m->path, m->lineno);
	if ((e = end_statement(m, "envelope end \"-}\"")) != PERR_OK)
		return e;
	m->in_envelope = false;
	return PERR_OK;
}

/*
 * A line starting with "{" outside a statement: an envelope start {1:...}{2:...}[{3:...}]{4:, on
 * one line or several (assembled in m->env until it ends with "{4:"), or a {5:...} trailer line.
 */
static enum perr
envelope_line(struct mt *m, const char *s, size_t n)
{
	enum perr e;

	if (m->st != ST_OUTSIDE || m->tag[0] != '\0')
		return perr_set(PERR_PARSE, "%s:%ld: MT940: envelope start inside the statement that "
		    "starts at line %ld, expected %s", m->path, m->lineno, m->h.src_line, stage_expects(m->st));
	if (m->env_start == 0 && n >= 3 && memcmp(s, "{5:", 3) == 0 && !m->in_envelope && m->nstatements > 0)
		return deviate(m, m->lineno, "envelope_lines", "SWIFT envelope blocks on separate lines");
	if (m->in_envelope)
		return perr_set(PERR_PARSE, "%s:%ld: MT940: envelope start inside the envelope opened at "
		    "line %ld, expected \"-}\" first", m->path, m->lineno, m->envelope_line);
	if (m->env_start == 0) {
		m->env_start = m->lineno;
		fbuf_reset(&m->env);
	} else if ((e = deviate(m, m->lineno, "envelope_lines", "SWIFT envelope blocks on separate lines")) != PERR_OK) {
		return e;
	}
	if (m->env.len + n > MT940_MAX_LINE)
		return perr_set(PERR_PARSE, "%s:%ld: MT940: envelope starting at line %ld is longer than %d "
		    "bytes", m->path, m->lineno, m->env_start, MT940_MAX_LINE);
	fbuf_append(&m->env, s, n);
	if (m->env.len < 3 || memcmp(m->env.p + m->env.len - 3, "{4:", 3) != 0)
		return PERR_OK;     /* more blocks on the next line */
	if (!re_match(RE_ENVELOPE, m->env.p, m->env.len))
		return perr_set(PERR_PARSE, "%s:%ld: MT940: envelope \"%.*s\" is malformed, expected "
		    "\"{1:...}{2:...}{4:\" at the end of the line", m->path, m->env_start,
		    (int)(m->env.len > 60 ? 60 : m->env.len), m->env.p);
	m->in_envelope = true;
	m->envelope_line = m->env_start;
	m->env_start = 0;
	return PERR_OK;
}

/* A line that is not a tag, a separator or an envelope line: a continuation, or a header line. */
static enum perr
other_line(struct mt *m, const char *s, size_t n)
{
	if (m->tag[0] == '\0') {
		if (m->st == ST_OUTSIDE && re_match(RE_HEADER, s, n))
			return deviate(m, m->lineno, "header_line", "bank header line before :20:");
		return perr_set(PERR_PARSE, "%s:%ld: MT940: \"%.*s\" is neither a field (:NN:) nor a "
		    "continuation of one, expected %s", m->path, m->lineno, (int)(n > 40 ? 40 : n), s,
		    stage_expects(m->st));
	}
	if (strcmp(m->tag, "61") != 0 && strcmp(m->tag, "86") != 0 && !is_nonstandard(m->tag))
		return perr_set(PERR_PARSE, "%s:%ld: MT940 :%s: has a continuation line \"%.*s\", expected "
		    "the next field", m->path, m->lineno, m->tag, (int)(n > 40 ? 40 : n), s);
	if (strcmp(m->tag, "61") == 0) {
		enum perr e = trim_field_line(m, m->tag, s, &n);

		if (e != PERR_OK)
			return e;
	}
	if (m->field.len + 1 + n > MT940_MAX_FIELD)
		return perr_set(PERR_PARSE, "%s:%ld: MT940 :%s: field is longer than %d bytes",
		    m->path, m->lineno, m->tag, MT940_MAX_FIELD);
	fbuf_putc(&m->field, '\n');
	fbuf_append(&m->field, s, n);
	m->field_lines++;
	return PERR_OK;
}

static enum perr
handle_line(struct mt *m, const char *s, size_t n)
{
	if (m->env_start != 0 && (n == 0 || s[0] != '{'))
		return perr_set(PERR_PARSE, "%s:%ld: MT940: envelope starting at line %ld does not end with "
		    "\"{4:\", expected \"{1:...}{2:...}{4:\"", m->path, m->lineno, m->env_start);
	if (n > 0 && s[0] == ':' && !(m->st == ST_OUTSIDE && m->tag[0] == '\0' && re_match(RE_HEADER, s, n)))
		return tag_line(m, s, n);
	if (n >= 1 && s[0] == '-' && (n == 1 || s[1] == ' ')) {
		size_t k = n;

		while (k > 1 && s[k - 1] == ' ')
			k--;
		if (k == 1) {
			enum perr e;

			if (m->st == ST_OUTSIDE && m->tag[0] == '\0')
				return perr_set(PERR_PARSE, "%s:%ld: MT940: separator \"-\" outside a statement, "
				    "expected :20:", m->path, m->lineno);
			if (n > 1 && (e = deviate(m, m->lineno, "trailing_spaces", "trailing spaces after a field")) != PERR_OK)
				return e;
			return end_statement(m, "separator \"-\"");
		}
	}
	if (n >= 2 && s[0] == '-' && s[1] == '}')
		return envelope_end(m, s, n);
	if (n > 0 && s[0] == '{')
		return envelope_line(m, s, n);
	if (n == 0) {
		if (m->st == ST_OUTSIDE && m->tag[0] == '\0' && !m->in_envelope)
			return PERR_OK;   /* blank lines between messages */
		return deviate(m, m->lineno, "blank_line", "blank line inside a message");
	}
	return other_line(m, s, n);
}

/* Decodes and handles one logical line raw[0..n) (no line ending, no framing byte). */
static enum perr
decode_and_handle(struct mt *m, const char *raw, size_t n)
{
	enum perr e;

	if ((e = text_decode(raw, n, m->o->encoding, &m->text, m->path, m->lineno, "MT940")) != PERR_OK)
		return e;
	return handle_line(m, m->text.p, m->text.len);
}

/*
 * One physical line. SOH (0x01) and ETX (0x03) frame each message; where they stand inside a line
 * ("-}<ETX><SOH>{1:..."), they separate logical lines, each handled on its own. A piece that is
 * empty because of the framing is not a blank line.
 */
static enum perr
physical_line(struct mt *m, const char *raw, size_t n)
{
	size_t start = 0, i;
	bool framed = false;
	enum perr e;

	for (i = 0; i < n; i++) {
		if (raw[i] != 0x01 && raw[i] != 0x03)
			continue;
		if (!framed && (e = deviate(m, m->lineno, "soh_etx", "SOH/ETX (0x01/0x03) framing")) != PERR_OK)
			return e;
		framed = true;
		if (i > start && (e = decode_and_handle(m, raw + start, i - start)) != PERR_OK)
			return e;
		start = i + 1;
	}
	if (!framed || n > start)
		return decode_and_handle(m, raw + start, n - start);
	return PERR_OK;
}

/*
 * The last line had no line ending. Fine (a deviation) unless it is a balance (:60:, :62:, :64:,
 * :65:), whose amount may then have been cut: accepted only if it has all the currency's decimals.
 */
static enum perr
unterminated_last_line(struct mt *m)
{
	const char *v = m->field.p, *comma;
	const struct currency *c;
	char cur[4];

	if (m->tag[0] == '6' && strcmp(m->tag, "61") != 0 && m->field_lines == 1) {
		if (v == NULL || m->field.len < 11 || (comma = strrchr(v, ',')) == NULL)
			goto truncated;
		memcpy(cur, v + 7, 3);
		cur[3] = '\0';
		if ((c = currency_find(cur)) == NULL || (size_t)(v + m->field.len - comma - 1) != (size_t)c->exponent)
			goto truncated;
	}
	return deviate(m, m->lineno, "no_final_newline", "last line without a line ending");
truncated:
	return perr_set(PERR_PARSE, "%s:%ld: MT940: the last line has no line ending: the file is "
	    "truncated", m->path, m->lineno);
}

static void
mt_free(struct mt *m)
{
	fbuf_free(&m->field);
	fbuf_free(&m->env);
	fbuf_free(&m->cust);
	fbuf_free(&m->bank);
	fbuf_free(&m->supp);
	fbuf_free(&m->narr);
	fbuf_free(&m->text);
	info86_free(&m->info);
}

/* After the last line: the open field, envelope and statement. */
static enum perr
end_of_file(struct mt *m, bool last_had_nl)
{
	enum perr e;

	if (--m->lineno == 0)
		m->lineno = 1;    /* an empty file: report line 1 */
	if (!last_had_nl && (e = unterminated_last_line(m)) != PERR_OK)
		return e;
	if (m->env_start != 0)
		return perr_set(PERR_PARSE, "%s:%ld: MT940: end of file inside the envelope starting at line "
		    "%ld, expected \"{4:\": the file is truncated", m->path, m->lineno, m->env_start);
	if (m->in_envelope) {
		if ((e = finish_field(m)) != PERR_OK)
			return e;
		return perr_set(PERR_PARSE, "%s:%ld: MT940: end of file inside the envelope opened at line %ld, "
		    "expected \"-}\": the file is truncated", m->path, m->lineno, m->envelope_line);
	}
	if ((e = end_statement(m, "end of file")) != PERR_OK)
		return e;
	if (m->nstatements == 0)
		return perr_set(PERR_PARSE, "%s:%ld: MT940: no statement in the file, expected at least one "
		    ":20: ... :62F:", m->path, m->lineno);
	return PERR_OK;
}

enum perr
mt940_parse(FILE *fp, const struct parse_opts *o, const struct stmt_sink *sink)
{
	struct mt m;
	char *raw = NULL;
	size_t cap = 0;
	long n;
	bool last_had_nl = true;
	enum perr e;

	if ((e = re_init()) != PERR_OK)
		return e;
	memset(&m, 0, sizeof m);
	m.o = o;
	m.sink = sink;
	m.path = o->path;
	m.st = ST_OUTSIDE;
	for (;;) {
		m.lineno++;
		n = read_line(fp, &raw, &cap, MT940_MAX_LINE, m.path, m.lineno);
		if (n < 0) {
			e = perr_last();
			goto out;
		}
		if (n == 0)
			break;
		last_had_nl = raw[n - 1] == '\n';
		if (last_had_nl)
			n--;
		if (n > 0 && raw[n - 1] == '\r')
			n--;
		if ((e = physical_line(&m, raw, (size_t)n)) != PERR_OK)
			goto out;
	}
	e = end_of_file(&m, last_had_nl);
out:
	free(raw);
	mt_free(&m);
	return e;
}
