#!/bin/bash
# bench/reconcile.sh - reconciles a generated world of N statement lines against about N ledger
# movements (a few per cent of each kind of break) and prints the stage's time, matches/s and peak
# RSS beside the floors measured in the same run on the same data:
#   read floor  = COPY of the candidate lines and movements out of PostgreSQL (the stage's queries)
#   write floor = COPY of the same matches back into tables shaped like recon_match(_movement)
# Sizes: 100k and 1M; 10M too with BENCH_RECON_10M=1 (needs several GB of disk and ~2 GB RAM).
# BENCH_RECON_SIZES="100000 1000000" overrides the list. Never fails because the machine is slow.
set -uo pipefail
cd "$(dirname "$0")/.."
source tests/lib.sh

SIZES=${BENCH_RECON_SIZES:-"100000 1000000"}
[ "${BENCH_RECON_10M:-0}" = 1 ] && SIZES="$SIZES 10000000"
D=2026-11-25

# Runs a command, prints "<seconds> <peak RSS KiB>" of it (its own process tree's maximum).
measure() {
	/usr/bin/time -f '%e %M' -o "$T/time" "$@" >/dev/null 2>"$T/cmd.err" || {
		echo "bench/reconcile: command failed: $*" >&2
		tail -5 "$T/cmd.err" >&2
		return 1
	}
	cat "$T/time"
}

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
	CREATE TEMP TABLE g AS SELECT i, i % 100 AS k, (100 + (i * 7919) % 1000000)::bigint AS amt,
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

printf '%-9s %-10s %10s %10s %12s %10s %10s %10s %10s %8s\n' lines movements "stage s" "floor s" "matches/s" \
	"RSS MiB" "read s" "write s" exceptions ratio
for n in $SIZES; do
	t_init "bench_reconcile_$n"
	generate "$n" || { echo "bench/reconcile: could not generate $n lines" >&2; continue; }
	movs=$(t_psql "SELECT count(*) FROM cash_movement")
	# Floor 1: read the candidates the way the stage does (COPY TO STDOUT, same queries).
	read_floor=$(measure psql -X -q -h "$PGSOCK" -U postgres -d "$T_DB" \
		-c "\\copy (SELECT l.line_id, l.account_no, l.currency, l.amount_minor, l.value_date - DATE '1970-01-01', l.reference, l.bank_ref FROM statement_line l JOIN statement s ON s.statement_id = l.statement_id WHERE s.gate = 'PASSED' AND s.business_date <= '$D' AND NOT EXISTS (SELECT 1 FROM recon_match m WHERE m.line_id = l.line_id)) TO '/dev/null'" \
		-c "\\copy (SELECT c.movement_id, c.account_no, c.currency, CASE c.direction WHEN 'CREDIT' THEN c.amount_minor ELSE -c.amount_minor END, c.expected_date - DATE '1970-01-01', c.reference, coalesce(c.batch_id, '') FROM cash_movement c WHERE c.expected_date <= DATE '$D' + 5 AND NOT EXISTS (SELECT 1 FROM recon_match_movement mm WHERE mm.movement_id = c.movement_id)) TO '/dev/null'") || continue
	# The stage itself.
	stage=$(measure "$PIPELINE" --config "$T/pipeline.conf" reconcile --date "$D") || continue
	matches=$(t_psql "SELECT count(*) FROM recon_match")
	exc=$(t_psql "SELECT count(*) FROM exception")
	# Floor 2: write the same matches back with COPY into tables with the same keys.
	t_psql "COPY recon_match TO '$T/m.copy'; COPY recon_match_movement TO '$T/mm.copy';
	        CREATE TABLE floor_m (LIKE recon_match INCLUDING INDEXES);
	        CREATE TABLE floor_mm (LIKE recon_match_movement INCLUDING INDEXES);" >/dev/null 2>&1 || {
		# COPY TO a file runs as the server's user: give it a directory it can write.
		chmod 777 "$T"; t_psql "COPY recon_match TO '$T/m.copy'; COPY recon_match_movement TO '$T/mm.copy';
		CREATE TABLE floor_m (LIKE recon_match INCLUDING INDEXES);
		CREATE TABLE floor_mm (LIKE recon_match_movement INCLUDING INDEXES);" >/dev/null; }
	write_floor=$(measure psql -X -q -h "$PGSOCK" -U postgres -d "$T_DB" -c "BEGIN" \
		-c "\\copy floor_m FROM '$T/m.copy'" -c "\\copy floor_mm FROM '$T/mm.copy'" -c "COMMIT") || continue
	read -r stage_s stage_kb <<<"$stage"
	read -r read_s _ <<<"$read_floor"
	read -r write_s _ <<<"$write_floor"
	awk -v n="$n" -v m="$movs" -v s="$stage_s" -v kb="$stage_kb" -v r="$read_s" -v w="$write_s" \
		-v matches="$matches" -v exc="$exc" 'BEGIN {
		floor = r + w; if (floor <= 0) floor = 0.01; if (s <= 0) s = 0.01
		printf "%-9d %-10d %10.2f %10.2f %12.0f %10.1f %10.2f %10.2f %10d %7.2fx\n",
			n, m, s, floor, matches / s, kb / 1024, r, w, exc, s / floor }'
	grep -o 'msg=reconciled.*' "$T/cmd.err" | sed 's/^/          /'
	psql -X -q -h "$PGSOCK" -U postgres -d postgres -c "DROP DATABASE IF EXISTS $T_DB WITH (FORCE)" >/dev/null 2>&1
	rm -rf "$T"
done
echo "aim: stage within 2x of read+write floors, peak RSS under 256 MiB at 1M, near-linear growth"
