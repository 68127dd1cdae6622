#!/bin/bash
# Four eyes: S-BIG's proceeds (SGD 5,910,000.00) exceed [settle] four_eyes_limit (SGD 5,000,000.00),
# so the transfer waits as AWAITING_APPROVAL in no file - and S-BIG's units wait with it - while
# its fee is paid. `pipeline approve` refuses the operator who ran the settlement, unknown or
# non-waiting transfers, and a second approval; a different person's approval is recorded and the
# next settle run files, uploads and issues.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/60_settle_lib.inc"
t_init settle_foureyes
export PIPELINE_OPERATOR=alice

assert_exit 0 t_pipeline -q ledger import "$REPO/fixtures/settle/ledger"
assert_exit 0 t_pipeline -q settle --date 2026-11-23
assert_exit 0 t_pipeline settle --date 2026-11-24
assert_contains "$T_ERR" 'msg="transfer held for four-eyes approval" transfer=TRF-S-BIG-PROCEEDS amount=5910000.00 currency=SGD' \
	"the hold is logged"
assert_eq "TRF-S-BIG-FEE|9000000|UPLOADED|pain001-20261124-01.xml|
TRF-S-BIG-PROCEEDS|591000000|AWAITING_APPROVAL||" \
	"$(t_psql "SELECT transfer_id, amount_minor, status, coalesce(payment_file, ''), coalesce(approved_by, '')
	             FROM transfer WHERE offering_id = 'S-BIG' ORDER BY 1")" "proceeds held, fee paid"
assert_eq "" "$(grep -l 'TRF-S-BIG-PROCEEDS' "$(PAY_DIR)"/* "$T"/data/outbox/*/* 2>/dev/null)" "held transfer in no file"
assert_eq 0 "$(t_psql "SELECT count(*) FROM cash_movement WHERE reference = 'TRF-S-BIG-PROCEEDS'")" \
	"no movement expected for a held transfer"
assert_eq "ISS-S-BIG-I05||2026-11-25" "$(t_psql "SELECT issuance_id, coalesce(issuance_file, ''), h.as_of_date
	FROM issuance i JOIN holding h USING (offering_id, investor_id) WHERE offering_id = 'S-BIG'")" \
	"S-BIG's issuance waits for its proceeds"
assert_eq "issuance-20261123-01.csv" "$(ls -A "$(ISS_DIR)")" "no issuance file on day 2"
assert_xsd "$(PAY_DIR)/pain001-20261124-01.xml"

# --- approve: the refusals, each leaving the transfer as it was
assert_exit 1 t_pipeline approve TRF-S-BIG-PROCEEDS --by alice
assert_contains "$T_ERR" "pipeline: approve: alice ran the settlement that created transfer TRF-S-BIG-PROCEEDS; a different person must approve it (four eyes)" \
	"the operator cannot approve"
assert_exit 1 t_pipeline approve TRF-S-BIG-PROCEEDS --by " ALICE "
assert_contains "$T_ERR" "a different person must approve it" "names compare trimmed and case-insensitively"
assert_exit 1 t_pipeline approve TRF-NOPE --by bob
assert_contains "$T_ERR" "pipeline: approve: transfer TRF-NOPE does not exist" "unknown transfer"
assert_exit 1 t_pipeline approve TRF-S-BIG-FEE --by bob
assert_contains "$T_ERR" "approve: transfer TRF-S-BIG-FEE is UPLOADED; it is not waiting for approval" "not waiting"
assert_exit 2 t_pipeline approve TRF-S-BIG-PROCEEDS
assert_exit 2 t_pipeline approve TRF-S-BIG-PROCEEDS --by "  "
# the database itself refuses the creator as approver, and an approval on a held transfer
out=$(t_psql "UPDATE transfer SET status = 'READY', approved_by = 'Alice', approved_at = now()
	WHERE transfer_id = 'TRF-S-BIG-PROCEEDS'" 2>&1)
assert_contains "$out" 'violates check constraint "transfer_four_eyes"' "four eyes enforced by the database"
out=$(t_psql "UPDATE transfer SET approved_by = 'bob' WHERE transfer_id = 'TRF-S-BIG-PROCEEDS'" 2>&1)
assert_contains "$out" 'violates check constraint "transfer_held_unapproved"' "a held transfer carries no approval"
assert_eq "AWAITING_APPROVAL|-" "$(t_psql "SELECT status, coalesce(approved_by, '-') FROM transfer
	WHERE transfer_id = 'TRF-S-BIG-PROCEEDS'")" "refusals change nothing"

assert_exit 0 t_pipeline approve TRF-S-BIG-PROCEEDS --by bob
assert_contains "$T_OUT" "approved TRF-S-BIG-PROCEEDS: SGD 5910000.00 to 8800123456 by bob (created by alice)" "approval message"
assert_eq "READY|bob|t|alice|alice" "$(t_psql "SELECT t.status, t.approved_by, t.approved_at IS NOT NULL, t.created_by,
	r.operator FROM transfer t JOIN offering_settlement s USING (offering_id) JOIN stage_run r ON r.run_id = s.run_id
	WHERE transfer_id = 'TRF-S-BIG-PROCEEDS'")" "approver and creator both recorded on the transfer"
assert_exit 1 t_pipeline approve TRF-S-BIG-PROCEEDS --by carol
assert_contains "$T_ERR" "approve: transfer TRF-S-BIG-PROCEEDS is READY; it was already approved by bob" "second approval refused"
# the approval is set once, even by hand as the superuser (sql/091)
out=$(t_psql "UPDATE transfer SET approved_by = 'mallory' WHERE transfer_id = 'TRF-S-BIG-PROCEEDS'" 2>&1)
assert_contains "$out" "transfer TRF-S-BIG-PROCEEDS: its approval and payment file are set once" "an approval cannot be rewritten"
out=$(t_psql "UPDATE transfer SET approved_at = now() - interval '1 day' WHERE transfer_id = 'TRF-S-BIG-PROCEEDS'" 2>&1)
assert_contains "$out" "its approval and payment file are set once" "nor its time"

# --- a rerun of an earlier date does not file what a later date created
assert_exit 0 t_pipeline -q settle --date 2026-11-23 --force
assert_eq "READY|" "$(t_psql "SELECT status, coalesce(payment_file, '') FROM transfer WHERE transfer_id = 'TRF-S-BIG-PROCEEDS'")" \
	"not filed by a rerun of 2026-11-23"

# --- the next settle run files it, and issues S-BIG's units
assert_exit 0 t_pipeline -q settle --date 2026-11-25
assert_eq "TRF-S-BIG-PROCEEDS|UPLOADED|pain001-20261125-01.xml" "$(t_psql "SELECT transfer_id, status, payment_file
	FROM transfer WHERE transfer_id = 'TRF-S-BIG-PROCEEDS'")" "approved transfer filed and uploaded"
pay=$(PAY_DIR)/pain001-20261125-01.xml
assert_xsd "$pay"
assert_eq "TRF-S-BIG-PROCEEDS" "$(grep -o '<EndToEndId>[^<]*' "$pay" | cut -d'>' -f2)" "only the approved transfer"
assert_contains "$(cat "$pay")" "<CtrlSum>5910000.00</CtrlSum>" "control sum"
assert_contains "$(cat "$pay")" "<ReqdExctnDt>2026-11-26</ReqdExctnDt>" "paid the business day after filing"
assert_eq "TRF-S-BIG-PROCEEDS-CR|2026-11-26
TRF-S-BIG-PROCEEDS-DR|2026-11-26" "$(t_psql "SELECT movement_id, expected_date FROM cash_movement
	WHERE reference = 'TRF-S-BIG-PROCEEDS' ORDER BY 1")" "movements expected when the bank will pay"
assert_eq "issuance_id,offering_id,investor_id,units,unit_price,amount,currency,settlement_date
ISS-S-BIG-I05,S-BIG,I05,600,10000.00,6000000.00,SGD,2026-11-26" "$(cat "$(ISS_DIR)/issuance-20261125-01.csv")" \
	"S-BIG's units issued once its proceeds are instructed"
assert_journal_balanced
t_done
