/*
 * util.h - small shared helpers: allocation that dies on exhaustion, SHA-256, atomic files.
 */
#ifndef PIPELINE_UTIL_H
#define PIPELINE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "errors.h"

/* Allocation helpers: abort with a message on out-of-memory (there is no sane recovery in a batch job). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a new string formatted like printf; owned by the caller. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* SHA-256 of a buffer / of a file, as 64 lower-case hex digits plus NUL in hex[65]. */
void sha256_hex(const void *buf, size_t len, char hex[65]);
enum perr sha256_file(const char *path, char hex[65], int64_t *size_out);

/* mkdir -p with the given mode for the created directories. */
enum perr mkdir_p(const char *path, unsigned mode);

/*
 * Atomic file output: write to "<path>.tmp.<pid>" in the same directory, fsync, rename over
 * `path`, fsync the directory. No partial file is ever visible under `path`.
 *
 * atomic_open returns a FILE* to write to (owned by the atomic_file); atomic_commit checks every
 * write, fclose and rename; atomic_abort removes the temporary file. Both free `af`.
 */
struct atomic_file {
	FILE *fp;
	char *path;
	char *tmp_path;
};
enum perr atomic_open(const char *path, struct atomic_file **out);
enum perr atomic_commit(struct atomic_file *af);
void atomic_abort(struct atomic_file *af);

/* Writes `len` bytes atomically to `path` (the helpers above in one call). */
enum perr atomic_write_file(const char *path, const void *buf, size_t len);

/*
 * Removes the files of `dir` whose names start with `prefix` ("" = every file): the temporary
 * files a killed run left (e.g. "NAME.tmp."). Only for callers holding the run lock, so that no
 * live writer owns them. A missing directory is fine.
 */
enum perr remove_leftovers(const char *dir, const char *prefix);

/* Reads a whole file into a new NUL-terminated buffer owned by the caller. */
enum perr read_file(const char *path, char **out, size_t *len_out, size_t max_len);

/* fsync the directory that contains `path` (or `path` itself if it is a directory). */
enum perr fsync_dir_of(const char *path, bool is_dir);

/* True if stdout/stderr is a terminal (progress bars only then). */
bool is_terminal(int fd);

/* Monotonic milliseconds. */
int64_t now_ms(void);

#endif
