/*
 * db.c - PostgreSQL: the embedded cluster, connections, migrations, the run lock, libpq wrappers.
 *
 * The embedded cluster lives under <data_dir>/pg (data/, postgres.log). It listens on no TCP port
 * at all, only on a Unix socket in a short private directory under /tmp (embedded_paths). PostgreSQL
 * refuses to run as root, so when we are root the server programs run as the `postgres` user
 * through runuser(1) and the directory belongs to that user.
 */
#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "childenv.h"
#include "migrations.h"
#include "signals.h"
#include "util.h"

#define LOCK_KEY 1885958245L   /* "pipe": the pipeline's advisory lock, one per database */
#define EMBEDDED_DB "pipeline"

/*
 * Runs argv (as `postgres` via runuser when we are root), output appended to logpath, with the
 * minimal environment (src/childenv.h): the postmaster keeps its environment for its whole life,
 * readable in /proc by the postgres user, so none of our secrets may reach it.
 */
static int
run_program(const char *const *argv, const char *logpath)
{
	pid_t pid;
	int status;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		const char *args[32];
		int n = 0, i, fd;

		if (geteuid() == 0) {
			args[n++] = "runuser";
			args[n++] = "-u";
			args[n++] = "postgres";
			args[n++] = "--";
		}
		for (i = 0; argv[i] && n < 31; i++)
			args[n++] = argv[i];
		args[n] = NULL;
		fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0) {
			dup2(fd, 0);
			close(fd);
		}
		child_env_minimal();
		execvp(args[0], (char *const *)args);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Finds the PostgreSQL server programs: [database] pg_bindir, `pg_config --bindir`, or a default. */
static char *
find_bindir(const struct config *cfg)
{
	char buf[512], *path;
	static const char *const guesses[] = {
		"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin",
	};
	size_t i;

	if (cfg->pg_bindir && cfg->pg_bindir[0])
		return xstrdup(cfg->pg_bindir);
	for (i = 0; i < sizeof guesses / sizeof guesses[0]; i++) {
		path = xasprintf("%s/initdb", guesses[i]);
		if (access(path, X_OK) == 0) {
			free(path);
			return xstrdup(guesses[i]);
		}
		free(path);
	}
	if (child_first_line((const char *[]){ "pg_config", "--bindir", NULL }, buf, sizeof buf) == 0 && buf[0])
		return xstrdup(buf);
	return xstrdup("/usr/lib/postgresql/15/bin");
}

/*
 * Where the embedded cluster's pieces are. The socket is not under data_dir: a Unix socket path
 * is limited to 107 bytes, and data_dir may be deep (a checkout under a long path). It lives in
 * a short private directory, /tmp/pipeline-pg-HASH, HASH the first 16 hex digits of the SHA-256 of
 * the absolute data directory, so each cluster has its own and nothing depends on where it is.
 */
struct embedded {
	char *pg, *data, *log, *lock, *version, *sockdir;
};

static void
embedded_paths(const struct config *cfg, struct embedded *em)
{
	char hex[65];

	em->pg = xasprintf("%s/pg", cfg->data_dir);
	em->data = xasprintf("%s/data", em->pg);
	em->log = xasprintf("%s/postgres.log", em->pg);
	em->lock = xasprintf("%s/.lock", em->pg);
	em->version = xasprintf("%s/PG_VERSION", em->data);
	sha256_hex(em->data, strlen(em->data), hex);
	em->sockdir = xasprintf("/tmp/pipeline-pg-%.16s", hex);
}

static void
embedded_free(struct embedded *em)
{
	free(em->pg); free(em->data); free(em->log); free(em->lock); free(em->version); free(em->sockdir);
}

/* The uid the server runs as: postgres when we are root, else ourselves. */
static enum perr
server_uid(uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	if (geteuid() != 0) {
		*uid = geteuid();
		*gid = getegid();
		return PERR_OK;
	}
	if ((pw = getpwnam("postgres")) == NULL)
		return perr_set(PERR_DB, "running as root needs the `postgres` system user "
		    "(apt-get install postgresql) to run the embedded cluster");
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return PERR_OK;
}

/* As root, gives path to the postgres user the server runs as. */
static enum perr
chown_postgres(const char *path)
{
	uid_t uid = 0;
	gid_t gid = 0;
	enum perr e;

	if (geteuid() != 0)
		return PERR_OK;
	if ((e = server_uid(&uid, &gid)) != PERR_OK)
		return e;
	if (chown(path, uid, gid) != 0)
		return perr_set(PERR_IO, "%s: chown postgres: %s", path, strerror(errno));
	return PERR_OK;
}

/*
 * Creates the socket directory 0700 for the server's user, or checks the one there: a directory
 * (not a link) owned by that user and private. Anything else in /tmp under that name is someone
 * else's and refused.
 */
static enum perr
socket_dir_make(const char *dir)
{
	struct stat st;
	uid_t uid = 0;
	gid_t gid = 0;
	enum perr e;

	if ((e = server_uid(&uid, &gid)) != PERR_OK)
		return e;
	if (mkdir(dir, 0700) == 0) {
		if (chown(dir, uid, gid) != 0)
			return perr_set(PERR_IO, "%s: chown: %s", dir, strerror(errno));
	} else if (errno != EEXIST)
		return perr_set(PERR_IO, "%s: cannot create: %s", dir, strerror(errno));
	if (lstat(dir, &st) != 0)
		return perr_set(PERR_IO, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 077) != 0)
		return perr_set(PERR_DB, "%s (the embedded database's socket directory) is not a private "
		    "directory of uid %ld (mode 0700): remove it and retry", dir, (long)uid);
	return PERR_OK;
}

/*
 * The socket directory of the running server, from line 5 of its postmaster.pid (one started by an
 * older pipeline may use another than em->sockdir), else em->sockdir. New string, caller frees.
 */
static char *
live_sockdir(const struct embedded *em)
{
	char *pidfile = xasprintf("%s/postmaster.pid", em->data), *text = NULL, *p, *dir = NULL;
	size_t len;
	int line;

	if (read_file(pidfile, &text, &len, 4096) == PERR_OK) {
		for (p = text, line = 1; p && line < 5; line++)
			if ((p = strchr(p, '\n')) != NULL)
				p++;
		if (p && *p == '/')
			dir = xstrndup(p, strcspn(p, "\n"));
	}
	perr_clear();
	free(text);
	free(pidfile);
	return dir ? dir : xstrdup(em->sockdir);
}

enum embedded_state
db_embedded_state(const struct config *cfg)
{
	struct embedded em;
	char *bindir, *pg_ctl;
	enum embedded_state st;

	embedded_paths(cfg, &em);
	if (access(em.version, F_OK) != 0) {
		embedded_free(&em);
		return EMBEDDED_ABSENT;
	}
	bindir = find_bindir(cfg);
	pg_ctl = xasprintf("%s/pg_ctl", bindir);
	/*
	 * Asked of pg_ctl, not read from the socket file: a machine that lost power keeps the socket
	 * file, and the server starts over a stale one by itself.
	 */
	st = run_program((const char *[]){ pg_ctl, "-D", em.data, "status", NULL }, "/dev/null") == 0
	    ? EMBEDDED_RUNNING : EMBEDDED_STOPPED;
	free(bindir);
	free(pg_ctl);
	embedded_free(&em);
	return st;
}

void
db_embedded_where(const struct config *cfg, char **sockdir, char **log)
{
	struct embedded em;

	embedded_paths(cfg, &em);
	if (sockdir)
		*sockdir = live_sockdir(&em);
	if (log)
		*log = xstrdup(em.log);
	embedded_free(&em);
}

/* initdb, when the cluster has no PG_VERSION yet. */
static enum perr
embedded_initdb(const struct embedded *em, const char *bindir)
{
	char *initdb = xasprintf("%s/initdb", bindir);
	const char *argv[] = { initdb, "-D", em->data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
	    "--no-locale", "--no-sync", NULL };
	enum perr e = PERR_OK;

	if (access(em->version, F_OK) != 0 && run_program(argv, em->log) != 0)
		e = perr_set(PERR_DB, "initdb of the embedded cluster in %s failed; see %s%s", em->data, em->log,
		    geteuid() == 0 ? " (the postgres user must be able to reach it: every directory "
		    "above it needs o+x)" : "");
	free(initdb);
	return e;
}

enum perr
db_embedded_start(const struct config *cfg, char **socket_dir_out)
{
	struct embedded em;
	char *bindir = find_bindir(cfg), *pg_ctl = xasprintf("%s/pg_ctl", bindir), *opts = NULL;
	enum perr e = PERR_OK;
	int lockfd = -1;

	embedded_paths(cfg, &em);
	/* data_dir must be searchable by the postgres user the server runs as; pg/ itself is private. */
	if ((e = mkdir_p(cfg->data_dir, 0755)) != PERR_OK || (e = mkdir_p(em.pg, 0700)) != PERR_OK
	    || (e = chown_postgres(em.pg)) != PERR_OK)
		goto out;
	/* The server appends to the log too, so it must belong to the user the server runs as. */
	if ((lockfd = open(em.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0) {
		e = perr_set(PERR_IO, "%s: cannot create: %s", em.log, strerror(errno));
		goto out;
	}
	close(lockfd);
	lockfd = -1;
	if ((e = chown_postgres(em.log)) != PERR_OK)
		goto out;
	/* Serialised by a file lock: two first commands at once create and start it once. */
	if ((lockfd = open(em.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 || flock(lockfd, LOCK_EX) != 0) {
		e = perr_set(PERR_IO, "%s: cannot lock: %s", em.lock, strerror(errno));
		goto out;
	}
	if ((e = embedded_initdb(&em, bindir)) != PERR_OK)
		goto out;
	if (run_program((const char *[]){ pg_ctl, "-D", em.data, "status", NULL }, "/dev/null") != 0) {
		const char *argv[] = { pg_ctl, "-D", em.data, "-l", em.log, "-w", "-t", "60", "-o", NULL, "start", NULL };

		if ((e = socket_dir_make(em.sockdir)) != PERR_OK)
			goto out;
		opts = xasprintf("-c listen_addresses='' -k %s -c unix_socket_permissions=0700 "
		    "-c fsync=on -c max_connections=50", em.sockdir);
		argv[9] = opts;
		if (run_program(argv, em.log) != 0) {
			e = perr_set(PERR_DB, "could not start the embedded PostgreSQL in %s; see %s", em.data, em.log);
			goto out;
		}
	}
	if (socket_dir_out)
		*socket_dir_out = live_sockdir(&em);
out:
	if (lockfd >= 0)
		close(lockfd);
	embedded_free(&em);
	free(bindir); free(pg_ctl); free(opts);
	return e;
}

enum perr
db_embedded_stop(const struct config *cfg)
{
	struct embedded em;
	char *bindir = find_bindir(cfg), *pg_ctl = xasprintf("%s/pg_ctl", bindir);
	enum perr e = PERR_OK;

	embedded_paths(cfg, &em);
	if (run_program((const char *[]){ pg_ctl, "-D", em.data, "status", NULL }, "/dev/null") == 0
	    && run_program((const char *[]){ pg_ctl, "-D", em.data, "-m", "fast", "-w", "-t", "60", "stop", NULL },
	    em.log) != 0)
		e = perr_set(PERR_DB, "could not stop the embedded PostgreSQL in %s; see %s", em.data, em.log);
	embedded_free(&em);
	free(bindir);
	free(pg_ctl);
	return e;
}

static enum perr
conn_error(PGconn *c, const char *what)
{
	char msg[512];

	snprintf(msg, sizeof msg, "%s", c ? PQerrorMessage(c) : "out of memory");
	msg[strcspn(msg, "\n")] = '\0';
	return perr_set(PERR_DB, "%s: %s", what, msg);
}

static PGconn *
connect_kv(const char *conninfo, const char *appname)
{
	const char *keys[] = { "dbname", "application_name", "fallback_application_name", NULL };
	const char *vals[] = { conninfo, appname, "pipeline", NULL };

	/* expand_dbname=1: the first dbname is parsed as a connection string */
	return PQconnectdbParams(keys, vals, 1);
}

static void
notice_quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;  /* NOTICEs (e.g. "relation already exists, skipping") are not for the operator */
}

/* Connects with `conninfo`; on failure PERR_DB "what: libpq's reason". Caller PQfinishes *out. */
static enum perr
open_conn(const char *conninfo, const char *appname, const char *what, PGconn **out)
{
	PGconn *c = connect_kv(conninfo, appname);
	enum perr e;

	if (PQstatus(c) != CONNECTION_OK) {
		e = conn_error(c, what);
		PQfinish(c);
		return e;
	}
	PQsetNoticeProcessor(c, notice_quiet, NULL);
	*out = c;
	return PERR_OK;
}

/*
 * First use of the embedded cluster: creates the database through the maintenance database. Two
 * first uses at once (two `db init`s) are serialised by a file lock under data_dir/pg: concurrent
 * CREATE DATABASEs of one name fail with 23505 on pg_database rather than 42P04; and either code
 * means another process made it, which is fine.
 */
static enum perr
create_embedded_db(const struct config *cfg, const char *sockdir, const char *appname)
{
	char *admin = xasprintf("host=%s user=postgres dbname=postgres", sockdir);
	char *lockp = xasprintf("%s/pg/.createdb.lock", cfg->data_dir);
	PGconn *a = NULL;
	PGresult *r;
	int lockfd;
	enum perr e;

	if ((lockfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 || flock(lockfd, LOCK_EX) != 0) {
		e = perr_set(PERR_IO, "%s: cannot lock: %s", lockp, strerror(errno));
		goto out;
	}
	if ((e = open_conn(admin, appname, "cannot connect to the embedded database", &a)) != PERR_OK)
		goto out;
	r = PQexec(a, "CREATE DATABASE " EMBEDDED_DB);
	/* 42P04 duplicate_database, 23505 unique_violation: a concurrent first run created it; fine. */
	if (PQresultStatus(r) != PGRES_COMMAND_OK && strcmp(db_sqlstate(r), "42P04") != 0
	    && strcmp(db_sqlstate(r), "23505") != 0)
		e = conn_error(a, "cannot create the embedded database");
	PQclear(r);
out:
	PQfinish(a);
	if (lockfd >= 0)
		close(lockfd);
	free(admin);
	free(lockp);
	return e;
}

/* SET ROLE through set_config, so that the role name is a parameter. */
enum perr
db_set_role(PGconn *db, const char *role)
{
	const char *params[1] = { role };
	PGresult *res = db_query(db, PGRES_TUPLES_OK, "SELECT set_config('role', $1, false)", 1, params);

	if (res == NULL)
		return PERR_DB;
	PQclear(res);
	return PERR_OK;
}

enum perr
db_become_nightly(PGconn *db, const struct config *cfg)
{
	if (db_set_role(db, cfg->nightly_role) != PERR_OK)
		return perr_set(PERR_DB, "cannot act as the database role %s (%s): run `pipeline db init`, "
		    "which creates it, or ask the database administrator to GRANT %s TO the login user",
		    cfg->nightly_role, perr_detail(), cfg->nightly_role);
	return PERR_OK;
}

enum perr
db_connect(const struct config *cfg, const char *appname, enum db_as as, PGconn **out)
{
	char *sockdir = NULL, *conninfo;
	PGconn *c = NULL;
	enum perr e;

	if (cfg->db_password_file && getenv("PGPASSWORD") == NULL) {
		char *pw;
		size_t len;

		if ((e = read_file(cfg->db_password_file, &pw, &len, 4096)) != PERR_OK)
			return e;
		pw[strcspn(pw, "\r\n")] = '\0';
		setenv("PGPASSWORD", pw, 1);
		free(pw);
	}
	if (cfg->db_conninfo[0] != '\0') {
		if ((e = open_conn(cfg->db_conninfo, appname, "cannot connect to the database", &c)) != PERR_OK)
			return e;
		if (as != DB_AS_ADMIN && (e = db_become_nightly(c, cfg)) != PERR_OK) {
			PQfinish(c);
			return e;
		}
		*out = c;
		return PERR_OK;
	}
	if (as == DB_AS_NIGHTLY_NO_START) {
		enum embedded_state st = db_embedded_state(cfg);

		if (st != EMBEDDED_RUNNING)
			return perr_set(PERR_DB, "the embedded PostgreSQL under %s/pg %s; %s", cfg->data_dir,
			    st == EMBEDDED_ABSENT ? "does not exist yet" : "is not running",
			    st == EMBEDDED_ABSENT ? "create it and the schema: pipeline db init"
			    : "start it: pipeline db start");
		db_embedded_where(cfg, &sockdir, NULL);
		as = DB_AS_NIGHTLY;
	} else if ((e = db_embedded_start(cfg, &sockdir)) != PERR_OK)
		return e;
	if (as == DB_AS_NIGHTLY) {
		/* The nightly logs in as its role: it cannot RESET ROLE to anything more powerful. */
		conninfo = xasprintf("host=%s user=%s dbname=" EMBEDDED_DB, sockdir, cfg->nightly_role);
		e = open_conn(conninfo, appname, "cannot connect to the embedded database", &c);
		if (e != PERR_OK)
			perr_set(e, "%s (has `pipeline db init` been run? it creates the database and the role %s)",
			    perr_detail(), cfg->nightly_role);
	} else {
		conninfo = xasprintf("host=%s user=postgres dbname=" EMBEDDED_DB, sockdir);
		if (open_conn(conninfo, appname, "cannot connect to the embedded database", &c) != PERR_OK
		    && (e = create_embedded_db(cfg, sockdir, appname)) == PERR_OK)
			e = open_conn(conninfo, appname, "cannot connect to the embedded database", &c);
	}
	free(conninfo);
	free(sockdir);
	if (e == PERR_OK)
		*out = c;
	return e;
}

const char *
db_sqlstate(const PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return s ? s : "";
}

static enum perr
result_error(PGconn *db, PGresult *res, const char *sql)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	char first[96];

	if (primary == NULL) {
		const char *m = PQerrorMessage(db);

		primary = (m && *m) ? m : "unexpected result status";
	}
	snprintf(first, sizeof first, "%s", sql);
	first[strcspn(first, "\n")] = '\0';
	if (db_sqlstate(res)[0] == '\0')        /* no server answer at all: the connection is gone */
		return perr_set(PERR_DB, "database: %.*s in: %s", (int)strcspn(primary, "\n"), primary, first);
	return perr_set(PERR_DB, "database: %.*s%s%s (SQLSTATE %s) in: %s", (int)strcspn(primary, "\n"),
	    primary, detail ? "; " : "", detail ? detail : "", db_sqlstate(res), first);
}

PGresult *
db_query(PGconn *db, ExecStatusType expect, const char *sql, int nparams, const char *const *params)
{
	PGresult *res;

	if (stop_check() != PERR_OK)    /* stopping (signals.h): a stage starts no new statement */
		return NULL;
	res = PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != expect) {
		result_error(db, res, sql);
		PQclear(res);
		return NULL;
	}
	return res;
}

enum perr
db_command(PGconn *db, const char *sql, int nparams, const char *const *params)
{
	PGresult *res = db_query(db, PGRES_COMMAND_OK, sql, nparams, params);

	if (res == NULL)
		return PERR_DB;         /* a SELECT returns tuples, not COMMAND_OK: use db_query for those */
	PQclear(res);
	return PERR_OK;
}

enum perr
db_call(PGconn *db, const char *sql, int nparams, const char *const *params)
{
	PGresult *res = db_query(db, PGRES_TUPLES_OK, sql, nparams, params);

	if (res == NULL)
		return PERR_DB;
	PQclear(res);
	return PERR_OK;
}

enum perr
db_exec(PGconn *db, const char *sql)
{
	PGresult *res;
	ExecStatusType st;

	if (stop_check() != PERR_OK)    /* stopping: no BEGIN, COMMIT or anything else in a stage */
		return PERR_INTERRUPTED;
	res = PQexec(db, sql);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		enum perr e = result_error(db, res, sql);

		PQclear(res);
		return e;
	}
	PQclear(res);
	return PERR_OK;
}

enum perr db_begin(PGconn *db) { return db_exec(db, "BEGIN"); }
enum perr db_commit(PGconn *db) { return db_exec(db, "COMMIT"); }

void
db_rollback(PGconn *db)
{
	PGresult *res = PQexec(db, "ROLLBACK");

	PQclear(res);
}

enum perr
db_copy_begin(PGconn *db, const char *copy_sql)
{
	PGresult *res;

	if (stop_check() != PERR_OK)
		return PERR_INTERRUPTED;
	res = PQexec(db, copy_sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		enum perr e = result_error(db, res, copy_sql);

		PQclear(res);
		return e;
	}
	PQclear(res);
	return PERR_OK;
}

enum perr
db_copy_put(PGconn *db, const char *buf, size_t len)
{
	/* A loader's progress point: after a stop the caller aborts the COPY and rolls back. */
	if (stop_check() != PERR_OK)
		return PERR_INTERRUPTED;
	if (len > 0 && PQputCopyData(db, buf, (int)len) != 1)
		return conn_error(db, "COPY failed");
	return PERR_OK;
}

enum perr
db_copy_end(PGconn *db)
{
	PGresult *res;
	enum perr e = PERR_OK;

	if (PQputCopyEnd(db, NULL) != 1)
		return conn_error(db, "COPY end failed");
	while ((res = PQgetResult(db)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && e == PERR_OK)
			e = result_error(db, res, "COPY");
		PQclear(res);
	}
	return e;
}

enum perr
db_schema_version(PGconn *db, int *version_out)
{
	PGresult *res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL);

	if (res == NULL) {
		/* 42P01 undefined_table: nothing applied yet */
		*version_out = 0;
		if (strstr(perr_detail(), "42P01") != NULL) {
			perr_clear();
			return PERR_OK;
		}
		return PERR_DB;
	}
	*version_out = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return PERR_OK;
}

enum perr
db_require_schema(PGconn *db)
{
	int v;
	enum perr e = db_schema_version(db, &v);

	if (e != PERR_OK)
		return e;
	if (n_migrations > 0 && v < migrations[n_migrations - 1].number)
		return perr_set(PERR_DB, "the database schema is at version %d, this program needs %d; "
		    "run `pipeline db init` to create or migrate it", v, migrations[n_migrations - 1].number);
	if (n_migrations > 0 && v > migrations[n_migrations - 1].number)
		return perr_set(PERR_DB, "the database schema (version %d) is newer than this program "
		    "(version %d): upgrade the program", v, migrations[n_migrations - 1].number);
	return PERR_OK;
}

enum perr
db_migrate(PGconn *db, int *applied_out)
{
	int i, applied = 0, version;
	enum perr e;

	if ((e = db_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " version integer PRIMARY KEY, name text NOT NULL,"
	    " applied_at timestamptz NOT NULL DEFAULT now())")) != PERR_OK)
		return e;
	for (i = 0; i < n_migrations; i++) {
		char num[16];
		const char *params[2];
		PGresult *res;

		if ((e = db_begin(db)) != PERR_OK)
			return e;
		/* Serialise concurrent `db init`s; released at commit. */
		if ((e = db_exec(db, "SELECT pg_advisory_xact_lock(1885958246)")) != PERR_OK)
			goto fail;
		snprintf(num, sizeof num, "%d", migrations[i].number);
		params[0] = num;
		res = db_query(db, PGRES_TUPLES_OK, "SELECT 1 FROM schema_migrations WHERE version = $1",
		    1, params);
		if (res == NULL) {
			e = PERR_DB;
			goto fail;
		}
		version = PQntuples(res);
		PQclear(res);
		if (version == 0) {
			if ((e = db_exec(db, migrations[i].sql)) != PERR_OK) {
				perr_set(PERR_DB, "migration %s failed: %s", migrations[i].name, perr_detail());
				goto fail;
			}
			params[1] = migrations[i].name;
			if ((e = db_command(db, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
			    2, params)) != PERR_OK)
				goto fail;
			applied++;
		}
		if ((e = db_commit(db)) != PERR_OK)
			return e;
	}
	if (applied_out)
		*applied_out = applied;
	return PERR_OK;
fail:
	db_rollback(db);
	return e;
}

enum perr
db_lock_acquire(PGconn *db)
{
	PGresult *res;
	char key[24];
	const char *params[1];
	bool got;

	snprintf(key, sizeof key, "%ld", LOCK_KEY);
	params[0] = key;
	res = db_query(db, PGRES_TUPLES_OK, "SELECT pg_try_advisory_lock($1::bigint)", 1, params);
	if (res == NULL)
		return PERR_DB;
	got = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (got)
		return PERR_OK;
	res = db_query(db, PGRES_TUPLES_OK,
	    "SELECT a.pid, coalesce(a.application_name, ''), "
	    /* NULL when the holder logged in as another user than ours (pg_stat_activity hides it) */
	    "       coalesce(', connected since ' || to_char(a.backend_start AT TIME ZONE 'UTC',"
	    "                'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '') "
	    "  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
	    " WHERE l.locktype = 'advisory' AND l.granted "
	    "   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
	    "   AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint", 1, params);
	if (res != NULL && PQntuples(res) > 0) {
		perr_set(PERR_LOCKED, "another pipeline run holds the lock: %s (database backend pid %s%s); "
		    "wait for it to finish, or stop it if it is stuck",
		    PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 2));
	} else
		perr_set(PERR_LOCKED, "another pipeline run holds the lock");
	PQclear(res);
	return PERR_LOCKED;
}

void
db_lock_release(PGconn *db)
{
	PGresult *res = PQexec(db, "SELECT pg_advisory_unlock_all()");

	PQclear(res);
}

int64_t
db_get_i64(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return 0;
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}
