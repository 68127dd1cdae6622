/*
 * utf8.c - the one UTF-8 validator (utf8.h): statement parsers, the ledger import, remote names,
 * the payment file's texts and the JSON writer all check text here.
 */
#include "utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t
text_check(const char *str, size_t n, const char **why)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	const char *dummy;

	if (why == NULL)
		why = &dummy;
	while (i < n) {
		unsigned char c;
		uint32_t cp;
		size_t k, need;

		/*
		 * Fast path, 8 bytes at a time: plain printable ASCII (no high bit, nothing below 0x20,
		 * no 0x7F) needs no further look. Anything else goes through the byte loop below.
		 */
		while (i + 8 <= n) {
			uint64_t v, lo, del;

			memcpy(&v, s + i, 8);
			lo = (v - 0x2020202020202020ULL) & ~v & 0x8080808080808080ULL;
			del = ((v ^ 0x7f7f7f7f7f7f7f7fULL) - 0x0101010101010101ULL) & ~(v ^ 0x7f7f7f7f7f7f7f7fULL)
			    & 0x8080808080808080ULL;
			if ((v & 0x8080808080808080ULL) != 0 || lo != 0 || del != 0)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		c = s[i];

		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				*why = "control character";
				return i;
			}
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			*why = "not a UTF-8 lead byte";
			return i;
		}
		if (i + need >= n) {
			*why = "truncated UTF-8 sequence";
			return i;
		}
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80) {
				*why = "truncated UTF-8 sequence";
				return i;
			}
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000)) {
			*why = "overlong UTF-8 sequence";
			return i;
		}
		if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
			*why = "not a Unicode scalar value";
			return i;
		}
		if (cp >= 0x80 && cp < 0xa0) {
			*why = "control character";
			return i;
		}
		i += need + 1;
	}
	return (size_t)-1;
}

size_t
utf8_count(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i, count = 0;

	for (i = 0; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			count++;
	return count;
}

size_t
utf8_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

size_t
utf8_invisible(const char *str, size_t n, unsigned *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned c;

	if (n >= 2 && s[0] == 0xd8 && s[1] == 0x9c) {          /* U+061C ARABIC LETTER MARK */
		*cp = 0x061c;
		return 2;
	}
	if (n < 3 || (s[0] != 0xe2 && s[0] != 0xef) || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
		return 0;
	c = ((unsigned)(s[0] & 0x0f) << 12) | ((unsigned)(s[1] & 0x3f) << 6) | (unsigned)(s[2] & 0x3f);
	if ((c >= 0x200b && c <= 0x200f)       /* zero-width space, non-joiner, joiner; LRM, RLM */
	    || (c >= 0x202a && c <= 0x202e)    /* LRE, RLE, PDF, LRO, RLO */
	    || (c >= 0x2060 && c <= 0x2064)    /* word joiner, invisible operators */
	    || (c >= 0x2066 && c <= 0x2069)    /* LRI, RLI, FSI, PDI */
	    || c == 0xfeff) {                  /* zero-width no-break space (BOM) */
		*cp = c;
		return 3;
	}
	return 0;
}


char *
utf8_shown(const char *str, size_t n, int flags)
{
	const unsigned char *s = (const unsigned char *)str;
	char *b = malloc(n * 6 + 1);
	size_t i = 0, len = 0, k;
	unsigned cp;

	if (b == NULL)
		abort();
	while (i < n) {
		if ((k = utf8_invisible(str + i, n - i, &cp)) > 0) {
			len += (size_t)snprintf(b + len, 7, "\\u%04x", cp);   /* 6 bytes for >= 2 in */
			i += k;
			continue;
		}
		if (((flags & UTF8_SHOWN_CONTROLS) && ((s[i] < 0x20 && s[i] != '\n') || s[i] == 0x7f))
		    || ((flags & UTF8_SHOWN_NEWLINE) && s[i] == '\n')
		    || ((flags & UTF8_SHOWN_BACKSLASH) && s[i] == '\\'))
			len += (size_t)snprintf(b + len, 5, "\\x%02x", s[i]);
		else
			b[len++] = (char)s[i];
		i++;
	}
	b[len] = '\0';
	return b;
}
