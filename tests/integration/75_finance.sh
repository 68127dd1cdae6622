#!/bin/bash
# 75_finance.sh - what the finance team does in the morning, on the fixture world (issue 19): the
# bank reconciliation statements reconcile stored, signed off by a preparer and a reviewer (four
# eyes, recorded and never changed), shown by `pipeline status` and on the workbook's Bank
# Reconciliation sheet (tests/report/check_report.py checks every statement adds up).
source "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
CHECK="$REPO/tests/report/check_report.py"
D=2026-11-25
t_init finance
for day in 2026-11-23 2026-11-24 $D; do
	t_day "$day"
	assert_eq 0 "$?" "nightly for $day"
done

# --- sign-off
assert_exit 2 t_pipeline signoff --date $D --by alice --role approver
assert_contains "$T_ERR" 'expected prepared or reviewed' "a role that does not exist"
assert_exit 1 t_pipeline signoff --date $D --by bob --role reviewed
assert_contains "$T_ERR" "has not been prepared yet" "no review before the preparation"
assert_exit 1 t_pipeline signoff --date 2026-11-26 --by alice --role prepared
assert_contains "$T_ERR" "no finished reconcile run" "nothing to sign on a date not reconciled"
assert_exit 0 t_pipeline signoff --date $D --by alice --role prepared
assert_contains "$T_OUT" "bank reconciliation of $D prepared by alice" "prepared"
assert_exit 1 t_pipeline signoff --date $D --by alice --role reviewed
assert_contains "$T_ERR" "alice prepared the reconciliation of $D and cannot also review it" "four eyes"
assert_exit 0 t_pipeline signoff --date $D --by bob --role reviewed
assert_exit 0 t_pipeline status --date $D
assert_contains "$T_OUT" "bank reconciliation: prepared by alice at" "status shows the preparer"
assert_contains "$T_OUT" "reviewed by bob at" "status shows the reviewer"
assert_exit 0 t_pipeline status --date $D --json
assert_eq "alice|bob" "$(printf '%s' "$T_OUT" | $PY -c 'import json, sys
d = json.load(sys.stdin)[0]["signoff"]; print(d["prepared"]["by"] + "|" + d["reviewed"]["by"])')" "status --json"
assert_exit 0 t_pipeline status --date 2026-11-24
assert_contains "$T_OUT" "bank reconciliation: not prepared; not reviewed" "an unsigned date says so"
assert_exit 1 t_psql "UPDATE recon_signoff SET signed_by = 'mallory'"
assert_contains "$T_ERR" "a sign-off is never changed or removed" "sign-offs are never changed"
assert_exit 1 t_psql "DELETE FROM recon_signoff"
assert_eq 2 "$(t_psql "SELECT count(*) FROM recon_signoff")" "both sign-offs kept"

# --- owners and comments, with history (INSERT-only), shown by explain and on the workbook
BB=$(t_psql "SELECT exception_id FROM exception WHERE type = 'BOOK_BALANCE_BREAK'")
assert_exit 2 t_pipeline assign abc --to carol
assert_contains "$T_ERR" '"abc" is not an exception id' "a bad id is a usage error"
assert_exit 1 t_pipeline assign 999999 --to carol --by alice
assert_contains "$T_ERR" "exception 999999 does not exist" "an unknown exception"
assert_exit 2 t_pipeline comment "$BB" --text "no author"
assert_exit 0 t_pipeline assign "$BB" --to carol --by alice
assert_contains "$T_OUT" "exception $BB assigned to carol by alice" "assigned"
assert_exit 0 t_pipeline assign "$BB" --to dave --by alice
assert_exit 0 t_pipeline comment "$BB" --text "vendor payment OP-20261125-0001 is missing from the extract" --by carol
assert_exit 0 t_pipeline comment "$BB" --text "GL team re-exports tonight" --by dave
assert_eq "carol,dave" "$(t_psql "SELECT string_agg(assigned_to, ',' ORDER BY assignment_id) FROM exception_assignment")" \
	"both assignments kept (history)"
assert_exit 1 t_psql "UPDATE exception_comment SET body = 'rewritten'"
assert_contains "$T_ERR" "never changed or removed" "comments are never rewritten"
assert_exit 1 t_psql "DELETE FROM exception_assignment"
assert_exit 0 t_pipeline explain VA69529860
UL=$(t_psql "SELECT exception_id FROM exception WHERE type = 'UNMATCHED_LEDGER'")
assert_exit 0 t_pipeline assign "$UL" --to erin --by alice
assert_exit 0 t_pipeline comment "$UL" --text "chasing INV0114's bank" --by erin
assert_exit 0 t_pipeline explain CM-20261118-0001
assert_contains "$T_OUT" "assigned to erin by alice" "explain shows the owner"
assert_contains "$T_OUT" "comment by erin: chasing INV0114's bank" "explain shows the comments"
# the notes follow the exception when a rerun of reconcile re-creates it (by type and subject)
assert_exit 0 t_pipeline -q reconcile --date $D --force
BB2=$(t_psql "SELECT exception_id FROM exception WHERE type = 'BOOK_BALANCE_BREAK'")
assert_eq 1 "$([ "$BB2" != "$BB" ] && echo 1)" "the rerun re-created the book balance break with a new id"

# --- the workbook of the day, rewritten, shows the names on every account's statement
assert_exit 0 t_pipeline -q report --date $D --force
X=$T/reports/$D/recon-$D.xlsx
assert_eq "ok" "$($PY "$CHECK" check "$X" $D 2>&1)" "workbook checks (every statement adds up)"
rec=$($PY -c 'import openpyxl, sys
ws = openpyxl.load_workbook(sys.argv[1])["Bank Reconciliation"]
for r in ws.iter_rows(values_only=True):
    if r[0] is not None:
        print("|".join("" if v is None else str(v) for v in r))' "$X")
assert_eq 3 "$(printf '%s\n' "$rec" | grep -c '^Prepared by: alice on ')" "prepared-by under each of the 3 accounts"
assert_eq 3 "$(printf '%s\n' "$rec" | grep -c '^Reviewed by: bob on ')" "reviewed-by under each of the 3 accounts"
assert_contains "$rec" "Difference (adjusted bank - book)|BOOK_BALANCE_BREAK|||||1234.56" \
	"problem 7 on the operating account's statement"
assert_contains "$rec" "Deposit in transit|movement:CM-20261118-0001|" "problem 2 listed as a deposit in transit"
assert_contains "$rec" "Total deposits in transit (2 items)||||||16264" "its total"
exc=$($PY -c 'import openpyxl, sys
ws = openpyxl.load_workbook(sys.argv[1])["Exceptions"]
h = [c.value for c in ws[2]]
for r in ws.iter_rows(min_row=3):
    v = dict(zip(h, r))
    if v["Type"].value == "BOOK_BALANCE_BREAK":
        print("%s|%s|%s|%s" % (v["ID"].value, v["Owner"].value, v["Last Comment"].value, v["Team Notes"].protection.locked))' "$X")
assert_eq "$BB2|dave|dave ($(t_psql "SELECT to_char(now(), 'YYYY-MM-DD')")): GL team re-exports tonight [2 comments]|False" "$exc" \
	"Exceptions sheet: id first, the owner, the latest comment, and an editable Team Notes cell"
t_done
