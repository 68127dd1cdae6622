/*
 * signals.c - the SIGTERM/SIGINT handler and the stop flag the runner, the db.h wrappers and the
 * SFTP loops consult (see signals.h for the whole protocol).
 *
 * The handler touches only volatile sig_atomic_t flags, a PGcancel prepared in advance and a local
 * error buffer: PQcancel, sigaction and raise are async-signal-safe. SA_NODEFER lets a second
 * signal in even while the first handler waits in PQcancel, so "a second signal exits at once"
 * holds also when the database does not answer the cancel request.
 */
#include "signals.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t got_signal;    /* the first signal, 0 before */
static volatile sig_atomic_t stage_running;
static PGcancel *volatile cancel_handle;

static void
on_stop_signal(int sig)
{
	int saved_errno = errno;

	if (got_signal != 0) {
		/* Second signal: end now, with the default action of that signal (as a crash). */
		struct sigaction dfl;

		memset(&dfl, 0, sizeof dfl);
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		sigaction(sig, &dfl, NULL);
		raise(sig);
		return;
	}
	got_signal = sig;
	if (stage_running) {
		PGcancel *c = cancel_handle;

		if (c != NULL) {
			char errbuf[256];

			(void)PQcancel(c, errbuf, (int)sizeof errbuf);   /* best effort: the flag does the rest */
		}
	}
	errno = saved_errno;
}

void
stop_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	/* SA_RESTART: plain reads and writes go on; poll() still returns EINTR (libssh2 then fails fast). */
	sa.sa_flags = SA_RESTART | SA_NODEFER;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

void
stop_set_cancel(PGcancel *cancel)
{
	cancel_handle = cancel;
}

void
stop_set_stage(bool running)
{
	stage_running = running ? 1 : 0;
}

int
stop_signal(void)
{
	return (int)got_signal;
}

static const char *
signal_name(int sig)
{
	switch (sig) {
	case SIGTERM: return "SIGTERM";
	case SIGINT: return "SIGINT";
	default: return "a signal";
	}
}

enum perr
stop_error(void)
{
	return perr_set(PERR_INTERRUPTED, "stopped by %s", signal_name((int)got_signal));
}

enum perr
stop_check(void)
{
	if (got_signal == 0 || !stage_running)
		return PERR_OK;
	return stop_error();
}

int
stop_exit_code(void)
{
	return got_signal != 0 ? 128 + (int)got_signal : 1;
}

int
stop_exit_status(enum perr result)
{
	return result == PERR_INTERRUPTED && got_signal != 0 ? stop_exit_code() : perr_exit_code(result);
}
