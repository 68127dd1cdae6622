/*
 * text.c - text helpers shared by the statement parsers: growable buffers, decoding (UTF-8 checked
 * by src/utf8.c, ISO-8859-1 converted exactly), bounded line reading and the list of tolerated
 * deviations a parser records.
 */
#include "statement.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "money.h"
#include "util.h"

void
fbuf_reset(struct fbuf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

/* Amortised O(1): the buffer doubles, so a parser reusing one buffer allocates O(log n) times. */
void
fbuf_append(struct fbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
fbuf_putc(struct fbuf *b, char c)
{
	fbuf_append(b, &c, 1);
}

void
fbuf_free(struct fbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

enum perr
text_decode(const char *s, size_t n, enum text_encoding enc, struct fbuf *out, const char *path,
    long line, const char *what)
{
	size_t i, bad;
	const char *why = "";

	fbuf_reset(out);
	if (enc == ENC_LATIN1) {
		/* Every byte is its own code point: 0x80..0xFF become two UTF-8 bytes. */
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];

			if ((c < 0x20 && c != '\t') || (c >= 0x7f && c < 0xa0))
				return perr_set(PERR_PARSE, "%s:%ld: %s: control character 0x%02X at column %zu, "
				    "expected printable ISO-8859-1 text", path, line, what, c, i + 1);
			if (c < 0x80) {
				fbuf_putc(out, (char)c);
			} else {
				char two[2] = { (char)(0xc0 | (c >> 6)), (char)(0x80 | (c & 0x3f)) };

				fbuf_append(out, two, 2);
			}
		}
		if (out->p == NULL)
			fbuf_append(out, "", 0);
		return PERR_OK;
	}
	bad = text_check(s, n, &why);
	if (bad != (size_t)-1)
		return perr_set(PERR_PARSE, "%s:%ld: %s: byte 0x%02X at column %zu is not valid text (%s), "
		    "expected UTF-8", path, line, what, (unsigned char)s[bad], bad + 1, why);
	fbuf_append(out, s, n);
	return PERR_OK;
}


long
read_line(FILE *fp, char **line, size_t *cap, size_t max_len, const char *path, long lineno)
{
	ssize_t n;

	errno = 0;
	n = getline(line, cap, fp);
	if (n < 0) {
		if (ferror(fp))
			return perr_set(PERR_IO, "%s:%ld: read error: %s", path, lineno, strerror(errno)), -1;
		return 0;
	}
	if ((size_t)n > max_len)
		return perr_set(PERR_PARSE, "%s:%ld: line is %zd bytes long, expected at most %zu",
		    path, lineno, n, max_len), -1;
	if (memchr(*line, '\0', (size_t)n) != NULL)
		return perr_set(PERR_PARSE, "%s:%ld: NUL byte in the line, expected text", path, lineno), -1;
	return (long)n;
}

bool
text_encoding_from_name(const char *name, enum text_encoding *out)
{
	if (name == NULL || strcasecmp(name, "UTF-8") == 0 || strcasecmp(name, "utf8") == 0) {
		*out = ENC_UTF8;
		return true;
	}
	if (strcasecmp(name, "ISO-8859-1") == 0 || strcasecmp(name, "latin1") == 0
	    || strcasecmp(name, "ISO8859-1") == 0) {
		*out = ENC_LATIN1;
		return true;
	}
	return false;
}

bool
stmt_header_sane(const struct stmt_header *h, bool at_end)
{
	const struct currency *c = currency_find(h->currency);

	if (c == NULL || c->exponent != h->exponent)
		return false;
	if (at_end && (!h->opening.present || !h->closing.present))
		return false;
	return h->line_count >= 0;
}

bool
stmt_balanced(const struct stmt_header *h, int64_t *expected)
{
	int64_t e;

	if (!money_add(h->opening.amount_minor, h->sum_minor, &e))
		return false;
	if (expected != NULL)
		*expected = e;
	return e == h->closing.amount_minor;
}

void
deviations_add(struct deviations *dv, const char *code, const char *what, long line)
{
	int i;

	if (dv == NULL)
		return;
	for (i = 0; i < dv->n; i++)
		if (strcmp(dv->d[i].code, code) == 0) {
			dv->d[i].count++;
			return;
		}
	if (dv->n == DEVIATIONS_MAX)
		return;    /* more kinds than there are codes: cannot happen, the codes are fixed */
	dv->d[dv->n].code = code;
	dv->d[dv->n].what = what;
	dv->d[dv->n].first_line = line;
	dv->d[dv->n].count = 1;
	dv->n++;
}

char *
deviation_text(const struct deviation *d, char *buf, size_t cap)
{
	if (d->count > 1)
		snprintf(buf, cap, "%s (line %ld, %lld times): %s", d->code, d->first_line, (long long)d->count, d->what);
	else
		snprintf(buf, cap, "%s (line %ld): %s", d->code, d->first_line, d->what);
	return buf;
}
