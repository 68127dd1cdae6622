/*
 * jsonout.c - JSON values and output through jansson (see jsonout.h).
 */
#include "jsonout.h"

#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "util.h"

static json_t *
must(json_t *v)
{
	if (v == NULL) {
		fprintf(stderr, "pipeline: out of memory (JSON)\n");
		abort();
	}
	return v;
}

/* Length of the valid UTF-8 control character at s (C0, DEL, or a two-byte C1), else 0. */
static size_t
control_len(const unsigned char *s, size_t n)
{
	if (s[0] < 0x20 || s[0] == 0x7f)
		return 1;
	if (n >= 2 && s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
		return 2;
	return 0;
}

/*
 * s[0..n) as a JSON string. jansson refuses invalid UTF-8; such text is copied with each byte that
 * is not UTF-8 replaced by U+FFFD. Controls are valid UTF-8 (JSON escapes them) and are kept; they
 * are where text_check stops too, so they are stepped over one by one.
 */
static json_t *
str_n(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t bad, at = 0, len = 0, k;
	char *b;
	json_t *v;

	if ((v = json_stringn(s, n)) != NULL)
		return v;
	b = xmalloc(n * 3 + 1);
	while (at < n) {
		bad = text_check(s + at, n - at, NULL);
		if (bad == (size_t)-1)
			bad = n - at;
		memcpy(b + len, s + at, bad);
		len += bad;
		at += bad;
		if (at >= n)
			break;
		if ((k = control_len(u + at, n - at)) > 0) {
			memcpy(b + len, s + at, k);
			len += k;
			at += k;
		} else {
			memcpy(b + len, "\xef\xbf\xbd", 3);
			len += 3;
			at++;
		}
	}
	v = must(json_stringn(b, len));
	free(b);
	return v;
}

json_t *
jsonout_str(const char *s)
{
	return s == NULL ? must(json_string("")) : str_n(s, strlen(s));
}

json_t *
jsonout_str_or_null(const char *s)
{
	return s == NULL ? json_null() : str_n(s, strlen(s));
}

json_t *
jsonout_str_max(const char *s, size_t max)
{
	size_t n, cut;
	char marker[48];
	char *b;
	json_t *v;

	if (s == NULL)
		s = "";
	n = strlen(s);
	if (n <= max)
		return str_n(s, n);
	cut = utf8_cut(s, n, max);
	snprintf(marker, sizeof marker, "...[%zu more bytes]", n - cut);
	b = xmalloc(cut + strlen(marker) + 1);
	memcpy(b, s, cut);
	strcpy(b + cut, marker);
	v = str_n(b, strlen(b));
	free(b);
	return v;
}

json_t *
jsonout_int(long long v)
{
	return must(json_integer(v));
}

json_t *
jsonout_set(json_t *obj, const char *key, json_t *v)
{
	if (json_object_set_new(obj, key, must(v)) != 0)
		must(NULL);
	return obj;
}

/*
 * Bidi controls and invisible characters in the dumped text as \\uXXXX escapes (utf8_invisible):
 * the same JSON value, but a terminal or an editor showing it cannot be made to reorder or hide
 * text. jansson escapes only the control characters. Frees s when it returns a new string.
 */
static char *
escape_invisible(char *s)
{
	char *t;
	size_t n = strlen(s);

	if (memchr(s, 0xe2, n) == NULL && memchr(s, 0xef, n) == NULL && memchr(s, 0xd8, n) == NULL)
		return s;       /* the common case: nothing that could be one */
	t = utf8_shown(s, n, 0);
	free(s);
	return t;
}

int
jsonout_write(FILE *fp, json_t *v, size_t flags, const char *end)
{
	char *s = jsonout_dumps(v, flags);
	int rc = fputs(s, fp) == EOF ? -1 : 0;

	free(s);
	if (rc == 0 && end != NULL && fputs(end, fp) == EOF)
		rc = -1;
	return rc == 0 && !ferror(fp) ? 0 : -1;
}

char *
jsonout_dumps(json_t *v, size_t flags)
{
	char *s = json_dumps(v, flags);

	json_decref(v);
	if (s == NULL) {
		fprintf(stderr, "pipeline: out of memory (JSON)\n");
		abort();
	}
	return escape_invisible(s);
}
