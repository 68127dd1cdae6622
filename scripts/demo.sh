#!/bin/bash
# scripts/demo.sh - `make demo`: the whole nightly on the fixture world, three business days, as
# the scheduler would run it: the embedded PostgreSQL under var/pg, a local OpenSSH SFTP server
# on 127.0.0.1:2222 standing in for the bank and the trustee, the ledger extract of each day
# imported, the day's statement files put on the server, `pipeline run --date DAY`. On day 2 the
# operating account's statement is late: the run exits 3 ("not available yet"), the file arrives,
# the run is retried. Prints a summary and the path of each report.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
P=$REPO/pipeline
DAYS="2026-11-23 2026-11-24 2026-11-25"
SFTP_ROOT=$REPO/var/sftp/root

say() { printf '\n== %s\n' "$*"; }

say "Starting from a clean slate (the demo's own data under var/)"
"$P" -q db init >/dev/null || exit 1
psql -X -q -h "$REPO/var/pg/run" -U postgres -d postgres \
	-c "DROP DATABASE IF EXISTS pipeline WITH (FORCE)" -c "CREATE DATABASE pipeline" >/dev/null || exit 1
rm -rf var/inbox var/outbox var/reports var/log
"$P" db init || exit 1

say "Starting the local SFTP server (bank and trustee) on 127.0.0.1:2222"
scripts/sftp-server.sh stop 2222 >/dev/null 2>&1 || true
rm -rf "$SFTP_ROOT"
scripts/sftp-server.sh start 2222 "$SFTP_ROOT" >/dev/null || { echo "demo: cannot start sshd" >&2; exit 1; }
trap 'scripts/sftp-server.sh stop 2222 >/dev/null 2>&1 || true' EXIT

deliver() {   # deliver DIR: puts the files of a fixture day on the SFTP server, as the bank would
	find "$1" -type f | while read -r f; do
		rel=${f#"$1"/}
		mkdir -p "$(dirname "$SFTP_ROOT/$rel")"
		cp "$f" "$SFTP_ROOT/$rel"
		chown dabs: "$SFTP_ROOT/$rel" 2>/dev/null || true
	done
}

for day in $DAYS; do
	say "Business day $day"
	"$P" ledger import "fixtures/ledger/$day" | tail -1
	deliver "fixtures/statements/$day"
	"$P" run --date "$day"
	rc=$?
	if [ $rc = 3 ] && [ -d "fixtures/statements/late/$day" ]; then
		echo "demo: exit 3 - a statement has not arrived yet (as the fixture world intends)."
		echo "demo: the late file arrives; the scheduler retries the run."
		deliver "fixtures/statements/late/$day"
		"$P" run --date "$day"
		rc=$?
	fi
	if [ $rc != 0 ]; then
		echo "demo: the run for $day exited $rc" >&2
		"$P" status --date "$day"
		exit 1
	fi
	"$P" status --date "$day"
done

say "Open exceptions after the last day"
psql -X -q -h "$REPO/var/pg/run" -U postgres -d pipeline -P pager=off -c \
	"SELECT type, severity, count(*) AS open, min(opened_date) AS oldest
	   FROM exception WHERE status = 'OPEN' GROUP BY type, severity ORDER BY severity, type"

say "Reports"
for day in $DAYS; do
	f=$REPO/var/reports/$day/recon-$day.xlsx
	if [ -f "$f" ]; then echo "$f"; else echo "missing: $f" >&2; exit 1; fi
done
