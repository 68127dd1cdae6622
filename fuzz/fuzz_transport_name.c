/*
 * fuzz_transport_name.c - libFuzzer harness for the transport's pure guards: remote file name
 * safety (transport_name_safe) and date substitution in source patterns (transport_pattern_expand).
 * A name judged safe must really be safe, checked independently: 1..255 bytes, no control bytes,
 * no '/', '\\', no leading '.', and valid UTF-8 as PCRE2's own UTF checker sees it (which also
 * refuses overlongs, surrogates and code points above U+10FFFF). An expanded pattern is never
 * longer than twice its input and keeps no '%' field. Run by fuzz/run.sh.
 */
// SEEDS: fixtures/ssh/*.pub fixtures/ssh/known_hosts
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bizdate.h"
#include "transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static pcre2_code *any_utf;

static int
valid_utf8(const uint8_t *s, size_t n)
{
	pcre2_match_data *md;
	int rc;

	if (any_utf == NULL) {
		int err;
		PCRE2_SIZE off;

		any_utf = pcre2_compile((PCRE2_SPTR)"", 0, PCRE2_UTF, &err, &off, NULL);
		if (any_utf == NULL)
			abort();
	}
	md = pcre2_match_data_create_from_pattern(any_utf, NULL);
	rc = pcre2_match(any_utf, (PCRE2_SPTR)s, n, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	return rc >= 0;   /* a UTF error is a negative PCRE2_ERROR_UTF8_* code */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	char *s, *out = NULL;
	size_t i;

	if (transport_name_safe((const char *)data, size, &why)) {
		if (size == 0 || size > 255 || data[0] == '.')
			abort();
		for (i = 0; i < size; i++)
			if (data[i] < 0x20 || data[i] == 0x7f || data[i] == '/' || data[i] == '\\')
				abort();
		if (!valid_utf8(data, size))
			abort();
	} else if (why == NULL || *why == '\0') {
		abort();   /* a refusal always says why */
	}

	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (transport_pattern_expand(s, date_from_ymd(2026, 11, 25), &out) == PERR_OK) {
		size_t inl = strlen(s), outl = strlen(out);

		if (outl > 2 * inl)
			abort();
		if (strstr(s, "%%") == NULL && strchr(out, '%') != NULL)
			abort();
		free(out);
	} else if (out != NULL) {
		abort();
	}
	free(s);
	return 0;
}
