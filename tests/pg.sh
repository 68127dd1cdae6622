#!/bin/bash
# tests/pg.sh start|stop|crash|socket - the throwaway PostgreSQL cluster the integration tests
# share (var/testpg). Each test gets its own database in it (tests/lib.sh t_init). PostgreSQL
# refuses to run as root, so as root the server runs as the `postgres` user. `start` prints the
# socket directory and is a no-op when the server runs; `crash` stops it in immediate mode (no
# checkpoint, as if it died). PG_ROOT and PG_MAX_CONNECTIONS make another cluster of the same kind
# (tests/reliability/pg.sh). The socket is not under ROOT (a Unix socket path is limited to 107
# bytes and the checkout may be deep) but in /tmp/pipeline-testpg-HASH, HASH from ROOT's path,
# a directory private to the server's user.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${PG_ROOT:-$PWD/var/testpg}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
SOCK=/tmp/pipeline-testpg-$(printf %s "$ROOT" | sha256sum | cut -c1-16)
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
		# private and ours, or refused: another user's directory of that name in /tmp is not used
		as_pg mkdir -p -m 0700 "$SOCK"
		if [ "$(stat -c %U:%a "$SOCK")" != "$(as_pg id -un):700" ] || [ -L "$SOCK" ]; then
			echo "tests/pg.sh: $SOCK is not a private directory of the server's user; remove it" >&2
			exit 1
		fi
		as_pg "$BIN/pg_ctl" -D "$ROOT/data" -l "$ROOT/postgres.log" -w -t 60 \
			-o "-c listen_addresses='' -k $SOCK -c fsync=off -c max_connections=${PG_MAX_CONNECTIONS:-100}" start >/dev/null
	fi
	# the running server's own socket directory (one started before this script moved it may differ)
	sed -n 5p "$ROOT/data/postmaster.pid"
	;;
stop)
	[ -f "$ROOT/data/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$ROOT/data" -m fast -w stop >/dev/null || true
	;;
crash)
	as_pg "$BIN/pg_ctl" -D "$ROOT/data" -m immediate -w stop >/dev/null
	;;
socket)
	if [ -f "$ROOT/data/postmaster.pid" ]; then sed -n 5p "$ROOT/data/postmaster.pid"; else echo "$SOCK"; fi
	;;
*)
	echo "usage: $0 start|stop|crash|socket" >&2
	exit 2
	;;
esac
