#!/bin/bash
# Two `pipeline db init` at once serialise (src/db_roles.c: a session advisory lock around the
# whole init; src/db.c: a file lock around the embedded cluster's CREATE DATABASE): both exit 0,
# the schema is complete once, for a fresh database on the test server and for a fresh embedded
# cluster (where the second used to fail with a duplicate-database error).
source "$(dirname "$0")/../lib.sh"
t_init dbinit_concurrent
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

# two_inits CONF WHAT: runs two db inits at once, both must succeed
two_inits() {
	local p1 p2 r1 r2
	"$PIPELINE" --config "$1" -q db init >"$T/init1.out" 2>&1 & p1=$!
	"$PIPELINE" --config "$1" -q db init >"$T/init2.out" 2>&1 & p2=$!
	wait $p1; r1=$?
	wait $p2; r2=$?
	assert_eq "0|0" "$r1|$r2" "$2: both db inits succeeded ($(cat "$T/init1.out" "$T/init2.out" | head -3))"
}

# --- a fresh database on the test server, three rounds (a race shows only sometimes)
for round in 1 2 3; do
	psql -q -X -h "$PGSOCK" -U postgres -d postgres -c "DROP DATABASE IF EXISTS $T_DB WITH (FORCE)" -c "CREATE DATABASE $T_DB" >/dev/null
	two_inits "$T/pipeline.conf" "server, round $round"
	assert_eq "$(ls "$REPO"/sql/[0-9]*.sql | wc -l)" "$(t_psql "SELECT count(*) FROM schema_migrations")" "server, round $round: every migration applied once"
	assert_eq "t" "$(t_psql "SELECT has_function_privilege('pipeline_nightly', 'stage_run_reap()', 'EXECUTE')")" "server, round $round: privileges applied"
done

# --- a fresh embedded cluster
E=$T/emb-data
sed -e "s|^conninfo = .*|conninfo =|" -e "s|^data_dir = .*|data_dir = $E|" "$T/pipeline.conf" > "$T/emb.conf"
stop_embedded() {
	[ -f "$E/pg/data/postmaster.pid" ] || return 0
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$BIN/pg_ctl" -D "$E/pg/data" -m fast -w stop >/dev/null
	else "$BIN/pg_ctl" -D "$E/pg/data" -m fast -w stop >/dev/null; fi
}
trap stop_embedded EXIT
two_inits "$T/emb.conf" "embedded cluster"
# its socket is in a short directory of its own (src/db.c), which `db status` names
ESOCK=$("$PIPELINE" --config "$T/emb.conf" db status | awk '$1 == "socket" { print $2 }')
assert_eq "$(ls "$REPO"/sql/[0-9]*.sql | wc -l)" "$(psql -X -q -A -t -h "$ESOCK" -U postgres -d pipeline -c "SELECT count(*) FROM schema_migrations")" \
	"embedded: every migration applied once"
# and the second cluster start raced nothing: one database, one postmaster
assert_eq "1" "$(psql -X -q -A -t -h "$ESOCK" -U postgres -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'pipeline'")" "embedded: one database"
assert_exit 0 "$PIPELINE" --config "$T/emb.conf" status

t_done
