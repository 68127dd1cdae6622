/*
 * refx.h - reference extraction: an ordered list of PCRE2 patterns applied to a statement line's
 * narrative, customer reference and supplementary details. The first pattern that matches wins;
 * its first capture group (or the whole match if it has none) is the line's reference.
 *
 * The inputs are untrusted: patterns are JIT-compiled once, and every match runs under match,
 * depth and heap limits, so a hostile narrative cannot make a match run away.
 */
#ifndef PIPELINE_REFX_H
#define PIPELINE_REFX_H

#include <stddef.h>

#include "errors.h"
#include "statement.h"

#define REFX_MAX_PATTERNS 16
#define REFX_MAX_LEN 140      /* an extracted reference longer than this is cut (never happens with sane patterns) */

/*
 * Compiles n patterns (UTF mode). On success *out is owned by the caller (refx_free). On a bad
 * pattern returns PERR_CONFIG with "<origin>: reference pattern N \"...\": <PCRE2 message> at offset K".
 */
enum perr refx_compile(const char *const *patterns, size_t n, const char *origin, struct refx **out);
/* Safe to call with NULL. */
void refx_free(struct refx *rx);

/*
 * Tries each pattern in order on each of the texts (NULL texts are skipped); writes the result
 * NUL-terminated into out (cap bytes) and returns its length, or 0 if nothing matched.
 * Not thread-safe (shares one match-data block per refx). A match that hits a limit counts as no match.
 */
size_t refx_extract(const struct refx *rx, const char *const *texts, size_t ntexts, char *out, size_t cap);

#endif
