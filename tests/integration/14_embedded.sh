#!/bin/bash
# The embedded PostgreSQL (an empty [database] conninfo) is created and started by `db init` or
# `db start`, stopped by `db stop`, shown by `db status` (exit 0 running, 1 not); `doctor` and
# `doctor --offline` never create or start it: they say what is missing and the command that
# makes it, naming a log file that exists. Its socket is in a short private directory under /tmp,
# whatever the data directory's path.
source "$(dirname "$0")/../lib.sh"
t_init embedded
E=$T/emb
sed -e "s|^conninfo = .*|conninfo =|" -e "s|^data_dir = .*|data_dir = $E|" "$T/pipeline.conf" > "$T/emb.conf"
emb() { "$PIPELINE" --config "$T/emb.conf" "$@"; }
trap 'emb db stop >/dev/null 2>&1' EXIT

# --- nothing there: doctor says so and creates nothing
for mode in --offline ""; do
	assert_exit 1 emb doctor $mode
	assert_contains "$T_OUT" "FAIL  database   the embedded PostgreSQL under $E/pg does not exist yet" "doctor $mode: absent"
	assert_contains "$T_OUT" "fix: create it with the schema: pipeline db init" "doctor $mode: how to create it"
done
[ -e "$E" ] && t_fail "doctor created $(find "$E" | head -5)"
assert_exit 1 emb db status
assert_contains "$T_OUT" "embedded PostgreSQL not created yet" "status: not created"
[ -e "$E" ] && t_fail "db status created $E"

# --- db init creates and starts it; status says running, with a short socket directory
assert_exit 0 emb db init
assert_exit 0 emb db status
assert_contains "$T_OUT" "embedded PostgreSQL running" "running after db init"
sock=$(echo "$T_OUT" | awk '$1 == "socket" { print $2 }')
case "$sock" in /tmp/pipeline-pg-????????????????) ;; *) t_fail "socket directory [$sock]" ;; esac
assert_eq "700" "$(stat -c %a "$sock")" "socket directory private"
[ -S "$sock/.s.PGSQL.5432" ] || t_fail "no socket in $sock"
assert_exit 0 emb doctor --offline
assert_contains "$T_OUT" "ok    database   embedded cluster under data_dir/pg" "doctor: running cluster ok"

# --- stopped: doctor says how to start it, names the log, and leaves it stopped
assert_exit 0 emb db stop
assert_contains "$T_OUT" "embedded PostgreSQL stopped" "db stop"
assert_exit 1 emb db status
for mode in --offline ""; do
	assert_exit 1 emb doctor $mode
	assert_contains "$T_OUT" "FAIL  database   the embedded PostgreSQL under $E/pg is not running" "doctor $mode: stopped"
	assert_contains "$T_OUT" "fix: start it: pipeline db start (its log: $E/pg/postgres.log)" "doctor $mode: how to start it"
done
[ -f "$E/pg/postgres.log" ] || t_fail "the log doctor names does not exist"
assert_exit 1 emb db status
assert_contains "$T_OUT" "embedded PostgreSQL stopped" "doctor did not start it"
[ -S "$sock/.s.PGSQL.5432" ] && t_fail "a socket after doctor: it started the server"

# --- db start, idempotent; a command uses it; db stop twice is fine
assert_exit 0 emb db start
assert_exit 0 emb db start
assert_contains "$T_OUT" "embedded PostgreSQL running" "db start"
assert_exit 0 emb status --date 2026-11-25
assert_exit 0 emb db stop
assert_exit 0 emb db stop

# --- with a conninfo there is no embedded cluster to start
assert_exit 2 t_pipeline db start
assert_contains "$T_ERR" "conninfo names a server; there is no embedded cluster to start" "db start with conninfo"
assert_exit 2 t_pipeline db frobnicate
t_done
