#!/bin/bash
# Delivery versus payment (issue 16): an offering's issuance file reaches the trustee only after its
# payment file was uploaded and verified, and, per [settle] issue_after, accepted by the bank or
# settled (SETTLED, or its debit matched on the client-money statement).
#  1. the bank's SFTP server (real sshd) is down during settle, the trustee's is up: no issuance
#     delivered; the next run delivers the payment, then the issuance.
#  2. issue_after = accepted: the issuance waits while the transfers are UPLOADED; ACCEPTED lets it go.
#  3. issue_after = settled: ACCEPTED is not enough; SETTLED lets it go.
#  4. issue_after = settled on the fixture world's nightly: the proceeds debit matched by reconcile
#     on the next day's statement lets the issuance go, the next night.
# ACCEPTED and SETTLED are set here directly, as the owner: they stand in for the pain.002 status
# report that the pain.002 work (issue 15) applies; this branch must not depend on it.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/60_settle_lib.inc"
source "$(dirname "$0")/30_fetch_lib.inc"

iss_files() { t_psql "SELECT count(*) FROM outbound_file WHERE kind = 'ISSUANCE'"; }
order_ok() {
	assert_eq "t" "$(t_psql "SELECT (SELECT max(uploaded_at) FROM outbound_file WHERE kind = 'PAIN001')
		< (SELECT min(uploaded_at) FROM outbound_file WHERE kind = 'ISSUANCE')")" "$1: payment uploaded before the issuance"
}

# --- 1. bank down, trustee up
t_init settle_dvp_down
sftp_setup
conf_set outbound.issuance transport dir
conf_set outbound.issuance remote_dir "$T/remote/trustee/issuance-in"
t_pipeline -q ledger import "$REPO/fixtures/settle/ledger" >/dev/null || t_fail "import"
"$REPO/scripts/sftp-server.sh" stop "$SFTP_PORT" >/dev/null
assert_exit 1 t_pipeline settle --date 2026-11-23
assert_contains "$T_ERR" "cannot connect" "the bank's server is down"
assert_eq "" "$(ls -A "$(ISS_DIR)")" "no issuance delivered while its payment is not"
assert_eq 0 "$(iss_files)" "no issuance file even made"
assert_eq "FILED" "$(t_psql "SELECT string_agg(DISTINCT status, ',') FROM transfer")" "transfers filed, not uploaded"
SFTP_PORT=$("$REPO/scripts/sftp-server.sh" start "$SFTP_PORT" "$T/sftp") || t_fail "restart sshd"
assert_exit 0 t_pipeline settle --date 2026-11-23 --force
assert_eq "pain001-20261123-01.xml" "$(ls -A "$SFTP_ROOT/bank/payments-in")" "the rerun delivers the payment"
assert_eq "issuance-20261123-01.csv" "$(ls -A "$(ISS_DIR)")" "then the issuance"
order_ok "bank down"
assert_eq "pain001-20261123-01.xml|f|cannot connect
pain001-20261123-01.xml|f|cannot connect
pain001-20261123-01.xml|t|
issuance-20261123-01.csv|t|" "$(t_psql "SELECT file_name, verified, substring(detail from 'cannot connect')
	FROM outbound_attempt ORDER BY attempt_id")" "every upload attempt recorded: the failed one and its retry, then payment, then issuance"

# --- 2. issue_after = accepted
t_init settle_dvp_accepted
conf_set settle issue_after accepted
t_pipeline -q ledger import "$REPO/fixtures/settle/ledger" >/dev/null || t_fail "import"
assert_exit 0 t_pipeline settle --date 2026-11-23
assert_eq "pain001-20261123-01.xml" "$(ls -A "$(PAY_DIR)")" "accepted: payment delivered"
assert_eq "" "$(ls -A "$(ISS_DIR)")" "accepted: issuance waits while UPLOADED"
# stands in for the bank's pain.002 ACCP of the file (issue 15's branch applies it)
t_bank_says ACCEPTED "offering_id = 'S-PRO'"
assert_exit 0 t_pipeline -q settle --date 2026-11-23 --force
assert_eq "S-PRO" "$(t_psql "SELECT string_agg(DISTINCT offering_id, ',') FROM issuance WHERE issuance_file IS NOT NULL")" \
	"accepted: only the accepted offering's records are filed"
assert_eq "issuance-20261123-01.csv" "$(ls -A "$(ISS_DIR)")" "accepted: its issuance delivered"
t_bank_says ACCEPTED "offering_id = 'S-FULL'"
assert_exit 0 t_pipeline -q settle --date 2026-11-23 --force
assert_eq "issuance-20261123-01.csv issuance-20261123-02.csv" "$(ls -A "$(ISS_DIR)" | tr '\n' ' ' | sed 's/ $//')" \
	"accepted: the second offering's issuance follows its acceptance"
order_ok "accepted"

# --- 3. issue_after = settled
t_init settle_dvp_settled
conf_set settle issue_after settled
t_pipeline -q ledger import "$REPO/fixtures/settle/ledger" >/dev/null || t_fail "import"
assert_exit 0 t_pipeline -q settle --date 2026-11-23
t_bank_says ACCEPTED      # stands in for pain.002 ACCP
assert_exit 0 t_pipeline -q settle --date 2026-11-23 --force
assert_eq "" "$(ls -A "$(ISS_DIR)")" "settled: accepted is not enough"
t_bank_says SETTLED       # stands in for pain.002 ACSC
assert_exit 0 t_pipeline -q settle --date 2026-11-23 --force
assert_eq "issuance-20261123-01.csv" "$(ls -A "$(ISS_DIR)")" "settled: delivered once SETTLED"
order_ok "settled"

# --- 4. issue_after = settled, by the statement: the fixture world's nights
t_init settle_dvp_world
conf_set settle issue_after settled
night() {
	t_pipeline -q ledger import "$REPO/fixtures/ledger/$1" >/dev/null || t_fail "$1: import"
	cp -R "$REPO/fixtures/statements/$1/." "$T/remote/"
	t_pipeline -q run --date "$1" 2>>"$T/run.log"
	local rc=$?
	if [ $rc = 3 ] && [ -d "$REPO/fixtures/statements/late/$1" ]; then
		cp -R "$REPO/fixtures/statements/late/$1/." "$T/remote/"
		t_pipeline -q run --date "$1" 2>>"$T/run.log"
		rc=$?
	fi
	assert_eq 0 "$rc" "$1: the nightly completes"
}
night 2026-11-23
assert_eq "UPLOADED" "$(t_psql "SELECT string_agg(DISTINCT status, ',') FROM transfer WHERE offering_id = 'OFF-B'")" "OFF-B paid"
assert_eq 0 "$(t_psql "SELECT count(*) FROM issuance WHERE offering_id = 'OFF-B' AND issuance_file IS NOT NULL")" \
	"the night of the payment: OFF-B's issuance waits for the statement"
night 2026-11-24
assert_eq 2 "$(t_psql "SELECT count(*) FROM recon_match_movement WHERE movement_id LIKE 'TRF-OFF-B-%-DR'")" \
	"the proceeds and fee debits matched on the next day's statement"
assert_eq "t" "$(t_psql "SELECT bool_and(f.uploaded_at IS NOT NULL) FROM issuance i JOIN outbound_file f ON f.file_name = i.issuance_file
	WHERE i.offering_id = 'OFF-B'")" "the next night: OFF-B's issuance delivered"
assert_eq "$(t_psql "SELECT count(*) FROM issuance WHERE offering_id = 'OFF-B'")" \
	"$(t_psql "SELECT count(*) FROM issuance WHERE offering_id = 'OFF-B' AND issuance_file LIKE 'issuance-20261124-%'")" \
	"in the file of the night its debit was seen"
t_done
