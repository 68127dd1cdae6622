#!/bin/bash
# 05_fixtures_world.sh - the whole nightly on the fixture world, three days, as the scheduler runs
# it (day 2's operating statement is late: exit 3, deliver, rerun), compared with the expectations
# tools/genworld.py computed independently (fixtures/expected/<DATE>/): statement balances, every
# match (account, bank reference, rule, reference, amount, movements), the OPEN exceptions after
# each night, settlements, allocations, transfers, their statuses after the bank's pain.002 reports
# and the statement (UPLOADED -> ACCEPTED -> SETTLED), and issuance records.
source "$(dirname "$0")/../lib.sh"
t_init fixtures_world
EX=$REPO/fixtures/expected

# expected FILE: the fixture CSV without its header, sorted
expected() { tail -n +2 "$1" | LC_ALL=C sort; }
sorted() { LC_ALL=C sort; }

for d in 2026-11-23 2026-11-24 2026-11-25; do
	assert_exit 0 t_import "$d"
	t_deliver "$d"
	t_pipeline -q run --date "$d" 2>>"$T/run.log"
	rc=$?
	if [ "$d" = 2026-11-24 ]; then
		assert_eq 3 "$rc" "$d: the operating statement is late: first attempt exits 3"
		t_deliver "$d" late
		t_pipeline -q run --date "$d" 2>>"$T/run.log"
		rc=$?
	fi
	assert_eq 0 "$rc" "$d: the nightly completes"

	assert_eq "$(expected "$EX/$d/balances.csv")" "$(t_psql "SELECT concat_ws(',', account_no, opening_minor, closing_minor)
		FROM statement WHERE closing_date = '$d' AND gate = 'PASSED'" | sorted)" "$d: statement balances"
	assert_eq "$(expected "$EX/$d/bank_rec.csv")" "$(t_psql "SELECT concat_ws(',', account_no, status, bank_closing,
		in_transit, outstanding, bank_not_books, adjusted_bank, book_balance, difference)
		FROM bank_rec WHERE business_date = '$d'" | sorted)" "$d: bank reconciliation statements"
	# every statement's items add up to its figures
	assert_eq "" "$(t_psql "SELECT b.account_no FROM bank_rec b LEFT JOIN (SELECT account_no,
		coalesce(sum(amount_minor) FILTER (WHERE kind = 'DEPOSIT_IN_TRANSIT'), 0) AS dit,
		coalesce(-sum(amount_minor) FILTER (WHERE kind = 'OUTSTANDING_PAYMENT'), 0) AS op,
		coalesce(sum(amount_minor) FILTER (WHERE kind = 'BANK_NOT_IN_BOOKS'), 0) AS bnb
		FROM bank_rec_item WHERE business_date = '$d' GROUP BY account_no) i USING (account_no)
		WHERE b.business_date = '$d' AND (b.in_transit, b.outstanding, b.bank_not_books)
		IS DISTINCT FROM (coalesce(i.dit, 0), coalesce(i.op, 0), coalesce(i.bnb, 0))")" "$d: the items add up"
	assert_eq "$(expected "$EX/$d/matches.csv")" "$(t_psql "SELECT concat_ws(',', l.account_no, l.bank_ref, r.rule,
		l.reference, l.amount_minor, string_agg(mm.movement_id, ';' ORDER BY mm.movement_id))
		FROM recon_match r JOIN statement_line l USING (line_id) JOIN recon_match_movement mm USING (match_id)
		WHERE r.business_date = '$d'
		GROUP BY r.match_id, l.account_no, l.bank_ref, r.rule, l.reference, l.amount_minor" | sorted)" "$d: matches"
	assert_eq "$(expected "$EX/$d/exceptions.csv")" "$(t_psql "SELECT concat_ws(',', type, coalesce(account_no, ''),
		reference, coalesce(amount_minor::text, '')) FROM exception WHERE status = 'OPEN'" | sorted)" \
		"$d: open exceptions"
	assert_eq "$(expected "$EX/$d/settlement.csv")" "$(t_psql "SELECT concat_ws(',', offering_id, outcome,
		requested_units, allocated_units, refunded_minor, gross_minor, fee_minor, proceeds_minor)
		FROM offering_settlement WHERE business_date = '$d'" | sorted)" "$d: settlement"
	assert_eq "$(expected "$EX/$d/allocations.csv")" "$(t_psql "SELECT subscription_id || ',' || allocated_units
		FROM allocation WHERE business_date = '$d'" | sorted)" "$d: allocations"
	assert_eq "$(expected "$EX/$d/transfers.csv")" "$(t_psql "SELECT concat_ws(',', transfer_id, from_account,
		to_account, amount_minor) FROM transfer WHERE business_date = '$d'" | sorted)" "$d: transfers"
	assert_eq "$(expected "$EX/$d/transfer_status.csv")" "$(t_psql "SELECT concat_ws(',', t.transfer_id, t.status,
		coalesce(string_agg(e.status || ':' || e.source, ';' ORDER BY e.event_id), ''))
		FROM transfer t LEFT JOIN transfer_status_event e ON e.transfer_id = t.transfer_id AND e.moved
		GROUP BY t.transfer_id, t.status" | sorted)" "$d: transfer statuses (the bank's pain.002 and the statement)"
	assert_eq "$(expected "$EX/$d/issuance.csv")" "$(t_psql "SELECT concat_ws(',', issuance_id, units, amount_minor)
		FROM issuance WHERE business_date = '$d'" | sorted)" "$d: issuance"
done

# The problems' details, as fixtures/README.md tells them.
assert_eq "line" "$(t_psql "SELECT split_part(subject, ':', 1) FROM exception WHERE type = 'DUPLICATE_LINE'")" \
	"the duplicate is about a statement line"
assert_eq "INV0112" "$(t_psql "SELECT ledger_id FROM exception WHERE type = 'HOLDING_MISMATCH'")" \
	"the register mismatch names the investor"
assert_eq "CM-20261118-0001" "$(t_psql "SELECT ledger_id FROM exception WHERE type = 'UNMATCHED_LEDGER'")" \
	"the deposit that never arrived"
assert_eq "2026-11-24" "$(t_psql "SELECT opened_date FROM exception WHERE type = 'UNMATCHED_LEDGER'")" \
	"the missing deposit breaks only after its window (pending on day 1)"
assert_eq "2026-11-23" "$(t_psql "SELECT opened_date FROM exception WHERE type = 'UNMATCHED_STATEMENT'")" \
	"the unknown deposit is carried from day 1, not reopened"
assert_contains "$(t_psql "SELECT detail FROM exception WHERE type = 'BOOK_BALANCE_BREAK'")" \
	"balance per bank SGD 1330029.80 (statement 00046) + deposits in transit SGD 0.00 - outstanding payments SGD 0.00 - bank items not in the books SGD 0.00 = adjusted bank balance SGD 1330029.80; the book balance is SGD 1328795.24: difference SGD 1234.56" \
	"problem 7: the book balance break shows the statement's arithmetic"
assert_eq "movement:CM-20261118-0001|DEPOSIT_IN_TRANSIT|700000|5|UNMATCHED_LEDGER" "$(t_psql "SELECT i.item, i.kind,
	i.amount_minor, i.age_days, x.type FROM bank_rec_item i JOIN exception x USING (exception_id)
	WHERE i.business_date = '2026-11-25' AND i.reference = 'VA69529860'")" \
	"problem 2 is a deposit in transit, aged from its expected date, linked to its exception"
assert_eq "2" "$(t_psql "SELECT count(*) FROM recon_match r JOIN statement_line l USING (line_id)
	WHERE l.reference = 'VA67307949' AND l.amount_minor = 500000")" "two identical same-day deposits both matched"
t_done
