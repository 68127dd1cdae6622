/*
 * refx.c - PCRE2 reference extraction (see refx.h).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "refx.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Limits for untrusted input: a narrative is at most a few hundred bytes. */
#define REFX_MATCH_LIMIT 100000
#define REFX_DEPTH_LIMIT 1000
#define REFX_HEAP_LIMIT_KIB 1024

struct refx {
	pcre2_code *code[REFX_MAX_PATTERNS];
	size_t n;
	pcre2_match_data *md;      /* sized for the pattern with the most groups */
	pcre2_match_context *mctx;
};

void
refx_free(struct refx *rx)
{
	size_t i;

	if (rx == NULL)
		return;
	for (i = 0; i < rx->n; i++)
		pcre2_code_free(rx->code[i]);
	pcre2_match_data_free(rx->md);
	pcre2_match_context_free(rx->mctx);
	free(rx);
}

enum perr
refx_compile(const char *const *patterns, size_t n, const char *origin, struct refx **out)
{
	struct refx *rx;
	uint32_t max_groups = 0;
	size_t i;

	*out = NULL;
	if (n > REFX_MAX_PATTERNS)
		return perr_set(PERR_CONFIG, "%s: %zu reference patterns, expected at most %d", origin, n,
		    REFX_MAX_PATTERNS);
	rx = xcalloc(1, sizeof *rx);
	for (i = 0; i < n; i++) {
		int err;
		PCRE2_SIZE off;
		uint32_t groups = 0;
		PCRE2_UCHAR msg[256];

		rx->code[i] = pcre2_compile((PCRE2_SPTR)patterns[i], PCRE2_ZERO_TERMINATED, PCRE2_UTF,
		    &err, &off, NULL);
		if (rx->code[i] == NULL) {
			pcre2_get_error_message(err, msg, sizeof msg);
			refx_free(rx);
			return perr_set(PERR_CONFIG, "%s: reference pattern %zu \"%s\": %s at offset %zu",
			    origin, i + 1, patterns[i], (char *)msg, (size_t)off);
		}
		rx->n = i + 1;
		/* JIT is an optimisation: if it is unavailable the interpreter (with the same limits) runs. */
		(void)pcre2_jit_compile(rx->code[i], PCRE2_JIT_COMPLETE);
		pcre2_pattern_info(rx->code[i], PCRE2_INFO_CAPTURECOUNT, &groups);
		if (groups > max_groups)
			max_groups = groups;
	}
	rx->md = pcre2_match_data_create(max_groups + 1, NULL);
	rx->mctx = pcre2_match_context_create(NULL);
	if (rx->md == NULL || rx->mctx == NULL) {
		refx_free(rx);
		return perr_set(PERR_NOMEM, "%s: out of memory compiling reference patterns", origin);
	}
	pcre2_set_match_limit(rx->mctx, REFX_MATCH_LIMIT);
	pcre2_set_depth_limit(rx->mctx, REFX_DEPTH_LIMIT);
	pcre2_set_heap_limit(rx->mctx, REFX_HEAP_LIMIT_KIB);
	*out = rx;
	return PERR_OK;
}

size_t
refx_extract(const struct refx *rx, const char *const *texts, size_t ntexts, char *out, size_t cap)
{
	size_t i, t;

	if (cap == 0)
		return 0;
	out[0] = '\0';
	if (rx == NULL)
		return 0;
	for (i = 0; i < rx->n; i++) {
		for (t = 0; t < ntexts; t++) {
			PCRE2_SIZE *ov;
			size_t from, len;
			int rc;

			if (texts[t] == NULL || texts[t][0] == '\0')
				continue;
			/* The texts were validated as UTF-8 by the parser: skip PCRE2's own check. */
			rc = pcre2_match(rx->code[i], (PCRE2_SPTR)texts[t], strlen(texts[t]), 0,
			    PCRE2_NO_UTF_CHECK, rx->md, rx->mctx);
			if (rc <= 0)
				continue;   /* no match, or a limit hit: treated as no match */
			ov = pcre2_get_ovector_pointer(rx->md);
			if (rc >= 2 && ov[2] != PCRE2_UNSET) {
				from = ov[2];
				len = ov[3] - ov[2];
			} else {
				from = ov[0];
				len = ov[1] - ov[0];
			}
			if (len == 0)
				continue;
			if (len > cap - 1) {
				len = cap - 1;
				/* never cut a UTF-8 sequence in half */
				while (len > 0 && ((unsigned char)texts[t][from + len] & 0xc0) == 0x80)
					len--;
			}
			memcpy(out, texts[t] + from, len);
			out[len] = '\0';
			return len;
		}
	}
	return 0;
}
