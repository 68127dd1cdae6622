/*
 * jsonout.h - JSON output through jansson: the one way inspect, export, status --json, the
 * notification webhook and the JSON log lines write JSON. Strings are always valid JSON: text
 * that is not valid UTF-8 has each bad byte replaced by U+FFFD, and a value shortened on purpose
 * (log lines) ends with a marker saying how much was cut, so no line is ever truncated silently.
 */
#ifndef PIPELINE_JSONOUT_H
#define PIPELINE_JSONOUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* Flags every dump uses: keys in insertion order, no spaces (JSON Lines). */
#define JSONOUT_COMPACT (JSON_COMPACT | JSON_PRESERVE_ORDER)

/* A new JSON string for s (NULL gives ""), UTF-8 made valid as above. Never NULL (aborts on OOM). */
json_t *jsonout_str(const char *s);

/* The same, or JSON null when s is NULL. */
json_t *jsonout_str_or_null(const char *s);

/*
 * A new JSON string for s cut to at most `max` bytes at a character boundary; when it was cut the
 * text ends with "...[N more bytes]". Never NULL.
 */
json_t *jsonout_str_max(const char *s, size_t max);

/* A new JSON integer (never NULL). */
json_t *jsonout_int(long long v);

/*
 * Sets obj[key] to v, taking ownership of v; aborts on OOM (a key is always a literal).
 * Returns obj so calls chain.
 */
json_t *jsonout_set(json_t *obj, const char *key, json_t *v);

/*
 * Writes v to fp with `flags` (JSONOUT_COMPACT, or JSON_PRESERVE_ORDER alone for "a": 1, "b": 2
 * on one line), then `end` (e.g. "\n"; NULL for nothing), and releases v. Returns 0, or -1 if the
 * write failed (errors are also sticky on fp).
 */
int jsonout_write(FILE *fp, json_t *v, size_t flags, const char *end);

/* v as a malloc'd NUL-terminated string (the caller frees it); releases v. Never NULL. */
char *jsonout_dumps(json_t *v, size_t flags);

#endif
