#!/bin/bash
# tests/pg.sh start|stop|socket - the throwaway PostgreSQL cluster the integration tests share
# (var/testpg). Each test gets its own database in it (tests/lib.sh t_init). PostgreSQL refuses
# to run as root, so as root the server runs as the `postgres` user.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD/var/testpg
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
start)
	mkdir -p "$ROOT"
	[ "$(id -u)" = 0 ] && chown postgres: "$ROOT"
	if [ ! -f "$ROOT/data/PG_VERSION" ]; then
		as_pg "$BIN/initdb" -D "$ROOT/data" -U postgres --auth=trust -E UTF8 --no-locale --no-sync >"$ROOT/initdb.log" 2>&1
	fi
	# asked of pg_ctl, not read from the socket file: a stale socket survives a machine restart
	if ! as_pg "$BIN/pg_ctl" -D "$ROOT/data" status >/dev/null 2>&1; then
		as_pg mkdir -p "$ROOT/run"
		as_pg "$BIN/pg_ctl" -D "$ROOT/data" -l "$ROOT/postgres.log" -w -t 60 \
			-o "-c listen_addresses='' -k $ROOT/run -c fsync=off -c max_connections=100" start >/dev/null
	fi
	echo "$ROOT/run"
	;;
stop)
	[ -f "$ROOT/data/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$ROOT/data" -m fast -w stop >/dev/null || true
	;;
socket)
	echo "$ROOT/run"
	;;
*)
	echo "usage: tests/pg.sh start|stop|socket" >&2
	exit 2
	;;
esac
