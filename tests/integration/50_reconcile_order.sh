#!/bin/bash
# Reconcile is deterministic whatever the order the statements were loaded in: the same world
# loaded forwards and backwards (so every statement line gets another id) gives the same matches
# and the same exceptions on both days.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/50_reconcile_lib.inc"

run_world() {
	t_init "reconcile_order_$1"
	recon_setup
	recon_day1 "$1"
	t_pipeline -q reconcile --date 2026-11-23 || t_fail "day 1 ($1) failed"
	recon_day2 "$1"
	t_pipeline -q reconcile --date 2026-11-24 || t_fail "day 2 ($1) failed"
	{
		recon_matches
		echo ---
		recon_open
		echo ---
		t_psql "SELECT type, status, coalesce(closed_by, '') FROM exception ORDER BY 1, 2, 3"
	} > "$T/result"
	t_psql "SELECT string_agg(bank_ref, ',' ORDER BY line_id) FROM statement_line" > "$T/line_order"
}

run_world fwd
FWD=$(cat "$T/result")
FWD_LINES=$(cat "$T/line_order")
run_world rev
REV=$(cat "$T/result")
REV_LINES=$(cat "$T/line_order")
[ "$FWD_LINES" != "$REV_LINES" ] || t_fail "the two loads should give the lines other ids"
assert_eq "$FWD" "$REV" "same matches and exceptions whatever the load order"
assert_contains "$FWD" "2026-11-23|FT002|-60000|BATCH|W-1,W-2,W-3" "the world was reconciled"
t_done
