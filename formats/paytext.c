/*
 * paytext.c - the text rules of the files sent to counterparties (see paytext.h), used by the
 * writers (pain001.c) and, before commit, by the settle stage and the ledger import.
 */
#include "paytext.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"   /* text_check: the one UTF-8 validator */

/* The code point at *p (valid UTF-8, checked by text_check), advancing *p. */
static unsigned
next_cp(const unsigned char **p)
{
	const unsigned char *s = *p;
	unsigned c = s[0];

	if (c < 0x80) {
		*p += 1;
		return c;
	}
	if (c < 0xe0) {
		*p += 2;
		return ((c & 0x1fu) << 6) | (s[1] & 0x3fu);
	}
	if (c < 0xf0) {
		*p += 3;
		return ((c & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
	}
	*p += 4;
	return ((c & 0x07u) << 18) | ((s[1] & 0x3fu) << 12) | ((s[2] & 0x3fu) << 6) | (s[3] & 0x3fu);
}

static bool
latin_cp(unsigned cp)
{
	return (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xc0 && cp <= 0x17f && cp != 0xd7 && cp != 0xf7);
}

const char *
paytext_why(const char *s, long max, char *buf, size_t bufsz)
{
	const unsigned char *p;
	const char *why = NULL;
	long n = 0;

	if (s == NULL || s[0] == '\0')
		return "is empty";
	if (text_check(s, strlen(s), &why) != (size_t)-1)
		return strstr(why ? why : "", "control") ? "contains a control character" : "is not valid UTF-8";
	for (p = (const unsigned char *)s; *p; n++) {
		unsigned cp = next_cp(&p);

		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
			return "contains a control character";
		if (!latin_cp(cp)) {
			snprintf(buf, bufsz, "contains U+%04X, outside the SWIFT/SEPA Latin character set", cp);
			return buf;
		}
	}
	if (n > max) {
		snprintf(buf, bufsz, "has %ld characters, at most %ld allowed", n, max);
		return buf;
	}
	if (strspn(s, " ") == strlen(s))
		return "is blank";
	return NULL;
}

enum perr
paytext_check(const char *what, const char *field, const char *s, long max)
{
	char buf[128];
	const char *why = paytext_why(s, max, buf, sizeof buf);

	if (why == NULL)
		return PERR_OK;
	return perr_set(PERR_PAYMENT_DATA, "%s: %s \"%.40s%s\" %s", what, field, s ? s : "",
	    s && strlen(s) > 40 ? "..." : "", why);
}

bool
paytext_bic_valid(const char *s)
{
	size_t n = strlen(s);

	if (n != 8 && n != 11)
		return false;
	for (size_t i = 0; i < 6; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return false;
	if (!((s[6] >= 'A' && s[6] <= 'Z') || (s[6] >= '2' && s[6] <= '9')))
		return false;
	if (!((s[7] >= 'A' && s[7] <= 'Z' && s[7] != 'O') || (s[7] >= '0' && s[7] <= '9')))
		return false;
	for (size_t i = 8; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/* 1..max bytes, each a letter, a digit or one of `extra`. */
static bool
id_shape(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    strchr(extra, *s) != NULL))
			return false;
	return true;
}

bool
paytext_account_valid(const char *s)
{
	return id_shape(s, PAYTEXT_ACCOUNT_MAX, "/-");
}

bool
paytext_journal_id_valid(const char *s)
{
	return id_shape(s, PAYTEXT_JOURNAL_ID_MAX, "_-");
}
