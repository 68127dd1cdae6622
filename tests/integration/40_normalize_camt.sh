#!/bin/bash
# camt.053 and camt.054 through the real pipeline (issue 15): every fixture under
# fixtures/formats/camt053/ and camt054/ validated against the official ISO schema (the hostile
# ones and the wrong namespace excepted); `pipeline inspect` with the format guessed and given;
# each rejection path with its file:line and rule; the nightly (`pipeline run`) with the bank's
# source in camt053 and a camt054 source for the same account: (b) an intraday notification is
# matched the night it arrives and never again when the statement brings its entry, (a) a batch the
# statement books as one entry is matched through the camt.054 that details it (sum checked), a
# settlement transfer's TRF- EndToEndId matches by reference, the ledger balance agrees; and a
# 2 GB file (sparse, made here) is refused at once in little memory.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/40_camt_lib.inc"
t_init normalize_camt

F=$REPO/fixtures/formats
S=$REPO/../shared/schemas
q() { t_psql "$1"; }

# ---- every fixture is valid against its schema (what a real bank's file would be)
for f in good_v02 multi bad_balance bad_no_clbd bad_currency; do
	assert_exit 0 xmllint --noout --nonet --schema "$S/camt.053.001.02.xsd" "$F/camt053/$f.xml"
done
for f in good_v08 bad_detail_sum; do
	assert_exit 0 xmllint --noout --nonet --schema "$S/camt.053.001.08.xsd" "$F/camt053/$f.xml"
done
for f in "$F"/camt054/*.xml; do
	assert_exit 0 xmllint --noout --nonet --schema "$S/camt.054.001.02.xsd" "$f"
done

# ---- inspect: guessed and given formats print the same JSON Lines; both versions the same lines
assert_exit 0 t_pipeline inspect "$F/camt053/good_v02.xml"
guessed=$T_OUT
assert_exit 0 t_pipeline inspect --format camt053 "$F/camt053/good_v02.xml"
assert_eq "$guessed" "$T_OUT" "inspect: the format guessed from the content"
assert_eq 7 "$(printf '%s\n' "$T_OUT" | grep -c '"kind":"line"')" "inspect: 7 booked lines"
assert_contains "$T_OUT" '"kind":"statement","file":"'"$F/camt053/good_v02.xml"'","format":"camt053","account":"0123456789","statement_no":"45"' "inspect: statement"
assert_contains "$T_OUT" '"kind":"pending"' "inspect: the pending entry is listed"
assert_contains "$T_OUT" '"status":"PDNG"' "inspect: its status"
assert_exit 0 t_pipeline inspect "$F/camt053/good_v08.xml"
assert_eq "$(printf '%s\n' "$guessed" | grep -v '"kind":"statement"')" \
	"$(printf '%s\n' "$T_OUT" | grep -v '"kind":"statement"')" "inspect: .08 gives the lines of .02"
assert_exit 0 t_pipeline inspect "$F/camt054/batch_details.xml"
assert_contains "$T_OUT" '"format":"camt054"' "inspect: a camt.054 notification"
assert_contains "$T_OUT" '"notification":true' "inspect: shown as a notification"

# ---- rejections, each with file:line and the rule
assert_exit 1 t_pipeline inspect "$F/camt053/bad_namespace.xml"
assert_contains "$T_ERR" "bad_namespace.xml:2: camt: namespace \"urn:iso:std:iso:20022:tech:xsd:camt.053.001.04\" is not supported" "wrong namespace"
assert_exit 1 t_pipeline inspect "$F/camt053/bad_no_clbd.xml"
assert_contains "$T_ERR" "bad_no_clbd.xml:5: camt.053 Document/BkToCstmrStmt/Stmt: the statement has no closing balance, expected a Bal of type CLBD (or ITBD) (rule: a statement must be complete)" "missing CLBD"
assert_exit 1 t_pipeline inspect "$F/camt053/bad_currency.xml"
assert_contains "$T_ERR" "bad_currency.xml:23: camt.053 Stmt/Ntry: Ntry/Amt is in USD but the statement's currency is SGD (rule: every amount in the account's currency)" "contradicting Ccy"
assert_exit 1 t_pipeline inspect "$F/camt053/bad_detail_sum.xml"
assert_contains "$T_ERR" "bad_detail_sum.xml:22: camt.053 Stmt/Ntry: the 2 transaction details sum to SGD 90.00 but the entry's amount is SGD 100.00 (rule: the details sum to the entry)" "details do not sum"
assert_exit 1 t_pipeline inspect --format camt053 "$F/camt053/xxe.xml"
assert_contains "$T_ERR" "a DOCTYPE is not allowed (rule: no DTD, no entities)" "XXE refused"
assert_exit 1 t_pipeline inspect --format camt053 "$F/camt053/billion_laughs.xml"
assert_contains "$T_ERR" "billion_laughs.xml:" "billion laughs refused"

# ---- a 2 GB file: sparse (a statement's start, then 2 GB of nothing), refused at once, in little memory
big=$T/big.xml
head -c 1400 "$F/camt053/good_v02.xml" > "$big"
truncate -s 2G "$big"
assert_exit 1 /usr/bin/time -f "%M" -o "$T/big.rss" "$PIPELINE" --config "$T/pipeline.conf" inspect --format camt053 "$big"
assert_contains "$T_ERR" "big.xml:" "2 GB: refused with the file and line"
rss=$(tail -1 "$T/big.rss")
# (a parser that read the document would need 2 GB; the bound leaves room for ASan's shadow memory)
[ "$rss" -lt 262144 ] || t_fail "2 GB file: peak RSS ${rss} KB, expected under 256 MB"
rm -f "$big"

# ---- the nightly with a camt053 bank source and a camt054 source for the same account
camt_config
assert_eq "camt053" "$(awk '/^\[source.bank_client\]/ { s = 1 } s && /^format/ { print $3; exit }' "$T/pipeline.conf")" "config: camt053 source"

q "INSERT INTO bank_account VALUES ('0123456789', 'SGD', 'CLIENT_MONEY', 'Client money');
   INSERT INTO cash_movement (movement_id, account_no, direction, amount_minor, currency, expected_date, reference, kind) VALUES
     ('M-DEP',  '0123456789', 'CREDIT', 1500000, 'SGD', '2026-11-24', 'VA00000123', 'DEPOSIT'),
     ('M-TRF',  '0123456789', 'DEBIT',    25050, 'SGD', '2026-11-24', 'TRF-OFF1-PROCEEDS', 'PROCEEDS'),
     ('M-B201', '0123456789', 'CREDIT',   10000, 'SGD', '2026-11-24', 'VA00000201', 'DEPOSIT'),
     ('M-B202', '0123456789', 'CREDIT',   20000, 'SGD', '2026-11-24', 'VA00000202', 'DEPOSIT'),
     ('M-B301', '0123456789', 'CREDIT',    2500, 'SGD', '2026-11-24', 'VA00000301', 'DEPOSIT'),
     ('M-B302', '0123456789', 'CREDIT',    5000, 'SGD', '2026-11-24', 'VA00000302', 'DEPOSIT');" >/dev/null

# night of 2026-11-24: only the intraday notification (the statement comes the next night)
cp "$F/camt054/intraday.xml" "$client_dir/ntf_0123456789_20261124_1.xml"
assert_exit 3 t_pipeline -q run --date 2026-11-24
assert_contains "$T_ERR" "bank_client" "night 1: the statement is not there yet (exit 3)"
assert_exit 0 t_pipeline -q run --date 2026-11-24 --from normalize
assert_eq "NOTIFICATION|camt054|1" "$(q "SELECT gate, format, line_count FROM statement WHERE business_date = '2026-11-24'")" \
	"night 1: the notification loaded, not as a statement"
assert_eq "REFERENCE|1500000|M-DEP" "$(q "SELECT m.rule, l.amount_minor, mm.movement_id FROM recon_match m
	JOIN statement_line l USING (line_id) JOIN recon_match_movement mm USING (match_id) WHERE m.business_date = '2026-11-24'")" \
	"night 1: the intraday notification is matched early"

# night of 2026-11-25: the statement with the same entry, and the camt.054 detailing its batch
cp "$F/camt053/good_v02.xml" "$client_dir/stmt_0123456789_20261125.xml"
cp "$F/camt054/batch_details.xml" "$client_dir/ntf_0123456789_20261125_1.xml"
assert_exit 0 t_pipeline -q run --date 2026-11-25
assert_eq "PASSED|7|1|4200|STMT-20261124-0123456789" "$(q "SELECT gate, line_count, p.pending_count, p.pending_minor, stmt_ref
	FROM statement s JOIN statement_pending p USING (statement_id) WHERE business_date = '2026-11-25' AND format = 'camt053'")" "night 2: statement loaded, pending entry counted not booked"
assert_eq "1|1500000|C|FT2632800012|E1|TAN AH KOW|PMNT/RCDT/ESCT
2|-25050|D|FT2632800013||DABS TRUSTEE LTD|PMNT/ICDT/ESCT
3|-900|RC|FT2632800014||LIM|
4|10000|C|FT2632800015/1||A ONE|PMNT/RCDT/ESCT
5|20000|C|FT2632800015/2||B TWO|PMNT/RCDT/ESCT
6|30000|C|FT2632800015/3||C THREE|PMNT/RCDT/ESCT
7|7500|C|FT2632800016|||PMNT/RCDT/ESCT" "$(q "SELECT line_no, amount_minor, mark, bank_ref, entry_ref, counterparty, bank_tx_code
	FROM statement_line l JOIN statement s USING (statement_id) WHERE s.format = 'camt053' ORDER BY line_no")" \
	"night 2: the canonical rows of the statement"
assert_eq "FT2632800012|NOTIFIED|
FT2632800013|REFERENCE|M-TRF
FT2632800015/1|REFERENCE|M-B201
FT2632800015/2|REFERENCE|M-B202
FT2632800016|NOTIFIED|
FT2632800016/1|REFERENCE|M-B301
FT2632800016/2|REFERENCE|M-B302" "$(q "SELECT l.bank_ref, m.rule, coalesce(mm.movement_id, '') FROM recon_match m
	JOIN statement_line l USING (line_id) LEFT JOIN recon_match_movement mm USING (match_id)
	WHERE m.business_date = '2026-11-25' ORDER BY 1")" \
	"night 2: the statement's entries covered by their notifications (NOTIFIED), the TRF- EndToEndId by reference, the batch's details matched"
assert_eq "1" "$(q "SELECT count(*) FROM recon_match_movement WHERE movement_id = 'M-DEP'")" \
	"the intraday deposit is matched once, never again"
assert_eq "FT2632800012|t
FT2632800016|t
FT2632800016|t" "$(q "SELECT l.bank_ref, rn.carries FROM recon_match_notification rn JOIN recon_match m USING (match_id)
	JOIN statement_line l ON l.line_id = m.line_id ORDER BY 1")" "night 2: the notification lines carry the covered entries"
assert_eq "STATEMENT_MISSING statement:0123456789:2026-11-24" "$(q "SELECT type || ' ' || subject FROM exception
	WHERE status = 'OPEN' AND type IN ('LEDGER_BALANCE_BREAK', 'AMOUNT_MISMATCH', 'DUPLICATE_LINE', 'STATEMENT_MISSING')")" \
	"night 2: the ledger balance agrees, no mismatch, no duplicate; a notification is not the statement of 2026-11-24"
# the lines nothing explains are still breaks: the reversal and the creditor-referenced detail
assert_eq "FT2632800014|-900
FT2632800015/3|30000" "$(q "SELECT statement_ref, amount_minor FROM exception WHERE status = 'OPEN' AND type = 'UNMATCHED_STATEMENT' ORDER BY 1")" \
	"night 2: unexplained lines are breaks"

# the bank reconciliation: the covered entries are explained by their notifications, the rest are items
assert_eq "BANK_NOT_IN_BOOKS|-900|FT2632800014
BANK_NOT_IN_BOOKS|30000|FT2632800015/3" "$(q "SELECT i.kind, i.amount_minor, l.bank_ref FROM bank_rec_item i
	JOIN statement_line l ON 'line:' || l.line_id = i.item WHERE i.business_date = '2026-11-25' ORDER BY 3")" \
	"night 2: bank reconciliation items: only what nothing explains"
assert_eq "0" "$(q "SELECT count(*) FROM bank_rec_item WHERE business_date = '2026-11-25' AND kind <> 'BANK_NOT_IN_BOOKS'")" \
	"night 2: no deposit in transit, no outstanding payment (the notified ones are on the statement)"

# the report's Statements sheet lists the pending entry (and the notification, as such)
got=$(/usr/bin/python3 - "$T/reports/2026-11-25/recon-2026-11-25.xlsx" <<'PY'
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
for r in wb["Statements"].iter_rows(values_only=True):
    texts = [v for v in r if isinstance(v, str)]
    if any("pending entries" in v for v in texts) or "NOTIFICATION" in texts:
        print([v for v in texts if "pending entries" in v or v == "NOTIFICATION"][0])
PY
)
assert_eq "1 pending entries (PDNG) not booked: SGD 42.00
NOTIFICATION" "$got" "report: the Statements sheet lists the pending entry and the notification"

# rerun with --force: the same matches, nothing twice
before=$(q "SELECT count(*) FROM recon_match; SELECT count(*) FROM recon_match_notification")
assert_exit 0 t_pipeline -q reconcile --date 2026-11-25 --force
assert_eq "$before" "$(q "SELECT count(*) FROM recon_match; SELECT count(*) FROM recon_match_notification")" "reconcile --force: same result"

# ---- a statement that does not add up fails the gate (BALANCE_BREAK), the file is quarantined
cp "$F/camt053/bad_balance.xml" "$client_dir/stmt_0123456789_20261126.xml"
assert_exit 0 t_pipeline -q run --date 2026-11-26
assert_eq "QUARANTINED|the statement failed the completeness gate: opening balance + lines != closing balance" \
	"$(q "SELECT l.status, l.reason FROM file_load l JOIN fetched_file f USING (file_id) WHERE f.business_date = '2026-11-26'")" \
	"unbalanced camt.053 quarantined"
assert_contains "$(q "SELECT detail FROM exception WHERE type = 'BALANCE_BREAK'")" \
	"Statement 45 of account 0123456789 in stmt_0123456789_20261126.xml:5 does not add up (rule: opening + lines = closing): opening 1000.00 + lines 100.00 = 1100.00, but the closing balance is SGD 1200.00" \
	"BALANCE_BREAK names the file and the sums"
t_done
