#!/bin/bash
# 70_report_empty.sh - the report of a day with nothing in the database: every sheet is there,
# in order, with its headers, a note saying there is nothing, and the same checks pass.
source "$(dirname "$0")/../lib.sh"
D=2026-11-25

t_init report_empty
assert_exit 0 t_pipeline -q report --date $D
X=$T/reports/$D/recon-$D.xlsx
assert_eq "ok" "$(/usr/bin/python3 "$REPO/tests/report/check_report.py" check "$X" $D 2>&1)" "empty day checks"
got=$(/usr/bin/python3 -c "
import openpyxl, sys
wb = openpyxl.load_workbook(sys.argv[1])
print(','.join(wb.sheetnames))
print(wb['Exceptions']['A3'].value)
" "$X")
assert_eq "Summary,Bank Reconciliation,Exceptions,Closed Today,Matched,Pending,Settlements,DABS Issuance,Statements" \
	"$(echo "$got" | sed -n 1p)" "sheets of an empty day"
assert_eq "No open exceptions at the end of this business date." "$(echo "$got" | sed -n 2p)" "empty table says so"
t_done
