/*
 * db.h - PostgreSQL access: connecting (or starting the embedded cluster), migrations, the run lock,
 * and thin checked wrappers over libpq.
 *
 * Rules: every value goes through parameters ($1..) or COPY, never pasted into SQL text; every
 * PGresult is checked against the exact status expected and PQclear'ed on every path; decisions
 * about errors branch on SQLSTATE, not on message text.
 *
 * Stop (src/signals.h): once SIGTERM/SIGINT arrived while a stage runs, db_query, db_command,
 * db_exec (so BEGIN and COMMIT too), db_copy_begin and db_copy_put send nothing and fail with
 * PERR_INTERRUPTED; db_copy_end, db_rollback and the lock release still work (the clean-up path).
 */
#ifndef PIPELINE_DB_H
#define PIPELINE_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "errors.h"

/* Whom a connection acts as (src/db_roles.c, sql/privileges.sql). */
enum db_as {
	DB_AS_NIGHTLY,  /* every command but `db init`: the nightly role, no UPDATE/DELETE of money */
	DB_AS_ADMIN,    /* `db init`: the login user itself, until db_init_schema becomes the owner */
	DB_AS_NIGHTLY_NO_START, /* doctor: as the nightly, but never create or start the embedded cluster */
};

/*
 * Connects to the configured database as `as`. With an empty conninfo, creates (initdb) and starts
 * the embedded cluster under <data_dir>/pg first if needed; there the nightly logs in as the
 * nightly role and `db init` as the cluster's superuser (creating the database on first use).
 * With a conninfo, the login user SETs ROLE to the nightly role. `appname` becomes
 * application_name, so a lock holder can be named. On success *out is a connection owned by the
 * caller (PQfinish).
 */
enum perr db_connect(const struct config *cfg, const char *appname, enum db_as as, PGconn **out);

/*
 * The embedded cluster (an empty conninfo): `pipeline db start|stop|status`, and doctor, which
 * looks without starting anything. The state is asked of pg_ctl.
 */
enum embedded_state { EMBEDDED_ABSENT, EMBEDDED_STOPPED, EMBEDDED_RUNNING };
enum embedded_state db_embedded_state(const struct config *cfg);
/* Creates (initdb) and starts it if needed; *socket_dir_out (may be NULL) owned by the caller. */
enum perr db_embedded_start(const struct config *cfg, char **socket_dir_out);
/* Stops it (fast: sessions are ended) if it runs; nothing if it does not. */
enum perr db_embedded_stop(const struct config *cfg);
/* Its socket directory and server log (either may be NULL); new strings owned by the caller. */
void db_embedded_where(const struct config *cfg, char **sockdir, char **log);

/* Acts as `role` from now on in this session (SET ROLE). */
enum perr db_set_role(PGconn *db, const char *role);

/* SET ROLE nightly_role, with a hint to run `db init` if that role does not exist. */
enum perr db_become_nightly(PGconn *db, const struct config *cfg);

/*
 * `db init` on a DB_AS_ADMIN connection: creates the owner and nightly roles if needed, gives the
 * schema to the owner role, then as the owner applies the migrations not yet applied and re-applies
 * sql/privileges.sql. *applied_out = the number of migrations applied.
 */
enum perr db_init_schema(PGconn *db, const struct config *cfg, int *applied_out);

/* Applies the numbered migrations not yet recorded in schema_migrations, each in its own transaction. */
enum perr db_migrate(PGconn *db, int *applied_out);
/* Highest applied migration number, or 0. */
enum perr db_schema_version(PGconn *db, int *version_out);
/* Fails with PERR_DB and a hint to run `pipeline db init` unless every migration is applied. */
enum perr db_require_schema(PGconn *db);

/* Runs a command without parameters (BEGIN, COMMIT, ...). */
enum perr db_exec(PGconn *db, const char *sql);

/*
 * Runs a parameterised statement (text parameters, text results; NULL params are SQL NULL) and
 * checks the result status equals `expect`. On success returns the result (caller PQclears);
 * on failure returns NULL with PERR_DB recorded in perr_detail (primary message, detail, SQLSTATE).
 */
PGresult *db_query(PGconn *db, ExecStatusType expect, const char *sql, int nparams,
    const char *const *params);

/* Same as db_query for statements whose result is not needed. */
enum perr db_command(PGconn *db, const char *sql, int nparams, const char *const *params);

/* Same for `SELECT f(...)` of a function whose result is not needed (the history replace paths). */
enum perr db_call(PGconn *db, const char *sql, int nparams, const char *const *params);

/* BEGIN / COMMIT / ROLLBACK (rollback ignores errors: it is the cleanup path). */
enum perr db_begin(PGconn *db);
enum perr db_commit(PGconn *db);
void db_rollback(PGconn *db);

/*
 * COPY FROM STDIN helpers: db_copy_begin runs the COPY ... FROM STDIN statement, db_copy_put
 * sends a chunk of text-format rows, db_copy_end ends it and drains the result.
 * db_copy_field appends one field to a buffer escaping it for COPY text format (\N for NULL).
 */
enum perr db_copy_begin(PGconn *db, const char *copy_sql);
enum perr db_copy_put(PGconn *db, const char *buf, size_t len);
enum perr db_copy_end(PGconn *db);

/* SQLSTATE of a result ("" if none). */
const char *db_sqlstate(const PGresult *res);

/*
 * The pipeline lock (a session-level advisory lock). PERR_LOCKED if another session holds it,
 * with the holder's application_name (program, pid, command) and since when in perr_detail.
 */
enum perr db_lock_acquire(PGconn *db);
void db_lock_release(PGconn *db);

/* A value from a result as int64 (0 if NULL). */
int64_t db_get_i64(const PGresult *res, int row, int col);

#endif
