#!/bin/bash
# Reconcile on a hand-built world (50_reconcile_lib.inc): every rule and every exception type of
# day 1, carrying and closing on day 2 (a day-2 ledger movement closes a day-1 break), pending vs
# UNMATCHED_LEDGER, a reference match outside the window, a batch one cent off, ambiguity,
# identical same-day deposits, a currency mismatch, a duplicate bank reference, the ledger balance
# check, a missing statement, the trustee register, --force replacing only its own date, and the
# explain / export / resolve commands.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/50_reconcile_lib.inc"
t_init reconcile

recon_setup
recon_day1 fwd
assert_exit 0 t_pipeline reconcile --date 2026-11-23

# --- day 1: the matches, each by the rule expected
assert_eq "2026-11-23|FT001|150000|REFERENCE|M-REF
2026-11-23|FT002|-60000|BATCH|W-1,W-2,W-3
2026-11-23|FT004|-25000|AMOUNT_DATE|M-AD
2026-11-23|FT006|100000|REFERENCE|M-SAME1
2026-11-23|FT007|100000|REFERENCE|M-SAME2
2026-11-23|FT012|40000|REFERENCE|M-DUP" "$(recon_matches)" "day 1 matches"

# --- day 1: the exceptions, exactly
DAY1_OPEN="AMBIGUOUS|WARNING|0123456789|-7700|FT005||M-AMB1,M-AMB2|2026-11-23
AMOUNT_MISMATCH|ERROR|0123456789|-15001|FT003|BATCH-20261123-02|BATCH-20261123-02|2026-11-23
AMOUNT_MISMATCH|ERROR|0123456789|99000|FT009|VA00000007|M-MIS|2026-11-23
DUPLICATE_LINE|ERROR|0123456789|40000|FT012|VA00000003||2026-11-23
HOLDING_MISMATCH|ERROR|-|-||OFF-A|INV2|2026-11-23
HOLDING_MISSING_AT_TRUSTEE|ERROR|-|-||OFF-A|INV3|2026-11-23
HOLDING_MISSING_IN_LEDGER|ERROR|-|-||OFF-A|INV4|2026-11-23
UNMATCHED_LEDGER|ERROR|0123456789|30000||VA00000008|M-OUT|2026-11-23
UNMATCHED_STATEMENT|ERROR|0123456789|50000|FT008|VA00000050||2026-11-23
UNMATCHED_STATEMENT|ERROR|0123456789|30000|FT010|VA00000008||2026-11-23
UNMATCHED_STATEMENT|ERROR|0123456789|20000|FT011|VA99999999||2026-11-23"
assert_eq "$DAY1_OPEN" "$(recon_open)" "day 1 open exceptions"
assert_contains "$(t_psql "SELECT detail FROM exception WHERE type = 'AMOUNT_MISMATCH' AND ledger_id = 'M-MIS'")" \
	"the bank shows a credit of SGD 990.00 on 2026-11-23 and the ledger expects SGD 1000.00 (difference bank minus ledger: SGD -10.00)" \
	"mismatch detail shows both sides and the difference"
assert_contains "$(t_psql "SELECT detail FROM exception WHERE type = 'AMOUNT_MISMATCH' AND ledger_id LIKE 'BATCH%'")" \
	"the ledger expects SGD 150.00 (difference bank minus ledger: SGD -0.01)" "batch one cent off is a mismatch"
assert_contains "$(t_psql "SELECT detail FROM exception WHERE type = 'UNMATCHED_LEDGER'")" \
	"by 2026-11-20, the end of its 3-business-day window" "UNMATCHED_LEDGER detail"
# Inside its window a movement is pending, not a break; mismatched movements are neither.
assert_eq "M-AMB1|2026-11-26|3
M-AMB2|2026-11-27|3
M-LATE|2026-11-26|3
M-USD|2026-11-26|3" "$(t_psql "SELECT movement_id, window_end, days_left FROM pending_movements('2026-11-23') ORDER BY 1")" \
	"pending movements on day 1"
assert_eq "1|3|{reference,batch,amount_date}|2026-11-26" \
	"$(t_psql "SELECT count(*), max(window_days), max(rules::text), max(cutoff_date) FROM recon_run_config")" \
	"the configuration used is recorded"
assert_eq '{"rules": {"batch": true, "reference": true, "amount_date": true}, "holidays": ["2026-12-25", "2027-01-01", "2027-02-06", "2027-02-08"], "cutoff_date": "2026-11-26", "window_days": 3, "max_candidates_listed": 10}' \
	"$(t_psql "SELECT params FROM recon_run_config")" "the matching parameters recorded as jsonb"
assert_eq "29|13|16|6|11" "$(t_psql "SELECT rows_in, lines_in, movements_in, rows_out, exceptions
	FROM stage_run r JOIN recon_run_config c USING (run_id) WHERE r.stage = 'reconcile'")" "stage_run counts"

# --- rerun: done is skipped; --force replaces day 1 with the same result, not twice
assert_exit 0 t_pipeline reconcile --date 2026-11-23
assert_eq 1 "$(t_psql "SELECT count(*) FROM stage_run WHERE stage = 'reconcile'")" "a done stage is skipped"
assert_exit 0 t_pipeline reconcile --date 2026-11-23 --force
assert_eq "$DAY1_OPEN" "$(recon_open)" "day 1 exceptions after --force"
assert_eq 6 "$(t_psql "SELECT count(*) FROM recon_match")" "matches replaced, not added"
assert_eq 11 "$(t_psql "SELECT count(*) FROM exception")" "exceptions replaced, not added"

# --- day 2: a late ledger movement closes the day-1 break; carried breaks age; new breaks
recon_day2 fwd
assert_exit 0 t_pipeline reconcile --date 2026-11-24
assert_eq "2026-11-24|FT011|20000|REFERENCE|M-UNK
2026-11-24|FT101|40000|REFERENCE|M-LATE" "$(recon_matches | grep '^2026-11-24')" "day 2 matches"
assert_eq "CLOSED|reconcile run 4: REFERENCE match with movement M-UNK|2026-11-24" \
	"$(t_psql "SELECT status, closed_by, closed_date FROM exception WHERE statement_ref = 'FT011'")" \
	"the day-1 unknown deposit is closed by its day-2 match"
assert_eq "HOLDING_MISMATCH|CLOSED
HOLDING_MISSING_AT_TRUSTEE|CLOSED
HOLDING_MISSING_IN_LEDGER|CLOSED" \
	"$(t_psql "SELECT type, status FROM exception WHERE type LIKE 'HOLDING%' ORDER BY 1")" \
	"the day-2 register agrees with the ledger as of its date"
DAY2_OPEN="AMBIGUOUS|WARNING|0123456789|-7700|FT005||M-AMB1,M-AMB2|2026-11-23
AMOUNT_MISMATCH|ERROR|0123456789|-15001|FT003|BATCH-20261123-02|BATCH-20261123-02|2026-11-23
AMOUNT_MISMATCH|ERROR|0123456789|99000|FT009|VA00000007|M-MIS|2026-11-23
DUPLICATE_LINE|ERROR|0123456789|40000|FT012|VA00000003||2026-11-23
STATEMENT_CONTINUITY_BREAK|ERROR|0123456790|5000||||2026-11-24
STATEMENT_MISSING|ERROR|8800123456|-||||2026-11-24
UNMATCHED_LEDGER|ERROR|0123456789|30000||VA00000008|M-OUT|2026-11-23
UNMATCHED_STATEMENT|ERROR|0123456789|123|@FT999|=2+3||2026-11-24
UNMATCHED_STATEMENT|ERROR|0123456789|50000|FT008|VA00000050||2026-11-23
UNMATCHED_STATEMENT|ERROR|0123456789|30000|FT010|VA00000008||2026-11-23"
assert_eq "$DAY2_OPEN" "$(recon_open)" "day 2 open exceptions"
assert_contains "$(t_psql "SELECT detail FROM exception WHERE type = 'STATEMENT_CONTINUITY_BREAK'")" \
	"unexplained difference SGD 50.00" "continuity break shows the difference"
assert_eq "continuity:0123456790" "$(t_psql "SELECT subject FROM exception WHERE type = 'STATEMENT_CONTINUITY_BREAK'")" \
	"the continuity check's subject says what it is"
assert_eq "NO_BOOK_BALANCE" "$(t_psql "SELECT string_agg(DISTINCT status, ',') FROM bank_rec
	WHERE business_date = '2026-11-24' AND status <> 'NO_STATEMENT'")" \
	"without book balances the reconciliation says so and opens no BOOK_BALANCE_BREAK"
assert_eq 0 "$(t_psql "SELECT count(*) FROM exception WHERE type = 'BOOK_BALANCE_BREAK'")" "no break invented"

# --- --force on day 2 replaces day 2 only
BEFORE_D1=$(t_psql "SELECT match_id, line_id, rule FROM recon_match WHERE business_date = '2026-11-23' ORDER BY 1")
BEFORE_OPEN=$(recon_open)
assert_exit 0 t_pipeline reconcile --date 2026-11-24 --force
assert_eq "$BEFORE_D1" "$(t_psql "SELECT match_id, line_id, rule FROM recon_match WHERE business_date = '2026-11-23' ORDER BY 1")" \
	"day-1 matches untouched by a forced day 2 (same ids)"
assert_eq "$BEFORE_OPEN" "$(recon_open)" "same open exceptions after forcing day 2"
assert_eq 8 "$(t_psql "SELECT count(*) FROM recon_match")" "8 matches in all"
assert_eq "CLOSED" "$(t_psql "SELECT status FROM exception WHERE statement_ref = 'FT011'")" "still closed after --force"

# --- export: open as of the date, with ages in business days
assert_exit 0 t_pipeline export exceptions --date 2026-11-24
assert_eq "id,type,severity,account,date,amount,currency,reference,statement_ref,ledger_id,age_days,detail" \
	"$(printf '%s\n' "$T_OUT" | head -1 | tr -d '\r')" "export header"
assert_eq 10 "$(printf '%s\n' "$T_OUT" | tail -n +2 | grep -c .)" "10 open on day 2"
assert_contains "$T_OUT" ",UNMATCHED_STATEMENT,ERROR,0123456789,2026-11-24,1.23,SGD,\"'=2+3\",\"'@FT999\",,0," \
	"text from outside cannot become a spreadsheet formula (OWASP: leading ')"
assert_contains "$T_OUT" ",UNMATCHED_LEDGER,ERROR,0123456789,2026-11-17,300.00,SGD,VA00000008,,M-OUT,1," \
	"UNMATCHED_LEDGER row, aged 1 business day"
assert_contains "$T_OUT" ",AMBIGUOUS,WARNING,0123456789,2026-11-23,-77.00,SGD,,FT005,\"M-AMB1,M-AMB2\",1," \
	"AMBIGUOUS row lists candidates (quoted: it has a comma)"
# SQL counts business days like the C code: the ages of open_exceptions_as_of() equal the export's.
assert_eq "$(printf '%s' "$T_OUT" | /usr/bin/python3 -c '
import csv, sys
for row in list(csv.reader(sys.stdin))[1:]:
    print(row[0] + "|" + row[10])' | sort)" \
	"$(t_psql "SELECT exception_id || '|' || age_days FROM open_exceptions_as_of('2026-11-24')" | sort)" \
	"ages in SQL and in C agree"
assert_eq "4|0|3|2026-12-30" "$(t_psql "SELECT business_days_between('2026-12-24', '2026-12-31'),
	business_days_between('2026-12-31', '2026-12-24'), business_days_between('2026-11-28', '2026-12-02'),
	business_days_add('2026-12-24', 3)")" "SQL business days skip weekends and the configured holiday"
assert_exit 0 t_pipeline export exceptions --date 2026-11-23
assert_eq 11 "$(printf '%s\n' "$T_OUT" | tail -n +2 | grep -c .)" "11 open as of day 1 (history)"
assert_contains "$T_OUT" ",UNMATCHED_STATEMENT,ERROR,0123456789,2026-11-23,200.00,SGD,VA99999999,FT011,,0," \
	"closed on day 2 but open as of day 1, age 0"
assert_exit 0 t_pipeline export exceptions --date 2026-11-24 --format json
assert_eq "10|AMBIGUOUS|-77.00|1" "$(printf '%s' "$T_OUT" | /usr/bin/python3 -c '
import json, sys
rows = json.load(sys.stdin)
a = [r for r in rows if r["type"] == "AMBIGUOUS"][0]
print("%d|%s|%s|%d" % (len(rows), a["type"], a["amount"], a["age_days"]))')" "JSON export"
assert_exit 2 t_pipeline export exceptions --date 2026-11-24 --format xml
assert_contains "$T_ERR" "--format must be csv or json" "bad format refused"
assert_exit 2 t_pipeline export things

# --- explain
assert_exit 0 t_pipeline explain FT002
assert_contains "$T_OUT" "MATCHED on 2026-11-23 by rule BATCH" "explain a batch line"
assert_contains "$T_OUT" "with movement W-1, W-2, W-3" "explain lists the batch"
assert_exit 0 t_pipeline explain M-AD
assert_contains "$T_OUT" "by rule AMOUNT_DATE" "explain a movement"
assert_exit 0 t_pipeline explain VA00000050
assert_contains "$T_OUT" "UNMATCHED_STATEMENT (ERROR) OPEN" "explain why a line did not match"
assert_contains "$T_OUT" "ledger movement M-USD" "explain also finds the movement with that reference"
assert_contains "$T_OUT" "PENDING: not on a statement yet" "and says it is pending"
assert_exit 0 t_pipeline explain M-MIS
assert_contains "$T_OUT" "AMOUNT_MISMATCH (ERROR) OPEN" "a movement named by a mismatch"
assert_exit 1 t_pipeline explain NO-SUCH-REF
assert_contains "$T_ERR" 'no statement line or ledger movement has the reference, bank reference or id "NO-SUCH-REF"' "explain unknown"

# --- resolve: recorded, never reopened by a rerun
DUP_ID=$(t_psql "SELECT exception_id FROM exception WHERE type = 'DUPLICATE_LINE'")
assert_exit 2 t_pipeline resolve "$DUP_ID"
assert_contains "$T_ERR" "a note saying why is required" "resolve needs a note"
assert_exit 2 t_pipeline resolve abc --note x
assert_exit 0 t_pipeline resolve "$DUP_ID" --note "bank reversed the duplicate on 25 Nov" --by alice
assert_eq "RESOLVED|alice|bank reversed the duplicate on 25 Nov" \
	"$(t_psql "SELECT status, closed_by, close_note FROM exception WHERE exception_id = $DUP_ID")" "resolution recorded"
assert_exit 1 t_pipeline resolve "$DUP_ID" --note again --by bob
assert_contains "$T_ERR" "is already RESOLVED (by alice)" "resolving twice is refused"
assert_exit 1 t_pipeline resolve 999999 --note x --by bob
assert_contains "$T_ERR" "exception 999999 does not exist" "unknown id"
assert_exit 0 t_pipeline reconcile --date 2026-11-24 --force
assert_eq "RESOLVED|0" "$(t_psql "SELECT max(status), count(*) FILTER (WHERE status = 'OPEN')
	FROM exception WHERE type = 'DUPLICATE_LINE'")" "a resolved break is not raised again"

t_done
