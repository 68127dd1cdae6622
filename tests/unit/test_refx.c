/*
 * test_refx.c - reference extraction and the text helpers: patterns tried in order, first capture
 * group else the whole match, texts tried in order per pattern, a compile error's message, a
 * catastrophic pattern stopped by the match limit, and UTF-8 validation (src/utf8.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "refx.h"
#include "statement.h"
#include "util.h"

static void
test_order_and_groups(void **state)
{
	const char *pats[] = { "(TRF-[A-Z0-9]+(?:-[A-Z0-9]+)*)", "BATCH-[0-9]{8}-[0-9]{2}", "(VA[0-9]{8})" };
	struct refx *rx = NULL;
	char out[REFX_MAX_LEN + 1];
	const char *t1[] = { "DEPOSIT VA00000123 REF TRF-OFF-A-PROCEEDS", "" };
	const char *t2[] = { "PAYOUT BATCH-20261124-01 x", "" };
	const char *t3[] = { "NO REFERENCE HERE", "VA12345678" };
	const char *t4[] = { "nothing", NULL };

	(void)state;
	assert_int_equal(refx_compile(pats, 3, "test", &rx), PERR_OK);
	/* the first pattern wins even if a later one matches earlier in the text */
	assert_int_equal(refx_extract(rx, t1, 2, out, sizeof out), strlen("TRF-OFF-A-PROCEEDS"));
	assert_string_equal(out, "TRF-OFF-A-PROCEEDS");
	/* no capture group: the whole match */
	refx_extract(rx, t2, 2, out, sizeof out);
	assert_string_equal(out, "BATCH-20261124-01");
	/* the second text (customer reference) when the narrative has nothing */
	refx_extract(rx, t3, 2, out, sizeof out);
	assert_string_equal(out, "VA12345678");
	assert_int_equal(refx_extract(rx, t4, 2, out, sizeof out), 0);
	assert_string_equal(out, "");
	refx_free(rx);
	assert_int_equal(refx_extract(NULL, t1, 2, out, sizeof out), 0);
}

static void
test_bad_pattern(void **state)
{
	const char *pats[] = { "(VA[0-9]{8})", "[unclosed" };
	struct refx *rx = NULL;

	(void)state;
	assert_int_equal(refx_compile(pats, 2, "[source.bank_client]", &rx), PERR_CONFIG);
	assert_null(rx);
	assert_string_equal(perr_detail(), "[source.bank_client]: reference pattern 2 \"[unclosed\": missing "
	    "terminating ] for character class at offset 9");
}

static void
test_match_limit(void **state)
{
	/* exponential backtracking: stopped by the match limit, counted as no match, quickly */
	const char *pats[] = { "^(a+)+$" };
	struct refx *rx = NULL;
	char text[64], out[32];
	const char *texts[1] = { text };
	int64_t t0;

	(void)state;
	memset(text, 'a', 40);
	strcpy(text + 40, "!");
	assert_int_equal(refx_compile(pats, 1, "test", &rx), PERR_OK);
	t0 = now_ms();
	assert_int_equal(refx_extract(rx, texts, 1, out, sizeof out), 0);
	assert_true(now_ms() - t0 < 2000);
	refx_free(rx);
}

static void
test_text_check(void **state)
{
	const char *why = NULL;

	(void)state;
	assert_int_equal(text_check("plain\ttext", 10, &why), (size_t)-1);
	assert_int_equal(text_check("caf\xc3\xa9", 5, &why), (size_t)-1);
	assert_int_equal(text_check("\xf0\x9f\x92\xb6", 4, &why), (size_t)-1);       /* U+1F4B6 */
	assert_int_equal(text_check("ab\xc0\xaf", 4, &why), 2);                      /* overlong '/' */
	assert_string_equal(why, "not a UTF-8 lead byte");
	assert_int_equal(text_check("\xe0\x80\xaf", 3, &why), 0);                   /* overlong */
	assert_string_equal(why, "overlong UTF-8 sequence");
	assert_int_equal(text_check("\xed\xa0\x80", 3, &why), 0);                   /* surrogate */
	assert_string_equal(why, "not a Unicode scalar value");
	assert_int_equal(text_check("x\xc3", 2, &why), 1);
	assert_string_equal(why, "truncated UTF-8 sequence");
	assert_int_equal(text_check("a\rb", 3, &why), 1);
	assert_string_equal(why, "control character");
	assert_int_equal(text_check("\xc2\x85", 2, &why), 0);                       /* C1 control NEL */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_groups),
		cmocka_unit_test(test_bad_pattern),
		cmocka_unit_test(test_match_limit),
		cmocka_unit_test(test_text_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
