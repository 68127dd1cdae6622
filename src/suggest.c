/*
 * suggest.c - the nearest known word to a mistyped one (suggest.h), for "did you mean".
 */
#include "suggest.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#define MAX_WORD 64

size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t prev[MAX_WORD + 1], cur[MAX_WORD + 1];

	if (la > MAX_WORD || lb > MAX_WORD)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	/* Two rows of the dynamic-programming table: O(la x lb) time, O(lb) space. */
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
	}
	return prev[lb];
}

const char *
near_word(const char *word, const char *const *cand, size_t n)
{
	const char *best = NULL;
	size_t i, best_d = SIZE_MAX;

	for (i = 0; i < n; i++) {
		size_t d = edit_distance(word, cand[i]);
		size_t longer = strlen(word) > strlen(cand[i]) ? strlen(word) : strlen(cand[i]);
		size_t limit = longer <= 4 ? 1 : (longer / 3 > 2 ? longer / 3 : 2);

		if (d <= limit && d < best_d) {
			best = cand[i];
			best_d = d;
		}
	}
	return best;
}
