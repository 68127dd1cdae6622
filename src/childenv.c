/*
 * childenv.c - the environment of the programs the pipeline starts (see childenv.h).
 */
#include "childenv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Variables a program may need to run and to speak the operator's language: nothing secret. */
static bool
env_safe(const char *entry)
{
	static const char *const names[] = { "PATH=", "LANG=", "LANGUAGE=", "TZ=", "TMPDIR=" };
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strncmp(entry, names[i], strlen(names[i])))
			return true;
	return !strncmp(entry, "LC_", 3) && strchr(entry, '=') != NULL;
}

void
child_env_minimal(void)
{
	static char *kept[64];
	static char default_path[] = "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
	size_t n = 0, i;
	bool have_path = false;

	for (i = 0; environ != NULL && environ[i] != NULL && n + 2 < sizeof kept / sizeof kept[0]; i++)
		if (env_safe(environ[i])) {
			have_path = have_path || !strncmp(environ[i], "PATH=", 5);
			kept[n++] = environ[i];
		}
	if (!have_path)
		kept[n++] = default_path;
	kept[n] = NULL;
	environ = kept;     /* the strings stay where they are: we exec or exit next */
}

void
child_env_scrub(const struct config *cfg)
{
	size_t i;

	unsetenv("PGPASSWORD");
	for (i = 0; i < cfg->n_sources; i++)
		if (cfg->sources[i].ep.key_passphrase_env)
			unsetenv(cfg->sources[i].ep.key_passphrase_env);
	if (cfg->have_payments_out && cfg->payments_out.key_passphrase_env)
		unsetenv(cfg->payments_out.key_passphrase_env);
	if (cfg->have_issuance_out && cfg->issuance_out.key_passphrase_env)
		unsetenv(cfg->issuance_out.key_passphrase_env);
	if (cfg->notify_webhook_url_env)
		unsetenv(cfg->notify_webhook_url_env);
}

int
child_first_line(const char *const *argv, char *out, size_t n)
{
	int fds[2], status;
	ssize_t got;
	size_t len = 0;
	pid_t pid;

	out[0] = '\0';
	if (pipe(fds) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(fds[1], 1);
		if (devnull >= 0)
			dup2(devnull, 2);
		close(fds[0]);
		child_env_minimal();
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	while (len + 1 < n && (got = read(fds[0], out + len, n - 1 - len)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		len += (size_t)got;
	}
	out[len] = '\0';
	out[strcspn(out, "\n")] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
