/*
 * db.c - PostgreSQL: the embedded cluster, connections, migrations, the run lock, libpq wrappers.
 *
 * The embedded cluster lives under <data_dir>/pg (data/, run/ for the Unix socket, postgres.log).
 * It listens on no TCP port at all, only on the socket in run/, which is mode 0700. PostgreSQL
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

#include "migrations.h"
#include "signals.h"
#include "util.h"

#define LOCK_KEY 1885958245L   /* "pipe": the pipeline's advisory lock, one per database */
#define EMBEDDED_DB "pipeline"

/* Runs argv (as `postgres` via runuser when we are root), output appended to logpath. */
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
	FILE *p;
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
	if ((p = popen("pg_config --bindir 2>/dev/null", "r")) != NULL) {
		if (fgets(buf, sizeof buf, p)) {
			buf[strcspn(buf, "\n")] = '\0';
			pclose(p);
			return xstrdup(buf);
		}
		pclose(p);
	}
	return xstrdup("/usr/lib/postgresql/15/bin");
}

static enum perr
chown_postgres(const char *path)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return PERR_OK;
	if ((pw = getpwnam("postgres")) == NULL)
		return perr_set(PERR_DB, "running as root needs the `postgres` system user "
		    "(apt-get install postgresql) to run the embedded cluster");
	if (chown(path, pw->pw_uid, pw->pw_gid) != 0)
		return perr_set(PERR_IO, "%s: chown postgres: %s", path, strerror(errno));
	return PERR_OK;
}

/* Creates and starts the embedded cluster if needed. Serialised by a file lock. */
static enum perr
embedded_ensure(const struct config *cfg, char **socket_dir_out)
{
	char *pg = xasprintf("%s/pg", cfg->data_dir);
	char *data = xasprintf("%s/data", pg), *run = xasprintf("%s/run", pg);
	char *log = xasprintf("%s/postgres.log", pg), *lockp = xasprintf("%s/.lock", pg);
	char *version = xasprintf("%s/PG_VERSION", data), *sock = xasprintf("%s/.s.PGSQL.5432", run);
	char *bindir = find_bindir(cfg), *initdb = xasprintf("%s/initdb", bindir);
	char *pg_ctl = xasprintf("%s/pg_ctl", bindir), *opts = NULL;
	enum perr e = PERR_OK;
	int lockfd = -1;

	if (strlen(sock) >= 100) {
		e = perr_set(PERR_CONFIG, "the embedded database socket path %s is too long for a Unix "
		    "socket; set [pipeline] data_dir to a shorter path", sock);
		goto out;
	}
	/* data_dir must be searchable by the postgres user the server runs as; pg/ itself is private. */
	if ((e = mkdir_p(cfg->data_dir, 0755)) != PERR_OK || (e = mkdir_p(pg, 0700)) != PERR_OK
	    || (e = chown_postgres(pg)) != PERR_OK)
		goto out;
	/* The server appends to the log too, so it must belong to the user the server runs as. */
	if ((lockfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0) {
		e = perr_set(PERR_IO, "%s: cannot create: %s", log, strerror(errno));
		goto out;
	}
	close(lockfd);
	lockfd = -1;
	if ((e = chown_postgres(log)) != PERR_OK)
		goto out;
	if ((lockfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 || flock(lockfd, LOCK_EX) != 0) {
		e = perr_set(PERR_IO, "%s: cannot lock: %s", lockp, strerror(errno));
		goto out;
	}
	if (access(version, F_OK) != 0) {
		const char *argv[] = { initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
		    "--no-locale", "--no-sync", NULL };

		if (run_program(argv, log) != 0) {
			e = perr_set(PERR_DB, "initdb of the embedded cluster in %s failed; see %s%s", data, log,
			    geteuid() == 0 ? " (the postgres user must be able to reach it: every directory "
			    "above it needs o+x)" : "");
			goto out;
		}
	}
	/*
	 * Running? Asked of pg_ctl, not read from the socket file: a machine that lost power keeps
	 * run/.s.PGSQL.5432 (it is not under /tmp), and the server starts over a stale one by itself.
	 */
	if (run_program((const char *[]){ pg_ctl, "-D", data, "status", NULL }, "/dev/null") != 0) {
		const char *argv[] = { pg_ctl, "-D", data, "-l", log, "-w", "-t", "60", "-o", NULL, "start", NULL };

		if (mkdir_p(run, 0700) != PERR_OK || chown_postgres(run) != PERR_OK) {
			e = perr_last();
			goto out;
		}
		opts = xasprintf("-c listen_addresses='' -k %s -c unix_socket_permissions=0700 "
		    "-c fsync=on -c max_connections=50", run);
		argv[9] = opts;
		if (run_program(argv, log) != 0) {
			e = perr_set(PERR_DB, "could not start the embedded PostgreSQL in %s; see %s", data, log);
			goto out;
		}
	}
	*socket_dir_out = xstrdup(run);
out:
	if (lockfd >= 0)
		close(lockfd);
	free(pg); free(data); free(run); free(log); free(lockp); free(version); free(sock);
	free(bindir); free(initdb); free(pg_ctl); free(opts);
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

/* First use of the embedded cluster: creates the database through the maintenance database. */
static enum perr
create_embedded_db(const char *sockdir, const char *appname)
{
	char *admin = xasprintf("host=%s user=postgres dbname=postgres", sockdir);
	PGconn *a;
	PGresult *r;
	enum perr e = open_conn(admin, appname, "cannot connect to the embedded database", &a);

	free(admin);
	if (e != PERR_OK)
		return e;
	r = PQexec(a, "CREATE DATABASE " EMBEDDED_DB);
	/* 42P04 duplicate_database: a concurrent first run created it; fine. */
	if (PQresultStatus(r) != PGRES_COMMAND_OK && strcmp(db_sqlstate(r), "42P04") != 0)
		e = conn_error(a, "cannot create the embedded database");
	PQclear(r);
	PQfinish(a);
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
		if (as == DB_AS_NIGHTLY && (e = db_become_nightly(c, cfg)) != PERR_OK) {
			PQfinish(c);
			return e;
		}
		*out = c;
		return PERR_OK;
	}
	if ((e = embedded_ensure(cfg, &sockdir)) != PERR_OK)
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
		    && (e = create_embedded_db(sockdir, appname)) == PERR_OK)
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
