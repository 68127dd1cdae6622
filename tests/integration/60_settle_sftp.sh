#!/bin/bash
# Settle delivering over real SFTP (OpenSSH sshd on a random port, scripts/sftp-server.sh): the files
# arrive; a different file already on the server under the same name is never overwritten (the run
# fails naming it, nothing is recorded as uploaded); a server that is down fails the run and the
# rerun delivers; a process killed after uploading re-puts the same bytes as a no-op.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/60_settle_lib.inc"
source "$(dirname "$0")/30_fetch_lib.inc"
t_init settle_sftp
sftp_setup
t_pipeline -q ledger import "$REPO/fixtures/settle/ledger" >/dev/null || t_fail "import"
PAY=$SFTP_ROOT/bank/payments-in
ISS=$SFTP_ROOT/trustee/issuance-in

# a foreign file squats the payment file's name on the server
echo "not ours" > "$PAY/pain001-20261123-01.xml"
assert_exit 1 t_pipeline settle --date 2026-11-23
assert_contains "$T_ERR" "uploading pain001-20261123-01.xml: sftp://dabs@127.0.0.1:$SFTP_PORT/bank/payments-in: pain001-20261123-01.xml already exists with different content" \
	"conflict names the file"
assert_contains "$T_ERR" "not overwritten" "conflict says nothing was overwritten"
assert_eq "not ours" "$(cat "$PAY/pain001-20261123-01.xml")" "the remote file is never overwritten"
# delivery versus payment (issue 16): the issuance file is not even made while its payment is not
# delivered (this test used to expect the issuance delivered here: units before money)
assert_eq "pain001-20261123-01.xml|f" "$(t_psql "SELECT file_name, uploaded_at IS NOT NULL FROM outbound_file ORDER BY 1")" \
	"the conflicting payment file is not recorded, no issuance file before its payment"
assert_eq "" "$(ls -A "$ISS")" "no issuance delivered before its payment"
assert_eq "FILED" "$(t_psql "SELECT string_agg(DISTINCT status, ',') FROM transfer")" "transfers stay FILED"

# the squatter is removed, but now the server is down
rm -f "$PAY/pain001-20261123-01.xml"
"$REPO/scripts/sftp-server.sh" stop "$SFTP_PORT" >/dev/null
assert_exit 1 t_pipeline settle --date 2026-11-23
assert_contains "$T_ERR" "cannot connect" "server down"
assert_eq "0" "$(t_psql "SELECT count(*) FROM outbound_file WHERE kind = 'PAIN001' AND uploaded_at IS NOT NULL")" "not recorded"

# back up: the rerun delivers exactly the file made from the rows
SFTP_PORT=$("$REPO/scripts/sftp-server.sh" start "$SFTP_PORT" "$T/sftp") || t_fail "restart sshd"
PIPELINE_FAULT=settle:file_uploaded assert_exit 137 t_pipeline -q settle --date 2026-11-23
assert_exit 0 t_pipeline settle --date 2026-11-23
assert_contains "$T_ERR" 'msg="file was already delivered; recorded" file=pain001-20261123-01.xml' "re-put is a no-op"
cmp -s "$PAY/pain001-20261123-01.xml" "$T/data/outbox/2026-11-23/pain001-20261123-01.xml" || t_fail "delivered bytes differ"
assert_xsd "$PAY/pain001-20261123-01.xml"
assert_eq "UPLOADED" "$(t_psql "SELECT string_agg(DISTINCT status, ',') FROM transfer")" "transfers uploaded"
assert_eq "issuance-20261123-01.csv" "$(ls -A "$ISS")" "issuance file delivered once"
assert_eq "pain001-20261123-01.xml" "$(ls -A "$PAY")" "payment file delivered once, no temporary left"
assert_contains "$(t_psql "SELECT destination FROM outbound_file WHERE kind = 'PAIN001'")" "sftp://dabs@127.0.0.1:" "destination recorded"
t_done
