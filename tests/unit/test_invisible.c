/*
 * test_invisible.c - bidirectional controls and invisible characters (src/utf8.h) are shown as
 * escapes, never obeyed: utf8_invisible finds each of them and nothing else; utf8_shown escapes
 * them (and controls, newlines, backslashes on request); a JSON document carries \uXXXX instead
 * of the raw character. Log lines: tests/unit/test_log.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "jsonout.h"
#include "utf8.h"

/* "invoice" RLO "fdp.sta": shows as "invoiceats.pdf" on a terminal that obeys it. */
static const char RLO_NAME[] = "invoice\xe2\x80\xae" "fdp.sta";

static void
test_each_invisible(void **state)
{
	static const struct { const char *s; unsigned cp; size_t len; } yes[] = {
		{ "\xd8\x9c", 0x061c, 2 }, { "\xe2\x80\x8b", 0x200b, 3 }, { "\xe2\x80\x8c", 0x200c, 3 },
		{ "\xe2\x80\x8d", 0x200d, 3 }, { "\xe2\x80\x8e", 0x200e, 3 }, { "\xe2\x80\x8f", 0x200f, 3 },
		{ "\xe2\x80\xaa", 0x202a, 3 }, { "\xe2\x80\xab", 0x202b, 3 }, { "\xe2\x80\xac", 0x202c, 3 },
		{ "\xe2\x80\xad", 0x202d, 3 }, { "\xe2\x80\xae", 0x202e, 3 }, { "\xe2\x81\xa0", 0x2060, 3 },
		{ "\xe2\x81\xa6", 0x2066, 3 }, { "\xe2\x81\xa7", 0x2067, 3 }, { "\xe2\x81\xa8", 0x2068, 3 },
		{ "\xe2\x81\xa9", 0x2069, 3 }, { "\xef\xbb\xbf", 0xfeff, 3 },
	};
	/* visible neighbours: EN DASH U+2013, ELLIPSIS U+2026, U+2065 (unassigned gap), U+2070, Arabic U+061B */
	static const char *const no[] = { "\xe2\x80\x93", "\xe2\x80\xa6", "\xe2\x81\xa5", "\xe2\x81\xb0",
		"\xd8\x9b", "a", "\xc3\xa9", "\xef\xbb\xbe" };
	unsigned cp;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		cp = 0;
		assert_int_equal(utf8_invisible(yes[i].s, strlen(yes[i].s), &cp), yes[i].len);
		assert_int_equal(cp, yes[i].cp);
	}
	for (i = 0; i < sizeof no / sizeof no[0]; i++)
		assert_int_equal(utf8_invisible(no[i], strlen(no[i]), &cp), 0);
	assert_int_equal(utf8_invisible("\xe2\x80", 2, &cp), 0);   /* truncated: not read past n */
}

static void
test_shown(void **state)
{
	char *s;

	(void)state;
	s = utf8_shown(RLO_NAME, strlen(RLO_NAME), 0);
	assert_string_equal(s, "invoice\\u202efdp.sta");
	free(s);
	s = utf8_shown("a\tb\nc\\d\x7f\xe2\x81\xa6", 11, UTF8_SHOWN_CONTROLS);
	assert_string_equal(s, "a\\x09b\nc\\d\\x7f\\u2066");
	free(s);
	s = utf8_shown("a\nb\\c", 5, UTF8_SHOWN_FIELD | UTF8_SHOWN_BACKSLASH);
	assert_string_equal(s, "a\\x0ab\\x5cc");
	free(s);
	s = utf8_shown("caf\xc3\xa9 \xe2\x80\x93 ok", 12, UTF8_SHOWN_FIELD);
	assert_string_equal(s, "caf\xc3\xa9 \xe2\x80\x93 ok");   /* ordinary UTF-8 stays as it is */
	free(s);
}

static void
test_json_document(void **state)
{
	json_t *o = json_object();
	char *s;

	(void)state;
	jsonout_set(o, "narrative", jsonout_str("PAY \xe2\x81\xa6" "ALICE\xe2\x81\xa9 \xef\xbb\xbf" "x"));
	s = jsonout_dumps(o, JSONOUT_COMPACT);
	assert_string_equal(s, "{\"narrative\":\"PAY \\u2066ALICE\\u2069 \\ufeffx\"}");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_invisible),
		cmocka_unit_test(test_shown),
		cmocka_unit_test(test_json_document),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
