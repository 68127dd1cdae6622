# tests/lib.sh - helpers for the integration tests (bash). Source it, call t_init NAME, use the
# helpers, end with t_done. A failed assertion prints what was expected and what was found and
# exits 1. The tests talk to a real PostgreSQL (tests/pg.sh) and run the real ./pipeline.
set -uo pipefail
# The trusted files the tests write (configurations, known_hosts, keys, layouts) must not be
# group- or world-writable, or the pipeline refuses to start (src/trust.h).
umask 022

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PIPELINE=${PIPELINE:-$REPO/pipeline}
source "$REPO/tests/conf.inc"     # t_write_config
PGSOCK=${PGSOCK:-$("$REPO/tests/pg.sh" start)}
T_FAILS=0

# t_init NAME: a fresh directory $T, a fresh database, and $T/pipeline.conf derived from the
# repository's pipeline.conf: data and reports under $T, every source and outbound destination on
# the `dir` transport under $T/remote/<remote_dir>, formats from the repository.
t_init() {
	T_NAME=$1
	T=$REPO/var/test/$T_NAME
	T_DB=t_$(echo "$T_NAME" | tr -c 'a-zA-Z0-9_\n' '_')
	rm -rf "$T"
	mkdir -p "$T/remote" "$T/data"
	psql -q -X -h "$PGSOCK" -U postgres -d postgres -c "DROP DATABASE IF EXISTS $T_DB WITH (FORCE)" \
		-c "CREATE DATABASE $T_DB" >/dev/null || { echo "t_init: cannot create database" >&2; exit 1; }
	t_write_config "$T" "host=$PGSOCK user=postgres dbname=$T_DB"
	"$PIPELINE" --config "$T/pipeline.conf" -q db init >/dev/null || { echo "t_init: db init failed" >&2; exit 1; }
}

# t_pipeline ARGS...: ./pipeline with the test's configuration.
t_pipeline() { "$PIPELINE" --config "$T/pipeline.conf" "$@"; }

# t_psql SQL: the result unaligned, tuples only, fields separated by |.
t_psql() { psql -X -q -A -t -h "$PGSOCK" -U postgres -d "$T_DB" -v ON_ERROR_STOP=1 -c "$1"; }

# t_deliver DATE [late]: puts the fixture statements of DATE where the sources look for them.
t_deliver() {
	local src=$REPO/fixtures/statements/$1
	[ "${2:-}" = late ] && src=$REPO/fixtures/statements/late/$1
	[ -d "$src" ] || { echo "t_deliver: no fixtures in $src" >&2; exit 1; }
	cp -R "$src/." "$T/remote/"
}

# t_register DATE SOURCE FILE: records FILE as fetched for SOURCE on DATE (status NEW), as fetch
# would have, so normalize can be tested on a file directly.
t_register() {
	local sha
	sha=$(sha256sum "$3" | cut -d' ' -f1)
	t_psql "INSERT INTO fetched_file (business_date, source, remote_name, local_path, size_bytes, sha256, status, run_id)
	   VALUES ('$1', '$2', '$(basename "$3")', '$3', $(stat -c %s "$3"), '$sha', 'NEW', 1)" >/dev/null
}

t_import() { t_pipeline -q ledger import "$REPO/fixtures/ledger/$1" >/dev/null; }

# t_day DATE: the nightly for DATE as the scheduler runs it (late files delivered after exit 3).
t_day() {
	t_import "$1" || return 1
	t_deliver "$1"
	t_pipeline -q run --date "$1"
	local rc=$?
	if [ $rc = 3 ] && [ -d "$REPO/fixtures/statements/late/$1" ]; then
		t_deliver "$1" late
		t_pipeline -q run --date "$1"
		rc=$?
	fi
	return $rc
}

# t_wait_file FILE PID [SECONDS]: waits until FILE exists and is not empty (a server writes it once
# it listens: its port), while the process PID lives, at most SECONDS (default 120: a generous bound
# for a loaded machine, not a fixed wait). Returns 1 if PID died or the time ran out.
t_wait_file() {
	local f=$1 pid=$2 end=$((SECONDS + ${3:-120}))
	while [ ! -s "$f" ]; do
		kill -0 "$pid" 2>/dev/null || { [ -s "$f" ]; return; }
		[ $SECONDS -ge $end ] && return 1
		sleep 0.05
	done
}

# t_until SECONDS CMD...: runs CMD every 25 ms until it succeeds (0) or SECONDS pass (1). For
# "wait until it has started": the bound is generous (a loaded machine), the wait as short as it can be.
t_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.025
	done
}

t_fail() {
	echo "FAIL [$T_NAME]: $*" >&2
	T_FAILS=$((T_FAILS + 1))
}

assert_eq() {
	if [ "$1" != "$2" ]; then
		t_fail "$3: expected [$1], got [$2]"
		return 1
	fi
}

assert_contains() {
	case "$1" in
	*"$2"*) ;;
	*) t_fail "$3: [$2] not found in [$1]"; return 1 ;;
	esac
}

# assert_exit CODE CMD...: runs CMD, checks its exit code; its stderr is kept in $T_ERR, stdout in $T_OUT.
assert_exit() {
	local want=$1
	shift
	T_OUT=$("$@" 2>"$T/stderr")
	local rc=$?
	T_ERR=$(cat "$T/stderr")
	if [ "$rc" != "$want" ]; then
		t_fail "exit code of [$*]: expected $want, got $rc; stderr: $T_ERR"
		return 1
	fi
}

t_done() {
	if [ "$T_FAILS" -gt 0 ]; then
		echo "FAILED [$T_NAME]: $T_FAILS assertion(s)" >&2
		exit 1
	fi
	exit 0
}
