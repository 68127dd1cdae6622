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

/*
 * Bidirectional controls and invisible characters, which can make a name, a reference or a
 * narrative read differently from what it is (a file "invoice\u202Efdp.sta" shows as
 * "invoiceats.pdf"): U+061C, U+200B-U+200F, U+202A-U+202E, U+2060-U+2064, U+2066-U+2069, U+FEFF.
 * If s[0..n) starts with one, returns its length in bytes and sets *cp; else 0.
 */
size_t utf8_invisible(const char *s, size_t n, unsigned *cp);

/*
 * s[0..n) as it may be shown on a terminal or in a log: every utf8_invisible character as \\uXXXX;
 * with UTF8_SHOWN_CONTROLS also C0 controls but the newline, and DEL, as \\xNN; with
 * UTF8_SHOWN_NEWLINE the newline too; with UTF8_SHOWN_BACKSLASH the backslash too (so that the
 * escapes cannot be forged). A new string: the caller frees it.
 */
#define UTF8_SHOWN_CONTROLS 1
#define UTF8_SHOWN_BACKSLASH 2
#define UTF8_SHOWN_NEWLINE 4
#define UTF8_SHOWN_FIELD (UTF8_SHOWN_CONTROLS | UTF8_SHOWN_NEWLINE)
char *utf8_shown(const char *s, size_t n, int flags);

#endif
