/*
 * doctor.c - `pipeline doctor`: checks that the pipeline can run tonight and says how to fix what
 * cannot. It changes nothing: it creates no directory and never creates or starts the embedded
 * PostgreSQL cluster (what is missing is reported with the command that creates it).
 *
 * Checks, in order: the configuration file (and its permissions), the data, report and formats
 * directories, each source's layout and pattern, each SFTP endpoint's key file (exists, private:
 * readable by group/others is an error), passphrase variable and known_hosts file (exists, not
 * writable by others, holds an entry for host:port, plain or hashed), the database connection and
 * schema version, the notification and housekeeping settings, and, unless --offline, each
 * endpoint's reachability (TCP, SSH handshake, host key check, authentication, remote directory)
 * through transport.h exactly as the fetch stage connects. Prints the libssh2, libpq and libcurl
 * versions linked. Exit 0: no problem (warnings allowed); 1: at least one problem.
 */
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libssh2.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "childenv.h"
#include "cli.h"
#include "commands.h"
#include "config.h"
#include "db.h"
#include "pain001.h"
#include "transport.h"
#include "trust.h"
#include "util.h"

struct doctor {
	int problems, warnings;
};

/* One result line; `fix` (may be NULL) is printed below it as "fix: ...". */
static void
report(struct doctor *dr, char level, const char *what, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
report(struct doctor *dr, char level, const char *what, const char *fix, const char *fmt, ...)
{
	va_list ap;

	printf("%-5s %-10s ", level == 'o' ? "ok" : level == 'w' ? "warn" : "FAIL", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (fix)
		printf("      fix: %s\n", fix);
	if (level == 'f')
		dr->problems++;
	else if (level == 'w')
		dr->warnings++;
}

static void
check_dir(struct doctor *dr, const char *what, const char *path, bool must_exist)
{
	struct stat st;
	char fix[1024];

	if (stat(path, &st) != 0) {
		if (errno == ENOENT && !must_exist) {
			/* created on first use: the nearest existing parent must be writable */
			report(dr, 'o', what, NULL, "%s (does not exist yet; created on first run)", path);
			return;
		}
		snprintf(fix, sizeof fix, "mkdir -p %s, or correct the path in the configuration", path);
		report(dr, 'f', what, fix, "%s: %s", path, strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		report(dr, 'f', what, "point the configuration at a directory", "%s is not a directory", path);
		return;
	}
	if (must_exist ? access(path, R_OK | X_OK) != 0 : access(path, W_OK | X_OK) != 0) {
		snprintf(fix, sizeof fix, "give the user running the pipeline (uid %ld) %s access to %s",
		    (long)getuid(), must_exist ? "read" : "write", path);
		report(dr, 'f', what, fix, "%s is not %s", path, must_exist ? "readable" : "writable");
		return;
	}
	report(dr, 'o', what, NULL, "%s", path);
}

static bool
is_builtin_format(const char *f)
{
	return !strcmp(f, "mt940") || !strcmp(f, "trustee_register") || !strcmp(f, "pain002");
}

static void
check_source_static(struct doctor *dr, const struct config *cfg, const struct source_cfg *src)
{
	char what[80], fix[1024];
	char *expanded = NULL;
	date_t today;
	int errcode;
	PCRE2_SIZE off;
	pcre2_code *re;
	size_t i;

	snprintf(what, sizeof what, "source.%s", src->name);
	if (!is_builtin_format(src->format)) {
		char *layout = xasprintf("%s/%s.layout", cfg->formats_dir, src->format);

		if (access(layout, R_OK) != 0) {
			snprintf(fix, sizeof fix, "set format to mt940, trustee_register, pain002 or the name of a layout file "
			    "in %s (without .layout)", cfg->formats_dir);
			report(dr, 'f', what, fix, "format %s: %s: %s", src->format, layout, strerror(errno));
			free(layout);
			return;
		}
		free(layout);
	}
	if (date_today_in_zone(cfg->timezone, &today) == PERR_OK
	    && transport_pattern_expand(src->pattern, today, &expanded) != PERR_OK) {
		report(dr, 'f', what, "use only %Y %m %d %y %% in pattern", "pattern: %s", perr_detail());
		return;
	}
	re = pcre2_compile((PCRE2_SPTR)(expanded ? expanded : src->pattern), PCRE2_ZERO_TERMINATED, 0,
	    &errcode, &off, NULL);
	free(expanded);
	if (re == NULL) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(errcode, msg, sizeof msg);
		report(dr, 'f', what, "correct the regular expression", "pattern at offset %zu: %s", (size_t)off,
		    (char *)msg);
		return;
	}
	pcre2_code_free(re);
	for (i = 0; i < src->n_reference_patterns; i++) {
		re = pcre2_compile((PCRE2_SPTR)src->reference_patterns[i], PCRE2_ZERO_TERMINATED, 0, &errcode,
		    &off, NULL);
		if (re == NULL) {
			PCRE2_UCHAR msg[256];

			pcre2_get_error_message(errcode, msg, sizeof msg);
			report(dr, 'f', what, "correct the regular expression", "reference_pattern %zu at offset %zu: %s",
			    i + 1, (size_t)off, (char *)msg);
			return;
		}
		pcre2_code_free(re);
	}
	report(dr, 'o', what, NULL, "format %s, pattern %s, %zu reference pattern(s)", src->format, src->pattern,
	    src->n_reference_patterns);
}

/* HMAC-SHA1(salt, host) compared with a hashed known_hosts name "|1|salt64|hash64". */
static bool
hashed_match(const char *entry, const char *host)
{
	unsigned char salt[64], want[64], got[EVP_MAX_MD_SIZE];
	char s64[128], h64[128];
	unsigned int got_len = 0;
	int sl, hl;

	if (sscanf(entry, "|1|%127[^|]|%127s", s64, h64) != 2)
		return false;
	if (strlen(s64) > 88 || strlen(h64) > 88)
		return false;
	sl = EVP_DecodeBlock(salt, (const unsigned char *)s64, (int)strlen(s64));
	hl = EVP_DecodeBlock(want, (const unsigned char *)h64, (int)strlen(h64));
	if (sl < 20 || hl < 20)
		return false;
	if (HMAC(EVP_sha1(), salt, 20, (const unsigned char *)host, strlen(host), got, &got_len) == NULL
	    || got_len != 20)
		return false;
	return memcmp(got, want, 20) == 0;
}

/* OpenSSH host pattern match: '*' and '?' are wildcards, everything else (including '[') literal. */
static bool
wild_match(const char *pat, const char *s)
{
	if (*pat == '\0')
		return *s == '\0';
	if (*pat == '*') {
		for (;; s++) {
			if (wild_match(pat + 1, s))
				return true;
			if (*s == '\0')
				return false;
		}
	}
	if (*s != '\0' && (*pat == '?' || *pat == *s))
		return wild_match(pat + 1, s + 1);
	return false;
}

/* Does a known_hosts host field ("a,b,[c]:2222", "|1|..|..", "*.example") name `host`? */
static bool
hosts_field_matches(const char *field, const char *host)
{
	char *copy = xstrdup(field), *tok, *save = NULL;
	bool match = false;

	if (field[0] == '|') {
		free(copy);
		return hashed_match(field, host);
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (tok[0] == '!') {
			if (wild_match(tok + 1, host)) {
				match = false;
				break;
			}
		} else if (wild_match(tok, host))
			match = true;
	}
	free(copy);
	return match;
}

static void
check_known_hosts(struct doctor *dr, const char *what, const struct endpoint_cfg *ep)
{
	char name[300], fix[1024], line[16384];
	struct stat st;
	FILE *fp;
	int found = 0, revoked = 0;

	if (ep->port == 22)
		snprintf(name, sizeof name, "%s", ep->host);
	else
		snprintf(name, sizeof name, "[%s]:%d", ep->host, ep->port);
	if (stat(ep->known_hosts, &st) != 0) {
		snprintf(fix, sizeof fix, "get the server's host key fingerprint from the bank/trustee out of band, "
		    "then: ssh-keyscan -p %d %s > %s and compare the fingerprints (ssh-keygen -lf %s)",
		    ep->port, ep->host, ep->known_hosts, ep->known_hosts);
		report(dr, 'f', what, fix, "known_hosts %s: %s", ep->known_hosts, strerror(errno));
		return;
	}
	if (st.st_mode & 022) {
		snprintf(fix, sizeof fix, "chmod go-w %s (whoever can write it can make us trust any server)",
		    ep->known_hosts);
		report(dr, 'f', what, fix, "known_hosts %s is writable by group or others (mode %03o)",
		    ep->known_hosts, (unsigned)(st.st_mode & 0777));
		return;
	}
	if ((fp = fopen(ep->known_hosts, "r")) == NULL) {
		report(dr, 'f', what, "make it readable by the user running the pipeline", "known_hosts %s: %s",
		    ep->known_hosts, strerror(errno));
		return;
	}
	while (fgets(line, sizeof line, fp)) {
		char *p = line, *field;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || *p == '\0')
			continue;
		if (*p == '@') {
			bool is_revoked = !strncmp(p, "@revoked", 8);

			p += strcspn(p, " \t");
			while (*p == ' ' || *p == '\t')
				p++;
			field = p;
			p += strcspn(p, " \t\n");
			*p = '\0';
			if (is_revoked && hosts_field_matches(field, name))
				revoked++;
			continue;
		}
		field = p;
		p += strcspn(p, " \t\n");
		*p = '\0';
		if (hosts_field_matches(field, name))
			found++;
	}
	fclose(fp);
	if (found == 0) {
		snprintf(fix, sizeof fix, "add the server's key for %s (ssh-keyscan -p %d %s >> %s), after checking "
		    "its fingerprint with the bank/trustee out of band", name, ep->port, ep->host, ep->known_hosts);
		report(dr, 'f', what, fix, "known_hosts %s has no key for %s: the connection would be refused",
		    ep->known_hosts, name);
		return;
	}
	report(dr, revoked ? 'w' : 'o', what, NULL, "known_hosts %s: %d key(s) for %s%s", ep->known_hosts, found,
	    name, revoked ? " (and a @revoked entry)" : "");
}

static void
check_key_file(struct doctor *dr, const char *what, const struct endpoint_cfg *ep)
{
	struct stat st;
	char fix[1024];

	if (stat(ep->key_file, &st) != 0) {
		snprintf(fix, sizeof fix, "create an Ed25519 key (ssh-keygen -t ed25519 -f %s) and send the .pub "
		    "to the server's operator", ep->key_file);
		report(dr, 'f', what, fix, "key_file %s: %s", ep->key_file, strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		report(dr, 'f', what, "point key_file at the private key file", "key_file %s is not a regular file",
		    ep->key_file);
		return;
	}
	if (st.st_mode & 077) {
		snprintf(fix, sizeof fix, "chmod 600 %s", ep->key_file);
		report(dr, 'f', what, fix, "key_file %s is readable by group or others (mode %03o): a private key "
		    "must be readable by its owner only", ep->key_file, (unsigned)(st.st_mode & 0777));
		return;
	}
	if (st.st_uid != geteuid())
		report(dr, 'w', what, NULL, "key_file %s belongs to uid %ld, not to the user running the pipeline "
		    "(uid %ld)", ep->key_file, (long)st.st_uid, (long)geteuid());
	if (access(ep->key_file, R_OK) != 0) {
		report(dr, 'f', what, "chown the key to the user running the pipeline", "key_file %s: %s",
		    ep->key_file, strerror(errno));
		return;
	}
	if (ep->key_passphrase_env && getenv(ep->key_passphrase_env) == NULL) {
		snprintf(fix, sizeof fix, "export %s in the environment of the service (systemd: an "
		    "EnvironmentFile= readable by the service only)", ep->key_passphrase_env);
		report(dr, 'f', what, fix, "key_passphrase_env names $%s, which is not set", ep->key_passphrase_env);
		return;
	}
	report(dr, 'o', what, NULL, "key_file %s (mode %03o)%s", ep->key_file, (unsigned)(st.st_mode & 0777),
	    ep->key_passphrase_env ? ", passphrase from the environment" : "");
}

static void
check_endpoint_files(struct doctor *dr, const char *what, const struct endpoint_cfg *ep)
{
	if (ep->transport != TRANSPORT_SFTP)
		return;
	check_key_file(dr, what, ep);
	check_known_hosts(dr, what, ep);
}

static const char *
fix_for(enum perr e)
{
	switch (e) {
	case PERR_SSH_HOSTKEY:
		return "the server presented a key that is not in known_hosts: do NOT just accept it; ask the "
		    "bank/trustee whether they changed their key, check the fingerprint out of band, then update "
		    "known_hosts";
	case PERR_SSH_AUTH:
		return "the key could not be used or the server refused it: check key_file and its passphrase "
		    "(the variable key_passphrase_env names), user, and that the server's operator installed "
		    "our public key";
	case PERR_SSH_CONNECT:
		return "check host, port, the network path and firewall (nc -vz HOST PORT)";
	case PERR_SSH_TIMEOUT:
		return "the server did not answer in time: check the network; raise connect_timeout/io_timeout if "
		    "the link is slow";
	case PERR_SFTP:
		return "logged in, but the SFTP subsystem or remote_dir failed: check remote_dir with the server's "
		    "operator";
	case PERR_CONFIG:
		return "correct the key file or its permissions as the message says";
	case PERR_IO:
		return "create the directory or correct remote_dir";
	default:
		return NULL;
	}
}

/*
 * The oldest Debian build of libssh2 with the security fixes the pipeline relies on (the bookworm
 * security update: CVE-2025-15661, CVE-2026-66032 double free in sftp_open, CVE-2026-66034 and
 * others reachable from a malicious server; see /usr/share/doc/libssh2-1/changelog.Debian.gz).
 * $PIPELINE_LIBSSH2_MIN raises it without a rebuild when Debian publishes the next fix.
 */
#define LIBSSH2_DEBIAN_FIXED "1.10.0-3+deb12u1"

/*
 * Which libssh2 this process really loaded (dladdr, not the version the headers claimed), which
 * Debian package owns that file, and whether the package's version has the security fixes of
 * LIBSSH2_DEBIAN_FIXED (dpkg --compare-versions, Debian's own ordering).
 */
static void
check_libssh2_build(struct doctor *dr)
{
	const char *min = getenv("PIPELINE_LIBSSH2_MIN") ? getenv("PIPELINE_LIBSSH2_MIN") : LIBSSH2_DEBIAN_FIXED;
	char real[4096], owner[256], version[256], fix[1024];
	Dl_info info;
	char *sep;

	if (dladdr((void *)libssh2_version, &info) == 0 || info.dli_fname == NULL
	    || realpath(info.dli_fname, real) == NULL) {
		report(dr, 'w', "libssh2", NULL, "cannot tell which libssh2 file is loaded (statically linked?)");
		return;
	}
	/* "libssh2-1:amd64: /usr/lib/x86_64-linux-gnu/libssh2.so.1.0.1": the package is before ": " */
	if (child_first_line((const char *[]){ "dpkg-query", "-S", real, NULL }, owner, sizeof owner) != 0
	    || (sep = strstr(owner, ": ")) == NULL || sep == owner) {
		snprintf(fix, sizeof fix, "build the pipeline against Debian's libssh2-1 (apt-get install "
		    "libssh2-1-dev), which carries the security fixes of %s", min);
		report(dr, 'w', "libssh2", fix, "%s is not from a Debian package: cannot tell whether it has "
		    "the security fixes", real);
		return;
	}
	*sep = '\0';
	if (child_first_line((const char *[]){ "dpkg-query", "-W", "-f", "${Version}", owner, NULL },
	    version, sizeof version) != 0 || version[0] == '\0') {
		report(dr, 'w', "libssh2", NULL, "%s belongs to %s, whose version dpkg-query does not know", real, owner);
		return;
	}
	if (child_first_line((const char *[]){ "dpkg", "--compare-versions", version, "ge", min, NULL },
	    fix, sizeof fix) != 0) {
		snprintf(fix, sizeof fix, "apt-get update && apt-get install --only-upgrade %s", owner);
		report(dr, 'f', "libssh2", fix, "%s from %s %s is older than %s, the first build with the "
		    "security fixes the pipeline needs", real, owner, version, min);
		return;
	}
	report(dr, 'o', "libssh2", NULL, "%s from Debian package %s %s (has the fixes of %s)", real, owner,
	    version, min);
}

static void
check_reachable(struct doctor *dr, const char *what, const struct endpoint_cfg *ep)
{
	struct transport *t = NULL;
	struct remote_list l = { NULL, 0 };
	int64_t t0 = now_ms();
	char algs[512];
	enum perr e;

	if ((e = transport_open(ep, &t)) != PERR_OK) {
		report(dr, 'f', what, fix_for(e), "cannot connect: %s: %s", perr_message(e), perr_detail());
		return;
	}
	if ((e = transport_list(t, &l)) != PERR_OK) {
		report(dr, 'f', what, fix_for(e), "%s: connected, but cannot list the directory: %s",
		    transport_describe(t), perr_detail());
		transport_close(t);
		return;
	}
	if (!transport_negotiated(t, algs, sizeof algs))
		report(dr, 'f', what, "report this: the pipeline offers only strong algorithms (docs/fetch.md), "
		    "so the libssh2 in use did not honour its preferences", "%s: negotiated an algorithm "
		    "outside the strong list: %s", transport_describe(t), algs);
	else
		report(dr, 'o', what, NULL, "%s: %s, %zu entr%s listed in %lld ms%s%s", transport_describe(t),
	    ep->transport == TRANSPORT_SFTP ? "host key verified, logged in" : "directory readable", l.n,
	    l.n == 1 ? "y" : "ies", (long long)(now_ms() - t0), algs[0] ? "; negotiated " : "", algs);
	remote_list_free(&l);
	transport_close(t);
}

/* One trust problem (src/trust.h) as a failed check. */
static void
report_trust(void *arg, const char *path, const char *what, const char *fix)
{
	(void)path;
	report(arg, 'f', "trust", fix, "%s", what);
}

/*
 * The role the stages act as must not be able to rewrite money: no superuser (privileges would not
 * apply), no UPDATE, DELETE or TRUNCATE of the journal, transfers or issuance records beyond what
 * sql/privileges.sql grants (a database administrator's broad GRANT would undo that silently), no
 * CREATE in the schema. And the login user under it: if it is a superuser or a member of the owner
 * role, a statement in the session could RESET ROLE (a warning: the tests and small set-ups log in
 * as the superuser; docs/operations.md shows the strict set-up).
 */
static void
check_nightly_role(struct doctor *dr, const struct config *cfg, PGconn *db)
{
	const char *params[1] = { cfg->owner_role };
	PGresult *res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT current_user, r.rolsuper OR r.rolbypassrls,"
	    "       coalesce(string_agg(t.tbl || ' ' || p.priv, ', ' ORDER BY t.tbl, p.priv)"
	    "                FILTER (WHERE has_table_privilege(current_user, t.tbl, p.priv)), ''),"
	    "       has_schema_privilege(current_user, 'public', 'CREATE'), session_user,"
	    "       (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)"
	    "         OR (session_user <> current_user AND pg_has_role(session_user, $1, 'MEMBER'))"
	    "  FROM pg_roles r,"
	    "       unnest(ARRAY['journal_txn', 'journal_posting', 'transfer', 'issuance', 'allocation',"
	    "                    'offering_settlement', 'holding', 'outbound_file',"
	    /* the history (sql/privileges.sql, "THE HISTORY RULE"): changed only by sql/130's functions */
	    "                    'stage_run', 'fetched_file', 'file_load', 'statement', 'statement_line',"
	    "                    'trustee_register', 'trustee_holding', 'recon_match', 'recon_match_movement',"
	    "                    'exception', 'recon_run_config', 'history_replace', 'bank_rec', 'bank_rec_item',"
	    "                    'book_balance', 'recon_signoff', 'exception_assignment', 'exception_comment',"
	    /* issue 16's action records: cancel/reissue audit, upload attempts, voided movements */
	    "                    'settlement_action', 'outbound_attempt', 'cash_movement_void',"
	    "                    'statement_pending', 'recon_match_notification', 'file_acceptance',"
	    "                    'payment_status_report', 'payment_status', 'transfer_status_event']) AS t(tbl),"
	    "       unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE']) AS p(priv)"
	    " WHERE r.rolname = current_user GROUP BY current_user, r.rolsuper, r.rolbypassrls", 1, params);
	char fix[512];

	if (res == NULL || PQntuples(res) != 1) {
		report(dr, 'f', "db role", NULL, "cannot read the privileges of the nightly role: %s",
		    res == NULL ? perr_detail() : "no such role");
		PQclear(res);
		return;
	}
	snprintf(fix, sizeof fix, "run `pipeline db init` (it re-applies sql/privileges.sql), and remove "
	    "any broader GRANT to %s", PQgetvalue(res, 0, 0));
	if (PQgetvalue(res, 0, 1)[0] == 't')
		report(dr, 'f', "db role", "ALTER ROLE ... NOSUPERUSER NOBYPASSRLS", "the stages act as "
		    "%s, which is a superuser: no privilege stops it rewriting the journal", PQgetvalue(res, 0, 0));
	else if (PQgetvalue(res, 0, 2)[0] != '\0')
		report(dr, 'f', "db role", fix, "the stages act as %s, which may %s (it must only add "
		    "those rows)", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 2));
	else if (PQgetvalue(res, 0, 3)[0] == 't')
		report(dr, 'f', "db role", "REVOKE CREATE ON SCHEMA public FROM PUBLIC (the default since "
		    "PostgreSQL 15)", "the stages act as %s, which may create objects in schema public",
		    PQgetvalue(res, 0, 0));
	else
		report(dr, 'o', "db role", NULL, "the stages act as %s (owner of the schema: %s); it "
		    "cannot UPDATE, DELETE or TRUNCATE the journal, transfers or issuance records, nor the history",
		    PQgetvalue(res, 0, 0), cfg->owner_role);
	if (PQgetvalue(res, 0, 5)[0] == 't')
		report(dr, 'w', "db role", "log in as a user that is a member of the nightly role only "
		    "(docs/operations.md, \"a server you do not administer\")", "the login user %s is a superuser "
		    "or a member of %s: a statement in its session could RESET ROLE and escape the nightly "
		    "role's limits", PQgetvalue(res, 0, 4), cfg->owner_role);
	PQclear(res);
}

static void
check_database(struct doctor *dr, const struct config *cfg)
{
	PGconn *db = NULL;
	enum perr e;
	int version = 0;
	char fix[1024];

	if ((e = db_connect(cfg, "pipeline doctor", DB_AS_NIGHTLY_NO_START, &db)) != PERR_OK) {
		enum embedded_state st = cfg->db_conninfo[0] ? EMBEDDED_RUNNING : db_embedded_state(cfg);
		char *log = NULL;

		db_embedded_where(cfg, NULL, &log);
		if (cfg->db_conninfo[0])
			snprintf(fix, sizeof fix, "check [database] conninfo, that the server runs and accepts us "
			    "(pg_hba.conf), and the password");
		else if (st == EMBEDDED_ABSENT)
			snprintf(fix, sizeof fix, "create it with the schema: pipeline db init (it runs initdb under "
			    "%s/pg and starts the server)", cfg->data_dir);
		else if (st == EMBEDDED_STOPPED)
			snprintf(fix, sizeof fix, "start it: pipeline db start (its log: %s)", log);
		else
			snprintf(fix, sizeof fix, "run: pipeline db init (creates the database and the role %s); the "
			    "server's log: %s", cfg->nightly_role, log);
		free(log);
		report(dr, 'f', "database", fix, "%s", perr_detail());
		return;
	}
	if ((e = db_schema_version(db, &version)) != PERR_OK) {
		report(dr, 'f', "database", "run: pipeline db init", "connected, cannot read the schema version: %s",
		    perr_detail());
	} else if ((e = db_require_schema(db)) != PERR_OK) {
		report(dr, 'f', "database", "run: pipeline db init", "%s", perr_detail());
	} else {
		report(dr, 'o', "database", NULL, "%s, server %d, schema at version %d",
		    cfg->db_conninfo[0] ? "connected" : "embedded cluster under data_dir/pg", PQserverVersion(db),
		    version);
		check_nightly_role(dr, cfg, db);
	}
	PQfinish(db);
}

static void
check_notify(struct doctor *dr, const struct config *cfg)
{
	if (cfg->notify_command && *cfg->notify_command) {
		char prog[1024];
		size_t n = strcspn(cfg->notify_command, " \t");
		bool found = false;

		snprintf(prog, sizeof prog, "%.*s", (int)(n < sizeof prog ? n : sizeof prog - 1), cfg->notify_command);
		if (strchr(prog, '/'))
			found = access(prog, X_OK) == 0;
		else {
			const char *path = getenv("PATH");
			char *copy = xstrdup(path ? path : "/usr/bin:/bin"), *dir, *save = NULL;

			for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
				char *full = xasprintf("%s/%s", dir, prog);

				found = access(full, X_OK) == 0;
				free(full);
			}
			free(copy);
		}
		if (!found)
			report(dr, 'f', "notify", "install a mail transfer agent providing sendmail (e.g. msmtp-mta, "
			    "postfix) or set [notify] command", "command %s: program %s not found or not executable",
			    cfg->notify_command, prog);
		else
			report(dr, 'o', "notify", NULL, "command %s%s%s", cfg->notify_command,
			    cfg->notify_mail_to ? " to " : "", cfg->notify_mail_to ? cfg->notify_mail_to : "");
	}
	if (cfg->notify_webhook_url_env) {
		const char *v = getenv(cfg->notify_webhook_url_env);

		if (v == NULL || *v == '\0')
			report(dr, cfg->notify_webhook_url ? 'w' : 'f', "notify",
			    "set the variable in the service's environment (EnvironmentFile=)",
			    "webhook_url_env names $%s, which is not set", cfg->notify_webhook_url_env);
		else if (strncmp(v, "https://", 8) && strncmp(v, "http://", 7))
			report(dr, 'f', "notify", "the variable must hold an http(s):// URL",
			    "$%s is not an http(s) URL", cfg->notify_webhook_url_env);
		else
			report(dr, 'o', "notify", NULL, "webhook from $%s (URL not shown: it may hold a token)",
			    cfg->notify_webhook_url_env);
	} else if (cfg->notify_webhook_url)
		report(dr, 'o', "notify", NULL, "webhook configured (URL not shown: it may hold a token)");
	if (!(cfg->notify_command && *cfg->notify_command) && !cfg->notify_webhook_url && !cfg->notify_webhook_url_env)
		report(dr, 'w', "notify", "set [notify] mail_to and/or webhook_url (docs/operations.md)",
		    "no notification channel: failures will only be seen in the logs");
	if (cfg->notify_cut_off_min < 0)
		report(dr, 'w', "notify", NULL, "no cut_off: a missing statement (exit 3) notifies at once and the "
		    "nightly wrapper does not retry");
	else
		report(dr, 'o', "notify", NULL, "cut_off %02d:%02d %s on the day after the business date",
		    cfg->notify_cut_off_min / 60, cfg->notify_cut_off_min % 60, cfg->timezone);
}

static void
check_housekeep(struct doctor *dr, const struct config *cfg)
{
	struct stat a, d;
	char *p;

	if (cfg->housekeep_keep_days == 0) {
		report(dr, 'w', "housekeep", NULL, "keep_days = 0: retention is off, the inbox and reports grow forever");
		return;
	}
	if (!cfg->housekeep_remove) {
		/* archiving is a rename: archive_dir must be on the same file system as data_dir */
		p = xstrdup(cfg->housekeep_archive_dir);
		while (stat(p, &a) != 0 && strrchr(p, '/') && strrchr(p, '/') != p)
			*strrchr(p, '/') = '\0';
		if (stat(p, &a) == 0 && stat(cfg->data_dir, &d) == 0 && a.st_dev != d.st_dev) {
			report(dr, 'f', "housekeep", "put archive_dir on the file system of data_dir, or set action = remove",
			    "archive_dir %s is on another file system than data_dir %s", cfg->housekeep_archive_dir,
			    cfg->data_dir);
			free(p);
			return;
		}
		free(p);
	}
	report(dr, 'o', "housekeep", NULL, "keep %d days, then %s%s", cfg->housekeep_keep_days,
	    cfg->housekeep_remove ? "remove" : "archive to ", cfg->housekeep_remove ? "" : cfg->housekeep_archive_dir);
}

static void
usage_doctor(FILE *fp)
{
	fprintf(fp,
	    "usage: pipeline doctor [--offline]\n\n"
	    "Checks the configuration, key and known_hosts files, directories, database and schema,\n"
	    "notification settings and (unless --offline) that every source and outbound server can be\n"
	    "reached with its host key verified. Prints what is wrong and how to fix it.\n"
	    "Exit 0: no problem found (warnings allowed); 1: at least one problem; 2: usage.\n");
}

int
cmd_doctor(int argc, char **argv, const char *config_path)
{
	static const struct option opts[] = {
		{ "offline", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct doctor dr = { 0, 0 };
	struct config *cfg = NULL;
	bool offline = false;
	struct stat st;
	size_t i;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': offline = true; break;
		case 'h': usage_doctor(stdout); return 0;
		default: usage_doctor(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage_doctor(stderr);
		return 2;
	}
	{
		curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);

		report(&dr, 'o', "versions", NULL, "pipeline %s, libssh2 %s (built with %s), libpq %d, libcurl %s",
		    PIPELINE_VERSION, libssh2_version(0), LIBSSH2_VERSION, PQlibVersion(), cv ? cv->version : "?");
	}
	check_libssh2_build(&dr);
	if (config_load(config_path, &cfg) != PERR_OK) {
		report(&dr, 'f', "config", "correct the line named; docs/configuration.md documents every key", "%s",
		    perr_detail());
		goto out;
	}
	if (stat(cfg->path, &st) == 0 && (st.st_mode & 002)) {
		char fix[1024];

		snprintf(fix, sizeof fix, "chmod o-w %s", cfg->path);
		report(&dr, 'f', "config", fix, "%s is writable by others (mode %03o)", cfg->path,
		    (unsigned)(st.st_mode & 0777));
	} else
		report(&dr, 'o', "config", NULL, "%s (sha256 %.12s), %zu source(s), time zone %s", cfg->path,
		    cfg->digest, cfg->n_sources, cfg->timezone);
	/* What every other command refuses to start over (src/trust.h), listed in full here. */
	if (trust_check_all(cfg, report_trust, &dr) == 0)
		report(&dr, 'o', "trust", NULL, "the configuration, known_hosts, key files, password file, "
		    "formats_dir and layouts are owned by root or us and writable by nobody else");
	check_dir(&dr, "data_dir", cfg->data_dir, false);
	check_dir(&dr, "report", cfg->report_dir, false);
	check_dir(&dr, "formats", cfg->formats_dir, true);
	for (i = 0; i < cfg->n_sources; i++)
		check_source_static(&dr, cfg, &cfg->sources[i]);
	for (i = 0; i < cfg->n_sources; i++) {
		char what[80];

		snprintf(what, sizeof what, "source.%s", cfg->sources[i].name);
		check_endpoint_files(&dr, what, &cfg->sources[i].ep);
	}
	if (cfg->have_payments_out) {
		char *xsd = pain001_schema_path(cfg->formats_dir);

		check_endpoint_files(&dr, "payments", &cfg->payments_out);
		if (access(xsd, R_OK) == 0)
			report(&dr, 'o', "schema", NULL, "%s", xsd);
		else
			report(&dr, 'f', "schema", "ship formats/schemas/pain.001.001.03.xsd under formats_dir (make install "
			    "does): every payment file is validated against it before upload", "%s not readable", xsd);
		free(xsd);
	}
	if (cfg->have_issuance_out)
		check_endpoint_files(&dr, "issuance", &cfg->issuance_out);
	check_database(&dr, cfg);
	check_notify(&dr, cfg);
	check_housekeep(&dr, cfg);
	if (offline)
		report(&dr, 'w', "network", NULL, "--offline: servers not contacted");
	else {
		for (i = 0; i < cfg->n_sources; i++) {
			char what[80];

			snprintf(what, sizeof what, "source.%s", cfg->sources[i].name);
			check_reachable(&dr, what, &cfg->sources[i].ep);
		}
		if (cfg->have_payments_out)
			check_reachable(&dr, "payments", &cfg->payments_out);
		if (cfg->have_issuance_out)
			check_reachable(&dr, "issuance", &cfg->issuance_out);
	}
out:
	printf("\n%d problem%s, %d warning%s\n", dr.problems, dr.problems == 1 ? "" : "s", dr.warnings,
	    dr.warnings == 1 ? "" : "s");
	config_free(cfg);
	return dr.problems ? 1 : 0;
}
