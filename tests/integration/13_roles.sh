#!/bin/bash
# The two database roles (src/db_roles.c, sql/privileges.sql): `db init` runs the migrations as the
# owner role and every other command acts as the nightly role, which cannot rewrite money.
# - role names in pipeline.conf are checked, and must differ;
# - db init makes the roles (NOLOGIN on a server given by conninfo) and re-applies the privileges:
#   a broad GRANT made by hand is reported by doctor and removed by the next db init;
# - objects another role owns (a database from before the roles) are handed to the owner role;
# - other role names work, each stage records the role it ran as;
# - a login user that is not a superuser: db init says what to GRANT; a login that is only a member
#   of the nightly role runs the stages and cannot become the owner;
# - the embedded cluster: commands before db init say to run it; afterwards the nightly logs in as
#   the nightly role itself, so nothing it runs can RESET ROLE to anything stronger.
source "$(dirname "$0")/../lib.sh"
t_init roles
DATE=2026-11-23
admin() { psql -X -q -A -t -h "$PGSOCK" -U postgres -d "${2:-postgres}" -v ON_ERROR_STOP=1 -c "$1"; }
# second_world NAME: $T/NAME.conf, the good configuration with its own data_dir and remote root
# (with tonight's statements), so a second night does not meet the first one's files.
second_world() {
	sed -e "s|$T/remote|$T/$1-remote|g" -e "s|^data_dir = .*|data_dir = $T/$1-data|" "$T/good.conf" > "$T/$1.conf"
	for d in $(awk '/^remote_dir *=/ { sub(/^remote_dir *= */, ""); print }' "$T/$1.conf"); do mkdir -p "$d"; done
	cp -R "$REPO/fixtures/statements/$DATE/." "$T/$1-remote/"
}

# --- role names in the configuration
cp "$T/pipeline.conf" "$T/good.conf"
sed -i 's|^nightly_role = .*|nightly_role = Nightly-Role|' "$T/pipeline.conf"
line=$(grep -n '^nightly_role' "$T/pipeline.conf" | cut -d: -f1)
assert_exit 2 t_pipeline status
assert_contains "$T_ERR" "$T/pipeline.conf:$line: nightly_role = \"Nightly-Role\": expected a role name of lower-case letters, digits and _" "bad role name"
sed -i 's|^nightly_role = .*|nightly_role = pg_monitor|' "$T/pipeline.conf"
assert_exit 2 t_pipeline status
assert_contains "$T_ERR" "nightly_role = \"pg_monitor\": expected a role name" "a pg_ role is refused"
sed -i 's|^nightly_role = .*|nightly_role = pipeline_owner|' "$T/pipeline.conf"
assert_exit 2 t_pipeline status
assert_contains "$T_ERR" "owner_role and nightly_role are both \"pipeline_owner\"" "the two roles must differ"
cp "$T/good.conf" "$T/pipeline.conf"

# --- what db init (t_init ran it) made
assert_eq "pipeline_nightly|f|f
pipeline_owner|f|f" "$(admin "SELECT rolname, rolcanlogin, rolsuper FROM pg_roles WHERE rolname IN ('pipeline_owner', 'pipeline_nightly') ORDER BY 1")" \
	"both roles exist, neither may log in on a server given by conninfo, neither is a superuser"
assert_exit 0 t_day $DATE
assert_eq "pipeline_nightly" "$(t_psql "SELECT string_agg(DISTINCT db_role, ',') FROM stage_run")" "the stages ran as the nightly role"
assert_eq "f|f|t|t|f|f" "$(t_psql "SELECT has_table_privilege('pipeline_nightly', 'journal_posting', 'UPDATE'),
	has_table_privilege('pipeline_nightly', 'transfer', 'DELETE'), has_column_privilege('pipeline_nightly', 'transfer', 'status', 'UPDATE'),
	has_table_privilege('pipeline_nightly', 'journal_posting', 'INSERT'), has_column_privilege('pipeline_nightly', 'transfer', 'amount_minor', 'UPDATE'),
	has_table_privilege('pipeline_nightly', 'exception', 'DELETE')")" "the privileges of sql/privileges.sql"
assert_eq "t|t" "$(t_psql "SELECT bool_and(last_analyze IS NOT NULL) FILTER (WHERE relname IN ('statement', 'statement_line')),
	bool_and(last_analyze IS NOT NULL) FILTER (WHERE relname IN ('investor', 'subscription', 'cash_movement'))
	FROM pg_stat_user_tables")" "the statistics were refreshed after the loads (pipeline_analyze, as the owner)"
assert_exit 0 t_pipeline doctor --offline
assert_contains "$T_OUT" "warn  db role    the login user postgres is a superuser or a member of pipeline_owner: a statement in its session could RESET ROLE" \
	"doctor: a superuser login is a warning"
assert_contains "$T_OUT" "ok    db role    the stages act as pipeline_nightly (owner of the schema: pipeline_owner); it cannot UPDATE, DELETE or TRUNCATE" "doctor: role ok"

# --- a broad GRANT by hand: doctor names it, the next db init takes it away
admin "GRANT UPDATE, TRUNCATE ON journal_posting TO pipeline_nightly; GRANT DELETE ON transfer TO pipeline_nightly" "$T_DB"
assert_exit 1 t_pipeline doctor --offline
assert_contains "$T_OUT" "FAIL  db role    the stages act as pipeline_nightly, which may journal_posting TRUNCATE, journal_posting UPDATE, transfer DELETE (it must only add those rows)" "doctor: broad grant"
assert_exit 0 t_pipeline db init
assert_contains "$T_OUT" "(0 migrations applied)" "nothing to migrate"
assert_eq "f|f|f" "$(t_psql "SELECT has_table_privilege('pipeline_nightly', 'journal_posting', 'UPDATE'),
	has_table_privilege('pipeline_nightly', 'journal_posting', 'TRUNCATE'), has_table_privilege('pipeline_nightly', 'transfer', 'DELETE')")" \
	"db init re-applied the privileges"
assert_exit 0 t_pipeline doctor --offline
# CREATE in the schema for the nightly role: doctor fails, db init takes it back
admin "GRANT CREATE ON SCHEMA public TO pipeline_nightly" "$T_DB"
assert_exit 1 t_pipeline doctor --offline
assert_contains "$T_OUT" "FAIL  db role    the stages act as pipeline_nightly, which may create objects in schema public" "doctor: CREATE in public"
assert_exit 0 t_pipeline db init
assert_eq "f" "$(t_psql "SELECT has_schema_privilege('pipeline_nightly', 'public', 'CREATE')")" "db init revoked CREATE"

# --- objects owned by another role (a database from before the roles) go to the owner role
admin "ALTER TABLE allocation OWNER TO postgres; ALTER VIEW pending_movement OWNER TO postgres;
	ALTER FUNCTION refuse_change() OWNER TO postgres; ALTER TABLE schema_migrations OWNER TO postgres" "$T_DB"
assert_exit 0 t_pipeline db init
assert_eq "" "$(t_psql "SELECT string_agg(c.relname, ',') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = 'public' AND c.relkind IN ('r','v','S') AND pg_get_userbyid(c.relowner) <> 'pipeline_owner'")" "tables and views adopted"
assert_eq "pipeline_owner" "$(t_psql "SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'refuse_change'")" "functions adopted"
assert_exit 0 t_pipeline status --date $DATE

# --- other role names
second_world other
sed -i "s|dbname=$T_DB|dbname=${T_DB}_other|; s|^owner_role = .*|owner_role = t13_owner|; s|^nightly_role = .*|nightly_role = t13_nightly|" "$T/other.conf"
admin "DROP DATABASE IF EXISTS ${T_DB}_other WITH (FORCE)" && admin "CREATE DATABASE ${T_DB}_other"
admin "DROP ROLE IF EXISTS t13_owner" && admin "DROP ROLE IF EXISTS t13_nightly"
assert_exit 0 "$PIPELINE" --config "$T/other.conf" db init
assert_exit 0 "$PIPELINE" --config "$T/other.conf" ledger import "$REPO/fixtures/ledger/$DATE"
assert_exit 0 "$PIPELINE" --config "$T/other.conf" run --date $DATE
assert_eq "t13_nightly" "$(admin "SELECT string_agg(DISTINCT db_role, ',') FROM stage_run" "${T_DB}_other")" "the stages ran as t13_nightly"
assert_eq "t13_owner" "$(admin "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'journal_posting'" "${T_DB}_other")" "t13_owner owns the schema"
admin "DROP DATABASE ${T_DB}_other WITH (FORCE)" && admin "DROP ROLE t13_owner" && admin "DROP ROLE t13_nightly"

# --- a login user that is not a superuser
admin "DROP ROLE IF EXISTS t13_admin" && admin "DROP ROLE IF EXISTS t13_night" &&
	admin "CREATE ROLE t13_admin LOGIN" && admin "CREATE ROLE t13_night LOGIN IN ROLE pipeline_nightly"
sed "s|user=postgres|user=t13_admin|" "$T/good.conf" > "$T/admin.conf"
assert_exit 1 "$PIPELINE" --config "$T/admin.conf" db init
assert_contains "$T_ERR" "the login user is not a member of the database role pipeline_owner and cannot make itself one" "db init: not a member"
assert_contains "$T_ERR" "GRANT pipeline_owner TO it" "db init: says what to grant"
admin "GRANT pipeline_owner TO t13_admin"     # the owner role only, as docs/operations.md advises
assert_exit 0 "$PIPELINE" --config "$T/admin.conf" db init
sed "s|user=postgres|user=t13_night|" "$T/good.conf" > "$T/night.conf"
assert_exit 0 "$PIPELINE" --config "$T/night.conf" run --date $DATE --force
assert_eq "pipeline_nightly" "$(t_psql "SELECT string_agg(DISTINCT db_role, ',') FROM stage_run")" "a member login acts as the nightly role"
assert_exit 0 "$PIPELINE" --config "$T/night.conf" doctor --offline
case "$T_OUT" in *"warn  db role"*) t_fail "doctor: a login that is only a member of the nightly role is not a warning: $T_OUT" ;; esac
assert_exit 1 "$PIPELINE" --config "$T/night.conf" db init
assert_contains "$T_ERR" "not a member of the database role pipeline_owner" "the nightly's login cannot run db init"
out=$(psql -X -q -h "$PGSOCK" -U t13_night -d "$T_DB" -c "SET ROLE pipeline_owner" 2>&1)
assert_contains "$out" "permission denied to set role \"pipeline_owner\"" "the nightly's login cannot become the owner"
admin "DROP OWNED BY t13_admin" "$T_DB"
admin "DROP ROLE t13_admin" && admin "DROP ROLE t13_night"

# --- the embedded cluster
E=$T/emb-data
second_world emb
sed -i "s|^conninfo = .*|conninfo =|" "$T/emb.conf"
stop_embedded() { "$PIPELINE" --config "$T/emb.conf" db stop >/dev/null; }
trap stop_embedded EXIT
assert_exit 1 "$PIPELINE" --config "$T/emb.conf" status
assert_contains "$T_ERR" "has \`pipeline db init\` been run? it creates the database and the role pipeline_nightly" "before db init"
assert_exit 0 "$PIPELINE" --config "$T/emb.conf" db init
assert_exit 0 "$PIPELINE" --config "$T/emb.conf" ledger import "$REPO/fixtures/ledger/$DATE"
assert_exit 0 "$PIPELINE" --config "$T/emb.conf" run --date $DATE
# its socket is in a short directory of its own, whatever the checkout's path (src/db.c embedded_paths)
ESOCK=$("$PIPELINE" --config "$T/emb.conf" db status | awk '$1 == "socket" { print $2 }')
case "$ESOCK" in /tmp/pipeline-pg-????????????????) ;; *) t_fail "embedded socket directory: $ESOCK" ;; esac
emb() { psql -X -q -A -t -h "$ESOCK" -U "$1" -d pipeline -c "$2" 2>&1; }
assert_eq "pipeline_nightly" "$(emb postgres "SELECT string_agg(DISTINCT usename, ',') FROM pg_stat_activity WHERE application_name LIKE 'pipeline%'")$(emb postgres "SELECT string_agg(DISTINCT db_role, ',') FROM stage_run")" \
	"the stages ran as the nightly role (and no pipeline session is left)"
assert_eq "t|f" "$(emb postgres "SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = 'pipeline_nightly'")" "embedded: the nightly role logs in, not a superuser"
assert_exit 0 "$PIPELINE" --config "$T/emb.conf" doctor --offline
assert_contains "$T_OUT" "ok    db role    the stages act as pipeline_nightly" "embedded: doctor ok"
case "$T_OUT" in *"warn  db role"*) t_fail "embedded: the nightly logs in as its role, no warning expected: $T_OUT" ;; esac
assert_contains "$(emb pipeline_nightly "SET ROLE pipeline_owner")" "permission denied to set role" "embedded: the nightly cannot become the owner"
assert_contains "$(emb pipeline_nightly "RESET ROLE; UPDATE journal_posting SET amount_minor = amount_minor")" "permission denied for table journal_posting" "embedded: the nightly cannot rewrite the journal"
assert_contains "$(emb pipeline_nightly "DELETE FROM transfer")" "permission denied for table transfer" "embedded: the nightly cannot delete a transfer"
assert_eq "$(t_psql "SELECT count(*) FROM journal_posting")" "$(emb postgres "SELECT count(*) FROM journal_posting")" "the embedded night posted what the other one did"
# the lock holder, a session of the same role, is named with its start time
PGAPPNAME="pipeline pid=4343 run" psql -X -q -h "$ESOCK" -U pipeline_nightly -d pipeline \
	-c "SELECT pg_advisory_lock(1885958245), pg_sleep(600)" >/dev/null 2>&1 &
holder=$!
# held when pg_locks says so (not after a fixed wait); cancelled below
lock_held() { [ "$(emb postgres "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" = 1 ]; }
t_until 120 lock_held || t_fail "the holder never got the lock"
assert_exit 4 "$PIPELINE" --config "$T/emb.conf" run --date $DATE
assert_contains "$T_ERR" "another pipeline run holds the lock: pipeline pid=4343 run (database backend pid " "embedded: holder named"
assert_contains "$T_ERR" ", connected since 20" "embedded: since when"
emb postgres "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'pipeline pid=4343 run'" >/dev/null
wait $holder
t_done
