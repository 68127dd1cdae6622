#!/bin/bash
# bench/settle.sh - settles one oversubscribed offering with N subscriptions from N/2 investors (so
# every investor's subscriptions are summed) and prints the settle stage's time, subscriptions/s and
# peak RSS, beside a floor measured in the same run: one INSERT ... SELECT writing as many rows as
# the stage writes (allocations + issuance + holdings + journal postings), server-side.
# Sizes: BENCH_SETTLE_SIZES (default "10000 100000"). Never fails because the machine is slow.
set -uo pipefail
cd "$(dirname "$0")/.."
source tests/lib.sh
SIZES=${BENCH_SETTLE_SIZES:-"10000 100000"}
D=2026-11-23

measure() {
	/usr/bin/time -f '%e %M' -o "$T/time" "$@" >/dev/null 2>"$T/cmd.err" || {
		echo "bench/settle: command failed: $*" >&2
		tail -5 "$T/cmd.err" >&2
		return 1
	}
	cat "$T/time"
}

printf '%-10s %10s %12s %10s %12s\n' subs settle_s subs_per_s rss_MiB floor_s
for n in $SIZES; do
	t_init "bench_settle_$n" 2>/dev/null
	inv=$((n / 2))
	t_psql "
	INSERT INTO bank_account VALUES ('0123456789', 'SGD', 'CLIENT_MONEY', 'Client money'),
	  ('0123456790', 'SGD', 'OPERATING', 'Operating'), ('8800123456', 'SGD', 'TRUSTEE', 'Trustee');
	INSERT INTO investor SELECT 'INV' || i, 'Investor ' || i, 'VA' || lpad(i::text, 8, '0'), 'ACTIVE'
	  FROM generate_series(1, $inv) i;
	INSERT INTO offering VALUES ('BENCH', 'Bench Tower', 'SGD', 10037, $n * 3, 1, '2026-11-01', '$D', '2026-11-25',
	  150, '8800123456');
	INSERT INTO subscription SELECT 'S' || lpad(i::text, 9, '0'), 'BENCH', 'INV' || (1 + i % $inv),
	  1 + (i * 7919) % 10, timestamptz '2026-11-02 09:00+08' + (i % 1000) * interval '1 minute', 'ACTIVE'
	  FROM generate_series(1, $n) i;" >/dev/null || { echo "bench/settle: setup failed" >&2; exit 0; }
	read -r secs rss < <(measure "$PIPELINE" --config "$T/pipeline.conf" -q settle --date $D) || continue
	rows=$(t_psql "SELECT (SELECT count(*) FROM allocation) + (SELECT count(*) FROM issuance)
	               + (SELECT count(*) FROM holding) + (SELECT count(*) FROM journal_posting)")
	fstart=$(date +%s.%N)
	t_psql "CREATE TEMP TABLE floor_rows AS SELECT i, 'x' || i AS a, i * 3 AS b FROM generate_series(1, $rows) i" >/dev/null
	floor=$(echo "$(date +%s.%N) - $fstart" | bc)
	printf '%-10s %10s %12.0f %10.1f %12.2f   (%s rows written; outcome %s)\n' "$n" "$secs" \
		"$(echo "$n / ($secs + 0.001)" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$floor" "$rows" \
		"$(t_psql "SELECT outcome || ' ' || allocated_units || '/' || requested_units FROM offering_settlement")"
done
