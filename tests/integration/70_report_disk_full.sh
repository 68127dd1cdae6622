#!/bin/bash
# 70_report_disk_full.sh - libxlsxwriter failing at workbook_close() (no space left on a small
# tmpfs) is a failed report: exit 1 with the cause, the previous workbook untouched, no temporary
# file left. Needs root's `mount -t tmpfs`; says SKIP where that is not allowed.
source "$(dirname "$0")/../lib.sh"
D=2026-11-25

t_init report_disk_full
t_psql "$(cat "$REPO/tests/report/world.sql")" >/dev/null || { t_fail "world.sql did not load"; t_done; }
SMALL=$T/small
mkdir -p "$SMALL"
if ! mount -t tmpfs -o size=256k tmpfs "$SMALL" 2>/dev/null; then
	echo "SKIP [report_disk_full]: cannot mount a tmpfs here"
	exit 0
fi
trap 'umount "$SMALL" 2>/dev/null || true' EXIT
sed -i "s|^dir = .*/reports$|dir = $SMALL|" "$T/pipeline.conf"

assert_exit 0 t_pipeline -q report --date $D
X=$SMALL/$D/recon-$D.xlsx
before=$(sha256sum < "$X")
# Leave 16 KiB: less than a workbook needs.
dd if=/dev/zero of="$SMALL/filler" bs=1k count=$(( $(df -k --output=avail "$SMALL" | tail -1) - 16 )) 2>/dev/null
assert_exit 1 t_pipeline -q report --date $D --force
assert_contains "$T_ERR" "libxlsxwriter could not write the workbook" "the cause is named"
assert_eq "$before" "$(sha256sum < "$X")" "previous workbook untouched"
assert_eq "recon-$D.xlsx" "$(ls -A "$SMALL/$D")" "no temporary file left"
assert_eq "failed" "$(t_psql "SELECT state FROM stage_run WHERE stage = 'report' ORDER BY run_id DESC LIMIT 1")" "stage recorded as failed"
# Space again: the rerun succeeds.
rm -f "$SMALL/filler"
assert_exit 0 t_pipeline -q report --date $D --force
assert_eq "ok" "$(/usr/bin/python3 "$REPO/tests/report/check_report.py" check "$X" $D 2>&1)" "workbook after the space came back"
t_done
