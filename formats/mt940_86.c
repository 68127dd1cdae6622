/*
 * mt940_86.c - decoders of structured MT940 :86: texts (German/Austrian ?NN subfields, Dutch/
 * Belgian slash tags); the formats are described in mt940_86.h. Pure functions over a string:
 * no I/O, no allocation beyond the struct's own growable buffers.
 */
#include "mt940_86.h"

#include <stddef.h>
#include <string.h>

#define MAX_SEGMENTS 64          /* ?20-?29 and ?60-?63 are 14; more are tolerated, not split */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void
reset_all(struct info86 *o)
{
	struct fbuf *b[] = { &o->posting_text, &o->purpose, &o->eref, &o->kref, &o->mref, &o->cred,
		&o->svwz, &o->name, &o->account, &o->bic };

	for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
		fbuf_reset(b[i]);
		fbuf_append(b[i], "", 0);     /* NUL-terminated even when empty */
	}
	o->kind = INFO86_TEXT;
	o->code[0] = '\0';
}

/* ---- German / Austrian: NNN?00...?20...?32... ---- */

/* "166?00" (or another punctuation separator than '?'): the GVC structure. */
static bool
looks_gvc(const char *s, size_t n)
{
	char sep;

	if (n < 6 || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]))
		return false;
	sep = s[3];
	return sep > ' ' && sep < 0x7f && sep != '/' && !is_digit(sep) && !(sep >= 'A' && sep <= 'Z')
	    && !(sep >= 'a' && sep <= 'z') && is_digit(s[4]) && is_digit(s[5]);
}

struct kw {
	const char *word;        /* "EREF+" */
	size_t off;              /* which buffer of struct info86 receives its value */
};

static const struct kw sepa_keywords[] = {
	{ "EREF+", offsetof(struct info86, eref) }, { "KREF+", offsetof(struct info86, kref) },
	{ "MREF+", offsetof(struct info86, mref) }, { "CRED+", offsetof(struct info86, cred) },
	{ "SVWZ+", offsetof(struct info86, svwz) }, { "DEBT+", 0 }, { "ABWA+", 0 }, { "ABWE+", 0 },
	{ "COAM+", 0 }, { "OAMT+", 0 }, { "IBAN+", 0 }, { "BIC+", 0 },
};

/* The keyword a purpose segment starts with, or NULL. */
static const struct kw *
keyword_at(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof sepa_keywords / sizeof sepa_keywords[0]; i++) {
		size_t l = strlen(sepa_keywords[i].word);

		if (n >= l && memcmp(s, sepa_keywords[i].word, l) == 0)
			return &sepa_keywords[i];
	}
	return NULL;
}

/*
 * Splits the joined purpose at the SEPA keywords that start a segment: the value of a keyword runs
 * to the next keyword, across segment boundaries, exactly as sent.
 */
static void
split_sepa(struct info86 *o, const size_t *seg, size_t nseg)
{
	const char *p = o->purpose.p;
	size_t plen = o->purpose.len;
	struct fbuf *cur = NULL;

	for (size_t i = 0; i < nseg; i++) {
		size_t start = seg[i], end = i + 1 < nseg ? seg[i + 1] : plen;
		const struct kw *k = keyword_at(p + start, end - start);

		if (k != NULL) {
			cur = k->off ? (struct fbuf *)((char *)o + k->off) : NULL;
			if (cur != NULL)
				fbuf_reset(cur);
			start += strlen(k->word);
		}
		if (cur != NULL)
			fbuf_append(cur, p + start, end - start);
	}
}

static void
decode_gvc(const char *s, size_t n, struct info86 *o)
{
	char sep = s[3];
	size_t seg[MAX_SEGMENTS], nseg = 0, i = 3;

	o->kind = INFO86_GVC;
	memcpy(o->code, s, 3);
	o->code[3] = '\0';
	while (i < n) {
		size_t j = i + 3;
		int field;
		struct fbuf *dst = NULL;

		/* at a separator: the value runs to the next separator followed by two digits */
		while (j < n && !(s[j] == sep && j + 2 < n && is_digit(s[j + 1]) && is_digit(s[j + 2])))
			j++;
		field = (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
		if (field == 0)
			dst = &o->posting_text;
		else if ((field >= 20 && field <= 29) || (field >= 60 && field <= 63)) {
			if (nseg < MAX_SEGMENTS)
				seg[nseg++] = o->purpose.len;
			dst = &o->purpose;
		} else if (field == 30)
			dst = &o->bic;
		else if (field == 31)
			dst = &o->account;
		else if (field == 32 || field == 33)
			dst = &o->name;
		if (dst != NULL && j > i + 3)
			fbuf_append(dst, s + i + 3, j - i - 3);
		i = j;
	}
	split_sepa(o, seg, nseg);
}

/* ---- Dutch / Belgian: /TAG/value/TAG/value ---- */

static const char *const slash_tags[] = {
	"TRTP", "IBAN", "BIC", "NAME", "REMI", "EREF", "ORDP", "BENM", "CNTP", "ID", "MARF", "CSID",
	"ADDR", "RTRN", "PREF", "ULTC", "ULTD", "ULTB", "PURP", "ISDT", "BUSP", "OCMT", "EXCH", "CHGS",
	"SVCL", "NRTX", "TRCD", "FX", "CITY",
};

/* The length of the known tag "/TAG/" at s (s[0] == '/'), or 0. */
static size_t
slash_tag_at(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof slash_tags / sizeof slash_tags[0]; i++) {
		size_t l = strlen(slash_tags[i]);

		if (n >= l + 2 && s[0] == '/' && memcmp(s + 1, slash_tags[i], l) == 0 && s[l + 1] == '/')
			return l + 2;
	}
	return 0;
}

/* Appends value[0..n) without its trailing '/' separators, if dst is still empty. */
static void
set_once(struct fbuf *dst, const char *v, size_t n)
{
	while (n > 0 && v[n - 1] == '/')
		n--;
	if (dst->len == 0 && n > 0)
		fbuf_append(dst, v, n);
}

/* /REMI/USTD//text/ and /REMI/STRD/CUR/ref/: the text or the reference. */
static void
set_remi(struct fbuf *dst, const char *v, size_t n)
{
	if (n >= 6 && memcmp(v, "USTD//", 6) == 0) {
		v += 6;
		n -= 6;
	} else if (n >= 5 && memcmp(v, "STRD/", 5) == 0) {
		const char *sl = memchr(v + 5, '/', n - 5);

		if (sl != NULL) {
			n -= (size_t)(sl + 1 - v);
			v = sl + 1;
		}
	}
	set_once(dst, v, n);
}

/* /CNTP/account/bic/name/city/ */
static void
set_cntp(struct info86 *o, const char *v, size_t n)
{
	struct fbuf *part[3] = { &o->account, &o->bic, &o->name };
	size_t k = 0, start = 0;

	for (size_t i = 0; i <= n && k < 3; i++)
		if (i == n || v[i] == '/') {
			set_once(part[k++], v + start, i - start);
			start = i + 1;
		}
}

static void
slash_value(struct info86 *o, const char *tag, size_t tl, const char *v, size_t n)
{
#define IS(t) (tl == sizeof(t) - 1 && memcmp(tag, t, tl) == 0)
	if (IS("TRTP"))
		set_once(&o->posting_text, v, n);
	else if (IS("IBAN"))
		set_once(&o->account, v, n);
	else if (IS("BIC"))
		set_once(&o->bic, v, n);
	else if (IS("NAME"))
		set_once(&o->name, v, n);
	else if (IS("REMI"))
		set_remi(&o->purpose, v, n);
	else if (IS("EREF"))
		set_once(&o->eref, v, n);
	else if (IS("MARF"))
		set_once(&o->mref, v, n);
	else if (IS("CSID"))
		set_once(&o->cred, v, n);
	else if (IS("CNTP"))
		set_cntp(o, v, n);
#undef IS
}

static void
decode_slash(const char *s, size_t n, struct info86 *o)
{
	size_t i = 0;

	o->kind = INFO86_SLASH;
	while (i < n) {
		size_t tl = slash_tag_at(s + i, n - i), j;

		/* i is at a known tag; its value runs to the next known tag */
		for (j = i + tl; j < n && slash_tag_at(s + j, n - j) == 0; j++)
			;
		slash_value(o, s + i + 1, tl - 2, s + i + tl, j - i - tl);
		i = j;
	}
}

void
info86_decode(const char *s, size_t n, struct info86 *out)
{
	size_t lead = 0;

	reset_all(out);
	if (looks_gvc(s, n)) {
		decode_gvc(s, n, out);
		return;
	}
	while (lead < n && s[lead] == ' ')
		lead++;
	if (lead < n && slash_tag_at(s + lead, n - lead) != 0)
		decode_slash(s + lead, n - lead, out);
}

const char *
info86_e2e(const struct info86 *in)
{
	const char *e = in->eref.p;

	if (e == NULL || e[0] == '\0' || strcmp(e, "NOTPROVIDED") == 0 || strcmp(e, "NONREF") == 0)
		return NULL;
	return e;
}

void
info86_free(struct info86 *in)
{
	fbuf_free(&in->posting_text);
	fbuf_free(&in->purpose);
	fbuf_free(&in->eref);
	fbuf_free(&in->kref);
	fbuf_free(&in->mref);
	fbuf_free(&in->cred);
	fbuf_free(&in->svwz);
	fbuf_free(&in->name);
	fbuf_free(&in->account);
	fbuf_free(&in->bic);
}
