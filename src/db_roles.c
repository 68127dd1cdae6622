/*
 * db_roles.c - the two database roles and `db init`.
 *
 * The schema belongs to the owner role ([database] owner_role, default pipeline_owner): `pipeline
 * db init` runs every migration as it. Every other command acts as the nightly role (nightly_role,
 * default pipeline_nightly), which holds only what sql/privileges.sql grants: it may add journal
 * entries, transfers and issuance records but never UPDATE or DELETE them, nor change the schema.
 * The triggers of sql/001 and sql/002 refuse the same changes to everybody, owner included; the
 * privileges are the second wall, and they also stop a bug in the pipeline's own SQL.
 *
 * db init, as the login user of the connection (the embedded cluster's superuser, or whoever
 * [database] conninfo logs in as):
 *   1. creates the roles if they do not exist (NOLOGIN; the nightly role may log in only on the
 *      embedded cluster, where the pipeline connects as it directly), and makes the login user a
 *      member of the owner role if it is neither a member nor a superuser;
 *   2. lets the owner role create in schema public, and hands it any object of the schema that
 *      another role owns (a database made before roles existed);
 *   3. becomes the owner role (SET ROLE), runs the migrations, re-applies sql/privileges.sql;
 *   4. adds to the currency table every currency src/money.c knows (src/currencies.inc), and fails
 *      if a currency already there has other minor units (amounts were stored against them: it is
 *      never changed behind their back).
 * Concurrent db inits are serialised: the whole of it runs under a session-level advisory lock
 * (the migrations' key, which each migration's transaction takes again), so a second waits and
 * then finds the roles, the grants and the migrations done; two creating the same role at once
 * from programs of different versions on a shared server is still not an error.
 */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrations.h"
#include "money.h"
#include "util.h"

#define INIT_LOCK "SELECT pg_advisory_xact_lock(1885958246)"   /* the same key as db_migrate's */
#define INIT_SESSION_LOCK "SELECT pg_advisory_lock(1885958246)"
#define INIT_SESSION_UNLOCK "SELECT pg_advisory_unlock(1885958246)"
#define ROLE_EXISTS "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)"

/* *answer = the query's one boolean (false if it returns no row). */
static enum perr
ask(PGconn *db, const char *sql, int nparams, const char *const *params, bool *answer)
{
	PGresult *res = db_query(db, PGRES_TUPLES_OK, sql, nparams, params);

	if (res == NULL)
		return PERR_DB;
	*answer = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return PERR_OK;
}

/*
 * Creates `role` if it does not exist. Role names are checked by the configuration parser
 * (lower-case letters, digits, _), so double quotes are all they need (a name may be a keyword).
 * Another session creating it at the same moment is fine: that is what the existence check after
 * a failure is for.
 */
static enum perr
ensure_role(PGconn *db, const char *role, bool login)
{
	const char *params[1] = { role };
	bool exists;
	char *sql, why[256];
	PGresult *res;
	enum perr e;

	if ((e = ask(db, ROLE_EXISTS, 1, params, &exists)) != PERR_OK)
		return e;
	if (exists)
		return PERR_OK;
	sql = xasprintf("CREATE ROLE \"%s\" %s", role, login ? "LOGIN" : "NOLOGIN");   /* quoted: "user" is a keyword */
	res = PQexec(db, sql);
	free(sql);
	if (PQresultStatus(res) == PGRES_COMMAND_OK) {
		PQclear(res);
		return PERR_OK;
	}
	if (!strcmp(db_sqlstate(res), "42501")) {
		PQclear(res);
		return perr_set(PERR_DB, "the database role %s does not exist and the login user may not "
		    "create it: ask the database administrator to run CREATE ROLE %s NOLOGIN and GRANT %s TO "
		    "the login user of [database] conninfo, then run `pipeline db init` again", role, role, role);
	}
	/* 42710 duplicate_object or 23505 on pg_authid: a concurrent db init made it. Check again. */
	snprintf(why, sizeof why, "%s", PQresultErrorMessage(res));
	why[strcspn(why, "\n")] = '\0';
	PQclear(res);
	if ((e = ask(db, ROLE_EXISTS, 1, params, &exists)) != PERR_OK)
		return e;
	if (!exists)
		return perr_set(PERR_DB, "cannot create the database role %s: %s", role, why);
	return PERR_OK;
}

/* A login user that is not a superuser must be a member of `role` to SET ROLE to it. */
static enum perr
ensure_member(PGconn *db, const char *role)
{
	const char *params[1] = { role };
	bool member;
	char *sql;
	enum perr e;

	if ((e = ask(db, "SELECT pg_has_role(session_user, $1, 'MEMBER')", 1, params, &member)) != PERR_OK)
		return e;
	if (member)
		return PERR_OK;
	sql = xasprintf("GRANT \"%s\" TO SESSION_USER", role);
	e = db_exec(db, sql);
	free(sql);
	if (e != PERR_OK)
		return perr_set(PERR_DB, "the login user is not a member of the database role %s and cannot "
		    "make itself one (%s): ask the database administrator to GRANT %s TO it", role,
		    perr_detail(), role);
	return PERR_OK;
}

/*
 * As the login user (the schema public belongs to the database's owner): gives the owner role
 * CREATE in public and every table, view, sequence and function of public that another role owns
 * (a database from before the roles; a sequence that belongs to a column follows its table), and
 * the nightly role USAGE of public but not CREATE (a grant to PUBLIC stays: doctor reports it).
 */
static const char adopt_sql[] =
    "DO $$\n"
    "DECLARE\n"
    "    owner text := current_setting('pipeline.owner_role');\n"
    "    nightly text := current_setting('pipeline.nightly_role');\n"
    "    r record;\n"
    "BEGIN\n"
    "    IF NOT has_schema_privilege(owner, 'public', 'CREATE') THEN\n"
    "        EXECUTE format('GRANT USAGE, CREATE ON SCHEMA public TO %I', owner);\n"
    "    END IF;\n"
    "    IF NOT has_schema_privilege(nightly, 'public', 'USAGE') THEN\n"
    "        EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', nightly);\n"
    "    END IF;\n"
    "    EXECUTE format('REVOKE CREATE ON SCHEMA public FROM %I', nightly);\n"
    "    FOR r IN SELECT c.relname, c.relkind FROM pg_class c\n"
    "               JOIN pg_namespace n ON n.oid = c.relnamespace\n"
    "              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')\n"
    "                AND pg_get_userbyid(c.relowner) <> owner\n"
    "                AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d\n"
    "                         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid\n"
    "                           AND d.deptype IN ('a', 'i')))\n"
    "    LOOP\n"
    "        EXECUTE format('ALTER %s public.%I OWNER TO %I',\n"
    "            CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'\n"
    "                           WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, r.relname, owner);\n"
    "    END LOOP;\n"
    "    FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p\n"
    "               JOIN pg_namespace n ON n.oid = p.pronamespace\n"
    "              WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> owner\n"
    "    LOOP\n"
    "        EXECUTE format('ALTER FUNCTION %s OWNER TO %I', r.f, owner);\n"
    "    END LOOP;\n"
    "END $$";

/* Runs `sql` in its own transaction under the db init lock. */
static enum perr
exec_locked(PGconn *db, const char *sql)
{
	enum perr e;

	if ((e = db_begin(db)) != PERR_OK)
		return e;
	if ((e = db_exec(db, INIT_LOCK)) != PERR_OK || (e = db_exec(db, sql)) != PERR_OK) {
		db_rollback(db);
		return e;
	}
	return db_commit(db);
}

/*
 * Writes money.c's table as two PostgreSQL array literals, "{AED,AFN,...}" and "{2,2,...}", into
 * *codes and *exps, which the caller frees. Each entry is 4 bytes ("AED," / "2,") at most.
 */
static void
currency_arrays(char **codes, char **exps)
{
	size_t n = currency_count(), i;
	char *c = xmalloc(4 * n + 3), *x = xmalloc(4 * n + 3), *pc = c, *px = x;

	for (i = 0; i < n; i++) {
		*pc++ = i ? ',' : '{';
		memcpy(pc, currency_at(i)->code, 3);
		pc += 3;
		*px++ = i ? ',' : '{';
		*px++ = (char)('0' + currency_at(i)->exponent);
	}
	memcpy(pc, n ? "}" : "{}", n ? 2 : 3);
	memcpy(px, n ? "}" : "{}", n ? 2 : 3);
	*codes = c;
	*exps = x;
}

#define SEED_CURRENCIES "INSERT INTO currency (code, exponent)" \
	" SELECT code, exponent FROM unnest($1::text[], $2::smallint[]) AS t(code, exponent)" \
	" ON CONFLICT (code) DO NOTHING"
#define CURRENCY_DIFFERS "SELECT c.code, c.exponent, t.exponent" \
	" FROM currency c JOIN unnest($1::text[], $2::smallint[]) AS t(code, exponent) ON t.code = c.code" \
	" WHERE c.exponent <> t.exponent ORDER BY c.code LIMIT 1"

/* Step 4 above, in one transaction under the db init lock. */
static enum perr
seed_currencies(PGconn *db)
{
	char *codes, *exps;
	const char *params[2];
	PGresult *res = NULL;
	enum perr e;

	currency_arrays(&codes, &exps);
	params[0] = codes;
	params[1] = exps;
	if ((e = db_begin(db)) != PERR_OK)
		goto out;
	if ((e = db_exec(db, INIT_LOCK)) != PERR_OK || (e = db_command(db, SEED_CURRENCIES, 2, params)) != PERR_OK)
		goto fail;
	if ((res = db_query(db, PGRES_TUPLES_OK, CURRENCY_DIFFERS, 2, params)) == NULL) {
		e = PERR_DB;
		goto fail;
	}
	if (PQntuples(res) > 0) {
		e = perr_set(PERR_DB, "the database's currency %s has %s minor units, ISO 4217 (src/currencies.inc) "
		    "says %s: amounts are stored in its minor units, so it is not changed; correct it by hand",
		    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
		goto fail;
	}
	e = db_commit(db);
	goto out;
fail:
	db_rollback(db);
out:
	PQclear(res);
	free(codes);
	free(exps);
	return e;
}

static enum perr init_steps(PGconn *db, const struct config *cfg, int *applied_out);

enum perr
db_init_schema(PGconn *db, const struct config *cfg, int *applied_out)
{
	enum perr e;

	if ((e = db_exec(db, INIT_SESSION_LOCK)) != PERR_OK)
		return e;
	e = init_steps(db, cfg, applied_out);
	if (PQtransactionStatus(db) != PQTRANS_IDLE)
		db_rollback(db);
	PQclear(PQexec(db, INIT_SESSION_UNLOCK));  /* also released when the session ends */
	return e;
}

/* The steps of db init, in order (see the top of this file); the caller holds the init lock. */
static enum perr
init_steps(PGconn *db, const struct config *cfg, int *applied_out)
{
	const char *params[2] = { cfg->owner_role, cfg->nightly_role };
	bool superuser;
	PGresult *res;
	enum perr e;

	res = db_query(db, PGRES_TUPLES_OK, "SELECT set_config('pipeline.owner_role', $1, false),"
	    " set_config('pipeline.nightly_role', $2, false)", 2, params);
	if (res == NULL)
		return PERR_DB;
	PQclear(res);
	if ((e = ask(db, "SELECT rolsuper FROM pg_roles WHERE rolname = session_user", 0, NULL, &superuser)) != PERR_OK)
		return e;
	if ((e = ensure_role(db, cfg->owner_role, false)) != PERR_OK
	    || (e = ensure_role(db, cfg->nightly_role, cfg->db_conninfo[0] == '\0')) != PERR_OK)
		return e;
	if (!superuser && (e = ensure_member(db, cfg->owner_role)) != PERR_OK)
		return e;
	if ((e = exec_locked(db, adopt_sql)) != PERR_OK)
		return perr_set(PERR_DB, "cannot give the schema to the role %s: %s", cfg->owner_role, perr_detail());
	if ((e = db_set_role(db, cfg->owner_role)) != PERR_OK)
		return e;
	if ((e = db_migrate(db, applied_out)) != PERR_OK)
		return e;
	if ((e = exec_locked(db, privileges_sql)) != PERR_OK)
		return perr_set(PERR_DB, "sql/privileges.sql failed: %s", perr_detail());
	return seed_currencies(db);
}
