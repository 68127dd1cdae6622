/*
 * pain002.c - reads pain.002.001.03 payment status reports strictly (see pain002.h for the shape
 * and the rules).
 *
 * libxml2's xmlTextReader walks the document from memory; each element of the report has a small
 * parser that reads its children through seq_accept(), which knows the schema's sequence for that
 * element (order, which children repeat, which are required), so an element the schema does not
 * allow there, out of order or twice is refused. Subtrees the pipeline does not use (parties,
 * agents, charges, the original transaction reference, counts per status) are skipped whole, but
 * still under the node, depth and entity rules of next_node().
 */
#include "pain002.h"

#include <libxml/xmlreader.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_DEPTH 24             /* the schema's deepest path we read is 7; parties go deeper */
#define MAX_TEXT 2048            /* bytes of one element's text */
#define MAX_REASON 1024          /* bytes of a level's joined AddtlInf */

struct px {
	xmlTextReaderPtr r;
	const char *path;
	bool failed;
	char xml_err[300];           /* the first error libxml2 reported */
	long xml_line;
	struct pain002_report *rep;
	size_t cap;
};

/* The children of one element, in schema order. */
struct field {
	const char *name;
	bool repeat;
	bool required;
};

static enum perr
fail(struct px *p, long line, const char *elem, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Records the first error, "path:line: ELEMENT: what"; returns PERR_PARSE. */
static enum perr
fail(struct px *p, long line, const char *elem, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	if (p->failed)
		return PERR_PARSE;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	p->failed = true;
	return perr_set(PERR_PARSE, "%s:%ld: %s: %s", p->path, line, elem, msg);
}

/* The line of the current node (where its tag starts), else where the parser is. */
static long
cur_line(const struct px *p)
{
	xmlNodePtr n = xmlTextReaderCurrentNode(p->r);
	long l = n != NULL ? xmlGetLineNo(n) : -1;

	return l > 0 ? l : xmlTextReaderGetParserLineNumber(p->r);
}

static void
on_xml_error(void *arg, xmlErrorPtr e)
{
	struct px *p = arg;
	size_t n;

	if (p->xml_err[0] != '\0' || e == NULL || e->message == NULL)
		return;
	snprintf(p->xml_err, sizeof p->xml_err, "%s", e->message);
	n = strlen(p->xml_err);
	while (n > 0 && (p->xml_err[n - 1] == '\n' || p->xml_err[n - 1] == ' '))
		p->xml_err[--n] = '\0';
	p->xml_line = e->line;
}

/*
 * The next node that matters: an element start, an element end or text. Comments, processing
 * instructions and whitespace between elements are passed over; a DOCTYPE, an entity or a node
 * deeper than MAX_DEPTH is refused. Returns 1, 0 at the end of the document, -1 on error.
 */
static int
next_node(struct px *p)
{
	for (;;) {
		int rc = xmlTextReaderRead(p->r);

		if (rc == 0)
			return 0;
		if (rc < 0) {
			fail(p, p->xml_line ? p->xml_line : cur_line(p), "XML",
			    "not well-formed XML (or truncated): %s", p->xml_err[0] ? p->xml_err : "the parser stopped");
			return -1;
		}
		switch (xmlTextReaderNodeType(p->r)) {
		case XML_READER_TYPE_ELEMENT:
			if (xmlTextReaderDepth(p->r) > MAX_DEPTH) {
				fail(p, cur_line(p), "XML", "elements nested deeper than %d levels", MAX_DEPTH);
				return -1;
			}
			return 1;
		case XML_READER_TYPE_END_ELEMENT:
		case XML_READER_TYPE_TEXT:
		case XML_READER_TYPE_CDATA:
			return 1;
		case XML_READER_TYPE_WHITESPACE:
		case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
		case XML_READER_TYPE_COMMENT:
		case XML_READER_TYPE_PROCESSING_INSTRUCTION:
		case XML_READER_TYPE_XML_DECLARATION:
			continue;
		case XML_READER_TYPE_DOCUMENT_TYPE:
			fail(p, cur_line(p), "XML", "a DOCTYPE is not allowed (no DTD, no entities)");
			return -1;
		case XML_READER_TYPE_ENTITY_REFERENCE:
		case XML_READER_TYPE_ENTITY:
		case XML_READER_TYPE_END_ENTITY:
			fail(p, cur_line(p), "XML", "entities are not allowed");
			return -1;
		default:
			fail(p, cur_line(p), "XML", "unexpected XML node (type %d)", xmlTextReaderNodeType(p->r));
			return -1;
		}
	}
}

/* Whether the current element is in the pain.002.001.03 namespace; records an error if not. */
static bool
ns_ok(struct px *p, const char *name, long line)
{
	const char *ns = (const char *)xmlTextReaderConstNamespaceUri(p->r);

	if (ns != NULL && strcmp(ns, PAIN002_NS) == 0)
		return true;
	fail(p, line, name, "element in namespace \"%s\", expected %s", ns ? ns : "(none)", PAIN002_NS);
	return false;
}

/*
 * The next child element of the element at `depth` (whose name is `parent`): 1 with its local
 * name in name[] and its line, 0 at the parent's end, -1 on error. Text between children is refused.
 */
static int
child(struct px *p, int depth, const char *parent, char name[64], long *line)
{
	int rc = next_node(p);
	const char *n;

	if (rc == 0) {
		fail(p, cur_line(p), parent, "the document ends inside <%s>", parent);
		return -1;
	}
	if (rc < 0)
		return -1;
	*line = cur_line(p);
	switch (xmlTextReaderNodeType(p->r)) {
	case XML_READER_TYPE_END_ELEMENT:
		return 0;
	case XML_READER_TYPE_ELEMENT:
		break;
	default:
		fail(p, *line, parent, "text is not allowed directly inside <%s>", parent);
		return -1;
	}
	(void)depth;
	n = (const char *)xmlTextReaderConstLocalName(p->r);
	if (n == NULL || strlen(n) >= 64) {
		fail(p, *line, parent, "an element name longer than 63 bytes");
		return -1;
	}
	snprintf(name, 64, "%s", n);
	return ns_ok(p, name, *line) ? 1 : -1;
}

/*
 * Accepts child `name` of `parent` if the schema's sequence f[0..n) allows it after the last one
 * (*last, -1 at first); returns its index, or -1 with the error recorded. *seen gets its bit.
 */
static int
seq_accept(struct px *p, const struct field *f, int n, int *last, unsigned *seen, const char *parent,
    const char *name, long line)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(f[i].name, name) == 0)
			break;
	if (i == n) {
		fail(p, line, name, "element <%s> is not allowed in <%s>", name, parent);
		return -1;
	}
	if (i < *last || (i == *last && !f[i].repeat)) {
		fail(p, line, name, "<%s> %s in <%s> (the schema's order is fixed)", name,
		    (*seen & (1u << i)) ? "repeated or out of order" : "out of order", parent);
		return -1;
	}
	*last = i;
	*seen |= 1u << i;
	return i;
}

/* Every required child of `parent` (started at `line`) was seen. */
static bool
seq_complete(struct px *p, const struct field *f, int n, unsigned seen, const char *parent, long line)
{
	for (int i = 0; i < n; i++)
		if (f[i].required && !(seen & (1u << i))) {
			fail(p, line, parent, "<%s> lacks <%s>", parent, f[i].name);
			return false;
		}
	return true;
}

/* Skips the current element and everything in it. */
static bool
skip(struct px *p, const char *name)
{
	int d = xmlTextReaderDepth(p->r);

	if (xmlTextReaderIsEmptyElement(p->r))
		return true;
	for (;;) {
		int rc = next_node(p);

		if (rc == 0)
			fail(p, cur_line(p), name, "the document ends inside <%s>", name);
		if (rc <= 0)
			return false;
		if (xmlTextReaderNodeType(p->r) == XML_READER_TYPE_END_ELEMENT && xmlTextReaderDepth(p->r) == d)
			return true;
	}
}

/* The text of the current (leaf) element into out[MAX_TEXT + 1]. An element inside it is refused. */
static bool
leaf(struct px *p, const char *name, long line, char out[MAX_TEXT + 1])
{
	size_t len = 0;

	out[0] = '\0';
	if (xmlTextReaderIsEmptyElement(p->r))
		return true;
	for (;;) {
		int rc = next_node(p);
		const char *v;
		size_t n;

		if (rc == 0)
			fail(p, cur_line(p), name, "the document ends inside <%s>", name);
		if (rc <= 0)
			return false;
		switch (xmlTextReaderNodeType(p->r)) {
		case XML_READER_TYPE_END_ELEMENT:
			return true;
		case XML_READER_TYPE_ELEMENT:
			fail(p, cur_line(p), name, "expected text, found element <%s>",
			    (const char *)xmlTextReaderConstLocalName(p->r));
			return false;
		default:
			v = (const char *)xmlTextReaderConstValue(p->r);
			n = v ? strlen(v) : 0;
			if (len + n > MAX_TEXT) {
				fail(p, line, name, "text longer than %d bytes", MAX_TEXT);
				return false;
			}
			memcpy(out + len, v, n);
			len += n;
			out[len] = '\0';
		}
	}
}

/* Characters of a UTF-8 string (libxml2 hands out valid UTF-8 only). */
static size_t
utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* A Max35Text id (or Max105Text etc.): 1..max characters. */
static bool
text_ok(struct px *p, const char *name, long line, const char *v, size_t max)
{
	size_t n = utf8_len(v);

	if (n == 0 || n > max) {
		fail(p, line, name, "\"%.40s%s\" has %zu characters, expected 1 to %zu", v, n > 40 ? "..." : "", n, max);
		return false;
	}
	return true;
}

static bool
digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int
num(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* xs:dateTime as banks write it: YYYY-MM-DDThh:mm:ss[.fff][Z|+hh:mm|-hh:mm]. */
static bool
datetime_ok(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	size_t i = 19;
	int mo, d;

	if (strlen(s) < 19 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-'
	    || !digits(s + 8, 2) || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2)
	    || s[16] != ':' || !digits(s + 17, 2))
		return false;
	mo = num(s + 5, 2);
	d = num(s + 8, 2);
	if (num(s, 4) < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || num(s + 11, 2) > 23 || num(s + 14, 2) > 59
	    || num(s + 17, 2) > 59)
		return false;
	if (mo == 2 && d == 29) {
		int y = num(s, 4);

		if (!((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
			return false;
	}
	if (s[i] == '.') {
		size_t f = ++i;

		while (s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == f || i - f > 9)
			return false;
	}
	if (s[i] == '\0')
		return true;
	if (s[i] == 'Z')
		return s[i + 1] == '\0';
	if ((s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2) && s[i + 3] == ':' && digits(s + i + 4, 2)
	    && s[i + 6] == '\0')
		return num(s + i + 1, 2) <= 14 && num(s + i + 4, 2) <= 59;
	return false;
}

static bool
datetime_field(struct px *p, const char *name, long line, const char *v)
{
	if (datetime_ok(v))
		return true;
	fail(p, line, name, "\"%.40s\" is not a date-time, expected YYYY-MM-DDThh:mm:ss with optional "
	    "fraction and Z or +hh:mm", v);
	return false;
}

/* Max15NumericText / DecimalNumber (up to 18 digits, at most 17 after a '.'). */
static bool
number_field(struct px *p, const char *name, long line, const char *v, bool decimal)
{
	size_t n = strlen(v), dig = 0, dots = 0;

	for (size_t i = 0; i < n; i++) {
		if (v[i] >= '0' && v[i] <= '9')
			dig++;
		else if (decimal && v[i] == '.' && i > 0 && i + 1 < n)
			dots++;
		else
			dig = 99;
	}
	if (dig == 0 || dig > (decimal ? 18u : 15u) || dots > 1) {
		fail(p, line, name, "\"%.40s\" is not a %s", v, decimal ? "decimal number (up to 18 digits)" :
		    "number (1 to 15 digits)");
		return false;
	}
	return true;
}

static const char *const group_codes[] = { "ACCP", "ACSC", "ACSP", "ACTC", "ACWC", "PART", "PDNG", "RCVD", "RJCT" };
static const char *const tx_codes[] = { "ACCP", "ACSC", "ACSP", "ACTC", "ACWC", "PDNG", "RJCT" };

static bool
code_field(struct px *p, const char *name, long line, const char *v, bool tx, char out[5])
{
	const char *const *c = tx ? tx_codes : group_codes;
	size_t n = tx ? sizeof tx_codes / sizeof *tx_codes : sizeof group_codes / sizeof *group_codes;

	for (size_t i = 0; i < n; i++)
		if (strcmp(v, c[i]) == 0) {
			memcpy(out, v, 5);
			return true;
		}
	fail(p, line, name, "\"%.40s\" is not a status code, expected one of %s", v, tx
	    ? "ACCP ACSC ACSP ACTC ACWC PDNG RJCT" : "ACCP ACSC ACSP ACTC ACWC PART PDNG RCVD RJCT");
	return false;
}

/* ---- the report's elements ---- */

/* What the StsRsnInf of one level say: the first reason code, every AddtlInf. */
struct reasons {
	char code[160];           /* 35 characters of UTF-8 at most */
	char text[MAX_REASON + 1];
};

/* <Rsn>: exactly one of <Cd> (ExternalStatusReason1Code, 1-4 characters) or <Prtry> (Max35Text). */
static bool
parse_rsn(struct px *p, long line, struct reasons *rs)
{
	static const struct field f[] = { { "Cd", false, false }, { "Prtry", false, false } };
	char name[64], v[MAX_TEXT + 1];
	int last = -1, rc, k = 0;
	unsigned seen = 0;
	long l;

	if (xmlTextReaderIsEmptyElement(p->r))
		return fail(p, line, "Rsn", "<Rsn> is empty, expected <Cd> or <Prtry>"), false;
	while ((rc = child(p, 0, "Rsn", name, &l)) == 1) {
		int i = seq_accept(p, f, 2, &last, &seen, "Rsn", name, l);

		if (i < 0 || !leaf(p, name, l, v) || !text_ok(p, name, l, v, i == 0 ? 4 : 35))
			return false;
		if (++k > 1)
			return fail(p, l, name, "<Rsn> holds both <Cd> and <Prtry>, expected one"), false;
		if (rs->code[0] == '\0' && strlen(v) < sizeof rs->code)
			memcpy(rs->code, v, strlen(v) + 1);
	}
	if (rc < 0)
		return false;
	if (k == 0)
		return fail(p, line, "Rsn", "<Rsn> is empty, expected <Cd> or <Prtry>"), false;
	return true;
}

static bool
parse_reason(struct px *p, long line, struct reasons *rs)
{
	static const struct field f[] = { { "Orgtr", false, false }, { "Rsn", false, false },
	    { "AddtlInf", true, false } };
	char name[64], v[MAX_TEXT + 1];
	int last = -1, rc;
	unsigned seen = 0;
	long l;

	if (xmlTextReaderIsEmptyElement(p->r))
		return true;
	while ((rc = child(p, 0, "StsRsnInf", name, &l)) == 1) {
		switch (seq_accept(p, f, 3, &last, &seen, "StsRsnInf", name, l)) {
		case 0:
			if (!skip(p, name))
				return false;
			break;
		case 1:
			if (!parse_rsn(p, l, rs))
				return false;
			break;
		case 2:
			if (!leaf(p, name, l, v) || !text_ok(p, name, l, v, 105))
				return false;
			if (strlen(rs->text) + strlen(v) + 1 > MAX_REASON)
				return fail(p, l, name, "the reasons' text is longer than %d bytes", MAX_REASON), false;
			if (rs->text[0])
				strcat(rs->text, " ");
			strcat(rs->text, v);
			break;
		default:
			return false;
		}
	}
	(void)line;
	return rc == 0;
}

/* Appends a status; the report owns its strings. */
static struct pain002_status *
add_status(struct px *p, enum pain002_level level, long line)
{
	struct pain002_report *r = p->rep;
	struct pain002_status *s;

	if (r->n_statuses == PAIN002_MAX_STATUSES) {
		fail(p, line, "OrgnlPmtInfAndSts", "more than %d statuses in one report", PAIN002_MAX_STATUSES);
		return NULL;
	}
	if (r->n_statuses == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		r->statuses = xrealloc(r->statuses, p->cap * sizeof *r->statuses);
	}
	s = &r->statuses[r->n_statuses++];
	memset(s, 0, sizeof *s);
	s->level = level;
	s->line = line;
	s->pmtinf_id = xstrdup("");
	s->end_to_end_id = xstrdup("");
	s->reason_code = xstrdup("");
	s->reason_text = xstrdup("");
	s->status_time = xstrdup("");
	return s;
}

static void
set_reasons(struct pain002_status *s, const struct reasons *rs)
{
	free(s->reason_code);
	free(s->reason_text);
	s->reason_code = xstrdup(rs->code);
	s->reason_text = xstrdup(rs->text);
}

static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

static bool
parse_grphdr(struct px *p, long line)
{
	static const struct field f[] = { { "MsgId", false, true }, { "CreDtTm", false, true },
	    { "InitgPty", false, false }, { "FwdgAgt", false, false }, { "DbtrAgt", false, false },
	    { "CdtrAgt", false, false } };
	char name[64], v[MAX_TEXT + 1];
	int last = -1, rc;
	unsigned seen = 0;
	long l;

	if (xmlTextReaderIsEmptyElement(p->r))
		return seq_complete(p, f, 6, 0, "GrpHdr", line);
	while ((rc = child(p, 0, "GrpHdr", name, &l)) == 1) {
		int i = seq_accept(p, f, 6, &last, &seen, "GrpHdr", name, l);

		if (i < 0)
			return false;
		if (i >= 2) {
			if (!skip(p, name))
				return false;
			continue;
		}
		if (!leaf(p, name, l, v))
			return false;
		if (i == 0 && !text_ok(p, name, l, v, 35))
			return false;
		if (i == 1 && !datetime_field(p, name, l, v))
			return false;
		set_str(i == 0 ? &p->rep->msg_id : &p->rep->created, v);
	}
	return rc == 0 && seq_complete(p, f, 6, seen, "GrpHdr", line);
}

static bool
parse_grpinf(struct px *p, long line)
{
	static const struct field f[] = { { "OrgnlMsgId", false, true }, { "OrgnlMsgNmId", false, true },
	    { "OrgnlCreDtTm", false, false }, { "OrgnlNbOfTxs", false, false }, { "OrgnlCtrlSum", false, false },
	    { "GrpSts", false, false }, { "StsRsnInf", true, false }, { "NbOfTxsPerSts", true, false } };
	char name[64], v[MAX_TEXT + 1];
	struct reasons rs = { "", "" };
	struct pain002_status *s;
	int last = -1, rc;
	unsigned seen = 0;
	long l;

	if ((s = add_status(p, PAIN002_GROUP, line)) == NULL)
		return false;
	if (xmlTextReaderIsEmptyElement(p->r))
		return seq_complete(p, f, 8, 0, "OrgnlGrpInfAndSts", line);
	while ((rc = child(p, 0, "OrgnlGrpInfAndSts", name, &l)) == 1) {
		int i = seq_accept(p, f, 8, &last, &seen, "OrgnlGrpInfAndSts", name, l);

		if (i < 0)
			return false;
		if (i == 6) {
			if (!parse_reason(p, l, &rs))
				return false;
			continue;
		}
		if (i == 7) {
			if (!skip(p, name))
				return false;
			continue;
		}
		if (!leaf(p, name, l, v))
			return false;
		switch (i) {
		case 0:
			if (!text_ok(p, name, l, v, 35))
				return false;
			set_str(&p->rep->orgnl_msg_id, v);
			break;
		case 1:
			if (!text_ok(p, name, l, v, 35))
				return false;
			if (strncmp(v, "pain.001.", 9) != 0)
				return fail(p, l, name, "\"%.40s\": this report answers a message that is not a "
				    "pain.001 payment file, expected pain.001.001.03", v), false;
			set_str(&p->rep->orgnl_msg_nm_id, v);
			break;
		case 2:
			if (!datetime_field(p, name, l, v))
				return false;
			break;
		case 3:
		case 4:
			if (!number_field(p, name, l, v, i == 4))
				return false;
			break;
		case 5:
			if (!code_field(p, name, l, v, false, s->status))
				return false;
			break;
		}
	}
	s = &p->rep->statuses[0];
	set_reasons(s, &rs);
	return rc == 0 && seq_complete(p, f, 8, seen, "OrgnlGrpInfAndSts", line);
}

static bool
parse_tx(struct px *p, long line, const char *pmtinf_id)
{
	static const struct field f[] = { { "StsId", false, false }, { "OrgnlInstrId", false, false },
	    { "OrgnlEndToEndId", false, true }, { "TxSts", false, false }, { "StsRsnInf", true, false },
	    { "ChrgsInf", true, false }, { "AccptncDtTm", false, false }, { "AcctSvcrRef", false, false },
	    { "ClrSysRef", false, false }, { "OrgnlTxRef", false, false } };
	char name[64], v[MAX_TEXT + 1];
	struct reasons rs = { "", "" };
	struct pain002_status *s;
	size_t idx;
	int last = -1, rc;
	unsigned seen = 0;
	long l;

	if ((s = add_status(p, PAIN002_TX, line)) == NULL)
		return false;
	idx = p->rep->n_statuses - 1;
	set_str(&s->pmtinf_id, pmtinf_id);
	if (xmlTextReaderIsEmptyElement(p->r))
		return seq_complete(p, f, 10, 0, "TxInfAndSts", line);
	while ((rc = child(p, 0, "TxInfAndSts", name, &l)) == 1) {
		int i = seq_accept(p, f, 10, &last, &seen, "TxInfAndSts", name, l);

		if (i < 0)
			return false;
		s = &p->rep->statuses[idx];
		if (i == 4) {
			if (!parse_reason(p, l, &rs))
				return false;
			continue;
		}
		if (i == 5 || i == 9) {
			if (!skip(p, name))
				return false;
			continue;
		}
		if (!leaf(p, name, l, v))
			return false;
		if (i == 3) {
			if (!code_field(p, name, l, v, true, s->status))
				return false;
		} else if (i == 6) {
			if (!datetime_field(p, name, l, v))
				return false;
			set_str(&s->status_time, v);
		} else {
			if (!text_ok(p, name, l, v, 35))
				return false;
			if (i == 2)
				set_str(&s->end_to_end_id, v);
		}
	}
	set_reasons(&p->rep->statuses[idx], &rs);
	return rc == 0 && seq_complete(p, f, 10, seen, "TxInfAndSts", line);
}

static bool
parse_pmtinf(struct px *p, long line)
{
	static const struct field f[] = { { "OrgnlPmtInfId", false, true }, { "OrgnlNbOfTxs", false, false },
	    { "OrgnlCtrlSum", false, false }, { "PmtInfSts", false, false }, { "StsRsnInf", true, false },
	    { "NbOfTxsPerSts", true, false }, { "TxInfAndSts", true, false } };
	char name[64], v[MAX_TEXT + 1];
	struct reasons rs = { "", "" };
	size_t idx;
	int last = -1, rc;
	unsigned seen = 0;
	long l;

	if (add_status(p, PAIN002_PMTINF, line) == NULL)
		return false;
	idx = p->rep->n_statuses - 1;
	if (xmlTextReaderIsEmptyElement(p->r))
		return seq_complete(p, f, 7, 0, "OrgnlPmtInfAndSts", line);
	while ((rc = child(p, 0, "OrgnlPmtInfAndSts", name, &l)) == 1) {
		int i = seq_accept(p, f, 7, &last, &seen, "OrgnlPmtInfAndSts", name, l);

		if (i < 0)
			return false;
		if (i == 4) {
			if (!parse_reason(p, l, &rs))
				return false;
		} else if (i == 5) {
			if (!skip(p, name))
				return false;
		} else if (i == 6) {
			/* the reasons of the block are complete before its first transaction */
			set_reasons(&p->rep->statuses[idx], &rs);
			if (!parse_tx(p, l, p->rep->statuses[idx].pmtinf_id))
				return false;
		} else {
			if (!leaf(p, name, l, v))
				return false;
			if (i == 0 && (!text_ok(p, name, l, v, 35)))
				return false;
			if (i == 0)
				set_str(&p->rep->statuses[idx].pmtinf_id, v);
			if ((i == 1 || i == 2) && !number_field(p, name, l, v, i == 2))
				return false;
			if (i == 3 && !code_field(p, name, l, v, false, p->rep->statuses[idx].status))
				return false;
		}
	}
	if (!(seen & (1u << 6)))
		set_reasons(&p->rep->statuses[idx], &rs);
	return rc == 0 && seq_complete(p, f, 7, seen, "OrgnlPmtInfAndSts", line);
}

static bool
parse_report(struct px *p, long line)
{
	static const struct field f[] = { { "GrpHdr", false, true }, { "OrgnlGrpInfAndSts", false, true },
	    { "OrgnlPmtInfAndSts", true, false } };
	char name[64];
	int last = -1, rc;
	unsigned seen = 0;
	long l;

	if (xmlTextReaderIsEmptyElement(p->r))
		return seq_complete(p, f, 3, 0, "CstmrPmtStsRpt", line);
	while ((rc = child(p, 0, "CstmrPmtStsRpt", name, &l)) == 1) {
		bool ok;

		switch (seq_accept(p, f, 3, &last, &seen, "CstmrPmtStsRpt", name, l)) {
		case 0: ok = parse_grphdr(p, l); break;
		case 1: ok = parse_grpinf(p, l); break;
		case 2: ok = parse_pmtinf(p, l); break;
		default: ok = false;
		}
		if (!ok)
			return false;
	}
	return rc == 0 && seq_complete(p, f, 3, seen, "CstmrPmtStsRpt", line);
}

/* The root: <Document xmlns="...pain.002.001.03"><CstmrPmtStsRpt>, and nothing after it. */
static bool
parse_document(struct px *p)
{
	static const char iso[] = "urn:iso:std:iso:20022:tech:xsd:";
	const char *ns, *n;
	char name[64];
	long l, line;
	int rc = next_node(p);

	if (rc == 0)
		return fail(p, 1, "Document", "the file holds no XML element"), false;
	if (rc < 0)
		return false;
	line = cur_line(p);
	if (xmlTextReaderNodeType(p->r) != XML_READER_TYPE_ELEMENT)
		return fail(p, line, "Document", "text before the root element"), false;
	n = (const char *)xmlTextReaderConstLocalName(p->r);
	ns = (const char *)xmlTextReaderConstNamespaceUri(p->r);
	if (ns != NULL && strncmp(ns, iso, sizeof iso - 1) == 0 && strcmp(ns, PAIN002_NS) != 0) {
		const char *msg = ns + sizeof iso - 1;

		if (strncmp(msg, "pain.002.", 9) == 0)
			return fail(p, line, "Document", "pain.002 version %.20s is not supported, expected "
			    "pain.002.001.03 (namespace %s)", msg + 9, PAIN002_NS), false;
		return fail(p, line, "Document", "this is a %.40s document, not a pain.002.001.03 payment status "
		    "report (namespace %s expected)", msg, PAIN002_NS), false;
	}
	if (n == NULL || strcmp(n, "Document") != 0)
		return fail(p, line, n ? n : "?", "root element <%.60s>, expected <Document>", n ? n : "?"), false;
	if (!ns_ok(p, "Document", line))
		return false;
	if (xmlTextReaderIsEmptyElement(p->r))
		return fail(p, line, "Document", "<Document> is empty, expected <CstmrPmtStsRpt>"), false;
	rc = child(p, 0, "Document", name, &l);
	if (rc == 0)
		return fail(p, line, "Document", "<Document> is empty, expected <CstmrPmtStsRpt>"), false;
	if (rc < 0)
		return false;
	if (strcmp(name, "CstmrPmtStsRpt") != 0)
		return fail(p, l, name, "element <%s> is not allowed in <Document>, expected <CstmrPmtStsRpt>",
		    name), false;
	if (!parse_report(p, l))
		return false;
	rc = child(p, 0, "Document", name, &l);
	if (rc == 1)
		return fail(p, l, name, "a second element <%s> in <Document>", name), false;
	if (rc < 0)
		return false;
	rc = next_node(p);
	if (rc > 0)
		return fail(p, cur_line(p), "XML", "content after the end of <Document>"), false;
	return rc == 0;
}

/* ---- checks across the report ---- */

static int
by_key(const void *a, const void *b)
{
	const struct pain002_status *x = *(const struct pain002_status *const *)a;
	const struct pain002_status *y = *(const struct pain002_status *const *)b;
	const char *kx = x->level == PAIN002_TX ? x->end_to_end_id : x->pmtinf_id;
	const char *ky = y->level == PAIN002_TX ? y->end_to_end_id : y->pmtinf_id;
	int c = (int)x->level - (int)y->level;

	if (c == 0)
		c = strcmp(kx, ky);
	if (c == 0)
		c = x->line < y->line ? -1 : x->line > y->line;
	return c;
}

/* The same OrgnlPmtInfId or OrgnlEndToEndId twice; and a report that says nothing. O(n log n). */
static bool
check_report(struct px *p)
{
	struct pain002_report *r = p->rep;
	const struct pain002_status **v;
	bool any = false, ok = true;
	size_t i;

	for (i = 0; i < r->n_statuses; i++)
		any = any || r->statuses[i].status[0] != '\0';
	if (!any)
		return fail(p, r->statuses[0].line, "OrgnlGrpInfAndSts", "the report carries no status at all "
		    "(no GrpSts, PmtInfSts or TxSts)"), false;
	v = xcalloc(r->n_statuses, sizeof *v);
	for (i = 0; i < r->n_statuses; i++)
		v[i] = &r->statuses[i];
	qsort(v, r->n_statuses, sizeof *v, by_key);
	for (i = 1; i < r->n_statuses && ok; i++) {
		const struct pain002_status *a = v[i - 1], *b = v[i];

		if (a->level != b->level || b->level == PAIN002_GROUP)
			continue;
		if (b->level == PAIN002_PMTINF && strcmp(a->pmtinf_id, b->pmtinf_id) == 0)
			ok = fail(p, b->line, "OrgnlPmtInfId", "\"%s\" appears twice (first at line %ld)", b->pmtinf_id,
			    a->line) == PERR_OK;
		if (b->level == PAIN002_TX && strcmp(a->end_to_end_id, b->end_to_end_id) == 0)
			ok = fail(p, b->line, "OrgnlEndToEndId", "\"%s\" appears twice (first at line %ld)",
			    b->end_to_end_id, a->line) == PERR_OK;
	}
	free(v);
	return ok;
}

/* A DOCTYPE anywhere is refused before libxml2 sees it: no DTD is ever parsed. */
static bool
precheck(struct px *p, const char *buf, size_t len)
{
	static const char dt[] = "<!DOCTYPE";
	long line = 1;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n')
			line++;
		else if (buf[i] == '\0')
			return fail(p, line, "XML", "a NUL byte"), false;
		else if (buf[i] == '<' && len - i >= sizeof dt - 1 && memcmp(buf + i, dt, sizeof dt - 1) == 0)
			return fail(p, line, "XML", "a DOCTYPE is not allowed (no DTD, no entities)"), false;
	}
	return true;
}

/* Only whitespace (the buffer need not end in a NUL). */
static bool
blank(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r' && buf[i] != '\n')
			return false;
	return true;
}

enum perr
pain002_parse(const char *buf, size_t len, const char *path, struct pain002_report **out)
{
	struct px p;
	bool ok;

	*out = NULL;
	memset(&p, 0, sizeof p);
	p.path = path;
	if (len > PAIN002_MAX_BYTES)
		return fail(&p, 1, "XML", "the file has %zu bytes, more than the %d a status report may have", len,
		    PAIN002_MAX_BYTES);
	if (!precheck(&p, buf, len))
		return PERR_PARSE;
	if (blank(buf, len))
		return fail(&p, 1, "XML", "the file is empty, expected a pain.002.001.03 document");
	xmlInitParser();
	/* No network, no DTD loading or validation, no entity substitution, no huge-text override. */
	p.r = xmlReaderForMemory(buf, (int)len, path, NULL, XML_PARSE_NONET | XML_PARSE_NOCDATA);
	if (p.r == NULL)
		return fail(&p, 1, "XML", "libxml2 cannot read the buffer");
	xmlTextReaderSetStructuredErrorHandler(p.r, on_xml_error, &p);
	p.rep = xcalloc(1, sizeof *p.rep);
	p.rep->msg_id = xstrdup("");
	p.rep->created = xstrdup("");
	p.rep->orgnl_msg_id = xstrdup("");
	p.rep->orgnl_msg_nm_id = xstrdup("");
	ok = parse_document(&p) && check_report(&p);
	xmlFreeTextReader(p.r);
	if (!ok) {
		pain002_free(p.rep);
		if (!p.failed)
			fail(&p, 1, "XML", "unreadable");
		return PERR_PARSE;
	}
	*out = p.rep;
	return PERR_OK;
}

enum perr
pain002_parse_file(const char *path, struct pain002_report **out)
{
	char *buf;
	size_t len;
	enum perr e;

	*out = NULL;
	if ((e = read_file(path, &buf, &len, PAIN002_MAX_BYTES)) != PERR_OK)
		return e;
	e = pain002_parse(buf, len, path, out);
	free(buf);
	return e;
}

void
pain002_free(struct pain002_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_statuses; i++) {
		struct pain002_status *s = &r->statuses[i];

		free(s->pmtinf_id);
		free(s->end_to_end_id);
		free(s->reason_code);
		free(s->reason_text);
		free(s->status_time);
	}
	free(r->statuses);
	free(r->msg_id);
	free(r->created);
	free(r->orgnl_msg_id);
	free(r->orgnl_msg_nm_id);
	free(r);
}
