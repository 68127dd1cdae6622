#!/bin/bash
# The normalize stage on a three-day world of its own (fixtures/formats/world): every format is
# loaded (MT940 plain and in an envelope, the sgbank-corp CSV, the trustee register); a malformed
# file is quarantined whole with its exact reason and a FILE_QUARANTINED exception while the other
# files of the night load; an unbalanced statement is quarantined as BALANCE_BREAK (header kept,
# no lines) and a corrected one closes that exception; a skipped statement number is a
# STATEMENT_GAP but still loads; a statement sent again is loaded once (DUPLICATE); an unforced
# rerun is a no-op and --force replaces the date's output without adding to it.
source "$(dirname "$0")/../lib.sh"
t_init normalize

W=$REPO/fixtures/formats/world
deliver() { cp -R "$W/$1/." "$T/remote/"; }
q() { t_psql "$1"; }

# ---- day 1: everything is good
deliver 20261124
assert_exit 0 t_pipeline fetch --date 2026-11-24
assert_exit 0 t_pipeline normalize --date 2026-11-24
assert_eq "bank_client|LOADED|mt940|1|4
bank_operating|LOADED|sgbank-corp|1|2
trustee_cash|LOADED|mt940|1|1
trustee_register|LOADED|trustee_register|0|2" "$(q "SELECT f.source, l.status, l.format, l.statements, l.lines FROM file_load l
	JOIN fetched_file f USING (file_id) WHERE l.business_date = '2026-11-24' ORDER BY f.source")" "day 1: four files loaded"
assert_eq "0123456789|00045|001|125000000|126465850|4|PASSED
0123456790|00045||125000000|126497450|2|PASSED
8800123456|101||0|475000000|1|PASSED" \
	"$(q "SELECT account_no, statement_no, sequence_no, opening_minor, closing_minor, line_count, gate FROM statement ORDER BY account_no")" \
	"day 1: statements"
# the canonical lines: signed minor units, marks (C with funds code R is not a reversal; RC is), references
assert_eq "1|2026-11-24|2026-11-24|1500000|C||NTRF|NONREF|FT2632800012|VA00000123
2|2026-11-24|2026-11-24|-25050|D||NTRF|WD-00000042|FT2632800013|WD-00000042
3||2026-11-24|900|C|R|NMSC|NONREF||
4||2026-11-24|-10000|RC||NTRF|NONREF|FT2632800014|" \
	"$(q "SELECT line_no, entry_date, value_date, amount_minor, mark, funds_code, type_code, customer_ref, bank_ref, reference
	      FROM statement_line WHERE account_no = '0123456789' ORDER BY line_no")" "day 1: MT940 lines"
# issue 14: the :86: lines are joined exactly as sent (banks wrap inside words and IBANs)
assert_eq "FAST TRF DEPOSIT VA00000123TAN AH KOW|DEPOSIT VA00000123" \
	"$(q "SELECT narrative, supplementary FROM statement_line WHERE account_no = '0123456789' AND line_no = 1")" \
	":86: continuation joined as sent, :61: supplementary details kept"
assert_eq "1|1500000|FT2632800012|TRF-OFF-B-FEE
2|-2550|BC2611240001|" "$(q "SELECT line_no, amount_minor, bank_ref, reference FROM statement_line
	WHERE account_no = '0123456790' ORDER BY line_no")" "day 1: CSV lines (withdrawal negative)"
assert_eq "2026-11-24|OFF-B|INV0001|100
2026-11-24|OFF-B|INV0002|250" "$(q "SELECT r.as_of_date, h.offering_id, h.investor_id, h.units FROM trustee_holding h
	JOIN trustee_register r USING (register_id) ORDER BY 3")" "day 1: trustee register"
assert_eq 0 "$(q "SELECT count(*) FROM exception")" "day 1: no exception"
assert_eq "9|13" "$(q "SELECT rows_in, rows_out FROM stage_run WHERE stage = 'normalize' ORDER BY run_id DESC LIMIT 1")" \
	"day 1: rows in (7 lines + 2 holdings) and out (3 statements + 7 lines + 1 register + 2 holdings)"

# ---- reruns: unforced is a no-op, forced replaces (never adds)
before=$(q "SELECT count(*), sum(amount_minor) FROM statement_line")
assert_exit 0 t_pipeline normalize --date 2026-11-24
assert_contains "$T_ERR" "already done for this date" "unforced rerun skipped"
assert_exit 0 t_pipeline normalize --date 2026-11-24 --force
assert_eq "$before" "$(q "SELECT count(*), sum(amount_minor) FROM statement_line")" "forced rerun: same lines"
assert_eq "3|4|1|2" "$(q "SELECT (SELECT count(*) FROM statement), (SELECT count(*) FROM file_load),
	(SELECT count(*) FROM trustee_register), (SELECT count(*) FROM trustee_holding)")" "forced rerun: nothing doubled"

# ---- day 2: a malformed file, an unbalanced statement, a gap
deliver 20261125
assert_exit 0 t_pipeline fetch --date 2026-11-25
lines_before=$(q "SELECT count(*) FROM statement_line")
assert_exit 0 t_pipeline normalize --date 2026-11-25
assert_eq "bank_client|QUARANTINED|$T/data/inbox/2026-11-25/bank_client/stmt_0123456789_20261125.sta:5: MT940 :61: amount \"12,3,4\" is not a valid amount: unexpected character in the decimals" \
	"$(q "SELECT f.source, l.status, l.reason FROM file_load l JOIN fetched_file f USING (file_id)
	      WHERE l.business_date = '2026-11-25' AND f.source = 'bank_client'")" "malformed MT940 quarantined with its reason"
assert_eq 0 "$(q "SELECT count(*) FROM statement WHERE account_no = '0123456789' AND business_date = '2026-11-25'")" \
	"nothing of the malformed file loaded"
assert_eq "FILE_QUARANTINED|ERROR|0123456789" "$(q "SELECT type, severity, account_no FROM exception
	WHERE subject = (SELECT 'file:' || file_id FROM fetched_file WHERE source = 'bank_client' AND business_date = '2026-11-25')")" \
	"FILE_QUARANTINED exception"
assert_eq "QUARANTINED|the statement failed the completeness gate: opening balance + lines != closing balance" \
	"$(q "SELECT l.status, l.reason FROM file_load l JOIN fetched_file f USING (file_id)
	      WHERE l.business_date = '2026-11-25' AND f.source = 'bank_operating'")" "unbalanced CSV quarantined"
assert_eq "00046|BALANCE_BREAK|1|0" "$(q "SELECT s.statement_no, s.gate, s.line_count,
	(SELECT count(*) FROM statement_line l WHERE l.statement_id = s.statement_id)
	FROM statement s WHERE account_no = '0123456790' AND business_date = '2026-11-25'")" "BALANCE_BREAK header kept, no lines"
assert_eq "BALANCE_BREAK|statement:0123456790:00046|10|SGD" "$(q "SELECT type, subject, amount_minor, currency FROM exception
	WHERE type = 'BALANCE_BREAK'")" "BALANCE_BREAK exception with the difference"
assert_eq "PASSED|1" "$(q "SELECT gate, line_count FROM statement WHERE account_no = '8800123456' AND statement_no = '103'")" \
	"gap statement still loads"
assert_contains "$(q "SELECT detail FROM exception WHERE type = 'STATEMENT_GAP'")" \
	"statement 103 does not follow the previous statement 101: statements are missing in between" "STATEMENT_GAP detail"
assert_eq "LOADED" "$(q "SELECT l.status FROM file_load l JOIN fetched_file f USING (file_id)
	WHERE l.business_date = '2026-11-25' AND f.source = 'trustee_register'")" "the other files of the night still load"
assert_eq $((lines_before + 1)) "$(q "SELECT count(*) FROM statement_line")" "day 2 adds only the trustee cash line"
assert_eq done "$(q "SELECT state FROM stage_run WHERE stage = 'normalize' AND business_date = '2026-11-25' ORDER BY run_id DESC LIMIT 1")" \
	"the stage succeeds despite quarantined files"

# ---- day 3: several statements per file, a corrected statement, a statement sent again
deliver 20261126
assert_exit 0 t_pipeline fetch --date 2026-11-26
assert_exit 0 t_pipeline normalize --date 2026-11-26
assert_eq "00046|001|t|1265658,50
00046|002|f|1266658,50" "$(q "SELECT statement_no, sequence_no, closing_intermediate, replace((closing_minor / 100.0)::numeric(20,2)::text, '.', ',')
	FROM statement WHERE account_no = '0123456789' AND business_date = '2026-11-26' ORDER BY sequence_no")" \
	"two statements (pages 001 and 002) from one file"
assert_eq "FT3001|100000
FT3002|100000" "$(q "SELECT bank_ref, amount_minor FROM statement_line WHERE account_no = '0123456789' AND value_date = '2026-11-26' ORDER BY bank_ref")" \
	"same amount, date and narrative twice: both kept (different bank references)"
assert_eq "CLOSED|normalize" "$(q "SELECT status, closed_by FROM exception WHERE type = 'BALANCE_BREAK'")" \
	"the corrected statement closes the BALANCE_BREAK"
assert_eq "DUPLICATE|0" "$(q "SELECT l.status, l.statements FROM file_load l JOIN fetched_file f USING (file_id)
	WHERE l.business_date = '2026-11-26' AND f.source = 'trustee_cash'")" "a statement sent again is a DUPLICATE"
assert_eq 1 "$(q "SELECT count(*) FROM statement WHERE account_no = '8800123456' AND statement_no = '103'")" "loaded once"
assert_eq 3 "$(q "SELECT count(*) FROM trustee_holding h JOIN trustee_register r USING (register_id) WHERE r.as_of_date = '2026-11-26'")" \
	"a zero holding is a holding"
assert_eq 1 "$(q "SELECT count(*) FROM exception WHERE type = 'STATEMENT_GAP'")" "no new gap on day 3"

# ---- forced rerun of day 2 keeps the quarantine and its exceptions exactly once
assert_exit 0 t_pipeline normalize --date 2026-11-25 --force
assert_eq "1|1|1" "$(q "SELECT (SELECT count(*) FROM exception WHERE type = 'FILE_QUARANTINED'),
	(SELECT count(*) FROM statement WHERE gate = 'BALANCE_BREAK'), (SELECT count(*) FROM exception WHERE type = 'STATEMENT_GAP')")" \
	"forced rerun: same quarantine, same exceptions"

# ---- a forced rerun that fails half-way (a database error on the trustee cash file, the third
# file of the date) leaves the date exactly as it was: one transaction for the whole forced run
snapshot() { q "SELECT (SELECT string_agg(type || ':' || status, ',' ORDER BY type) FROM exception),
	(SELECT string_agg(file_id || ':' || status, ',' ORDER BY file_id) FROM file_load WHERE business_date = '2026-11-25'),
	(SELECT count(*) FROM statement WHERE business_date = '2026-11-25'), (SELECT count(*) FROM trustee_holding)"; }
before=$(snapshot)
q "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
	IF NEW.account_no = '8800123456' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END \$\$;
   CREATE TRIGGER boom BEFORE INSERT ON statement_line FOR EACH ROW EXECUTE FUNCTION boom()" >/dev/null
assert_exit 1 t_pipeline normalize --date 2026-11-25 --force
assert_contains "$T_ERR" "injected failure" "the database error is reported"
assert_eq "$before" "$(snapshot)" "a failed forced rerun changes nothing (exceptions, file loads, statements, registers)"
q "DROP TRIGGER boom ON statement_line; DROP FUNCTION boom()" >/dev/null
assert_exit 0 t_pipeline normalize --date 2026-11-25 --force
assert_eq "$before" "$(snapshot)" "the next forced rerun gives the same result"

t_done
