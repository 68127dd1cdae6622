#!/bin/bash
# tests/reliability/pg.sh start|crash|stop - a PostgreSQL cluster private to the reliability
# scenarios (var/reliability/pg), so that crashing it (pg_ctl stop -m immediate: no checkpoint, as
# if the server died) never disturbs the shared test cluster other tests use. `start` prints the
# socket directory (usable as PGSOCK for tests/lib.sh) and is a no-op when it is running.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD/var/reliability/pg
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
start)
	mkdir -p "$ROOT"
	[ "$(id -u)" = 0 ] && chown postgres: "$ROOT"
	if [ ! -f "$ROOT/data/PG_VERSION" ]; then
		as_pg "$BIN/initdb" -D "$ROOT/data" -U postgres --auth=trust -E UTF8 --no-locale --no-sync >"$ROOT/initdb.log" 2>&1
	fi
	if ! as_pg "$BIN/pg_ctl" -D "$ROOT/data" status >/dev/null 2>&1; then
		as_pg mkdir -p "$ROOT/run"
		as_pg "$BIN/pg_ctl" -D "$ROOT/data" -l "$ROOT/postgres.log" -w -t 60 \
			-o "-c listen_addresses='' -k $ROOT/run -c fsync=off -c max_connections=40" start >/dev/null
	fi
	echo "$ROOT/run"
	;;
crash)
	as_pg "$BIN/pg_ctl" -D "$ROOT/data" -m immediate -w stop >/dev/null
	;;
stop)
	[ -f "$ROOT/data/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$ROOT/data" -m fast -w stop >/dev/null || true
	;;
*)
	echo "usage: tests/reliability/pg.sh start|crash|stop" >&2
	exit 2
	;;
esac
