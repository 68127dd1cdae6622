/*
 * utf8.h - the one UTF-8 validator. Text from outside (statements, the ledger extract, remote file
 * names, configuration values that go into payment files) is checked here before it is used.
 */
#ifndef PIPELINE_UTF8_H
#define PIPELINE_UTF8_H

#include <stddef.h>

/*
 * Checks s[0..n) is valid UTF-8 (no overlongs, surrogates or code points above U+10FFFF) without
 * NUL or control characters (C0, DEL, C1) other than TAB. Returns the byte offset of the first bad
 * byte, or (size_t)-1 if all is well; *why (may be NULL) says what is wrong (static text; it
 * contains the word "control" when the byte is a control character).
 */
size_t text_check(const char *s, size_t n, const char **why);

/* The number of code points in s[0..n), which must already have passed text_check. */
size_t utf8_count(const char *s, size_t n);

/*
 * Where to cut s[0..n) to keep at most `max` bytes without splitting a UTF-8 sequence: n when it
 * fits, else the largest character boundary <= max.
 */
size_t utf8_cut(const char *s, size_t n, size_t max);

#endif
