#!/bin/bash
# The Singapore bank layouts (dbs-posb, ocbc, uob) through the real normalize stage: the good
# samples load with the right account, balances, dates and canonical line numbers (1 = the oldest
# row, also for newest-first files), each bad
# sample is quarantined whole with its exact message; and the gate fixtures that `pipeline inspect`
# flags (tests/integration/40_normalize_inspect_gate.sh) get the same verdict from normalize:
# BALANCE_BREAK for a missing row and a wrong sign, STATEMENT_GAP for a gap in the numbers.
source "$(dirname "$0")/../lib.sh"
t_init normalize_sgbanks

D=2026-11-24
F=$REPO/fixtures/formats
q() { t_psql "$1"; }
for s in "dbs dbs-posb 123-45678-9" "ocbc ocbc 601-234567-001" "uob uob 3123456789" \
	"eu_bank eubank-semicolon DE44500105175407324931" "gap_bank mt940 0123400000"; do
	set -- $s
	printf '\n[source.%s]\ntransport = dir\nremote_dir = %s\npattern = ^never_%%Y%%m%%d\\.csv$\nformat = %s\naccount_no = %s\nrequired = no\n' \
		"$1" "$T/remote/$1" "$2" "$3" >> "$T/pipeline.conf"
	[ "$2" = eubank-semicolon ] && echo "encoding = ISO-8859-1" >> "$T/pipeline.conf"
	mkdir -p "$T/remote/$1"
done
# a source's account_no must be one of [accounts] (checked at load)
sed -i '/^\[accounts\]/a other = 123-45678-9, 601-234567-001, 3123456789, DE44500105175407324931, 0123400000' "$T/pipeline.conf"
q "INSERT INTO stage_run (business_date, stage, state, finished_at, pid, host, operator, config_digest)
   VALUES ('$D', 'fetch', 'done', now(), 1, 'test', 'test', 'test')" >/dev/null
register() {  # register SOURCE FILE: as if fetch had brought FILE for source SOURCE
	local sha
	sha=$(sha256sum "$2" | cut -d' ' -f1)
	q "INSERT INTO fetched_file (business_date, source, remote_name, local_path, size_bytes, sha256, status, run_id)
	   VALUES ('$D', '$1', '$(basename "$2")', '$2', $(stat -c %s "$2"), '$sha', 'NEW', 1)" >/dev/null
}

cat > "$T/expected" <<'EOF'
dbs|dbs-posb/bad-order.csv|10: dbs-posb: Transaction Date: date 2026-11-25 is after the previous row's 2026-11-23: the rows are not newest first
dbs|dbs-posb/bad-account.csv|1: dbs-posb: preamble row 1 field 2 (account): "POSB Savings Account" does not match the extract pattern ([0-9]{3}-[0-9]{5,6}-[0-9]) (layout line 23)
dbs|dbs-posb/bad-month.csv|9: dbs-posb: Transaction Date: date "23 Nvm 2026" is not a valid date, expected DD MON YYYY
dbs|dbs-posb/bad-header.csv|6: dbs-posb: header row field 8 is "Withdrawal", expected "Debit Amount"
dbs|dbs-posb/bad-truncated.csv|2: dbs-posb: end of file before preamble row 3: the file is truncated
ocbc|ocbc/bad-currency.csv|3: ocbc: preamble row 3 field 2 (closing): currency "USD" differs from the statement's currency SGD
ocbc|ocbc/bad-unterminated.csv|11: ocbc: end of file inside a quoted field that starts at line 10: the file is truncated
ocbc|ocbc/bad-order.csv|10: ocbc: Transaction date: date 2026-11-23 is before the previous row's 2026-11-24: the rows are not oldest first (as the first and last rows say)
uob|uob/bad-running-balance.csv|8: uob: Available Balance: running balance 9990.00 does not follow from the previous (later) row's balance and that row's amount, expected 9980.00
uob|uob/bad-period.csv|3: uob: preamble row 3 field 2 (closing_date): "November 2026" does not match the extract pattern To ([0-9]{2} [A-Za-z]{3} [0-9]{4})$ (layout line 22)
uob|uob/bad-dates.csv|9: uob: the opening date 2026-11-22 is after the closing date 2026-11-20, expected opening <= closing
uob|uob/bad-currency.csv|4: uob: preamble row 4 field 2 (currency): currency "XYZ" is not a known ISO 4217 code
EOF
while IFS='|' read -r src rel msg; do
	register "$src" "$F/$rel"
done < "$T/expected"
register dbs "$F/dbs-posb/good.csv"
register ocbc "$F/ocbc/good.csv"
register uob "$F/uob/good.csv"
register eu_bank "$F/gate/eubank-missing-row.csv"
register eu_bank "$F/gate/eubank-wrong-sign.csv"
sed 's/0123456789/0123400000/' "$F/gate/mt940-gap.sta" > "$T/mt940-gap.sta"
register gap_bank "$T/mt940-gap.sta"

assert_exit 0 t_pipeline normalize --date $D
while IFS='|' read -r src rel msg; do
	assert_eq "QUARANTINED|$F/$rel:$msg" "$(q "SELECT l.status, l.reason FROM file_load l JOIN fetched_file f USING (file_id)
		WHERE f.local_path = '$F/$rel'")" "$rel"
done < "$T/expected"
assert_eq "123-45678-9|20261124|2026-11-22|1122500|2026-11-24|1047000|3|PASSED
3123456789|20261124|2026-11-22|500000|2026-11-24|1298000|3|PASSED
601-234567-001|20261124|2026-11-23|700000|2026-11-24|774550|2|PASSED" \
	"$(q "SELECT account_no, statement_no, opening_date, opening_minor, closing_date, closing_minor, line_count, gate
		FROM statement WHERE format IN ('dbs-posb', 'ocbc', 'uob') ORDER BY 1")" "the three good samples load"
assert_eq "1|-500|2026-11-22
2|-200000|2026-11-23
3|125000|2026-11-24" "$(q "SELECT line_no, amount_minor, value_date FROM statement_line WHERE account_no = '123-45678-9' ORDER BY line_no")" \
	"dbs: line 1 is the oldest row; the Pending row is not loaded"
assert_eq "1|500000|
2|-2000|
3|300000|TRF-OFF-C-0003" "$(q "SELECT line_no, amount_minor, reference FROM statement_line WHERE account_no = '3123456789' ORDER BY line_no")" \
	"uob: canonical order"
assert_eq "FAST PAYMENT from DABS PLATFORM TRF-OFF-B-PAYOUT-0007" \
	"$(q "SELECT narrative FROM statement_line WHERE account_no = '601-234567-001' AND line_no = 2")" "ocbc: a multi-line cell"

# normalize's gate says what inspect says
assert_eq "BALANCE_BREAK
BALANCE_BREAK" "$(q "SELECT gate FROM statement WHERE account_no = 'DE44500105175407324931' ORDER BY statement_id")" \
	"a missing row and a wrong sign: BALANCE_BREAK"
assert_eq "1" "$(q "SELECT count(*) FROM exception WHERE type = 'BALANCE_BREAK' AND subject = 'statement:DE44500105175407324931:20261124'")" \
	"one open BALANCE_BREAK for that statement"
assert_contains "$(q "SELECT detail FROM exception WHERE type = 'STATEMENT_GAP' AND account_no = '0123400000'")" \
	"statement 00048/001 does not follow the previous statement 00045/001: statements are missing in between" "the gap, as inspect says"
assert_exit 1 t_pipeline inspect --source gap_bank "$T/mt940-gap.sta"
assert_contains "$T_ERR" "STATEMENT_GAP: statement 00048/001 does not follow the previous statement 00045/001: statements are missing in between" \
	"inspect: the same words"
t_done
