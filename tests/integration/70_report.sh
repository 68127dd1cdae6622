#!/bin/bash
# 70_report.sh - the report stage on a hand-made day (tests/report/world.sql): the workbook is read
# back with openpyxl (tests/report/check_report.py) for sheet order, headers, cell types, formats,
# protection, filters, no formula/hyperlink anywhere, and every Summary figure recomputed from the
# other sheets; then a rerun gives the same content, a small sheet_row_limit splits the sheets,
# a small matched_row_cap writes the full CSV (OWASP-safe), and a failing report leaves the
# previous workbook untouched and no temporary file behind.
source "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
CHECK="$REPO/tests/report/check_report.py"
D=2026-11-25

t_init report
t_psql "$(cat "$REPO/tests/report/world.sql")" >/dev/null || { t_fail "world.sql did not load"; t_done; }

assert_exit 0 t_pipeline -q report --date $D
X=$T/reports/$D/recon-$D.xlsx
[ -f "$X" ] || t_fail "no workbook at $X"
out=$($PY "$CHECK" check "$X" $D 2>&1)
assert_eq "ok" "$out" "workbook checks"

# Exact content, so the checks above cannot pass on an empty workbook.
got=$($PY - "$X" <<'EOF'
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
def rows(name):
    ws = wb[name]; out = []
    for r in ws.iter_rows(min_row=3, values_only=True):
        if all(v is None for v in r): break
        out.append(r)
    return out
print("sheets=" + ",".join(wb.sheetnames))
print("exceptions=%d closed=%d matched=%d pending=%d transfers=%d issuance=%d statements=%d" % tuple(
    len(rows(n)) for n in ("Exceptions", "Closed Today", "Matched", "Pending", "Settlements", "DABS Issuance", "Statements")))
e = rows("Exceptions")
print("first=%s,%s,%s,%s" % (e[0][1], e[0][2], e[0][5], e[0][8]))
print("pending=" + ",".join(r[0] for r in rows("Pending")))
print("closed=" + ",".join("%s:%s:%s" % (r[0], r[9], r[10]) for r in rows("Closed Today")))
det = [r[14] for r in e if r[14].startswith("=HYPERLINK")]
c = [c for c in wb["Exceptions"]["O"] if c.value == det[0]][0]
print("formula_text=%s type=%s" % (det[0][:10], c.data_type))
s = wb["Summary"]
hdr = None
seen = set()
for row in s.iter_rows(values_only=True):
    if row[0] == "Account" and hdr is None:
        hdr = row
    if hdr is None or row[0] in seen:
        continue
    seen.add(row[0])
    v = dict(zip(hdr, row))
    if row[0] == "0123456789":
        print("client=%s" % "|".join(str(v[k]) for k in ("Bank Opening", "Bank Closing", "Opening + Matched",
              "Difference", "Open Lines", "Continuity Gap", "Lines", "Matched", "Status")))
    if row[0] == "JP00112233":
        print("jpy=%s" % "|".join(str(v[k]) for k in ("Bank Opening", "Bank Closing", "Opening + Matched",
              "Difference", "Open Lines", "Continuity Gap", "Status")))
jc = [r for r in wb["Statements"].iter_rows(min_row=3) if r[3].value == "JP00112233"][0][7]
print("jpy_format=" + jc.number_format)
print("issued=%s" % sum(r[6] for r in rows("DABS Issuance")))
cr = [c for c in wb["Exceptions"]["J"] if isinstance(c.value, str) and c.value.endswith("CR-ref")][0]
print("cr=%s|%s" % (cr.value.replace("\r", "<CR>"), cr.data_type))
EOF
)
assert_eq "sheets=Summary,Bank Reconciliation,Exceptions,Closed Today,Matched,Pending,Settlements,DABS Issuance,Statements" \
	"$(echo "$got" | sed -n 1p)" "sheet names and order"
assert_eq "exceptions=7 closed=2 matched=6 pending=3 transfers=3 issuance=2 statements=5" \
	"$(echo "$got" | sed -n 2p)" "rows per sheet"
assert_eq "first=AMOUNT_MISMATCH,ERROR,-1234.56,39" "$(echo "$got" | sed -n 3p)" "oldest error first, negative amount"
assert_eq "pending=P-2,P-1,P-3" "$(echo "$got" | sed -n 4p)" "pending = inside the window, unmatched, not a break"
assert_eq "closed=8:CLOSED:reconcile run 4 (rule REFERENCE),9:RESOLVED:alice" "$(echo "$got" | sed -n 5p)" "closed today, and by whom"
assert_eq "formula_text==HYPERLINK type=s" "$(echo "$got" | sed -n 6p)" "a detail starting with = stays a string"
assert_eq "client=1000500|1000999.51|1000999.01|0.5|0.5|0|4|3|RED" "$(echo "$got" | sed -n 7p)" \
	"client money: anchor 1,000,000.00 + matched 999.01; the open 0.50 line explains the difference"
assert_eq "jpy=1000000|1250000|1200000|50000|50000|0|AMBER" "$(echo "$got" | sed -n 8p)" "JPY account line"
assert_eq "jpy_format=#,##0;[Red]-#,##0" "$(echo "$got" | sed -n 9p)" "JPY amounts have no decimals"
assert_eq "issued=1000000" "$(echo "$got" | sed -n 10p)" "issuance amount in major units"
assert_eq "cr=_x000D_CR-ref|s" "$(echo "$got" | sed -n 11p)" "a reference starting with CR stays a string (CR escaped as _x000D_)"

stages=$($PY -c "
import openpyxl, sys
s = openpyxl.load_workbook(sys.argv[1])['Summary']
rows = list(s.iter_rows(values_only=True))
i = [k for k, r in enumerate(rows) if r[0] == 'Stage runs for this business date (latest of each stage)'][0]
out = []
for r in rows[i + 2:]:
    if r[0] is None or r[1] is None:
        break
    out.append('%s:%s:%s:%s' % (r[0], r[3], r[2], r[9]))
print(' '.join(out))
" "$X")
assert_eq "fetch:done:2:x normalize:done:3:x reconcile:done:4:x settle:done:5:x" "$stages" "Summary lists the stage runs and their configuration"

# Rerun: done is done; --force rewrites the same content; no temporary file is left.
$PY "$CHECK" dump "$X" > "$T/dump1.json"
assert_exit 0 t_pipeline -q report --date $D
assert_exit 0 t_pipeline -q report --date $D --force
$PY "$CHECK" dump "$X" > "$T/dump2.json"
if ! cmp -s "$T/dump1.json" "$T/dump2.json"; then
	t_fail "a rerun changed the workbook's content: $(diff "$T/dump1.json" "$T/dump2.json" | head -5)"
fi
assert_eq "" "$(ls -A "$T/reports/$D" | grep -v "^recon-$D.xlsx$")" "only the workbook in the report directory"

# Row split: 3 data rows per sheet (title + header + 3 = 5).
sed -i 's/^matched_row_cap = .*/matched_row_cap = 2\nsheet_row_limit = 5/' "$T/pipeline.conf"
assert_exit 0 t_pipeline -q report --date $D --force
assert_eq "Exceptions=3 Exceptions (2)=3 Exceptions (3)=1" "$($PY "$CHECK" rows "$X" Exceptions)" "Exceptions split at the limit"
assert_eq "Statements=3 Statements (2)=2" "$($PY "$CHECK" rows "$X" Statements)" "Statements split at the limit"
assert_eq "Matched=2" "$($PY "$CHECK" rows "$X" Matched)" "Matched capped at matched_row_cap"
out=$($PY "$CHECK" check "$X" $D 2>&1)
assert_eq "ok" "$out" "split workbook checks"
C=$T/reports/$D/recon-$D-matched.csv
[ -f "$C" ] || t_fail "no full Matched CSV beside a capped sheet"
assert_eq 7 "$(wc -l < "$C")" "CSV: header + every match"
assert_contains "$(cat "$C")" "\"'=1+2 DEPOSIT VA00000001\"" "CSV: OWASP prefix on a narrative starting with ="
assert_contains "$(cat "$C")" "\"'+SUM(A1) WITHDRAWAL\"" "CSV: OWASP prefix on +"
assert_contains "$(cat "$C")" "\"'-10 JPY deposit\"" "CSV: OWASP prefix on -"
assert_contains "$(cat "$C")" "\"'$(printf '\t')BATCH payout\"" "CSV: OWASP prefix on tab"
assert_contains "$(cat "$C")" "-1000.00" "CSV: amounts are plain decimals, not prefixed"
title=$($PY -c "import openpyxl,sys; print(openpyxl.load_workbook(sys.argv[1])['Matched']['A1'].value)" "$X")
assert_contains "$title" "the first 2 of 6" "Matched sheet says it is capped"
assert_contains "$title" "recon-$D-matched.csv" "Matched sheet names the CSV"

# Back without the cap: the CSV of the capped run goes away (a rerun replaces its output).
sed -i '/^sheet_row_limit = 5$/d; s/^matched_row_cap = 2$/matched_row_cap = 100000/' "$T/pipeline.conf"
assert_exit 0 t_pipeline -q report --date $D --force
[ -e "$C" ] && t_fail "the capped run's CSV survived an uncapped rerun"

# A currency only the database knows (XAU, exponent 0) is formatted with the database's exponent;
# an amount without a currency is shown as text, never guessed, and does not fail the report.
t_psql "INSERT INTO currency VALUES ('XAU', 0); INSERT INTO bank_account VALUES ('GOLD1', 'XAU', 'OPERATING', 'Gold');
        INSERT INTO exception (type, severity, stage, subject, account_no, amount_minor, currency, detail, opened_date, opened_run_id)
        VALUES ('UNMATCHED_STATEMENT', 'ERROR', 'reconcile', 'line:gold', 'GOLD1', 5, 'XAU', 'gold', '$D', 4),
               ('UNMATCHED_STATEMENT', 'ERROR', 'reconcile', 'line:nocur', '0123456789', 1234, NULL, 'no currency', '$D', 4)" >/dev/null
assert_exit 0 t_pipeline -q report --date $D --force
got=$($PY -c "
import openpyxl, sys
ws = openpyxl.load_workbook(sys.argv[1])['Exceptions']
for r in ws.iter_rows(min_row=3):
    if r[14].value in ('gold', 'no currency'):
        print('%s|%r|%s' % (r[14].value, r[5].value, r[5].number_format))
" "$X")
assert_eq "gold|5|#,##0;[Red]-#,##0
no currency|'1234 minor units (no currency)'|General" "$got" "XAU with the table's exponent; no currency shown as text"
assert_eq "ok" "$($PY "$CHECK" check "$X" $D 2>&1)" "checks with an XAU account"

# The report directory cannot be created: an error naming the path, nothing written.
mkdir -p "$T/reports2" && : > "$T/reports2/$D"
sed -i "s|^dir = .*/reports$|dir = $T/reports2|" "$T/pipeline.conf"
assert_exit 1 t_pipeline -q report --date $D --force
assert_contains "$T_ERR" "$T/reports2/$D: not a directory" "failure names the directory"

t_done
