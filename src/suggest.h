/*
 * suggest.h - "did you mean ...": the nearest of a few known words to a mistyped one, by edit
 * distance. Used for unknown configuration keys, sections and formats.
 */
#ifndef PIPELINE_SUGGEST_H
#define PIPELINE_SUGGEST_H

#include <stddef.h>

/*
 * Levenshtein distance between a and b (insertions, deletions, substitutions; ASCII case
 * folded). Words longer than 64 bytes count as far from everything (SIZE_MAX).
 */
size_t edit_distance(const char *a, const char *b);

/*
 * The candidate nearest to `word`, if it is close enough to be a plausible typo (distance at most
 * 1 for words of up to 4 letters, else at most a third of the longer word, at least 2), or NULL.
 * Ties go to the earlier candidate. The result points into `cand`.
 */
const char *near_word(const char *word, const char *const *cand, size_t n);

#endif
