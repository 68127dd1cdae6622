/*
 * trust.h - the files the pipeline trusts, checked like OpenSSH's StrictModes before any command
 * but `doctor` starts: whoever can write one of them can redirect payments or add a host key.
 *
 * Trusted: the configuration file, every endpoint's known_hosts and key_file, the database
 * password file, formats_dir and every layout in it. Each must be owned by root or by the user
 * the pipeline runs as, and not be writable by group or others; so must the directory holding it
 * (unless that directory is sticky, as /tmp is: then nobody else can replace the file). A missing
 * file is not a trust problem (the code that uses it says so).
 */
#ifndef PIPELINE_TRUST_H
#define PIPELINE_TRUST_H

#include "config.h"
#include "errors.h"

/* One problem: `path` and what is wrong with it (`what`), and the command that fixes it (`fix`). */
typedef void (*trust_problem_fn)(void *arg, const char *path, const char *what, const char *fix);

/* Calls fn for every trust problem of cfg's files; returns how many there were. */
int trust_check_all(const struct config *cfg, trust_problem_fn fn, void *arg);

/*
 * For every command but doctor: PERR_CONFIG (exit 2) naming the first problem's file and its fix
 * ("...; fix: chmod go-w FILE"), with the number of others; PERR_OK if there is none.
 */
enum perr trust_require(const struct config *cfg);

#endif
