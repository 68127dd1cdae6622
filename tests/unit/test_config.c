/*
 * test_config.c - configuration checks at load (src/config.c) and the "did you mean" behind them
 * (src/suggest.c): edit distances, which near word is suggested, the line each key was read
 * from, a long line counted as one, and the format check consulted at load through its hook.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "statement.h"
#include "suggest.h"

static void
test_edit_distance(void **state)
{
	(void)state;
	assert_int_equal(edit_distance("", ""), 0);
	assert_int_equal(edit_distance("mt940", "mt940"), 0);
	assert_int_equal(edit_distance("mt94", "mt940"), 1);
	assert_int_equal(edit_distance("kitten", "sitting"), 3);
	assert_int_equal(edit_distance("Timezone", "timezone"), 0);
	assert_int_equal(edit_distance("", "abc"), 3);
}

static void
test_near_word(void **state)
{
	const char *keys[] = { "data_dir", "timezone", "company", "formats_dir", "log_format" };
	const char *fmts[] = { "mt940", "trustee_register", "sgbank-corp" };

	(void)state;
	assert_string_equal(near_word("timezon", keys, 5), "timezone");
	assert_string_equal(near_word("log_fromat", keys, 5), "log_format");
	assert_string_equal(near_word("sgbank_corp", fmts, 3), "sgbank-corp");
	assert_string_equal(near_word("mt950", fmts, 3), "mt940");
	assert_null(near_word("colour", keys, 5));       /* nothing near: no suggestion */
	assert_null(near_word("xyz", fmts, 3));
	assert_null(near_word("anything", keys, 0));
}

/* Writes text to a temporary file and loads it; returns the error detail or "" on success. */
static const char *
load(const char *text, struct config **out)
{
	static char path[64];
	FILE *fp;

	snprintf(path, sizeof path, "/tmp/test_config.%ld.conf", (long)getpid());
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	perr_clear();
	*out = NULL;
	if (config_load(path, out) == PERR_OK) {
		unlink(path);
		return "";
	}
	unlink(path);
	return strstr(perr_detail(), ".conf:") ? strstr(perr_detail(), ".conf:") + 6 : perr_detail();
}

#define GOOD_TAIL "\n[accounts]\nclient_money = 1\noperating = 2\n\n[source.bank]\ntransport = dir\n" \
	"remote_dir = /in\npattern = ^a$\nformat = mt940\naccount_no = 1\n"

static void
test_lines_remembered(void **state)
{
	struct config *cfg;
	char text[2048];

	(void)state;
	/* a 300-byte comment line (longer than inih's line buffer) still counts as one line */
	snprintf(text, sizeof text, "; %0300d\n[pipeline]\ntimezone = UTC\n" GOOD_TAIL, 0);
	assert_string_equal(load(text, &cfg), "");
	assert_int_equal(config_line(cfg, "pipeline", NULL), 2);
	assert_int_equal(config_line(cfg, "pipeline", "timezone"), 3);
	assert_int_equal(config_line(cfg, "accounts", "operating"), 7);
	assert_int_equal(config_line(cfg, "source.bank", "format"), 13);
	assert_int_equal(config_line(cfg, "source.bank", "archive_dir"), 0);
	config_free(cfg);
}

/* A value longer than inih's 200-byte line buffer (a deep path) is read whole, inline comment dropped. */
static void
test_long_value(void **state)
{
	struct config *cfg;
	char text[4096], dir[400];

	(void)state;
	memset(dir, 'd', sizeof dir - 1);
	dir[0] = '/';
	dir[sizeof dir - 1] = '\0';
	snprintf(text, sizeof text, "[pipeline]\ndata_dir =   %s   ; a comment\ntimezone = UTC\n" GOOD_TAIL, dir);
	assert_string_equal(load(text, &cfg), "");
	assert_string_equal(cfg->data_dir, dir);
	assert_string_equal(cfg->timezone, "UTC");
	assert_int_equal(config_line(cfg, "pipeline", "timezone"), 3);
	config_free(cfg);
	/* a long line that is not key = value is still an error with its line */
	snprintf(text, sizeof text, "[pipeline]\ntimezone = UTC\n%s\n" GOOD_TAIL, dir);
	assert_string_equal(load(text, &cfg), "3: the line is longer than 198 bytes");
}

static void
test_key_before_section(void **state)
{
	struct config *cfg;

	(void)state;
	assert_string_equal(load("\n\ntimezone = UTC\n[pipeline]\n" GOOD_TAIL, &cfg),
	    "3: a key before any [section]: every key belongs to a section such as [pipeline]");
	assert_null(cfg);
}

static void
test_zone_line(void **state)
{
	struct config *cfg;

	(void)state;
	assert_true(strncmp(load("[pipeline]\ncompany = x\ntimezone = Asia/Singapur\n" GOOD_TAIL, &cfg),
	    "3: timezone: time zone \"Asia/Singapur\" is unknown", 45) == 0);
}

static void
test_format_checked_at_load(void **state)
{
	struct config *cfg;
	char text[2048];

	(void)state;
	char *repo = realpath(".", NULL);      /* the unit tests run from the repository */

	snprintf(text, sizeof text, "[pipeline]\nformats_dir = %s/formats\n" GOOD_TAIL, repo);
	free(repo);
	/* without the hook (src/ alone), the name is not checked */
	config_set_format_check(NULL);
	text[strlen(text) - strlen("mt940\naccount_no = 1\n")] = '\0';
	strcat(text, "sgbank-corpp\naccount_no = 1\n");
	assert_string_equal(load(text, &cfg), "");
	config_free(cfg);
	config_set_format_check(format_check);
	assert_non_null(strstr(load(text, &cfg), "12: format: format \"sgbank-corpp\" is not a format (did you mean \"sgbank-corp\"?)"));
	assert_null(cfg);
	config_set_format_check(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edit_distance),
		cmocka_unit_test(test_near_word),
		cmocka_unit_test(test_lines_remembered),
		cmocka_unit_test(test_long_value),
		cmocka_unit_test(test_key_before_section),
		cmocka_unit_test(test_zone_line),
		cmocka_unit_test(test_format_checked_at_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
