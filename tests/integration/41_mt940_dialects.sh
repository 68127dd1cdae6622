#!/bin/bash
# MT940 as banks send it (issue 14): every dialect fixture under fixtures/formats/mt940-dialects/
# gives exactly its expected `pipeline inspect` output (FILE.jsonl, field by field) or is refused
# with exactly its message (FILE.err: 30 February, no decimal comma, a ':' line that is no tag...);
# --strict refuses each tolerated dialect; through the real normalize stage a dialect file loads
# with its deviations recorded in file_load (and the Statements sheet), the same file from a source
# with mt940_strict = yes is quarantined naming file and line, and a dialect file whose lines do
# not add up still fails the completeness gate (BALANCE_BREAK).
source "$(dirname "$0")/../lib.sh"
t_init mt940_dialects

DIA=$REPO/fixtures/formats/mt940-dialects
D=2026-11-24
q() { t_psql "$1"; }

# 1. inspect output against the expected files (tools/mt940-corpus.py, every field compared)
cd "$REPO"
assert_exit 0 /usr/bin/python3 tools/mt940-corpus.py --pipeline "$PIPELINE" --source bank_client \
	--min-statements 100 --min-lines 100 fixtures/formats/mt940-dialects
assert_contains "$T_OUT" "invalid files refused:    7/7" "every invalid dialect file refused with its message"
assert_contains "$T_OUT" "crashes:                  0" "no crash"
n_expected=$(ls "$DIA"/*.jsonl | wc -l)
assert_eq 23 "$n_expected" "one expected output per tolerated dialect fixture"
assert_contains "$T_OUT" "statements exactly right: 26/26 (100.0%)" "every statement exactly right"

# 2. --strict refuses each one that has deviations, naming file and line
for f in "$DIA"/*.jsonl; do
	sta=${f%.jsonl}.sta
	grep -q '"kind":"deviations"' "$f" || continue
	line=$(tail -1 "$f" | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["deviations"][0]["first_line"])')
	assert_exit 1 "$PIPELINE" inspect --strict "$sta"
	assert_contains "$T_ERR" "$sta:$line: MT940: " "$(basename "$sta"): strict names file and line"
	assert_contains "$T_ERR" "is not standard MT940 (the source sets mt940_strict = yes)" "$(basename "$sta"): strict says why"
	assert_eq "" "$T_OUT" "$(basename "$sta"): nothing printed under --strict"
done
assert_exit 0 "$PIPELINE" inspect --strict fixtures/formats/mt940-dialects/gvc-86.sta
assert_contains "$T_OUT" '"counterparty_name":"TAN AH KOW HOLDINGS"' "a standard file with a structured :86: passes --strict"

# 3. through normalize
cat >> "$T/pipeline.conf" <<CONF

[source.dialects]
transport = dir
remote_dir = $T/remote/dialects
pattern = ^.*\.sta$
format = mt940
required = no
reference_pattern = (WD-[0-9]{8})
reference_pattern = (VA[0-9]{8})

[source.dialects_strict]
transport = dir
remote_dir = $T/remote/dialects_strict
pattern = ^.*\.sta$
format = mt940
required = no
mt940_strict = yes
CONF
q "INSERT INTO stage_run (business_date, stage, state, finished_at, pid, host, operator, config_digest)
   VALUES ('$D', 'fetch', 'done', now(), 1, 'test', 'test', 'test')" >/dev/null
register() { t_register "$D" "$1" "$2"; }  # register SOURCE FILE: as if fetch had brought FILE
register dialects "$DIA/many-dialects.sta"
register dialects "$DIA/bad-unbalanced.sta"
cp "$DIA/many-dialects.sta" "$T/many-dialects.sta"
register dialects_strict "$T/many-dialects.sta"
assert_exit 0 t_pipeline normalize --date $D

file_q() { echo "SELECT $1 FROM file_load l JOIN fetched_file f USING (file_id) WHERE f.source = '$2' AND f.remote_name = '$3'"; }
assert_eq "LOADED|1|3" "$(q "$(file_q "l.status, l.statements, l.lines" dialects many-dialects.sta)")" "the dialect file loads"
assert_eq "header_line (line 1, 2 times): bank header line before :20:
reference_20_long (line 4): :20: transaction reference longer than 16 characters
tag_28 (line 6): :28: instead of :28C:
statement_no_long (line 6): statement or sequence number longer than 5 digits
non_standard_field (line 8): non-standard field (:NS:, :13:, :13D:, :23:, :34F:, :90C: or :90D:), not loaded
space_before_type (line 9): :61: space before the transaction type code
blank_line (line 12): blank line inside a message
zero_amount (line 13): :61: zero amount
customer_ref_empty (line 13): :61: with an empty customer reference
empty_86 (line 14): empty :86:
trailing_spaces (line 18): trailing spaces after a field
no_final_newline (line 19): last line without a line ending" \
	"$(q "$(file_q "array_to_string(l.deviations, E'\n')" dialects many-dialects.sta)")" "every deviation recorded for the file"
assert_eq "1|25000|VA00000001|N166
2|0||NMSC
3|-5000|WD-00000002|NTRF" "$(q "SELECT l.line_no, l.amount_minor, l.reference, l.type_code FROM statement_line l
	JOIN statement s USING (statement_id) WHERE s.account_no = 'DE89370400440532013000' ORDER BY l.line_no")" \
	"lines loaded: reference from the EREF subfield, the zero-amount line kept"
assert_eq "PASSED" "$(q "SELECT gate FROM statement WHERE account_no = 'DE89370400440532013000'")" "its gate passed"
assert_eq "1|TAN AH KOW|DE44500105175407324931
2||
3|J. JANSEN|NL47INGB0000123456" "$(q "SELECT l.line_no, l.counterparty, l.counterparty_account FROM statement_line l
	JOIN statement s USING (statement_id) WHERE s.account_no = 'DE89370400440532013000' ORDER BY l.line_no")" \
	"the counterparty of a structured :86: is stored"
assert_exit 0 t_pipeline explain VA00000001
assert_contains "$T_OUT" "counterparty: TAN AH KOW, DE44500105175407324931" "explain shows the counterparty"
assert_eq "{}" "$(q "SELECT l.deviations FROM file_load l JOIN fetched_file f USING (file_id) WHERE f.source = 'dialects_strict'")" \
	"a quarantined strict file records no tolerated deviation"
assert_eq "QUARANTINED|$T/many-dialects.sta:1: MT940: bank header line before :20: is not standard MT940 (the source sets mt940_strict = yes)" \
	"$(q "$(file_q "l.status, l.reason" dialects_strict many-dialects.sta)")" "mt940_strict = yes quarantines it, naming file and line"
# the gate is not relaxed by a dialect
assert_eq "BALANCE_BREAK|0" "$(q "SELECT gate, (SELECT count(*) FROM statement_line x WHERE x.statement_id = s.statement_id)
	FROM statement s JOIN fetched_file f USING (file_id) WHERE f.remote_name = 'bad-unbalanced.sta'")" \
	"a dialect file whose lines do not add up fails the completeness gate"
assert_eq "1" "$(q "SELECT count(*) FROM exception WHERE type = 'BALANCE_BREAK'")" "and raises a BALANCE_BREAK"

# 4. the report's Statements sheet shows the deviations
assert_exit 0 t_pipeline reconcile --date $D
assert_exit 0 t_pipeline report --date $D
X=$T/reports/$D/recon-$D.xlsx
reason=$(/usr/bin/python3 - "$X" <<'PY'
import sys, openpyxl
ws = openpyxl.load_workbook(sys.argv[1], read_only=True)["Statements"]
for row in ws.iter_rows(values_only=True):
    if row and row[1] == "many-dialects.sta" and row[0] == "dialects":
        print(row[12])
PY
)
assert_contains "$reason" "not standard MT940, tolerated: header_line (line 1, 2 times): bank header line before :20:; reference_20_long (line 4)" \
	"the Statements sheet says the file is not standard and what was tolerated"
t_done
