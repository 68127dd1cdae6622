/*
 * test_transport_sftp.c - the transport's SFTP side against a real OpenSSH sshd started by
 * scripts/sftp-server.sh on a random port (skipped when not root or sshd is missing): outbound put,
 * re-put (a no-op), conflicting put (an error, the remote file unchanged), a directory in the way,
 * an unsafe remote name, a larger upload verified by SHA-256, listing and getting, and the
 * connection retries of transport_put against a port where nothing listens.
 * Run from the repository root (as `make unit` does).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "transport.h"
#include "util.h"

struct srv {
	char dir[64];        /* scratch directory */
	char *root;          /* what the server shows as "/" */
	char *kh;            /* known_hosts for 127.0.0.1:port */
	char *key;           /* client key */
	int port;
	struct endpoint_cfg ep;
	bool up;
};

static struct srv S;

static char *
run_capture(const char *cmd)
{
	FILE *fp = popen(cmd, "r");
	char buf[256];
	size_t n;

	if (fp == NULL)
		return NULL;
	n = fread(buf, 1, sizeof buf - 1, fp);
	buf[n] = '\0';
	if (pclose(fp) != 0)
		return NULL;
	return xstrdup(buf);
}

static void
write_str(const char *path, const char *s)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(s, fp);
	assert_int_equal(fclose(fp), 0);
}

static char *
slurp(const char *path)
{
	char *buf = NULL;
	size_t len;

	if (read_file(path, &buf, &len, 64 << 20) != PERR_OK)
		return NULL;
	return buf;
}

static int
group_setup(void **state)
{
	char *cmd, *out, *pub;
	FILE *fp;

	memset(&S, 0, sizeof S);
	if (geteuid() != 0 || access("/usr/sbin/sshd", X_OK) != 0 || access("scripts/sftp-server.sh", X_OK) != 0)
		return 0;   /* the tests skip themselves */
	snprintf(S.dir, sizeof S.dir, "/tmp/test_transport_sftp.XXXXXX");
	if (mkdtemp(S.dir) == NULL)
		return -1;
	S.root = xasprintf("%s/root", S.dir);
	/* SFTP_OWNER_PID: the server goes away with this process, even if it aborts before teardown. */
	cmd = xasprintf("SFTP_OWNER_PID=%ld scripts/sftp-server.sh start auto '%s'", (long)getpid(), S.root);
	out = run_capture(cmd);
	free(cmd);
	if (out == NULL || (S.port = atoi(out)) <= 0) {
		free(out);
		return -1;
	}
	free(out);
	/* known_hosts line for [127.0.0.1]:PORT from the committed host key */
	pub = slurp("fixtures/ssh/ssh_host_ed25519_key.pub");
	if (pub == NULL)
		return -1;
	*strchr(strchr(pub, ' ') + 1, ' ') = '\0';   /* "ssh-ed25519 AAAA..." */
	S.kh = xasprintf("%s/known_hosts", S.dir);
	fp = fopen(S.kh, "w");
	if (fp == NULL)
		return -1;
	fprintf(fp, "[127.0.0.1]:%d %s\n", S.port, pub);
	fclose(fp);
	free(pub);
	S.key = xasprintf("%s/client_key", S.dir);
	cmd = xasprintf("cp fixtures/ssh/client_ed25519 '%s' && chmod 600 '%s'", S.key, S.key);
	if (system(cmd) != 0)
		return -1;
	free(cmd);

	S.ep.transport = TRANSPORT_SFTP;
	S.ep.host = (char *)"127.0.0.1";
	S.ep.port = S.port;
	S.ep.user = (char *)"dabs";
	S.ep.key_file = S.key;
	S.ep.known_hosts = S.kh;
	S.ep.remote_dir = (char *)"/bank/payments-in";
	S.ep.connect_timeout_s = 5;
	S.ep.io_timeout_s = 10;
	S.ep.retries = 1;
	S.ep.retry_backoff_ms = 100;
	S.up = true;
	return 0;
}

static int
group_teardown(void **state)
{
	char *cmd;

	if (!S.up)
		return 0;
	cmd = xasprintf("scripts/sftp-server.sh stop %d; real=$(realpath '%s'); rm -rf \"$real\" '%s'", S.port,
	    S.root, S.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", S.dir);
	free(cmd);
	free(S.root);
	free(S.kh);
	free(S.key);
	return 0;
}

#define NEED_SERVER() do { if (!S.up) skip(); } while (0)

static char *
remote(const char *rel)
{
	return xasprintf("%s/%s", S.root, rel);
}

static void
test_put_reput_conflict(void **state)
{
	char *l1, *l2, *r, *got;
	bool there = true;
	struct stat st1, st2;

	NEED_SERVER();
	l1 = xasprintf("%s/pain1.xml", S.dir);
	l2 = xasprintf("%s/pain2.xml", S.dir);
	write_str(l1, "<Document>payment one</Document>\n");
	write_str(l2, "<Document>payment TWO</Document>\n");
	r = remote("bank/payments-in/PAIN001_20261125_01.xml");

	assert_int_equal(transport_put(&S.ep, l1, "PAIN001_20261125_01.xml", &there), PERR_OK);
	assert_false(there);
	got = slurp(r);
	assert_non_null(got);
	assert_string_equal(got, "<Document>payment one</Document>\n");
	free(got);
	assert_int_equal(stat(r, &st1), 0);

	/* re-put: the same bytes are already there, nothing is written */
	sleep(1);
	assert_int_equal(transport_put(&S.ep, l1, "PAIN001_20261125_01.xml", &there), PERR_OK);
	assert_true(there);
	assert_int_equal(stat(r, &st2), 0);
	assert_int_equal((long)st1.st_mtime, (long)st2.st_mtime);

	/* conflicting put: refused, the remote file unchanged */
	assert_int_equal(transport_put(&S.ep, l2, "PAIN001_20261125_01.xml", &there), PERR_REMOTE_CONFLICT);
	assert_false(there);
	assert_non_null(strstr(perr_detail(),
	    "/bank/payments-in: PAIN001_20261125_01.xml already exists with different content (theirs 33 bytes"));
	assert_non_null(strstr(perr_detail(), "not overwritten"));
	got = slurp(r);
	assert_string_equal(got, "<Document>payment one</Document>\n");
	free(got);

	/* no temporary upload left behind */
	{
		char *cmd = xasprintf("test -z \"$(ls -A '%s/bank/payments-in' | grep part)\"", S.root);

		assert_int_equal(system(cmd), 0);
		free(cmd);
	}
	free(l1);
	free(l2);
	free(r);
}

static void
test_put_refusals(void **state)
{
	char *l, *d;
	bool there;
	struct transport *t = NULL;

	NEED_SERVER();
	l = xasprintf("%s/x.xml", S.dir);
	write_str(l, "x\n");
	/* a directory of that name is in the way: never replaced */
	d = remote("bank/payments-in/ISSUE_1.csv");
	assert_int_equal(mkdir(d, 0755), 0);
	assert_int_equal(transport_put(&S.ep, l, "ISSUE_1.csv", &there), PERR_REMOTE_CONFLICT);
	assert_non_null(strstr(perr_detail(), "ISSUE_1.csv exists and is not a regular file; not replaced"));
	/* unsafe names never reach the server */
	assert_int_equal(transport_open(&S.ep, &t), PERR_OK);
	assert_int_equal(transport_put_file(t, l, "../../etc/x", &there, NULL), PERR_UNSAFE_NAME);
	assert_int_equal(transport_put_file(t, l, ".hidden", &there, NULL), PERR_UNSAFE_NAME);
	assert_int_equal(transport_put_file(t, l, "a\nb", &there, NULL), PERR_UNSAFE_NAME);
	transport_close(t);
	/* a missing local file */
	assert_int_equal(transport_put(&S.ep, "/nonexistent/file.xml", "f.xml", &there), PERR_IO);
	free(l);
	free(d);
}

static void
test_put_large_and_get_back(void **state)
{
	char *l, *back, *cmd;
	bool there;
	struct transport *t = NULL;
	struct transfer_info up, down;

	NEED_SERVER();
	l = xasprintf("%s/large.bin", S.dir);
	back = xasprintf("%s/large.back", S.dir);
	cmd = xasprintf("head -c 20000000 /dev/urandom > '%s'", l);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_int_equal(transport_open(&S.ep, &t), PERR_OK);
	assert_int_equal(transport_put_file(t, l, "large.bin", &there, &up), PERR_OK);
	assert_false(there);
	assert_int_equal(up.size, 20000000);
	assert_int_equal(transport_get(t, "large.bin", -1, back, 20000000, NULL, &down), PERR_OK);
	assert_string_equal(up.sha256, down.sha256);
	assert_int_equal(down.size, 20000000);
	/* the size limit is enforced on download */
	assert_int_equal(transport_get(t, "large.bin", -1, back, 19999999, NULL, &down), PERR_TOO_LARGE);
	/* the earlier complete copy is still intact; no temporary file beside it */
	cmd = xasprintf("cmp -s '%s' '%s' && test -z \"$(ls -A '%s' | grep part)\"", l, back, S.dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	/* listing: the file is there as a regular file with its size */
	{
		struct remote_list rl;
		size_t i;
		bool seen = false;

		assert_int_equal(transport_list(t, &rl), PERR_OK);
		for (i = 0; i < rl.n; i++)
			if (!strcmp(rl.v[i].name, "large.bin")) {
				seen = true;
				assert_int_equal(rl.v[i].type, REMOTE_FILE);
				assert_int_equal(rl.v[i].size, 20000000);
			}
		assert_true(seen);
		remote_list_free(&rl);
	}
	transport_close(t);
	free(l);
	free(back);
}

static void
test_put_retries_then_gives_up(void **state)
{
	struct endpoint_cfg ep;
	char *l;
	bool there;
	int64_t t0;

	NEED_SERVER();
	ep = S.ep;
	ep.port = 1;            /* nothing listens there */
	ep.retries = 2;
	ep.retry_backoff_ms = 100;
	l = xasprintf("%s/r.xml", S.dir);
	write_str(l, "r\n");
	t0 = now_ms();
	assert_int_equal(transport_put(&ep, l, "r.xml", &there), PERR_SSH_CONNECT);
	assert_true(now_ms() - t0 >= 300);   /* 100 ms + 200 ms of backoff */
	assert_non_null(strstr(perr_detail(), "cannot connect: Connection refused"));
	free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_reput_conflict),
		cmocka_unit_test(test_put_refusals),
		cmocka_unit_test(test_put_large_and_get_back),
		cmocka_unit_test(test_put_retries_then_gives_up),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
