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
