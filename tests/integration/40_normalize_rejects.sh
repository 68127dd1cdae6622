#!/bin/bash
# Every rejection fixture under fixtures/formats/ through the real normalize stage: each file is
# quarantined whole with its exact message as the reason and a FILE_QUARANTINED exception, nothing
# of any of them is loaded, the good files of the same night load, and the stage still succeeds.
# The unbalanced statements go the BALANCE_BREAK way instead (header kept with gate BALANCE_BREAK,
# no lines). The files are registered as fetched directly (fetch is tested elsewhere).
source "$(dirname "$0")/../lib.sh"
t_init normalize_rejects

D=2026-11-24
F=$REPO/fixtures/formats
q() { t_psql "$1"; }

# a source for the second layout (no such bank in the demo configuration)
cat >> "$T/pipeline.conf" <<EOF

[source.eu_bank]
transport = dir
remote_dir = $T/remote/eu
pattern = ^eu_%Y%m%d\.csv$
format = eubank-semicolon
encoding = ISO-8859-1
account_no = DE44500105175407324931
required = no
EOF
mkdir -p "$T/remote/eu"
# a source's account_no must be one of [accounts] (checked at load)
sed -i '/^\[accounts\]/a other = DE44500105175407324931' "$T/pipeline.conf"

# the ledger knows the client-money account (in SGD): a USD statement for it is refused
q "INSERT INTO bank_account VALUES ('0123456789', 'SGD', 'CLIENT_MONEY', 'Client money')" >/dev/null
q "INSERT INTO stage_run (business_date, stage, state, finished_at, pid, host, operator, config_digest)
   VALUES ('$D', 'fetch', 'done', now(), 1, 'test', 'test', 'test')" >/dev/null
register() { t_register "$D" "$1" "$2"; }  # register SOURCE FILE: as if fetch had brought FILE

# source | fixture | message after "path:"
cat > "$T/expected" <<'EOF'
bank_client|mt940/bad-truncated.sta|6: MT940: end of file inside the statement that starts at line 1 (:20: STMT1), expected :61: or :62F:/:62M: first: the file is truncated
bank_client|mt940/bad-truncated-midline.sta|7: MT940: the last line has no line ending: the file is truncated
bank_client|mt940/bad-tag.sta|5: MT940 :99: unknown tag, expected one of :20: :21: :25: :28C: :60F: :60M: :61: :86: :62F: :62M: :64: :65:
bank_client|mt940/bad-date.sta|5: MT940 :61: value date "261399" is not a valid YYMMDD date
bank_client|mt940/bad-entry-date.sta|5: MT940 :61: entry date "0230" is not a valid MMDD date
bank_client|mt940/bad-number.sta|5: MT940 :61: amount "12,3,4" is not a valid amount: unexpected character in the decimals
bank_client|mt940/bad-no-comma.sta|5: MT940 :61: amount "100" has no decimal comma, expected e.g. "1500,00" or "9,"
bank_client|mt940/bad-too-many-decimals.sta|5: MT940 :61: amount "100,001" is not a valid amount: more decimals than the currency allows
bank_client|mt940/bad-invalid-utf8.sta|6: MT940: byte 0xE9 at column 8 is not valid text (truncated UTF-8 sequence), expected UTF-8
bank_client|mt940/bad-order.sta|4: MT940 :61: field is not expected here, expected :60F: or :60M:
bank_client|mt940/bad-currency.sta|7: MT940 :62F: currency "USD" differs from the statement's currency SGD
bank_client|mt940/bad-envelope.sta|8: MT940: end of file inside the envelope opened at line 1, expected "-}": the file is truncated
bank_client|mt940/bad-empty.sta|1: MT940: no statement in the file, expected at least one :20: ... :62F:
bank_client|mt940/bad-mark.sta|5: MT940 :61: "2611241124X100,00NTRFNONREF//FT1" is not a statement line, expected 6!n[4!n]2a[1!a]15d1!a3!c16x[//16x] e.g. "2611241124C1500,00NTRFNONREF//FT123"
bank_client|mt940/bad-statement-no.sta|3: MT940 :28C: statement number "ABC" is not 5n[/5n], expected e.g. "00045/001"
bank_client|mt940/bad-overflow.sta|927: MT940 :61: the sum of the statement's lines overflows
bank_client|mt940/latin1.sta|6: MT940: byte 0xE9 at column 8 is not valid text (truncated UTF-8 sequence), expected UTF-8
bank_client|mt940/bad-other-account.sta|1: account "DBSSSGSGXXX/9999999999" is not source bank_client's account 0123456789
bank_client|mt940/usd-for-sgd-account.sta|1: the statement is in USD but account 0123456789 is held in SGD
bank_client|sgbank-corp/good.csv|1: MT940: ""Account Statement"" is neither a field (:NN:) nor a continuation of one, expected :20:
bank_operating|sgbank-corp/bad-wrong-header.csv|7: sgbank-corp: header row field 1 is "Txn Date", expected "Transaction Date"
bank_operating|sgbank-corp/bad-column-count.csv|8: sgbank-corp: transaction row has 6 fields, expected 7
bank_operating|sgbank-corp/bad-stray-quote.csv|8: sgbank-corp: stray quote or text after a closing quote (strict CSV), expected each field either quoted whole or without quotes
bank_operating|sgbank-corp/bad-unquoted-stray.csv|8: sgbank-corp: stray quote or text after a closing quote (strict CSV), expected each field either quoted whole or without quotes
bank_operating|sgbank-corp/bad-invalid-utf8.csv|8: sgbank-corp: byte 0xFF at column 29 is not valid text (not a UTF-8 lead byte), expected UTF-8
bank_operating|sgbank-corp/bad-too-many-decimals.csv|8: sgbank-corp: Deposit: amount "15,000.001" is not a valid amount: more decimals than the currency allows
bank_operating|sgbank-corp/bad-overflow.csv|8: sgbank-corp: Deposit: amount "99,999,999,999,999,999,999.00" is too large
bank_operating|sgbank-corp/bad-truncated.csv|8: sgbank-corp: end of file before the trailer row "Closing Balance",{closing}: the file is truncated
bank_operating|sgbank-corp/bad-date.csv|8: sgbank-corp: Transaction Date: date "31/11/2026" is not a valid date, expected DD/MM/YYYY
bank_operating|sgbank-corp/bad-lf.csv|1: sgbank-corp: line ends with LF, expected CRLF
bank_operating|sgbank-corp/bad-both-columns.csv|8: sgbank-corp: Withdrawal and Deposit: both are filled, expected exactly one of the two
bank_operating|sgbank-corp/bad-running-balance.csv|9: sgbank-corp: Balance: running balance 1280000.01 does not follow from the previous row's balance and this amount, expected 1280000.00
bank_operating|sgbank-corp/bad-preamble.csv|3: sgbank-corp: preamble row 3 field 2 (currency): currency "XXX" is not a known ISO 4217 code
bank_operating|sgbank-corp/bad-after-trailer.csv|10: sgbank-corp: row after the trailer, expected the end of the file
bank_operating|world/20261124/bank/client/stmt_0123456789_20261124.sta|1: sgbank-corp: line ends with LF, expected CRLF
eu_bank|eubank-semicolon/bad-control-byte.csv|8: eubank-semicolon: control character 0x85 at column 24, expected printable ISO-8859-1 text
eu_bank|eubank-semicolon/bad-thousands.csv|6: eubank-semicolon: Betrag: amount "-1.23,456" is not a valid amount: thousands separators must separate groups of three digits
eu_bank|eubank-semicolon/bad-column-count.csv|7: eubank-semicolon: transaction row has 5 fields, expected 6
eu_bank|eubank-semicolon/bad-crlf.csv|1: eubank-semicolon: line ends with CRLF, expected LF
eu_bank|eubank-semicolon/bad-truncated.csv|9: eubank-semicolon: end of file before the trailer row "Endsaldo",*,*,*,*,{closing}: the file is truncated
eu_bank|eubank-semicolon/bad-date.csv|7: eubank-semicolon: Valuta: date "2026-11-25" is not a valid date, expected DD.MM.YYYY
trustee_register|trustee/bad-header.csv|1: trustee register: header field 1 is "as_of", expected "as_of_date" (header as_of_date,offering_id,investor_id,units)
trustee_register|trustee/bad-duplicate.csv|4: trustee register: holding of INV0001 in OFF-A is given twice (first on line 2)
trustee_register|trustee/bad-negative.csv|2: trustee register: units: "-5" is not a whole non-negative number
trustee_register|trustee/bad-two-dates.csv|3: trustee register: as_of_date: 2026-11-25 differs from 2026-11-24 on line 2, expected one date per register
trustee_register|trustee/bad-date.csv|2: trustee register: as_of_date: date "2026-13-24" is not a valid date, expected YYYY-MM-DD
trustee_register|trustee/bad-column-count.csv|2: trustee register: row has 3 fields, expected 4 (as_of_date,offering_id,investor_id,units)
trustee_register|trustee/bad-stray-quote.csv|2: trustee register: stray quote or text after a closing quote (strict CSV)
trustee_register|trustee/bad-overflow.csv|2: trustee register: units: "99999999999999999999" is too large
trustee_register|trustee/bad-no-header.csv|1: trustee register: the file is empty, expected the header as_of_date,offering_id,investor_id,units
trustee_register|trustee/bad-truncated.csv|2: trustee register: the last line has no line ending: the file is truncated
EOF
n_bad=0
while IFS='|' read -r src rel msg; do
	register "$src" "$F/$rel"
	n_bad=$((n_bad + 1))
done < "$T/expected"
# the good files of the same night, and the unbalanced ones (BALANCE_BREAK)
register bank_client "$F/mt940/good.sta"
register bank_client "$F/mt940/good-bic-account.sta"   # :25: with a bank code in front
register bank_client "$F/mt940/unbalanced.sta"
register bank_operating "$F/sgbank-corp/unbalanced.csv"
register eu_bank "$F/eubank-semicolon/good.csv"
register trustee_register "$F/trustee/good.csv"

assert_exit 0 t_pipeline normalize --date $D
while IFS='|' read -r src rel msg; do
	assert_eq "QUARANTINED|$F/$rel:$msg" "$(q "SELECT l.status, l.reason FROM file_load l JOIN fetched_file f USING (file_id)
		WHERE f.local_path = '$F/$rel' AND f.source = '$src'")" "$rel"
	assert_eq "FILE_QUARANTINED" "$(q "SELECT e.type FROM exception e JOIN fetched_file f ON e.subject = 'file:' || f.file_id
		WHERE f.local_path = '$F/$rel' AND f.source = '$src'")" "$rel: exception"
done < "$T/expected"
assert_eq "$n_bad" "$(q "SELECT count(*) FROM exception WHERE type = 'FILE_QUARANTINED'")" "one FILE_QUARANTINED per bad file"
assert_eq "0" "$(q "SELECT count(*) FROM statement s JOIN file_load l USING (file_id) WHERE l.status = 'QUARANTINED' AND s.gate = 'PASSED'")" \
	"nothing of a quarantined file is loaded"
assert_eq "0" "$(q "SELECT count(*) FROM trustee_register r JOIN file_load l USING (file_id) WHERE l.status = 'QUARANTINED'")" \
	"no register from a quarantined file"
assert_eq "0123456789|BALANCE_BREAK|0
0123456790|BALANCE_BREAK|0" "$(q "SELECT account_no, gate, (SELECT count(*) FROM statement_line l WHERE l.statement_id = s.statement_id)
	FROM statement s WHERE gate = 'BALANCE_BREAK' ORDER BY 1")" "unbalanced statements: header only, gate BALANCE_BREAK"
assert_eq "2" "$(q "SELECT count(*) FROM exception WHERE type = 'BALANCE_BREAK'")" "a BALANCE_BREAK each"
assert_eq "0123456789|8
DE44500105175407324931|3" "$(q "SELECT s.account_no, count(l.*) FROM statement s JOIN statement_line l USING (statement_id)
	GROUP BY 1 ORDER BY 1")" "the good statements of the night load"
assert_eq "Müller GmbH Miete November; Büro \"Nord\"" "$(q "SELECT narrative FROM statement_line WHERE amount_minor = -123456")" \
	"ISO-8859-1 converted exactly into the database"
assert_eq "3" "$(q "SELECT count(*) FROM trustee_holding")" "the good register loads"
assert_eq done "$(q "SELECT state FROM stage_run WHERE stage = 'normalize' ORDER BY run_id DESC LIMIT 1")" \
	"the stage succeeds: quarantine is not failure"
t_done
