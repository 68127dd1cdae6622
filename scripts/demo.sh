#!/bin/bash
# scripts/demo.sh [-v] - `make demo` (`make demo V=1` for -v): the whole nightly on the fixture
# world, three business days, as the scheduler would run it: the embedded PostgreSQL under var/pg,
# a local OpenSSH SFTP server on 127.0.0.1 standing in for the bank and the trustee, the ledger
# extract of each day imported, the day's statement files put on the server, `pipeline run --date
# DAY`. On day 2 the operating account's statement is late: the run exits 3 ("not available yet"),
# the file arrives, the run is retried.
#
# It prints a short summary per day (stages, exceptions by type, settlements, the report) and puts
# every line the pipeline logs in var/demo/log/DAY.log, which it names; -v (or DEMO_VERBOSE=1)
# shows everything as it happens too. The SFTP port is $DEMO_SFTP_PORT, by default a free port:
# the demo's configuration, var/demo/pipeline.conf, is made from pipeline.conf with that port and a
# known_hosts for it, so a busy 2222 or a demo in another checkout never collides; a second demo in
# the same checkout waits for the first (they share var/). At the end the SFTP server is stopped and
# it says how to stop the embedded PostgreSQL it leaves running (so the results can be looked at).
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
P=$REPO/pipeline
DAYS="2026-11-23 2026-11-24 2026-11-25"
SFTP_ROOT=$REPO/var/sftp/root
D=$REPO/var/demo
VERBOSE=${DEMO_VERBOSE:-}
[ "${1:-}" = -v ] && VERBOSE=1

say() { printf '\n== %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

mkdir -p "$D/log"
# fd 9 holds the lock: every command below that may leave a process running (sshd, the embedded
# PostgreSQL) is started with 9>&-, so the lock ends with the demo, not with them
exec 9>"$D/.lock"
flock -n 9 || { echo "demo: another demo runs in this checkout; waiting for it"; flock 9; }

# --- the SFTP server first: the configuration needs its port
scripts/sftp-server.sh stop "${DEMO_SFTP_PORT:-0}" >/dev/null 2>&1 || true
rm -rf "$SFTP_ROOT"
PORT=$(SFTP_OWNER_PID=$$ scripts/sftp-server.sh start "${DEMO_SFTP_PORT:-auto}" "$SFTP_ROOT" 9>&-) ||
	die "cannot start the SFTP server${DEMO_SFTP_PORT:+ on port $DEMO_SFTP_PORT (DEMO_SFTP_PORT)}"
trap 'scripts/sftp-server.sh stop "$PORT" >/dev/null 2>&1 || true' EXIT

# --- the demo's configuration: pipeline.conf with that port, absolute paths, its own known_hosts
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 fixtures/ssh/ssh_host_ed25519_key.pub)" > "$D/known_hosts"
awk -v REPO="$REPO" -v PORT="$PORT" -v KH="$D/known_hosts" '
	/^\[/ { sec = $0 }
	sec == "[pipeline]" && /^(data_dir|formats_dir) *=/ { split($0, kv, / *= */); print kv[1] " = " REPO "/" kv[2]; next }
	sec == "[report]" && /^dir *=/ { split($0, kv, / *= */); print "dir = " REPO "/" kv[2]; next }
	(sec ~ /^\[(source|outbound)\./) && /^port *=/ { print "port = " PORT; next }
	(sec ~ /^\[(source|outbound)\./) && /^known_hosts *=/ { print "known_hosts = " KH; next }
	(sec ~ /^\[(source|outbound)\./) && /^key_file *=/ { split($0, kv, / *= */); print "key_file = " REPO "/" kv[2]; next }
	{ print }
' pipeline.conf > "$D/pipeline.conf.tmp" && mv "$D/pipeline.conf.tmp" "$D/pipeline.conf"
export PIPELINE_CONF=$D/pipeline.conf

# run LOG CMD...: the command's output and log lines go to LOG (and to the terminal with -v)
run() {
	local log=$1 rc
	shift
	if [ -n "$VERBOSE" ]; then
		"$@" 2>&1 9>&- | tee -a "$log"
		rc=${PIPESTATUS[0]}
	else
		"$@" >>"$log" 2>&1 9>&-
		rc=$?
	fi
	return $rc
}

say "Starting from a clean slate (the demo's own data under var/); SFTP server on 127.0.0.1:$PORT"
rm -f "$D"/log/*.log
run "$D/log/setup.log" "$P" db init || die "db init failed; see $D/log/setup.log"
SOCK=$("$P" db status 9>&- | awk '$1 == "socket" { print $2 }')
q() { psql -X -q -A -t -F ' ' -h "$SOCK" -U postgres -d "${2:-pipeline}" -v ON_ERROR_STOP=1 -c "$1"; }
q "DROP DATABASE IF EXISTS pipeline WITH (FORCE)" postgres >/dev/null && q "CREATE DATABASE pipeline" postgres >/dev/null ||
	die "cannot recreate the demo database"
rm -rf var/inbox var/outbox var/reports var/log
run "$D/log/setup.log" "$P" db init || die "db init failed; see $D/log/setup.log"

deliver() {   # deliver DIR: puts the files of a fixture day on the SFTP server, as the bank would
	find "$1" -type f | while read -r f; do
		rel=${f#"$1"/}
		mkdir -p "$(dirname "$SFTP_ROOT/$rel")"
		cp "$f" "$SFTP_ROOT/$rel"
		chown dabs: "$SFTP_ROOT/$rel" 2>/dev/null || true
	done
}

# summary DAY: what a person wants to know about the night
summary() {
	local day=$1
	printf '  %-12s %s\n' stages "$(q "SELECT string_agg(stage || ' ' || state, ', ' ORDER BY array_position(
		ARRAY['fetch','normalize','reconcile','settle','report'], stage))
		FROM (SELECT DISTINCT ON (stage) stage, state FROM stage_run WHERE business_date = '$day'
		      ORDER BY stage, run_id DESC) s")"
	# open at the end of the day: opened by then, not closed by then
	printf '  %-12s %s\n' exceptions "$(q "WITH e AS (SELECT type, opened_date FROM exception
		WHERE opened_date <= '$day' AND (closed_date IS NULL OR closed_date > '$day'))
		SELECT (SELECT count(*) FROM e WHERE opened_date = '$day') || ' new, ' || (SELECT count(*) FROM e)
		|| ' open' || coalesce(': ' || (SELECT string_agg(type || ' ' || n, ', ' ORDER BY type)
		FROM (SELECT type, count(*) AS n FROM e GROUP BY type) g), '')")"
	# amounts shown in major units: numeric division (exact), the currency's own exponent
	printf '  %-12s %s\n' settlements "$(q "SELECT coalesce(string_agg(s.offering_id || ' ' || lower(s.outcome)
		|| ' (' || s.allocated_units || ' units, proceeds ' || o.currency || ' '
		|| to_char(s.proceeds_minor / 10::numeric ^ c.exponent, 'FM999G999G999G990D00')
		|| ', refunds ' || o.currency || ' ' || to_char(s.refunded_minor / 10::numeric ^ c.exponent, 'FM999G999G999G990D00') || ')',
		'; ' ORDER BY s.offering_id), 'none closed')
		FROM offering_settlement s JOIN offering o USING (offering_id) JOIN currency c ON c.code = o.currency
		WHERE s.business_date = '$day'")"
	printf '  %-12s %s\n' report "$REPO/var/reports/$day/recon-$day.xlsx"
	printf '  %-12s %s\n' log "$D/log/$day.log"
}

for day in $DAYS; do
	say "Business day $day"
	log=$D/log/$day.log
	run "$log" "$P" ledger import "fixtures/ledger/$day" || die "ledger import failed; see $log"
	deliver "fixtures/statements/$day"
	run "$log" "$P" run --date "$day"
	rc=$?
	if [ $rc = 3 ] && [ -d "fixtures/statements/late/$day" ]; then
		echo "  exit 3: a statement has not arrived yet (as the fixture world intends); it arrives, the run is retried"
		deliver "fixtures/statements/late/$day"
		run "$log" "$P" run --date "$day"
		rc=$?
	fi
	if [ $rc != 0 ]; then
		echo "demo: the run for $day exited $rc; the last lines of $log:" >&2
		tail -5 "$log" >&2
		"$P" status --date "$day"
		exit 1
	fi
	[ -f "$REPO/var/reports/$day/recon-$day.xlsx" ] || die "missing: $REPO/var/reports/$day/recon-$day.xlsx"
	summary "$day"
done

say "Done"
echo "  every line the pipeline logged: $D/log/ (setup.log and one file per day); DEMO_VERBOSE=1 or -v shows them"
echo "  the SFTP server on port $PORT stops as the demo ends"
echo "  the embedded PostgreSQL still runs, so the results can be looked at:"
echo "      psql -h $SOCK -U postgres pipeline"
echo "  stop it with:   ./pipeline db stop     (./pipeline db status shows it; make demo starts it again)"
