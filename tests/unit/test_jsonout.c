/*
 * test_jsonout.c - JSON output through jansson (src/jsonout.c): escaping, text that is not valid
 * UTF-8 made valid byte by byte, values shortened with a marker at a character boundary, key
 * order and the two layouts (JSON Lines, and "a": 1 on one line for export).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jsonout.h"

/* v dumped compact; the caller frees the result. */
static char *
dump(json_t *v)
{
	return jsonout_dumps(v, JSONOUT_COMPACT | JSON_ENCODE_ANY);
}

static void
test_escapes(void **state)
{
	char *s;

	(void)state;
	s = dump(jsonout_str("a\"b\\c\n\t\x01 caf\xc3\xa9"));
	assert_string_equal(s, "\"a\\\"b\\\\c\\n\\t\\u0001 caf\xc3\xa9\"");
	free(s);
	s = dump(jsonout_str(NULL));
	assert_string_equal(s, "\"\"");
	free(s);
	s = dump(jsonout_str_or_null(NULL));
	assert_string_equal(s, "null");
	free(s);
}

static void
test_invalid_utf8(void **state)
{
	char *s;

	(void)state;
	/* a lone continuation byte, a truncated sequence at the end: each bad byte one U+FFFD */
	s = dump(jsonout_str("x\x80y\xc3"));
	assert_string_equal(s, "\"x\xef\xbf\xbdy\xef\xbf\xbd\"");
	free(s);
	/* controls (C0 and C1) in otherwise bad text are kept and escaped, not replaced */
	s = dump(jsonout_str("\x01\xff\xc2\x85"));
	assert_string_equal(s, "\"\\u0001\xef\xbf\xbd\xc2\x85\"");
	free(s);
}

static void
test_shortened(void **state)
{
	char *s;

	(void)state;
	s = dump(jsonout_str_max("abcdef", 6));
	assert_string_equal(s, "\"abcdef\"");
	free(s);
	s = dump(jsonout_str_max("abcdefgh", 4));
	assert_string_equal(s, "\"abcd...[4 more bytes]\"");
	free(s);
	/* never cut inside the two bytes of e-acute: "caf" + 3 more bytes */
	s = dump(jsonout_str_max("caf\xc3\xa9!", 4));
	assert_string_equal(s, "\"caf...[3 more bytes]\"");
	free(s);
}

static void
test_layouts(void **state)
{
	json_t *o = json_object();
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	(void)state;
	jsonout_set(o, "id", jsonout_int(7));
	jsonout_set(o, "b", jsonout_str("x"));
	jsonout_set(o, "a", json_null());
	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	json_incref(o);
	assert_int_equal(jsonout_write(fp, o, JSONOUT_COMPACT, "\n"), 0);
	assert_int_equal(jsonout_write(fp, o, JSON_PRESERVE_ORDER, NULL), 0);
	fclose(fp);
	assert_string_equal(buf, "{\"id\":7,\"b\":\"x\",\"a\":null}\n{\"id\": 7, \"b\": \"x\", \"a\": null}");
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_shortened),
		cmocka_unit_test(test_layouts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
