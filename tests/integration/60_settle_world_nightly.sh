#!/bin/bash
# The whole nightly on the fixture world (fetch, normalize, reconcile, settle, report, three days):
# settle refuses nothing, pays and issues the documented numbers, and the next day's statements
# match the settlement's cash movements by the transfer ids (no break left about them).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/60_settle_lib.inc"
W=${SETTLE_WORLD:-$REPO/fixtures}
t_init settle_world_nightly

expected() { tail -n +2 "$1" | tr -d '\r' | sort; }
night() {   # night DATE: as the scheduler runs it, the late file delivered after exit 3
	t_pipeline -q ledger import "$W/ledger/$1" >/dev/null || t_fail "$1: import"
	cp -R "$W/statements/$1/." "$T/remote/"
	t_pipeline -q run --date "$1" 2>>"$T/run.log"
	local rc=$?
	if [ $rc = 3 ] && [ -d "$W/statements/late/$1" ]; then
		cp -R "$W/statements/late/$1/." "$T/remote/"
		t_pipeline -q run --date "$1" 2>>"$T/run.log"
		rc=$?
	fi
	assert_eq 0 "$rc" "$1: the nightly completes"
}

for d in 2026-11-23 2026-11-24 2026-11-25; do
	night $d
	assert_eq "done" "$(t_psql "SELECT state FROM stage_run WHERE stage = 'settle' AND business_date = '$d'
		ORDER BY run_id DESC LIMIT 1")" "$d: settle done"
	assert_eq "$(expected "$W/expected/$d/settlement.csv")" "$(t_psql "SELECT concat_ws(',', offering_id, outcome,
		requested_units, allocated_units, refunded_minor, gross_minor, fee_minor, proceeds_minor)
		FROM offering_settlement WHERE business_date = '$d'" | sort)" "$d: settlement.csv"
	assert_eq "$(expected "$W/expected/$d/transfers.csv")" "$(t_psql "SELECT concat_ws(',', transfer_id, from_account,
		to_account, amount_minor) FROM transfer WHERE business_date = '$d' AND status = 'UPLOADED'" | sort)" \
		"$d: transfers paid"
done
assert_eq "" "$(t_psql "SELECT subject FROM exception WHERE type = 'SETTLEMENT_BLOCKED'")" "no settlement refused"
# day 1's and day 2's transfers were on the next day's statements and matched by reference
assert_eq "$(t_psql "SELECT movement_id FROM cash_movement WHERE origin = 'SETTLE' AND expected_date <= '2026-11-25' ORDER BY 1")" \
	"$(t_psql "SELECT m.movement_id FROM recon_match_movement m JOIN cash_movement c USING (movement_id)
	           WHERE c.origin = 'SETTLE' ORDER BY 1")" "every settlement movement matched on the next day's statements"
assert_eq "" "$(t_psql "SELECT type || ' ' || reference FROM exception WHERE status = 'OPEN' AND reference LIKE 'TRF-%'")" \
	"no open break about a transfer"
for f in "$(PAY_DIR)"/*.xml; do assert_xsd "$f"; done
t_done
