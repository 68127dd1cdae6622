#!/bin/bash
# bench/report.sh - time and peak RSS of the report stage for a day with 10,000 and 100,000 open
# exceptions (inserted with generate_series), plus 20,000 matches. Constant-memory mode and
# server-side cursors mean the peak RSS must not grow with the row count: compare the two lines.
# Prints figures; never fails because the machine is slow.
source "$(dirname "$0")/../tests/lib.sh"
D=2026-11-25
N_LIST=${REPORT_BENCH_ROWS:-"10000 100000"}

run_one() {
	local n=$1
	t_init "bench_report_$n"
	t_psql "
	INSERT INTO bank_account VALUES ('0123456789', 'SGD', 'CLIENT_MONEY', 'Client money'),
	       ('JP00112233', 'JPY', 'CLIENT_MONEY', 'Client money (JPY)');
	INSERT INTO stage_run (run_id, business_date, stage, state, finished_at, pid, host, operator, config_digest)
	       VALUES (1, '$D', 'reconcile', 'done', now(), 1, 'h', 'bench', 'x');
	SELECT setval('stage_run_run_id_seq', 1);
	INSERT INTO exception (type, severity, stage, subject, account_no, item_date, amount_minor, currency,
	       reference, statement_ref, ledger_id, detail, opened_date, opened_run_id)
	SELECT (ARRAY['UNMATCHED_STATEMENT','UNMATCHED_LEDGER','AMOUNT_MISMATCH','AMBIGUOUS'])[1 + g % 4],
	       CASE WHEN g % 3 = 0 THEN 'WARNING' ELSE 'ERROR' END, 'reconcile', 'line:' || g,
	       CASE WHEN g % 5 = 0 THEN 'JP00112233' ELSE '0123456789' END, '$D'::date - (g % 90),
	       (g::bigint * 7919) % 100000000 - 5000000, CASE WHEN g % 5 = 0 THEN 'JPY' ELSE 'SGD' END,
	       'VA' || lpad(g::text, 8, '0'), 'B' || g, 'M-' || g,
	       'a deposit to virtual account VA' || lpad(g::text, 8, '0') || ' that nothing in the ledger explains',
	       '$D'::date - (g % 90), 1
	  FROM generate_series(1, $n) g;
	INSERT INTO fetched_file (file_id, business_date, source, remote_name, local_path, size_bytes, sha256, status, run_id)
	       VALUES (1, '$D', 'bank_client', 'stmt.sta', '/x', 1, repeat('a', 64), 'NEW', 1);
	INSERT INTO statement (statement_id, file_id, business_date, source, format, account_no, currency, statement_no,
	       opening_date, opening_minor, closing_date, closing_minor, line_count, content_sha256, gate, run_id)
	       VALUES (1, 1, '$D', 'bank_client', 'mt940', '0123456789', 'SGD', '1', '$D', 0, '$D', 0, 20000, repeat('b', 64), 'PASSED', 1);
	INSERT INTO statement_line (statement_id, line_no, account_no, value_date, amount_minor, currency, mark, narrative, reference)
	SELECT 1, g, '0123456789', '$D', 100 + g, 'SGD', 'C', 'DEPOSIT VA' || lpad(g::text, 8, '0'), 'VA' || lpad(g::text, 8, '0')
	  FROM generate_series(1, 20000) g;
	INSERT INTO recon_match (business_date, rule, line_id, run_id) SELECT '$D', 'REFERENCE', line_id, 1 FROM statement_line;
	ANALYZE;" >/dev/null || { echo "bench/report: could not load $n rows" >&2; return 1; }
	/usr/bin/time -v "$PIPELINE" --config "$T/pipeline.conf" -q report --date $D --force 2> "$T/time.txt" >/dev/null
	local rc=$?
	local secs rss size
	secs=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$T/time.txt")
	rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$T/time.txt")
	size=$(stat -c %s "$T/reports/$D/recon-$D.xlsx" 2>/dev/null || echo 0)
	printf 'report: %7d exceptions + 20000 matches: exit %d, wall %s, peak RSS %6d KiB, workbook %d bytes\n' \
		"$n" "$rc" "$secs" "$rss" "$size"
	psql -q -X -h "$PGSOCK" -U postgres -d postgres -c "DROP DATABASE IF EXISTS $T_DB WITH (FORCE)" >/dev/null
	rm -rf "$T"
}

for n in $N_LIST; do
	run_one "$n"
done
exit 0
