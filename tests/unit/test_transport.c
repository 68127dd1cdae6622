/*
 * test_transport.c - unit tests of the transport's pure parts (remote name safety, date
 * substitution in patterns, OpenSSH fingerprints) and of the `dir` transport on a scratch
 * directory (atomic get with SHA-256, symlink/directory/size refusals, no-overwrite put, archive).
 * The SFTP side is tested against a real sshd in tests/integration/30_fetch*.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bizdate.h"
#include "errors.h"
#include "transport.h"
#include "util.h"

static bool
safe(const char *s)
{
	return transport_name_safe(s, strlen(s), NULL);
}

static void
test_name_safe_accepts(void **state)
{
	assert_true(safe("stmt_0123456789_20261125.sta"));
	assert_true(safe("a"));
	assert_true(safe("x..y"));         /* dots inside are fine, only a leading one is not */
	assert_true(safe("x."));
	assert_true(safe("register 2026-11-25.csv"));
	assert_true(safe("caf\xc3\xa9.csv")); /* valid UTF-8 */
}

static void
test_name_safe_refuses(void **state)
{
	const char *why = NULL;
	char longname[300];

	assert_false(transport_name_safe(".hidden", 7, &why));
	assert_string_equal(why, "starts with '.'");
	assert_false(safe(".."));
	assert_false(safe("..x"));
	assert_false(safe("."));
	assert_false(safe("../x"));
	assert_false(transport_name_safe("a/b", 3, &why));
	assert_string_equal(why, "contains a path separator ('/' or '\\')");
	assert_false(safe("a\\b"));
	assert_false(transport_name_safe("a\nb", 3, &why));
	assert_string_equal(why, "contains a control character");
	assert_false(safe("a\rb"));
	assert_false(safe("a\tb"));
	assert_false(safe("a\x7f"));
	assert_false(safe("\x1b[31mred"));
	assert_false(transport_name_safe("ab\0cd", 5, &why));   /* NUL inside the server's name */
	assert_string_equal(why, "contains a NUL byte");
	assert_false(transport_name_safe("", 0, &why));
	assert_string_equal(why, "is empty");
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_false(transport_name_safe(longname, strlen(longname), &why));
	assert_string_equal(why, "is longer than 255 bytes");
	assert_true(transport_name_safe(longname, 255, NULL));
	/* invalid UTF-8: lone continuation, truncated sequence, overlong '/', surrogate, C1 control */
	assert_false(transport_name_safe("a\x80", 2, &why));
	assert_string_equal(why, "is not valid UTF-8");
	assert_false(safe("a\xc3"));
	assert_false(safe("\xc0\xaf"));
	assert_false(safe("\xe0\x80\xaf"));
	assert_false(safe("\xed\xa0\x80"));
	assert_false(safe("\xf4\x90\x80\x80"));
	assert_false(transport_name_safe("a\xc2\x85", 3, &why));   /* U+0085 NEXT LINE */
	assert_string_equal(why, "contains a control character");
}

static void
test_pattern_expand(void **state)
{
	char *out = NULL;

	assert_int_equal(transport_pattern_expand("^stmt_0123456789_%Y%m%d\\.sta$", date_from_ymd(2026, 11, 25), &out),
	    PERR_OK);
	assert_string_equal(out, "^stmt_0123456789_20261125\\.sta$");
	free(out);
	assert_int_equal(transport_pattern_expand("^r_%y-%m-%d_%%$", date_from_ymd(2027, 1, 4), &out), PERR_OK);
	assert_string_equal(out, "^r_27-01-04_%$");
	free(out);
	assert_int_equal(transport_pattern_expand("^plain\\.csv$", date_from_ymd(2027, 1, 4), &out), PERR_OK);
	assert_string_equal(out, "^plain\\.csv$");
	free(out);
	assert_int_equal(transport_pattern_expand("%Y%Y%Y%m%d%y", date_from_ymd(2000, 2, 29), &out), PERR_OK);
	assert_string_equal(out, "200020002000022900");
	free(out);

	out = (char *)"untouched";
	assert_int_equal(transport_pattern_expand("^x_%H$", date_from_ymd(2026, 1, 1), &out), PERR_CONFIG);
	assert_null(out);
	assert_string_equal(perr_detail(),
	    "pattern ^x_%H$: unknown date field '%H' (expected %Y, %m, %d, %y or %%)");
	assert_int_equal(transport_pattern_expand("^x_%", date_from_ymd(2026, 1, 1), &out), PERR_CONFIG);
	assert_string_equal(perr_detail(), "pattern ^x_%: ends with a lone '%' (write %% for a percent sign)");
}

static void
test_fingerprint_matches_openssh(void **state)
{
	/* fixtures/ssh/ssh_host_ed25519_key.pub; `ssh-keygen -lf` prints the fingerprint below. */
	static const char b64[] = "AAAAC3NzaC1lZDI1NTE5AAAAIE9G649U7F0tDltIQea5TWphwmGPT38YgTLVwnDo/Lav";
	unsigned char blob[128];
	char fp[TRANSPORT_FP_BUFSZ];
	int n = EVP_DecodeBlock(blob, (const unsigned char *)b64, (int)strlen(b64));

	assert_int_equal(n, 51);   /* 68 base64 characters, no padding: 4+11+4+32 bytes */
	transport_fingerprint(blob, (size_t)n, fp);
	assert_string_equal(fp, "SHA256:zEAVjdIpZmtTb56eqGe9wArs2x1XrXY6SpuC7gUk3Vk");
}

/* ---- dir transport on a scratch directory ---- */

struct scratch {
	char root[64];
	char *remote, *local, *archive;
	struct endpoint_cfg ep;
};

static void
write_str(const char *path, const char *s)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(s, fp);
	assert_int_equal(fclose(fp), 0);
}

static char *
read_str(const char *path)
{
	char *buf = NULL;
	size_t len;

	if (read_file(path, &buf, &len, 1 << 20) != PERR_OK)
		return NULL;
	return buf;
}

static int
setup_scratch(void **state)
{
	struct scratch *s = xcalloc(1, sizeof *s);

	snprintf(s->root, sizeof s->root, "/tmp/test_transport.XXXXXX");
	if (mkdtemp(s->root) == NULL)
		return -1;
	s->remote = xasprintf("%s/remote", s->root);
	s->local = xasprintf("%s/local", s->root);
	s->archive = xasprintf("%s/remote/archive", s->root);
	mkdir(s->remote, 0755);
	mkdir(s->local, 0755);
	mkdir(s->archive, 0755);
	s->ep.transport = TRANSPORT_DIR;
	s->ep.remote_dir = s->remote;
	s->ep.retries = 0;
	*state = s;
	return 0;
}

static int
teardown_scratch(void **state)
{
	struct scratch *s = *state;
	char *cmd = xasprintf("rm -rf '%s'", s->root);

	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", s->root);
	free(cmd);
	free(s->remote);
	free(s->local);
	free(s->archive);
	free(s);
	return 0;
}

static void
test_dir_list_and_get(void **state)
{
	struct scratch *s = *state;
	struct transport *t = NULL;
	struct remote_list l;
	struct transfer_info ti;
	char *p, *dst, *got, hex[65];
	size_t i;
	int n_file = 0, n_dir = 0, n_link = 0;

	p = xasprintf("%s/b.sta", s->remote);
	write_str(p, "hello statement\n");
	free(p);
	p = xasprintf("%s/link.sta", s->remote);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	free(p);

	assert_int_equal(transport_open(&s->ep, &t), PERR_OK);
	assert_int_equal(transport_list(t, &l), PERR_OK);
	for (i = 0; i < l.n; i++) {
		n_file += l.v[i].type == REMOTE_FILE;
		n_dir += l.v[i].type == REMOTE_DIR;
		n_link += l.v[i].type == REMOTE_SYMLINK;
	}
	assert_int_equal(l.n, 3);   /* archive/, b.sta, link.sta, sorted */
	assert_string_equal(l.v[0].name, "archive");
	assert_string_equal(l.v[1].name, "b.sta");
	assert_int_equal(l.v[1].size, 16);
	assert_int_equal(n_file, 1);
	assert_int_equal(n_dir, 1);
	assert_int_equal(n_link, 1);
	remote_list_free(&l);

	dst = xasprintf("%s/b.sta", s->local);
	assert_int_equal(transport_get(t, "b.sta", -1, dst, 1000, NULL, &ti), PERR_OK);
	got = read_str(dst);
	assert_non_null(got);
	assert_string_equal(got, "hello statement\n");
	free(got);
	sha256_hex("hello statement\n", 16, hex);
	assert_string_equal(ti.sha256, hex);
	assert_int_equal(ti.size, 16);
	free(dst);

	/* a symlink is refused, nothing is written */
	dst = xasprintf("%s/link.sta", s->local);
	assert_int_equal(transport_get(t, "link.sta", -1, dst, 1000, NULL, &ti), PERR_UNSAFE_NAME);
	assert_int_equal(access(dst, F_OK), -1);
	free(dst);
	/* a directory is refused */
	dst = xasprintf("%s/archive", s->local);
	assert_int_equal(transport_get(t, "archive", -1, dst, 1000, NULL, &ti), PERR_UNSAFE_NAME);
	free(dst);
	/* over the size limit: refused, nothing under the final name, no temporary left */
	dst = xasprintf("%s/big.sta", s->local);
	assert_int_equal(transport_get(t, "b.sta", -1, dst, 15, NULL, &ti), PERR_TOO_LARGE);
	assert_int_equal(access(dst, F_OK), -1);
	free(dst);
	/* unsafe names are refused before anything is opened */
	assert_int_equal(transport_get(t, "../remote/b.sta", -1, "/tmp/never", 1000, NULL, &ti), PERR_UNSAFE_NAME);
	assert_int_equal(transport_get(t, ".hidden", -1, "/tmp/never", 1000, NULL, &ti), PERR_UNSAFE_NAME);
	{
		/* only b.sta in local/: no temporary files left */
		char *cmd = xasprintf("test $(ls -A '%s' | wc -l) -eq 1", s->local);

		assert_int_equal(system(cmd), 0);
		free(cmd);
	}
	transport_close(t);
}

static void
test_dir_put_never_overwrites(void **state)
{
	struct scratch *s = *state;
	char *src1 = xasprintf("%s/pay1.xml", s->local), *src2 = xasprintf("%s/pay2.xml", s->local);
	char *remote = xasprintf("%s/pay.xml", s->remote), *got;
	bool there = true;

	write_str(src1, "<payment>1</payment>\n");
	write_str(src2, "<payment>2</payment>\n");

	assert_int_equal(transport_put(&s->ep, src1, "pay.xml", &there), PERR_OK);
	assert_false(there);
	got = read_str(remote);
	assert_string_equal(got, "<payment>1</payment>\n");
	free(got);
	/* re-put of the same content: a no-op */
	assert_int_equal(transport_put(&s->ep, src1, "pay.xml", &there), PERR_OK);
	assert_true(there);
	/* different content under the same name: refused, remote unchanged */
	assert_int_equal(transport_put(&s->ep, src2, "pay.xml", &there), PERR_REMOTE_CONFLICT);
	assert_non_null(strstr(perr_detail(), "pay.xml already exists with different content"));
	got = read_str(remote);
	assert_string_equal(got, "<payment>1</payment>\n");
	free(got);
	/* unsafe remote names are refused */
	assert_int_equal(transport_put(&s->ep, src1, "../pay.xml", &there), PERR_UNSAFE_NAME);
	{
		char *cmd = xasprintf("test $(ls -A '%s' | grep -c part) -eq 0", s->remote);

		assert_int_equal(system(cmd), 0);   /* no temporary upload left behind */
		free(cmd);
	}
	free(src1);
	free(src2);
	free(remote);
}

/* A killed upload leaves ".NAME.part.PID"; the next put of NAME removes it, and nothing else. */
static void
test_dir_put_removes_stale_parts(void **state)
{
	struct scratch *s = *state;
	char *src = xasprintf("%s/pay.xml", s->local);
	char *stale = xasprintf("%s/.pay.xml.part.4242", s->remote);
	char *other = xasprintf("%s/.pay.xml.part.abc", s->remote);
	char *foreign = xasprintf("%s/.other.xml.part.4242", s->remote);
	bool there = true;

	write_str(src, "<payment>1</payment>\n");
	write_str(stale, "<payme");
	write_str(other, "not ours");
	write_str(foreign, "another file's");
	assert_int_equal(transport_put(&s->ep, src, "pay.xml", &there), PERR_OK);
	assert_false(there);
	assert_int_equal(access(stale, F_OK), -1);     /* our leftover for pay.xml: removed */
	assert_int_equal(access(other, F_OK), 0);      /* not the shape we write: kept */
	assert_int_equal(access(foreign, F_OK), 0);    /* another name's: kept */
	/* a re-put that finds the file already there also cleans up */
	write_str(stale, "<payme");
	assert_int_equal(transport_put(&s->ep, src, "pay.xml", &there), PERR_OK);
	assert_true(there);
	assert_int_equal(access(stale, F_OK), -1);
	free(src);
	free(stale);
	free(other);
	free(foreign);
}

static void
test_dir_archive(void **state)
{
	struct scratch *s = *state;
	struct transport *t = NULL;
	char *p = xasprintf("%s/c.sta", s->remote), *a = xasprintf("%s/c.sta", s->archive);

	write_str(p, "c\n");
	assert_int_equal(transport_open(&s->ep, &t), PERR_OK);
	assert_int_equal(transport_archive(t, "c.sta", "archive"), PERR_OK);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(access(a, F_OK), 0);
	/* the same name again: the archived one is not replaced, the new one stays */
	write_str(p, "c2\n");
	assert_int_equal(transport_archive(t, "c.sta", "archive"), PERR_REMOTE_CONFLICT);
	assert_int_equal(access(p, F_OK), 0);
	transport_close(t);
	free(p);
	free(a);
}

static void
test_dir_missing_directory(void **state)
{
	struct endpoint_cfg ep;
	struct transport *t = NULL;

	memset(&ep, 0, sizeof ep);
	ep.transport = TRANSPORT_DIR;
	ep.remote_dir = (char *)"/nonexistent/drop";
	assert_int_equal(transport_open(&ep, &t), PERR_NOT_AVAILABLE);
	assert_null(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_safe_accepts),
		cmocka_unit_test(test_name_safe_refuses),
		cmocka_unit_test(test_pattern_expand),
		cmocka_unit_test(test_fingerprint_matches_openssh),
		cmocka_unit_test_setup_teardown(test_dir_list_and_get, setup_scratch, teardown_scratch),
		cmocka_unit_test_setup_teardown(test_dir_put_never_overwrites, setup_scratch, teardown_scratch),
		cmocka_unit_test_setup_teardown(test_dir_put_removes_stale_parts, setup_scratch, teardown_scratch),
		cmocka_unit_test_setup_teardown(test_dir_archive, setup_scratch, teardown_scratch),
		cmocka_unit_test(test_dir_missing_directory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
