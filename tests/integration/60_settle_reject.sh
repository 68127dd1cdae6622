#!/bin/bash
# Settlements that must not happen: a failed conservation check (a stray posting on an escrow) or
# accounts in another currency abort that offering with a precise message and commit nothing of it,
# while the other offerings settle; a missing outbound destination leaves the committed rows for a
# later run to deliver, which then finishes the work.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/60_settle_lib.inc"

# --- conservation: S-PRO's escrow already holds 0.01, so after settling it would not net to zero
t_init settle_reject_conservation
t_pipeline -q ledger import "$REPO/fixtures/settle/ledger" >/dev/null || t_fail "import"
t_psql "$(cat "$REPO/fixtures/settle/escrow-preposted.sql")" >/dev/null || t_fail "fixture"
assert_exit 1 t_pipeline settle --date 2026-11-23
assert_contains "$T_ERR" "pipeline: S-PRO: conservation failed in the database: escrow balance 1 (expected 0), allocated units 9 / issued units 9 (expected 9, offered 9), transfers 111105 (expected gross 111105), refunds 320970 (expected 320970); nothing committed" \
	"the broken equation is named"
assert_eq "S-FAIL
S-FULL" "$(t_psql "SELECT offering_id FROM offering_settlement ORDER BY 1")" "the other offerings settle"
assert_eq "0|0|0|0|0|0" "$(t_psql "SELECT (SELECT count(*) FROM allocation WHERE offering_id = 'S-PRO') || '|' ||
	(SELECT count(*) FROM transfer WHERE offering_id = 'S-PRO') || '|' || (SELECT count(*) FROM issuance WHERE offering_id = 'S-PRO')
	|| '|' || (SELECT count(*) FROM holding WHERE offering_id = 'S-PRO') || '|' ||
	(SELECT count(*) FROM journal_txn WHERE txn_key LIKE '%S-PRO%') || '|' ||
	(SELECT count(*) FROM cash_movement WHERE reference LIKE '%S-PRO%')")" "nothing of S-PRO committed"
assert_eq "failed|22" "$(t_psql "SELECT state, error_code FROM stage_run WHERE stage = 'settle'")" "stage failed: conservation"
assert_eq "TRF-S-FULL-FEE TRF-S-FULL-PROCEEDS" \
	"$(grep -o '<EndToEndId>[^<]*' "$(PAY_DIR)/pain001-20261123-01.xml" | cut -d'>' -f2 | tr '\n' ' ' | sed 's/ $//')" \
	"the good offering is still paid"
assert_xsd "$(PAY_DIR)/pain001-20261123-01.xml"

# --- currency: a JPY offering with SGD accounts cannot be paid
t_init settle_reject_currency
t_pipeline -q ledger import "$REPO/fixtures/settle/ledger-badccy" >/dev/null || t_fail "import"
assert_exit 1 t_pipeline settle --date 2026-11-23
assert_contains "$T_ERR" "pipeline: S-YEN: the client money ([accounts] client_money) account 0123456789 holds SGD, the offering is in JPY" \
	"currency mismatch named"
assert_eq "0|0|0|0" "$(t_psql "SELECT (SELECT count(*) FROM offering_settlement) || '|' || (SELECT count(*) FROM allocation)
	|| '|' || (SELECT count(*) FROM journal_txn) || '|' || (SELECT count(*) FROM outbound_file)")" "nothing committed"

# --- no [outbound.payments]: the rows commit, nothing is filed; with the section back, a rerun delivers
t_init settle_reject_outbound
t_pipeline -q ledger import "$REPO/fixtures/settle/ledger" >/dev/null || t_fail "import"
cp "$T/pipeline.conf" "$T/pipeline.conf.full"
awk '/^\[/ { skip = ($0 == "[outbound.payments]") } !skip' "$T/pipeline.conf.full" > "$T/pipeline.conf"
assert_exit 2 t_pipeline settle --date 2026-11-23
assert_contains "$T_ERR" "transfers are ready but [outbound.payments] is not configured" "missing destination named"
assert_eq "3|4|READY" "$(t_psql "SELECT (SELECT count(*) FROM offering_settlement) || '|' || (SELECT count(*) FROM transfer)
	|| '|' || (SELECT string_agg(DISTINCT status, ',') FROM transfer)")" "settlement rows committed, transfers not filed"
cp "$T/pipeline.conf.full" "$T/pipeline.conf"
assert_exit 0 t_pipeline -q settle --date 2026-11-23
assert_eq "UPLOADED" "$(t_psql "SELECT string_agg(DISTINCT status, ',') FROM transfer")" "the rerun files and uploads"
assert_eq "pain001-20261123-01.xml" "$(ls -A "$(PAY_DIR)")" "one payment file"
assert_eq "issuance-20261123-01.csv" "$(ls -A "$(ISS_DIR)")" "one issuance file"
assert_xsd "$(PAY_DIR)/pain001-20261123-01.xml"
assert_journal_balanced
t_done
