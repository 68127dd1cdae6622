/*
 * test_log.c - log lines (src/log.c): a value longer than the per-value limit is shortened with a
 * marker and the line stays whole and, in JSON, valid (it was cut silently at 8 KiB before); key
 * order; logfmt quoting; bidi controls and invisible characters escaped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "log.h"

/* Logs one event into a fresh file and returns its content (the caller frees it). */
static char *
log_one(int json, const char *value)
{
	char path[] = "/tmp/test_log.XXXXXX", *buf;
	int fd = mkstemp(path);
	FILE *fp;
	long n;

	assert_true(fd >= 0);
	close(fd);
	log_set_json(json);
	log_set_file(path);
	log_event(LOG_WARN, "fetch", "a long value", "file", "x y", "value", value, (const char *)NULL);
	log_set_file(NULL);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	unlink(path);
	return buf;
}

static void
test_json_long_value(void **state)
{
	char *big = malloc(10001), *line;
	json_t *o;
	json_error_t err;
	const char *v;

	(void)state;
	memset(big, 'a', 10000);
	big[10000] = '\0';
	line = log_one(1, big);
	assert_non_null(strchr(line, '\n'));
	o = json_loads(line, 0, &err);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "level")), "warn");
	assert_string_equal(json_string_value(json_object_get(o, "stage")), "fetch");
	assert_string_equal(json_string_value(json_object_get(o, "file")), "x y");
	v = json_string_value(json_object_get(o, "value"));
	assert_non_null(v);
	assert_int_equal(strlen(v), 4096 + strlen("...[5904 more bytes]"));
	assert_string_equal(v + 4096, "...[5904 more bytes]");
	/* keys in the documented order */
	assert_true(strstr(line, "\"ts\"") < strstr(line, "\"level\""));
	assert_true(strstr(line, "\"msg\"") < strstr(line, "\"file\""));
	json_decref(o);
	free(line);
	free(big);
}

static void
test_logfmt(void **state)
{
	char *line;

	(void)state;
	line = log_one(0, "q\"uote");
	assert_non_null(strstr(line, " level=warn stage=fetch msg=\"a long value\" file=\"x y\" value=\"q\\\"uote\"\n"));
	free(line);
}

/* A bidi control in a value ("invoice" RLO "fdp.sta") is written as \u202e, in both formats. */
static void
test_invisible(void **state)
{
	static const char name[] = "invoice\xe2\x80\xae" "fdp.sta";
	char *line;
	json_t *o;
	json_error_t err;

	(void)state;
	line = log_one(0, name);
	assert_non_null(strstr(line, "value=invoice\\u202efdp.sta"));
	assert_null(strstr(line, "\xe2\x80\xae"));
	free(line);
	line = log_one(1, name);
	assert_non_null(strstr(line, "\"value\":\"invoice\\u202efdp.sta\""));
	assert_null(strstr(line, "\xe2\x80\xae"));
	o = json_loads(line, 0, &err);      /* the same text once decoded */
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "value")), name);
	json_decref(o);
	free(line);
	log_set_json(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_long_value),
		cmocka_unit_test(test_logfmt),
		cmocka_unit_test(test_invisible),
	};

	log_set_level(LOG_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
