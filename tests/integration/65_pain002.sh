#!/bin/bash
# pain.002: the bank's payment status reports, fetched from [source.bank_status] (format pain002),
# loaded by normalize, applied by settle. On the small settle world (fixtures/settle/ledger: four
# transfers in DABS-PAY-20261123-01, TRF-S-BIG-FEE in DABS-PAY-20261124-01):
#   - a partially accepted report moves three transfers UPLOADED -> ACCEPTED and one -> REJECTED
#     with its reason (PAYMENT_REJECTED, ERROR); reruns (also --force) move nothing twice;
#   - a byte-identical re-send is a DUPLICATE file, a repeat in another report changes nothing, and
#     ACCP for the rejected transfer is a PAYMENT_STATUS_CONFLICT, never applied;
#   - ACSC per transaction -> SETTLED (with its acceptance time); RJCT after SETTLED is a conflict;
#   - PDNG is shown (an event that does not move); unknown message, payment information and
#     transfer are PAYMENT_STATUS_UNKNOWN; a transfer without any status after
#     status_deadline_days business days is PAYMENT_STATUS_MISSING (WARNING);
#   - rejection at group level (all four) and at payment-information level (a transaction's own
#     ACCP overrides it), each in a world of its own;
#   - every good fixture is valid pain.002.001.03 (xmllint), every bad one is quarantined by
#     normalize with its file:line reason and nothing of it is loaded.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/60_settle_lib.inc"
FIX=$REPO/fixtures/formats/pain002
XSD2="$(dirname "$XSD")/pain.002.001.03.xsd"
STATUS_DIR() { echo "$T/remote/bank/status"; }

# world NAME: a fresh database where settle of 2026-11-23 uploaded DABS-PAY-20261123-01.
world() {
	t_init "$1"
	t_pipeline -q ledger import "$REPO/fixtures/settle/ledger" >/dev/null || t_fail "import"
	t_pipeline -q settle --date 2026-11-23 2>>"$T/run.log" || t_fail "settle 2026-11-23"
}
# status_night DATE FIXTURE...: the bank delivers the fixtures as pain002_<YYYYMMDD>_NN.xml; fetch
# (the statements are not there: exit 3 is expected), normalize and settle for DATE.
status_night() {
	local d=$1 ymd n=1 f rc
	ymd=$(echo "$1" | tr -d -)
	shift
	for f in "$@"; do
		cp "$FIX/$f" "$(STATUS_DIR)/pain002_${ymd}_$(printf %02d $n).xml"
		n=$((n + 1))
	done
	t_pipeline -q fetch --date "$d" 2>>"$T/run.log"
	rc=$?
	[ $rc = 0 ] || [ $rc = 3 ] || t_fail "$d: fetch exit $rc"
	t_pipeline -q normalize --date "$d" 2>>"$T/run.log" || t_fail "$d: normalize"
	t_pipeline -q settle --date "$d" 2>>"$T/run.log" || t_fail "$d: settle"
}
statuses() { t_psql "SELECT transfer_id || ' ' || status FROM transfer WHERE payment_file = 'pain001-20261123-01.xml' ORDER BY 1"; }
events() { t_psql "SELECT count(*) FROM transfer_status_event"; }
open_exc() { t_psql "SELECT type || ' ' || subject FROM exception WHERE status = 'OPEN' AND type LIKE 'PAYMENT%' ORDER BY 1"; }

# --- every good fixture is schema-valid
for f in "$FIX"/[!b]*.xml; do
	out=$(xmllint --noout --schema "$XSD2" "$f" 2>&1) || t_fail "$f is not valid pain.002.001.03: $out"
done

world pain002
# --- inspect: a report as JSON Lines without the database; a bad one prints its file:line
assert_exit 0 t_pipeline inspect --format pain002 "$FIX/partial.xml"
assert_eq 7 "$(echo "$T_OUT" | wc -l)" "inspect: the report and its 6 statuses"
assert_contains "$(echo "$T_OUT" | head -1)" '"kind":"status_report"' "inspect: the report first"
assert_contains "$(echo "$T_OUT" | head -1)" '"original_msg_id":"DABS-PAY-20261123-01"' "inspect: our message"
assert_contains "$(echo "$T_OUT" | tail -1)" '"end_to_end_id":"TRF-S-PRO-PROCEEDS","status":"RJCT","reason_code":"AC04","reason_text":"Creditor account closed 8800123456"' \
	"inspect: the rejected transaction"
assert_exit 1 t_pipeline inspect --format pain002 "$FIX/bad-namespace.xml"
assert_contains "$T_ERR" "bad-namespace.xml:2: Document: this is a camt.053.001.02 document" "inspect: a bad report"
assert_eq "" "$T_OUT" "inspect: nothing printed for a bad report"

# --- a partially accepted report
status_night 2026-11-24 partial.xml
assert_eq "LOADED|6" "$(t_psql "SELECT l.status, l.lines FROM file_load l JOIN fetched_file f USING (file_id)
	WHERE f.source = 'bank_status'")" "the report is loaded: 6 statuses (group, block, 4 transactions)"
assert_eq "TRF-S-FULL-FEE ACCEPTED
TRF-S-FULL-PROCEEDS ACCEPTED
TRF-S-PRO-FEE ACCEPTED
TRF-S-PRO-PROCEEDS REJECTED" "$(statuses)" "partially accepted: three accepted, one rejected"
assert_eq "TRF-S-FULL-FEE|ACCEPTED|ACCP|||pain002_20261124_01.xml|2026-11-24 01:20:00+00
TRF-S-FULL-PROCEEDS|ACCEPTED|ACSP|||pain002_20261124_01.xml|2026-11-24 01:20:00+00
TRF-S-PRO-FEE|ACCEPTED|ACTC|||pain002_20261124_01.xml|2026-11-24 01:20:00+00
TRF-S-PRO-PROCEEDS|REJECTED|RJCT|AC04|Creditor account closed 8800123456|pain002_20261124_01.xml|2026-11-24 01:20:00+00" \
	"$(t_psql "SET TIME ZONE 'UTC'; SELECT e.transfer_id, e.status, e.bank_status, e.reason_code, e.reason_text, f.remote_name,
	           e.status_time FROM transfer_status_event e JOIN fetched_file f ON f.file_id = e.source_file
	           WHERE e.moved ORDER BY 1")" "each move recorded with its file, code, reason and time"
assert_eq "PAYMENT_REJECTED transfer:TRF-S-PRO-PROCEEDS" "$(open_exc)" "the rejection is an exception"
assert_eq "ERROR|0123456789|-109439|TRF-S-PRO-PROCEEDS" "$(t_psql "SELECT severity, account_no, amount_minor, reference
	FROM exception WHERE type = 'PAYMENT_REJECTED'")" "PAYMENT_REJECTED: ERROR, the debit's account and amount"
assert_contains "$(t_psql "SELECT detail FROM exception WHERE type = 'PAYMENT_REJECTED'")" \
	"reason AC04 Creditor account closed 8800123456. The money has not been paid and nothing is re-sent automatically" \
	"the reason in the exception"
assert_eq 1 "$(ls "$(PAY_DIR)" | grep -c pain001-20261123)" "nothing re-sent"

# --- reruns: nothing moves twice, the same exceptions
before=$(events)
assert_exit 0 t_pipeline -q settle --date 2026-11-24
assert_exit 0 t_pipeline -q settle --date 2026-11-24 --force
assert_exit 0 t_pipeline -q normalize --date 2026-11-24 --force
assert_exit 0 t_pipeline -q settle --date 2026-11-24 --force
assert_eq "$before" "$(events)" "reruns record nothing new"
assert_eq "PAYMENT_REJECTED transfer:TRF-S-PRO-PROCEEDS" "$(open_exc)" "reruns: the same exception"
assert_eq "1" "$(t_psql "SELECT count(*) FROM exception WHERE type = 'PAYMENT_REJECTED'")" "one row, not one per rerun"
refused=$(t_psql "UPDATE transfer_status_event SET reason_code = 'X'" 2>&1)
assert_contains "$refused" "transfer_status_event is append-only: UPDATE refused" "the history is append-only (owner too)"
refused=$(t_psql "UPDATE transfer SET status = 'UPLOADED' WHERE transfer_id = 'TRF-S-PRO-PROCEEDS'" 2>&1)
assert_contains "$refused" "status cannot move from REJECTED to UPLOADED" "a rejection cannot be undone"
refused=$(t_psql "UPDATE transfer SET status = 'SETTLED' WHERE transfer_id = 'TRF-S-PRO-FEE'" 2>&1)
assert_contains "$refused" "a move to SETTLED needs its transfer_status_event" "no move without its source"

# --- 2026-11-25: a byte-identical re-send, a repeat in another report with ACCP for the rejected
# one (conflict), ACSC per transaction, a pending report
cp "$FIX/partial.xml" "$(STATUS_DIR)/pain002_20261125_05.xml"
status_night 2026-11-25 duplicate-report.xml settled-tx.xml pending.xml
assert_eq "DUPLICATE" "$(t_psql "SELECT status FROM fetched_file WHERE remote_name = 'pain002_20261125_05.xml'")" \
	"the re-sent file is a duplicate (not loaded again)"
assert_eq "TRF-S-FULL-FEE SETTLED
TRF-S-FULL-PROCEEDS SETTLED
TRF-S-PRO-FEE ACCEPTED
TRF-S-PRO-PROCEEDS REJECTED" "$(statuses)" "ACSC settles; the repeat and the pending change nothing"
assert_eq "2026-11-24 02:02:11+00" "$(t_psql "SET TIME ZONE 'UTC'; SELECT status_time FROM transfer_status_event
	WHERE transfer_id = 'TRF-S-FULL-PROCEEDS' AND status = 'SETTLED'")" "the transaction's AccptncDtTm is the status time"
assert_eq "TRF-S-PRO-FEE|ACCEPTED|PDNG" "$(t_psql "SELECT transfer_id, status, bank_status FROM transfer_status_event
	WHERE NOT moved ORDER BY 1")" "PDNG is shown (for the one not yet settled or rejected), not applied"
assert_eq "PAYMENT_REJECTED transfer:TRF-S-PRO-PROCEEDS
PAYMENT_STATUS_CONFLICT pain002:$(t_psql "SELECT file_id FROM fetched_file WHERE remote_name = 'pain002_20261125_01.xml'"):TRF-S-PRO-PROCEEDS" \
	"$(open_exc)" "ACCP after RJCT is a conflict, not applied"
assert_eq 1 "$(t_psql "SELECT count(*) FROM transfer_status_event WHERE transfer_id = 'TRF-S-FULL-FEE' AND status = 'ACCEPTED'")" \
	"the repeated ACCP did not move anything twice"

# --- 2026-11-26: RJCT after SETTLED (conflict; the report's group ACCP also reaches the rejected
# TRF-S-PRO-PROCEEDS: another conflict), unknown message / transfer / payment information;
# TRF-S-BIG-FEE (uploaded 2026-11-24) has had no status for 2 business days
t_pipeline -q settle --date 2026-11-24 2>>"$T/run.log"   # S-BIG closes on 11-24 (its fee is paid, the proceeds wait)
status_night 2026-11-26 rejected-tx.xml unknown-message.xml unknown-transfer.xml
f1=$(t_psql "SELECT file_id FROM fetched_file WHERE remote_name = 'pain002_20261126_01.xml'")
f2=$(t_psql "SELECT file_id FROM fetched_file WHERE remote_name = 'pain002_20261126_02.xml'")
f3=$(t_psql "SELECT file_id FROM fetched_file WHERE remote_name = 'pain002_20261126_03.xml'")
assert_eq "PAYMENT_REJECTED transfer:TRF-S-PRO-PROCEEDS
PAYMENT_STATUS_CONFLICT pain002:$(t_psql "SELECT file_id FROM fetched_file WHERE remote_name = 'pain002_20261125_01.xml'"):TRF-S-PRO-PROCEEDS
PAYMENT_STATUS_CONFLICT pain002:$f1:TRF-S-FULL-FEE
PAYMENT_STATUS_CONFLICT pain002:$f1:TRF-S-PRO-PROCEEDS
PAYMENT_STATUS_MISSING transfer:TRF-S-BIG-FEE
PAYMENT_STATUS_UNKNOWN pain002:$f2:msg:DABS-PAY-20991231-01
PAYMENT_STATUS_UNKNOWN pain002:$f3:pmtinf:DABS-PAY-20261123-01-USD
PAYMENT_STATUS_UNKNOWN pain002:$f3:tx:TRF-NEVER-SENT" "$(open_exc)" "conflict, unknowns and the missing status"
assert_eq "WARNING" "$(t_psql "SELECT severity FROM exception WHERE type = 'PAYMENT_STATUS_MISSING'")" "missing is a warning"
assert_eq "TRF-S-FULL-FEE SETTLED" "$(statuses | head -1)" "RJCT after SETTLED is not applied"
# settle --force for the date: the same exceptions again (derived from what was received)
snap=$(t_psql "SELECT type, subject, status FROM exception WHERE type LIKE 'PAYMENT%' ORDER BY 1, 2")
assert_exit 0 t_pipeline -q settle --date 2026-11-26 --force
assert_eq "$snap" "$(t_psql "SELECT type, subject, status FROM exception WHERE type LIKE 'PAYMENT%' ORDER BY 1, 2")" \
	"settle --force re-derives the same exceptions"
# a status arrives for TRF-S-BIG-FEE: the warning closes
sed 's/DABS-PAY-20261123-01/DABS-PAY-20261124-01/; s/BANK-STS-0001/BANK-STS-0100/' "$FIX/accepted.xml" > "$(STATUS_DIR)/pain002_20261127_01.xml"
status_night 2026-11-27
assert_eq "ACCEPTED|CLOSED" "$(t_psql "SELECT t.status, x.status FROM transfer t, exception x
	WHERE t.transfer_id = 'TRF-S-BIG-FEE' AND x.type = 'PAYMENT_STATUS_MISSING'")" "the status arrived: the warning closed"

# --- what people see: explain, status, the report's Settlements and Exceptions sheets, the notification
assert_exit 0 t_pipeline explain TRF-S-PRO-PROCEEDS
assert_contains "$T_OUT" "transfer TRF-S-PRO-PROCEEDS: PROCEEDS of offering S-PRO, SGD 1094.39 from 0123456789 to 8800123456, status REJECTED" "explain: the transfer"
assert_contains "$T_OUT" "payment file pain001-20261123-01.xml (message DABS-PAY-20261123-01)" "explain: its file"
assert_contains "$T_OUT" "-> REJECTED (RJCT, reason AC04: Creditor account closed 8800123456) from the bank's status report pain002_20261124_01.xml" \
	"explain: the status with its source file"
assert_contains "$T_OUT" "PAYMENT_STATUS_CONFLICT OPEN" "explain: the conflicts about it"
assert_contains "$T_OUT" "ledger movement TRF-S-PRO-PROCEEDS-DR" "explain: its movements"
assert_exit 0 t_pipeline explain TRF-S-FULL-FEE
assert_contains "$T_OUT" "-> ACCEPTED (ACCP) from the bank's status report pain002_20261124_01.xml" "explain: accepted"
assert_contains "$T_OUT" "-> SETTLED (ACSC) from the bank's status report pain002_20261125_02.xml" "explain: then settled"
assert_exit 0 t_pipeline status --date 2026-11-26
assert_contains "$T_OUT" "TRF-S-PRO-PROCEEDS                  REJECTED                    SGD 1094.39  pain001-20261123-01.xml" "status: the rejected transfer"
assert_contains "$T_OUT" "RJCT AC04 Creditor account closed 8800123456" "status: with the bank's reason"
assert_exit 0 t_pipeline -q report --date 2026-11-26
got=$(/usr/bin/python3 - "$T/reports/2026-11-26/recon-2026-11-26.xlsx" <<'PY'
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb["Settlements"]
h = [c.value for c in ws[2]]
for r in ws.iter_rows(min_row=3, values_only=True):
    if r[0] == "TRF-S-PRO-PROCEEDS":
        v = dict(zip(h, r))
        print("settlements=%s|%s|%s" % (v["Status"], v["Bank Status"], v["Status Source"]))
ws = wb["Exceptions"]
h = [c.value for c in ws[2]]
for r in ws.iter_rows(min_row=3, values_only=True):
    v = dict(zip(h, r))
    if v.get("Type") == "PAYMENT_REJECTED":
        print("exception=%s|%s|%s" % (v["Severity"], v["Reference"], "AC04 Creditor account closed" in v["Detail"]))
PY
)
assert_eq "settlements=REJECTED|RJCT AC04 Creditor account closed 8800123456|pain002_20261124_01.xml
exception=ERROR|TRF-S-PRO-PROCEEDS|True" "$got" "the report shows the rejection and its reason"
mkdir -p "$T/bin"
printf '#!/bin/sh\ncat > "%s/mail.txt"\n' "$T" > "$T/bin/sendmail"
chmod +x "$T/bin/sendmail"
sed -i "s#^\[notify\]\$#[notify]\ncommand = $T/bin/sendmail#" "$T/pipeline.conf"
assert_exit 0 t_pipeline notify --test --date 2026-11-26
assert_contains "$(cat "$T/mail.txt")" "Payments rejected by the bank (1 open; nothing is re-sent automatically)" "the notification names it"
assert_contains "$(cat "$T/mail.txt")" "transfer:TRF-S-PRO-PROCEEDS  account 0123456789" "the notification: which transfer"

# --- rejected at group level: all four, with the group's reason
world pain002_group
status_night 2026-11-24 rejected-group.xml
assert_eq "TRF-S-FULL-FEE REJECTED
TRF-S-FULL-PROCEEDS REJECTED
TRF-S-PRO-FEE REJECTED
TRF-S-PRO-PROCEEDS REJECTED" "$(statuses)" "group RJCT rejects every transfer of the message"
assert_eq "4|FF01 Invalid file format" "$(t_psql "SELECT count(*), min(reason_code || ' ' || reason_text)
	FROM transfer_status_event WHERE status = 'REJECTED'")" "with the group's reason"
assert_eq 4 "$(t_psql "SELECT count(*) FROM exception WHERE type = 'PAYMENT_REJECTED' AND status = 'OPEN'")" \
	"one PAYMENT_REJECTED each"

# --- rejected at payment-information level; the transaction's own status overrides it
world pain002_pmtinf
status_night 2026-11-24 rejected-pmtinf.xml
assert_eq "TRF-S-FULL-FEE REJECTED
TRF-S-FULL-PROCEEDS REJECTED
TRF-S-PRO-FEE ACCEPTED
TRF-S-PRO-PROCEEDS REJECTED" "$(statuses)" "PmtInfSts RJCT, but TRF-S-PRO-FEE's own ACCP wins"
assert_eq "AM04 Insufficient funds" "$(t_psql "SELECT DISTINCT reason_code || ' ' || reason_text
	FROM transfer_status_event WHERE status = 'REJECTED'")" "the block's reason"

# --- every rejection path of the parser, through normalize: quarantined with file:line, nothing loaded
world pain002_bad
n=10   # the source's pattern wants pain002_<date>_NN.xml: $T/names says which is which
for f in "$FIX"/bad-*.xml; do cp "$f" "$(STATUS_DIR)/pain002_20261124_$n.xml"; echo "$n $(basename "$f")" >> "$T/names"; n=$((n + 1)); done
status_night 2026-11-24
assert_eq "$(wc -l < "$T/names")" "$(t_psql "SELECT count(*) FROM file_load l JOIN fetched_file f USING (file_id)
	WHERE f.source = 'bank_status' AND l.status = 'QUARANTINED'")" "every bad report quarantined"
assert_eq 0 "$(t_psql "SELECT count(*) FROM payment_status_report")" "nothing of a bad report loaded"
reason() { t_psql "SELECT l.reason FROM file_load l JOIN fetched_file f USING (file_id) WHERE f.remote_name =
	'pain002_20261124_$(awk -v b="$1" '$2 == b { print $1 }' "$T/names").xml'"; }
assert_contains "$(reason bad-namespace.xml)" ".xml:2: Document: this is a camt.053.001.02 document, not a pain.002.001.03 payment status report" "wrong namespace"
assert_contains "$(reason bad-version.xml)" ".xml:2: Document: pain.002 version 001.10 is not supported, expected pain.002.001.03" "unknown version"
assert_contains "$(reason bad-malformed.xml)" ".xml:18: XML: not well-formed XML (or truncated): Opening and ending tag mismatch" "malformed"
assert_contains "$(reason bad-xxe.xml)" ".xml:2: XML: a DOCTYPE is not allowed (no DTD, no entities)" "XXE"
assert_contains "$(reason bad-billion-laughs.xml)" ".xml:2: XML: a DOCTYPE is not allowed" "billion laughs"
assert_contains "$(reason bad-duplicate-e2e.xml)" ".xml:38: OrgnlEndToEndId: \"TRF-S-FULL-FEE\" appears twice (first at line 30)" "duplicate transaction"
assert_eq "UPLOADED" "$(statuses | cut -d' ' -f2 | sort -u)" "no bad report moved anything"
t_done
