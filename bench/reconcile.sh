#!/bin/bash
# bench/reconcile.sh - reconciles a generated world of N statement lines against about N ledger
# movements (a few per cent of each kind of break) and prints the stage's time, matches/s and peak
# RSS beside floors measured in the same run on the same data:
#   read floor  = COPY of the candidate lines and movements out of PostgreSQL (the stage's queries)
#   write floor = COPY of the same results (matches, match movements, exceptions) back into the real
#                 tables (with their keys and foreign keys, rolled back); the "bare" floor is the same
#                 COPY into copies of the tables without foreign keys, for comparison.
# Sizes: 100k and 1M; 10M too with BENCH_RECON_10M=1 (several GB of disk, ~2 GB RAM, long).
# First the engine alone (bench/match_engine.c, in memory) at 100k, 1M (and 10M): its growth.
# BENCH_RECON_SIZES="100000 1000000" overrides the list. Never fails because the machine is slow.
set -uo pipefail
cd "$(dirname "$0")/.."
source tests/lib.sh

SIZES=${BENCH_RECON_SIZES:-"100000 1000000"}
[ "${BENCH_RECON_10M:-0}" = 1 ] && SIZES="$SIZES 10000000"
D=2026-11-25

generate() {
	local n=$1
	# kind = i % 100:  0-79 reference match, 80-87 amount-and-date match, 88-89 ambiguous,
	# 90-91 amount mismatch, 92-93 unmatched statement line, 94-95 duplicate bank reference + an
	# overdue movement (UNMATCHED_LEDGER), 96-97 batch of two movements, 98-99 currency mismatch
	# (line unmatched) + a movement still pending.
	t_psql "
	INSERT INTO bank_account VALUES ('0123456789', 'SGD', 'CLIENT_MONEY', 'Client money'),
	  ('0123456790', 'SGD', 'OPERATING', 'Operating'), ('8800123456', 'SGD', 'TRUSTEE', 'Trustee');
	INSERT INTO stage_run (business_date, stage, state, finished_at, pid, host, operator, config_digest)
	  VALUES ('$D', 'normalize', 'done', now(), 1, 'bench', 'bench', 'bench');
	INSERT INTO fetched_file (business_date, source, remote_name, local_path, size_bytes, sha256, status, run_id)
	  SELECT '$D', 'bench', 'f' || a, '/bench/' || a, 0, md5(a) || md5(a), 'NEW', 1
	    FROM unnest(ARRAY['0123456789', '0123456790', '8800123456']) a;
	INSERT INTO statement (file_id, business_date, source, format, account_no, currency, statement_no,
	    opening_date, opening_minor, closing_date, closing_minor, line_count, content_sha256, gate, run_id)
	  SELECT file_id, '$D', 'bench', 'bench', substr(remote_name, 2), 'SGD', '1', '$D', 0, '$D', 0, 0,
	         sha256, 'PASSED', 1 FROM fetched_file;
	CREATE TEMP TABLE g AS SELECT i, i % 100 AS k, (100 + (i::bigint * 7919) % 1000000) AS amt,
	    CASE WHEN (i / 100) % 4 = 0 THEN -1 ELSE 1 END AS sgn
	  FROM generate_series(1, $n) i;
	INSERT INTO statement_line (statement_id, line_no, account_no, value_date, amount_minor, currency, mark,
	    bank_ref, reference, narrative)
	  SELECT 1, i, '0123456789', DATE '$D',
	         CASE WHEN k BETWEEN 80 AND 87 THEN sgn * (2000000 + i)
	              WHEN k BETWEEN 88 AND 89 THEN -777
	              WHEN k BETWEEN 90 AND 91 THEN sgn * (amt + 1)
	              ELSE sgn * amt END,
	         CASE WHEN k >= 98 THEN 'USD' ELSE 'SGD' END,
	         CASE WHEN (CASE WHEN k BETWEEN 80 AND 87 THEN sgn WHEN k BETWEEN 88 AND 89 THEN -1 ELSE sgn END) > 0
	              THEN 'C' ELSE 'D' END,
	         'FT' || CASE WHEN k BETWEEN 94 AND 95 THEN i - 5 ELSE i END,
	         CASE WHEN k BETWEEN 80 AND 89 THEN '' WHEN k BETWEEN 92 AND 93 THEN 'X' || i
	              WHEN k BETWEEN 96 AND 97 THEN 'B' || i ELSE 'R' || i END,
	         'bench line ' || i
	    FROM g;
	INSERT INTO cash_movement (movement_id, account_no, direction, amount_minor, currency, expected_date,
	    reference, kind, batch_id)
	  SELECT 'M' || i, '0123456789', CASE WHEN sgn > 0 THEN 'CREDIT' ELSE 'DEBIT' END,
	         CASE WHEN k BETWEEN 80 AND 87 THEN 2000000 + i WHEN k BETWEEN 88 AND 89 THEN 777
	              WHEN k BETWEEN 96 AND 97 THEN amt - amt / 2 ELSE amt END,
	         'SGD',
	         CASE WHEN k BETWEEN 94 AND 95 THEN DATE '$D' - 10 WHEN k >= 98 THEN DATE '$D' + 1
	              ELSE DATE '$D' - (i % 3)::integer END,
	         CASE WHEN k BETWEEN 80 AND 89 THEN '' ELSE 'R' || i END,
	         'OTHER', CASE WHEN k BETWEEN 96 AND 97 THEN 'B' || i END
	    FROM g WHERE k NOT BETWEEN 92 AND 93;
	UPDATE cash_movement SET direction = 'DEBIT' WHERE amount_minor = 777;
	INSERT INTO cash_movement (movement_id, account_no, direction, amount_minor, currency, expected_date,
	    reference, kind, batch_id)
	  SELECT 'N' || i, '0123456789', CASE WHEN sgn > 0 THEN 'CREDIT' ELSE 'DEBIT' END, amt / 2, 'SGD',
	         DATE '$D', 'S' || i, 'OTHER', 'B' || i
	    FROM g WHERE k BETWEEN 96 AND 97;
	UPDATE statement s SET closing_minor = x.total, line_count = x.n
	  FROM (SELECT statement_id, sum(amount_minor) AS total, count(*) AS n FROM statement_line GROUP BY 1) x
	 WHERE x.statement_id = s.statement_id;
	ANALYZE;" >/dev/null
}

# Sums the "Time: N ms" lines psql prints for the statements between \timing on and off, in seconds.
timed_sql() {
	psql -X -q -h "$PGSOCK" -U postgres -d "$T_DB" -v ON_ERROR_STOP=1 -f "$1" 2>"$T/psql.err" |
		awk '/^Time: / { ms += $2 } END { printf "%.2f\n", ms / 1000 }'
}

rc=0
# The engine alone, in memory, up to 10M (growth without the database).
ENGINE=$(mktemp /tmp/match_engine.XXXXXX)
if make -s build/rel/engine/match.o build/rel/src/bizdate.o build/rel/src/money.o build/rel/src/util.o \
	build/rel/src/errors.o build/rel/src/log.o >/dev/null 2>&1 &&
	cc -O2 -std=c11 -D_GNU_SOURCE -Isrc -Iengine -o "$ENGINE" bench/match_engine.c build/rel/engine/match.o \
	build/rel/src/bizdate.o build/rel/src/money.o build/rel/src/util.o build/rel/src/errors.o \
	build/rel/src/log.o -lcrypto 2>/dev/null; then
	for n in 100000 1000000 $([ "${BENCH_RECON_10M:-0}" = 1 ] && echo 10000000); do
		"$ENGINE" "$n"
	done
else
	echo "engine: could not build bench/match_engine.c" >&2
	rc=1
fi
rm -f "$ENGINE"
echo

printf '%-8s %-8s %8s %9s %8s %8s %8s %8s %8s %7s %10s %8s\n' lines moves "stage s" "matches/s" "RSS MiB" \
	"read fl" "write fl" "bare fl" "floor" ratio exceptions "engine s"
for n in $SIZES; do
	t_init "bench_reconcile_$n"
	generate "$n" || { echo "bench/reconcile: could not generate $n lines" >&2; rc=1; continue; }
	movs=$(t_psql "SELECT count(*) FROM cash_movement")
	cat > "$T/read.sql" <<SQL
\timing on
\copy (SELECT l.line_id, l.account_no, l.currency, l.amount_minor, l.value_date - DATE '1970-01-01', l.reference, l.bank_ref FROM statement_line l JOIN statement s ON s.statement_id = l.statement_id WHERE s.gate = 'PASSED' AND s.business_date <= '$D' AND NOT EXISTS (SELECT 1 FROM recon_match m WHERE m.line_id = l.line_id)) TO '/dev/null'
\copy (SELECT c.movement_id, c.account_no, c.currency, CASE c.direction WHEN 'CREDIT' THEN c.amount_minor ELSE -c.amount_minor END, c.expected_date - DATE '1970-01-01', c.reference, coalesce(c.batch_id, '') FROM cash_movement c WHERE c.expected_date <= DATE '$D' + 5 AND NOT EXISTS (SELECT 1 FROM recon_match_movement mm WHERE mm.movement_id = c.movement_id)) TO '/dev/null'
SQL
	read_s=$(timed_sql "$T/read.sql")
	/usr/bin/time -f '%e %M' -o "$T/time" "$PIPELINE" --config "$T/pipeline.conf" -v reconcile --date "$D" \
		>/dev/null 2>"$T/stage.err" || { echo "bench/reconcile: the stage failed:" >&2; tail -3 "$T/stage.err" >&2; rc=1; continue; }
	read -r stage_s stage_kb < "$T/time"
	matches=$(t_psql "SELECT count(*) FROM recon_match")
	exc=$(t_psql "SELECT count(*) FROM exception")
	match_ms=$(grep -o 'match=[0-9]*' "$T/stage.err" | head -1 | cut -d= -f2)
	t_psql "COPY (SELECT * FROM recon_match) TO STDOUT" > "$T/m.copy"
	t_psql "COPY (SELECT * FROM recon_match_movement) TO STDOUT" > "$T/mm.copy"
	t_psql "COPY (SELECT * FROM exception) TO STDOUT" > "$T/x.copy"
	t_psql "CREATE TABLE floor_m (LIKE recon_match INCLUDING INDEXES);
	        CREATE TABLE floor_mm (LIKE recon_match_movement INCLUDING INDEXES);
	        CREATE TABLE floor_x (LIKE exception INCLUDING INDEXES);" >/dev/null
	cat > "$T/write.sql" <<SQL
BEGIN;
DELETE FROM exception;
DELETE FROM recon_match;
\timing on
\copy recon_match FROM '$T/m.copy'
\copy recon_match_movement FROM '$T/mm.copy'
\copy exception FROM '$T/x.copy'
\timing off
ROLLBACK;
SQL
	write_s=$(timed_sql "$T/write.sql")
	cat > "$T/bare.sql" <<SQL
BEGIN;
\timing on
\copy floor_m FROM '$T/m.copy'
\copy floor_mm FROM '$T/mm.copy'
\copy floor_x FROM '$T/x.copy'
\timing off
ROLLBACK;
SQL
	bare_s=$(timed_sql "$T/bare.sql")
	awk -v n="$n" -v m="$movs" -v s="$stage_s" -v kb="$stage_kb" -v r="$read_s" -v w="$write_s" \
		-v b="$bare_s" -v matches="$matches" -v exc="$exc" -v mms="${match_ms:-0}" 'BEGIN {
		floor = r + w; if (floor <= 0) floor = 0.01; if (s <= 0) s = 0.01
		printf "%-8d %-8d %8.2f %9.0f %8.1f %8.2f %8.2f %8.2f %8.2f %6.2fx %10d %8.2f\n",
			n, m, s, matches / s, kb / 1024, r, w, b, floor, s / floor, exc, mms / 1000 }'
	grep -E 'msg="step done"' "$T/stage.err" | sed -e 's/^.*step=/          /' -e 's/ invocation=[^ ]*//'
	psql -X -q -h "$PGSOCK" -U postgres -d postgres -c "DROP DATABASE IF EXISTS $T_DB WITH (FORCE)" >/dev/null 2>&1
	rm -rf "$T"
done
cat <<'TXT'
stage s: wall time of `pipeline reconcile` (read, match, write, exceptions, balance checks, commit);
floor = read fl + write fl (see the top of bench/reconcile.sh); engine s: the in-memory matching alone.
Aim: stage within 2x of the floor, peak RSS under 256 MiB at 1M, near-linear growth.
TXT
exit $rc
