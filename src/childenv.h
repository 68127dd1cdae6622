/*
 * childenv.h - what a program the pipeline starts may see of its environment.
 *
 * The pipeline's environment holds secrets: the SFTP key passphrases (the variables named by
 * key_passphrase_env), PGPASSWORD (also set from [database] password_file) and the webhook URL
 * (webhook_url_env). A child that does not need them never gets them:
 *   - the embedded PostgreSQL (initdb, pg_ctl, the postmaster and its backends), pg_config and the
 *     programs doctor asks (dpkg-query, dpkg) start with child_env_minimal(): PATH, LANG,
 *     LANGUAGE, LC_*, TZ and TMPDIR only;
 *   - the notification command (reports/notify.c) is the operator's own program, so it keeps the
 *     environment minus every secret the configuration names (child_env_scrub);
 *   - the webhook is libcurl in this process; the pipeline starts no ssh or sshd (libssh2 is
 *     in-process too).
 * tests/integration/17_secrets.sh reads /proc/PID/environ of the postmaster and of the command.
 */
#ifndef PIPELINE_CHILDENV_H
#define PIPELINE_CHILDENV_H

#include <stddef.h>

#include "config.h"

/* In a forked child, before exec: replaces the environment by the minimal one above. */
void child_env_minimal(void);

/* In a forked child, before exec: removes every secret variable cfg names, and PGPASSWORD. */
void child_env_scrub(const struct config *cfg);

/*
 * Runs argv (no shell, minimal environment, stderr to /dev/null) and puts the first line of its
 * standard output into out (size n). Returns its exit status, or -1 if it could not run.
 */
int child_first_line(const char *const *argv, char *out, size_t n);

#endif
