/*
 * trustee.c - the trustee's unit register: a CSV file
 *   as_of_date,offering_id,investor_id,units
 * header required, UTF-8, CRLF or LF, libcsv strict mode, one as_of_date for the whole file,
 * units a non-negative integer, each (offering_id, investor_id) at most once. The register is
 * the trustee's official record of who holds how many DABS units, so nothing is guessed.
 * Memory grows only with the number of distinct holdings (to find duplicates).
 */
#include "statement.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define REG_MAX_LINE 4096
#define REG_FIELDS 4

static const char *const reg_header[REG_FIELDS] = { "as_of_date", "offering_id", "investor_id", "units" };

struct seen {
	char *key;     /* "offering\x1finvestor" */
	long line;
};

struct reg {
	const struct parse_opts *o;
	const struct register_sink *sink;
	const char *path;
	long lineno, rec_line;
	struct fbuf fields[REG_FIELDS];
	size_t nf;
	bool failed;
	enum perr err;
	int64_t rows;
	bool header_done, have_as_of;
	date_t as_of;
	long as_of_line;
	struct seen *set;     /* open addressing, power-of-two size */
	size_t set_size, set_used;
	struct fbuf text;
};

/* FNV-1a: the keys are short identifiers. */
static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Inserts key; returns 0 if new, else the line where it was first seen. */
static long
set_add(struct reg *r, const char *key, long line)
{
	size_t i;

	if ((r->set_used + 1) * 2 > r->set_size) {
		size_t nsize = r->set_size ? r->set_size * 2 : 256, j;
		struct seen *ns = xcalloc(nsize, sizeof *ns);

		for (j = 0; j < r->set_size; j++)
			if (r->set[j].key != NULL) {
				i = hash_str(r->set[j].key) & (nsize - 1);
				while (ns[i].key != NULL)
					i = (i + 1) & (nsize - 1);
				ns[i] = r->set[j];
			}
		free(r->set);
		r->set = ns;
		r->set_size = nsize;
	}
	i = hash_str(key) & (r->set_size - 1);
	while (r->set[i].key != NULL) {
		if (strcmp(r->set[i].key, key) == 0)
			return r->set[i].line;
		i = (i + 1) & (r->set_size - 1);
	}
	r->set[i].key = xstrdup(key);
	r->set[i].line = line;
	r->set_used++;
	return 0;
}

static enum perr
rgerr(struct reg *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static enum perr
rgerr(struct reg *r, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return perr_set(PERR_PARSE, "%s:%ld: trustee register: %s", r->path, r->rec_line, msg);
}

static bool
ident_ok(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
		    || c == '_'))
			return false;
	}
	return true;
}

static enum perr
reg_record(struct reg *r)
{
	const char *f[REG_FIELDS];
	struct register_row row;
	size_t i;
	int64_t units = 0;
	char key[160];
	long first;

	if (r->nf != REG_FIELDS)
		return rgerr(r, "row has %zu fields, expected %d (as_of_date,offering_id,investor_id,units)",
		    r->nf, REG_FIELDS);
	for (i = 0; i < REG_FIELDS; i++)
		f[i] = r->fields[i].p ? r->fields[i].p : "";
	if (!r->header_done) {
		for (i = 0; i < REG_FIELDS; i++)
			if (strcmp(f[i], reg_header[i]) != 0)
				return rgerr(r, "header field %zu is \"%.40s\", expected \"%s\" "
				    "(header as_of_date,offering_id,investor_id,units)", i + 1, f[i], reg_header[i]);
		r->header_done = true;
		return PERR_OK;
	}
	memset(&row, 0, sizeof row);
	row.src_line = r->rec_line;
	if (date_parse_iso(f[0], &row.as_of_date) != PERR_OK)
		return rgerr(r, "as_of_date: date \"%.40s\" is not a valid date, expected YYYY-MM-DD", f[0]);
	if (!r->have_as_of) {
		r->have_as_of = true;
		r->as_of = row.as_of_date;
		r->as_of_line = r->rec_line;
	} else if (row.as_of_date != r->as_of) {
		char a[DATE_BUFSZ];

		return rgerr(r, "as_of_date: %s differs from %s on line %ld, expected one date per register",
		    f[0], date_format_iso(r->as_of, a), r->as_of_line);
	}
	if (!ident_ok(f[1], 16))
		return rgerr(r, "offering_id: \"%.40s\" is not 1 to 16 letters, digits, '-' or '_'", f[1]);
	if (!ident_ok(f[2], 64))
		return rgerr(r, "investor_id: \"%.70s\" is not 1 to 64 letters, digits, '-' or '_'", f[2]);
	if (f[3][0] == '\0')
		return rgerr(r, "units: empty, expected a whole number of units");
	for (i = 0; f[3][i] != '\0'; i++) {
		if (f[3][i] < '0' || f[3][i] > '9')
			return rgerr(r, "units: \"%.40s\" is not a whole non-negative number", f[3]);
		if (__builtin_mul_overflow(units, 10, &units) || __builtin_add_overflow(units, f[3][i] - '0', &units))
			return perr_set(PERR_MONEY_OVERFLOW, "%s:%ld: trustee register: units: \"%.40s\" is too large",
			    r->path, r->rec_line, f[3]);
	}
	snprintf(key, sizeof key, "%s\x1f%s", f[1], f[2]);
	if ((first = set_add(r, key, r->rec_line)) != 0)
		return rgerr(r, "holding of %s in %s is given twice (first on line %ld)", f[2], f[1], first);
	row.offering_id = f[1];
	row.investor_id = f[2];
	row.units = units;
	r->rows++;
	if (r->sink->row != NULL)
		return r->sink->row(r->sink->arg, &row);
	return PERR_OK;
}

static void
reg_field(void *s, size_t len, void *data)
{
	struct reg *r = data;

	if (r->failed)
		return;
	if (r->nf < REG_FIELDS) {
		fbuf_reset(&r->fields[r->nf]);
		fbuf_append(&r->fields[r->nf], s ? s : "", s ? len : 0);
	}
	r->nf++;
}

static void
reg_rec(int c, void *data)
{
	struct reg *r = data;
	enum perr e;

	(void)c;
	if (r->failed)
		return;
	e = reg_record(r);
	if (e != PERR_OK) {
		r->failed = true;
		r->err = e;
	}
	r->nf = 0;
	r->rec_line = r->lineno + 1;
}

static int
reg_no_space(unsigned char c)
{
	(void)c;
	return 0;
}

static int
reg_is_term(unsigned char c)
{
	return c == '\n';
}

enum perr
trustee_parse(FILE *fp, const struct parse_opts *o, const struct register_sink *sink)
{
	struct reg r;
	struct csv_parser p;
	char *raw = NULL;
	size_t cap = 0, i;
	long n;
	bool last_nl = true;
	enum perr e = PERR_OK;

	memset(&r, 0, sizeof r);
	r.o = o;
	r.sink = sink;
	r.path = o->path;
	r.rec_line = 1;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		return perr_set(PERR_NOMEM, "%s: cannot initialise the CSV parser", o->path);
	csv_set_space_func(&p, reg_no_space);
	csv_set_term_func(&p, reg_is_term);
	for (;;) {
		size_t len;

		r.lineno++;
		n = read_line(fp, &raw, &cap, REG_MAX_LINE, r.path, r.lineno);
		if (n < 0) {
			e = perr_last();
			goto out;
		}
		if (n == 0)
			break;
		len = (size_t)n;
		last_nl = raw[len - 1] == '\n';
		if (!last_nl)
			break;
		len--;
		if (len > 0 && raw[len - 1] == '\r')
			len--;
		if ((e = text_decode(raw, len, o->encoding, &r.text, r.path, r.lineno, "trustee register")) != PERR_OK)
			goto out;
		if (r.text.len == 0 && p.pstate == 0) {
			e = perr_set(PERR_PARSE, "%s:%ld: trustee register: empty line, expected a row", r.path, r.lineno);
			goto out;
		}
		fbuf_putc(&r.text, '\n');
		if (csv_parse(&p, r.text.p, r.text.len, reg_field, reg_rec, &r) != r.text.len && !r.failed) {
			e = perr_set(PERR_PARSE, "%s:%ld: trustee register: stray quote or text after a closing quote "
			    "(strict CSV)", r.path, r.lineno);
			goto out;
		}
		if (r.failed) {
			e = r.err;
			goto out;
		}
	}
	r.lineno--;
	if (!last_nl) {
		e = perr_set(PERR_PARSE, "%s:%ld: trustee register: the last line has no line ending: the file "
		    "is truncated", r.path, r.lineno + 1);
		goto out;
	}
	if (csv_fini(&p, reg_field, reg_rec, &r) != 0) {
		e = perr_set(PERR_PARSE, "%s:%ld: trustee register: end of file inside a quoted field: the file "
		    "is truncated", r.path, r.lineno);
		goto out;
	}
	if (r.failed) {
		e = r.err;
		goto out;
	}
	if (!r.header_done) {
		e = perr_set(PERR_PARSE, "%s:1: trustee register: the file is empty, expected the header "
		    "as_of_date,offering_id,investor_id,units", r.path);
		goto out;
	}
	if (sink->end != NULL)
		e = sink->end(sink->arg, r.rows, r.have_as_of, r.as_of);
out:
	csv_free(&p);
	free(raw);
	for (i = 0; i < REG_FIELDS; i++)
		fbuf_free(&r.fields[i]);
	fbuf_free(&r.text);
	for (i = 0; i < r.set_size; i++)
		free(r.set[i].key);
	free(r.set);
	return e;
}
