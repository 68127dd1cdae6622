#!/bin/bash
# A report run killed half-way leaves libxlsxwriter's temporary files (in data_dir/tmp/report,
# never in the finance team's report folder) and our ".recon-DATE.xlsx.tmp.PID"; the next report
# run removes both, and touches nothing else in the report folder.
source "$(dirname "$0")/../lib.sh"
t_init report_leftovers
D=2026-11-23

t_day $D || t_fail "the fixture night must succeed"
dir=$T/reports/$D
assert_eq "recon-$D.xlsx" "$(ls -A "$dir")" "only the workbook in the report folder"
assert_eq "" "$(ls -A "$T/data/tmp/report")" "libxlsxwriter's scratch directory is empty after a run"

echo partial > "$dir/.recon-$D.xlsx.tmp.99999"
echo partial > "$T/data/tmp/report/tmpAbC123"
echo keep > "$dir/notes-by-finance.txt"
echo keep > "$dir/.recon-2026-11-24.xlsx.tmp.99999"
assert_exit 0 t_pipeline report --date $D --force
assert_eq "" "$(ls -A "$T/data/tmp/report")" "scratch leftovers removed"
[ -e "$dir/.recon-$D.xlsx.tmp.99999" ] && t_fail "our leftover temporary workbook was not removed"
assert_eq "keep" "$(cat "$dir/notes-by-finance.txt")" "other files in the report folder are untouched"
assert_eq "keep" "$(cat "$dir/.recon-2026-11-24.xlsx.tmp.99999")" "another date's temporary is not ours to remove"
/usr/bin/python3 -c "import openpyxl,sys; wb=openpyxl.load_workbook(sys.argv[1]); assert wb.sheetnames[0]=='Summary'" \
	"$dir/recon-$D.xlsx" || t_fail "the rewritten workbook does not open"
t_done
