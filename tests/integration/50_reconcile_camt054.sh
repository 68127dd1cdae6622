#!/bin/bash
# camt.054 notifications that do not simply cover their entry (docs/reconcile.md "camt.054
# notifications"): details whose sum differs from the statement's batch entry are an
# AMOUNT_MISMATCH on the entry, which is then not matched; a notification arriving after its entry
# was matched by another rule is linked to that match and not matched itself (no false break,
# nothing matched twice); a rerun gives the same result.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/40_camt_lib.inc"
t_init reconcile_camt054

F=$REPO/fixtures/formats
q() { t_psql "$1"; }
camt_config
q "INSERT INTO bank_account VALUES ('0123456789', 'SGD', 'CLIENT_MONEY', 'Client money');
   INSERT INTO cash_movement (movement_id, account_no, direction, amount_minor, currency, expected_date, reference, kind, batch_id) VALUES
     ('M-DEP',  '0123456789', 'CREDIT', 1500000, 'SGD', '2026-11-24', 'VA00000123', 'DEPOSIT', NULL),
     ('M-B301', '0123456789', 'CREDIT',    2500, 'SGD', '2026-11-24', 'VA00000301', 'DEPOSIT', NULL),
     ('M-B302', '0123456789', 'CREDIT',    5000, 'SGD', '2026-11-24', 'VA00000302', 'DEPOSIT', NULL);" >/dev/null

# the statement, with the mismatching details of its batch entry FT2632800016 (75.00 vs 25.00 + 40.00)
cp "$F/camt053/good_v02.xml" "$client_dir/stmt_0123456789_20261124.xml"
cp "$F/camt054/batch_details_mismatch.xml" "$client_dir/ntf_0123456789_20261124_1.xml"
assert_exit 0 t_pipeline -q run --date 2026-11-24
assert_eq "AMOUNT_MISMATCH|ERROR|7500|FT2632800016
AMOUNT_MISMATCH|ERROR|4000|FT2632800016/2" "$(q "SELECT type, severity, amount_minor, statement_ref FROM exception
	WHERE type = 'AMOUNT_MISMATCH' AND status = 'OPEN' ORDER BY statement_ref")" \
	"mismatch: an AMOUNT_MISMATCH on the entry, and on the detail whose reference names a movement of 50.00"
assert_contains "$(q "SELECT detail FROM exception WHERE type = 'AMOUNT_MISMATCH'")" \
	"The bank's statement entry FT2632800016 of SGD 75.00 does not equal the sum SGD 65.00 of the 2 camt.054 notification lines" \
	"mismatch: the detail gives both sums"
assert_eq "0" "$(q "SELECT count(*) FROM recon_match m JOIN statement_line l USING (line_id) WHERE l.bank_ref = 'FT2632800016'")" \
	"mismatch: the entry is not matched"
assert_eq "0" "$(q "SELECT count(*) FROM exception WHERE type = 'UNMATCHED_STATEMENT' AND statement_ref = 'FT2632800016'")" \
	"mismatch: the entry is one break, not two"
assert_eq "0" "$(q "SELECT count(*) FROM recon_match_notification")" "mismatch: nothing linked"
before=$(q "SELECT type, subject, status FROM exception ORDER BY 1, 2; SELECT count(*) FROM recon_match")
assert_exit 0 t_pipeline -q reconcile --date 2026-11-24 --force
assert_eq "$before" "$(q "SELECT type, subject, status FROM exception ORDER BY 1, 2; SELECT count(*) FROM recon_match")" \
	"mismatch: a forced rerun gives the same result"

# a notification of an entry already matched on an earlier night (FT2632800012, matched by REFERENCE)
assert_eq "REFERENCE|M-DEP" "$(q "SELECT m.rule, mm.movement_id FROM recon_match m JOIN recon_match_movement mm USING (match_id)
	JOIN statement_line l USING (line_id) WHERE l.bank_ref = 'FT2632800012'")" "night 1: the deposit matched by the statement"
cp "$F/camt054/intraday.xml" "$client_dir/ntf_0123456789_20261125_1.xml"
assert_exit 3 t_pipeline -q run --date 2026-11-25
assert_exit 0 t_pipeline -q run --date 2026-11-25 --from normalize
assert_eq "f" "$(q "SELECT rn.carries FROM recon_match_notification rn JOIN statement_line n ON n.line_id = rn.notif_line_id
	WHERE n.bank_ref = 'FT2632800012'")" "late notification: linked to the earlier match, not carrying"
assert_eq "1" "$(q "SELECT count(*) FROM recon_match_movement WHERE movement_id = 'M-DEP'")" "late notification: nothing matched twice"
assert_eq "0" "$(q "SELECT count(*) FROM exception e JOIN statement_line n ON e.subject = 'line:' || n.line_id
	JOIN statement s USING (statement_id) WHERE s.gate = 'NOTIFICATION' AND n.bank_ref = 'FT2632800012'")" \
	"late notification: no break for it"
t_done
