#!/bin/bash
# 70_report_fixture.sh - the report on the fixture world: the nightly (t_day) for each fixture day,
# then each day's workbook is checked (tests/report/check_report.py) and its row counts compared
# with the database as the other stages left it: open exceptions, closed today, matches, pending
# (reconcile's own pending_movements()), statements, issuance records.
source "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
CHECK="$REPO/tests/report/check_report.py"
DAYS="2026-11-23 2026-11-24 2026-11-25"

if [ ! -d "$REPO/fixtures/statements/2026-11-23" ] || [ ! -d "$REPO/fixtures/ledger/2026-11-23" ]; then
	echo "SKIP [report_fixture]: the fixture world (fixtures/ledger, fixtures/statements) is not there yet"
	exit 0
fi

# rows_total XLSX BASE: data rows of a table over all its sheets.
rows_total() {
	$PY "$CHECK" rows "$1" "$2" | tr ' ' '\n' | sed 's/.*=//' | awk '{ s += $1 } END { print s + 0 }'
}

t_init report_fixture
for day in $DAYS; do
	t_day "$day"
	rc=$?
	assert_eq 0 "$rc" "nightly for $day"
	X=$T/reports/$day/recon-$day.xlsx
	if [ ! -f "$X" ]; then
		t_fail "$day: no workbook at $X"
		continue
	fi
	assert_eq "ok" "$($PY "$CHECK" check "$X" "$day" 2>&1)" "$day: workbook checks"
	assert_eq "$(t_psql "SELECT count(*) FROM exception WHERE opened_date <= '$day' AND (closed_date IS NULL OR closed_date > '$day')")" \
		"$(rows_total "$X" Exceptions)" "$day: one Exceptions row per exception open at the end of the day"
	assert_eq "$(t_psql "SELECT count(*) FROM exception WHERE closed_date = '$day'")" \
		"$(rows_total "$X" "Closed Today")" "$day: Closed Today"
	assert_eq "$(t_psql "SELECT count(*) FROM recon_match WHERE business_date = '$day'")" \
		"$(rows_total "$X" Matched)" "$day: one Matched row per match of the day"
	if [ "$(t_psql "SELECT count(*) FROM pg_proc WHERE proname = 'pending_movements'")" = 1 ]; then
		assert_eq "$(t_psql "SELECT count(*) FROM pending_movements('$day')")" \
			"$(rows_total "$X" Pending)" "$day: Pending agrees with reconcile's pending_movements()"
	fi
	assert_eq "$(t_psql "SELECT count(*) FROM issuance WHERE business_date = '$day'")" \
		"$(rows_total "$X" "DABS Issuance")" "$day: one row per issuance record"
	# The fixture world's own truth (fixtures/expected/DAY): the breaks and the bank balances.
	cmp_out=$($PY - "$X" "$REPO/fixtures/expected/$day" <<'EOF2'
import csv, sys, openpyxl
from decimal import Decimal
wb = openpyxl.load_workbook(sys.argv[1])
def minor(v):
    return None if v is None else int(Decimal(repr(v)) * 100)
got = []
for ws in [w for w in wb.worksheets if w.title.split(" (")[0] == "Exceptions"]:
    for r in ws.iter_rows(min_row=3, values_only=True):
        if r[1] is None:
            break
        got.append((r[1], r[3] or "", r[9] or "", minor(r[5])))
want = [(x["type"], x["account_no"], x["reference"], int(x["amount_minor"]) if x["amount_minor"] else None)
        for x in csv.DictReader(open(sys.argv[2] + "/exceptions.csv"))]
print("exceptions " + ("same" if sorted(got, key=str) == sorted(want, key=str) else "differ: %r vs %r" % (got, want)))
s = wb["Summary"]; hdr = None; rows = {}
for row in s.iter_rows(values_only=True):
    if row[0] == "Account" and hdr is None:
        hdr = row
        continue
    if hdr is not None:
        if row[0] is None:
            break
        rows[row[0]] = dict(zip(hdr, row))
bad = []
for x in csv.DictReader(open(sys.argv[2] + "/balances.csv")):
    a = rows.get(x["account_no"])
    if a is None or minor(a["Bank Opening"]) != int(x["opening_minor"]) or minor(a["Bank Closing"]) != int(x["closing_minor"]):
        bad.append(x["account_no"])
    elif a["Continuity Gap"] != 0:
        bad.append(x["account_no"] + " unexplained %r" % a["Continuity Gap"])
print("balances " + ("same" if not bad else "differ: %r" % bad))
EOF2
)
	assert_eq "exceptions same" "$(echo "$cmp_out" | sed -n 1p)" "$day: Exceptions sheet = fixtures/expected exceptions"
	assert_eq "balances same" "$(echo "$cmp_out" | sed -n 2p)" "$day: Summary balances = fixtures/expected balances, nothing unexplained"
	n_files=$(t_psql "SELECT count(*) FROM fetched_file f LEFT JOIN statement s ON s.file_id = f.file_id WHERE f.business_date = '$day'")
	assert_eq "$n_files" "$(rows_total "$X" Statements)" "$day: one Statements row per statement or file"
done

# The last day again, forced: the same content.
last=2026-11-25
X=$T/reports/$last/recon-$last.xlsx
$PY "$CHECK" dump "$X" > "$T/before.json"
assert_exit 0 t_pipeline -q report --date $last --force
$PY "$CHECK" dump "$X" > "$T/after.json"
cmp -s "$T/before.json" "$T/after.json" || t_fail "a forced rerun of the report changed its content"
t_done
