#!/bin/bash
# bench/normalize_statements.sh - the normalize stage on ONE MT940 file holding many small
# statements (N = BENCH_NORMALIZE_STATEMENTS, default 10,000; one line each, numbers 1..N, balances
# chained: fixtures/hostile/make.py's many.sta, the file of reliability scenario 5). The cost of
# such a file is per statement (gate, continuity, duplicate check, inserts), not per line, so it
# prints statements/s and the stage's time and peak RSS, the statements the stage sends to
# PostgreSQL (counted with log_statement = all on a forced rerun) per statement of the file, and a
# floor: `psql \copy` of the same N statement rows and N lines. Never fails because the machine is slow.
set -uo pipefail
cd "$(dirname "$0")/.."
source tests/lib.sh
source bench/lib.inc     # measure, rate, mib

N=${BENCH_NORMALIZE_STATEMENTS:-10000}
D=2026-11-23
t_init bench_normalize_statements 2>/dev/null
B=$T/big
mkdir -p "$B"

echo "bench/normalize_statements: generating one MT940 file with $N statements ..."
/usr/bin/python3 -c '
import sys
sys.path.insert(0, "fixtures/hostile")
import make
open(sys.argv[2], "wb").write(make.many(int(sys.argv[1])))' "$N" "$B/many.sta" || exit 0
t_import $D || { echo "bench/normalize_statements: ledger import failed" >&2; exit 0; }
t_deliver $D
cp "$B/many.sta" "$T/remote/bank/client/stmt_0123456789_$(echo $D | tr -d -).sta"
t_pipeline -q fetch --date $D >/dev/null 2>&1 || { echo "bench/normalize_statements: fetch failed" >&2; exit 0; }

measure "$PIPELINE" --config "$T/pipeline.conf" -q normalize --date $D
read -r secs rss < "$T/time"
loaded=$(t_psql "SELECT count(*) FROM statement WHERE account_no = '0123456789'")
status=$(t_psql "SELECT l.status FROM file_load l JOIN fetched_file f USING (file_id) WHERE f.source = 'bank_client'")
echo "file: $N statements of one line each, $(stat -c %s "$B/many.sta") bytes; loaded: $loaded statements ($status)"
printf '  %-44s %7.2f s %9s statements/s   peak RSS %6s MiB   (CPU %s s)\n' "normalize stage, day with the file" \
	"$secs" "$(rate "$N" "$secs")" "$(mib "$rss")" "$(cat "$T/cpu")"

# The round trips, counted on a forced rerun of the day (the same work, plus deleting the first
# load's output): PostgreSQL logs every statement of this database only (log_statement set on the
# database) to the test cluster's log (tests/pg.sh). Not timed: logging slows the server down.
logf=$REPO/var/testpg/postgres.log
if [ "$PGSOCK" = "$REPO/var/testpg/run" ] && [ -r "$logf" ]; then
	t_psql "ALTER DATABASE $T_DB SET log_statement = 'all'" >/dev/null
	log_before=$(wc -l < "$logf")
	t_pipeline -q normalize --date $D --force >/dev/null 2>&1
	t_psql "ALTER DATABASE $T_DB RESET log_statement" >/dev/null
	queries=$(tail -n +"$((log_before + 1))" "$logf" | grep -Ec 'LOG:  (statement|execute [^:]*):' || true)
	echo "  statements sent to PostgreSQL by a forced rerun: $queries ($(awk -v q="$queries" -v n="$N" \
		'BEGIN { printf "%.3f", q / n }') per statement of the file; the day's 3 other files included)"
else
	echo "  (round trips not counted: the test cluster's log is not readable here)"
fi

# floor: the same rows \copy'd (N statement rows, N lines), after deleting them
t_psql "COPY (SELECT * FROM statement WHERE account_no = '0123456789' ORDER BY statement_id) TO STDOUT" > "$B/st.tsv"
t_psql "COPY (SELECT l.* FROM statement_line l JOIN statement s USING (statement_id)
	WHERE s.account_no = '0123456789' ORDER BY line_id) TO STDOUT" > "$B/ln.tsv"
t_psql "DELETE FROM statement WHERE account_no = '0123456789'" >/dev/null
t_psql "VACUUM statement, statement_line" >/dev/null
measure psql -X -q -h "$PGSOCK" -U postgres -d "$T_DB" -c "\\copy statement FROM '$B/st.tsv'" \
	-c "\\copy statement_line FROM '$B/ln.tsv'"
read -r fsecs frss < "$T/time"
printf '  %-44s %7.2f s %9s statements/s\n' "floor: \\copy of the same statements and lines" "$fsecs" "$(rate "$N" "$fsecs")"
rm -rf "$B"
exit 0
