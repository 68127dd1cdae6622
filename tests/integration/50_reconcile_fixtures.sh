#!/bin/bash
# Reconcile on the fixture world (fixtures/README.md): the three nightly runs end to end, and after
# each day the open exceptions and the matches are exactly fixtures/expected/<DATE>/exceptions.csv
# and matches.csv; the day-1 unknown deposit ages 0, 1, 2; the movement that never arrives is pending
# on day 1 and a break from day 2; statement balances agree with the ledger (no LEDGER_BALANCE_BREAK).
source "$(dirname "$0")/../lib.sh"
t_init reconcile_fixtures

AGES=""
for d in 2026-11-23 2026-11-24 2026-11-25; do
	t_day "$d" || t_fail "the nightly run of $d failed (exit $?)"
	exp=$REPO/fixtures/expected/$d
	assert_eq "$(cat "$exp/exceptions.csv")" "$(echo 'type,account_no,reference,amount_minor';
		t_psql "SELECT type || ',' || coalesce(account_no, '') || ',' || reference || ','
		               || coalesce(amount_minor::text, '')
		          FROM exception WHERE status = 'OPEN' AND stage = 'reconcile' ORDER BY 1" | LC_ALL=C sort)" \
		"open exceptions after $d"
	assert_eq "$(cat "$exp/matches.csv")" "$(echo 'account_no,bank_ref,rule,reference,amount_minor,movement_ids';
		t_psql "SELECT l.account_no || ',' || l.bank_ref || ',' || m.rule || ',' || l.reference || ','
		               || l.amount_minor || ',' || string_agg(mm.movement_id, ';' ORDER BY mm.movement_id)
		          FROM recon_match m JOIN statement_line l ON l.line_id = m.line_id
		          JOIN recon_match_movement mm ON mm.match_id = m.match_id
		         WHERE m.business_date = '$d'
		         GROUP BY m.match_id, l.account_no, l.bank_ref, m.rule, l.reference, l.amount_minor" | LC_ALL=C sort)" \
		"matches of $d"
	t_pipeline -q export exceptions --date "$d" > "$T/export-$d.csv" || t_fail "export $d"
	AGES="$AGES $(grep ',VA99999999,FT26327000442,' "$T/export-$d.csv" | awk -F, '{print $11}')"
	if [ "$d" = 2026-11-23 ]; then
		assert_eq "CM-20261118-0001|2026-11-23|0" \
			"$(t_psql "SELECT movement_id, window_end, days_left FROM pending_movements('$d')
			            WHERE movement_id = 'CM-20261118-0001'")" "the missing deposit is pending on day 1"
	fi
done
assert_eq " 0 1 2" "$AGES" "the unknown deposit ages 0, 1, 2 business days"
assert_eq 0 "$(t_psql "SELECT count(*) FROM exception WHERE type IN ('LEDGER_BALANCE_BREAK', 'STATEMENT_MISSING')")" \
	"balances agree and no statement is missing"
assert_contains "$(t_pipeline explain FT26328000480)" "by rule AMOUNT_DATE" "explain the reference-less withdrawal"
t_done
