#!/bin/bash
# `pipeline inspect` runs normalize's completeness gate (formats/gate.c) on every statement and
# prints its verdict: a layout with its debit and credit columns swapped, a file missing a row and a
# file with a wrong sign all show BALANCE_BREAK before anything goes live; a statement that does not
# follow the previous one in the file is a STATEMENT_GAP, one repeated a DUPLICATE. Exit 0 only if
# every statement passes. No database.
source "$(dirname "$0")/../lib.sh"
T_NAME=normalize_inspect_gate
T=$REPO/var/test/$T_NAME
rm -rf "$T"; mkdir -p "$T/formats"
G=fixtures/formats/gate
cd "$REPO"
P=$PIPELINE
cp formats/*.layout $G/sgbank-swapped.layout "$T/formats/"
awk -v dir="$T/formats" '/^\[/ { sec = $0 } sec == "[pipeline]" && /^formats_dir *=/ { print "formats_dir = " dir; next } { print }' \
	pipeline.conf > "$T/pipeline.conf"
grep -q "^formats_dir = $T/formats" "$T/pipeline.conf" || t_fail "the test configuration names the test's formats directory"
PC=("$P" --config "$T/pipeline.conf")

verdict() { echo "$1" | /usr/bin/python3 -c 'import json,sys; print(" ".join(r["gate"]["verdict"] for r in map(json.loads, sys.stdin) if r["kind"] == "statement"))'; }

assert_exit 0 "${PC[@]}" inspect --format sgbank-corp fixtures/formats/sgbank-corp/good.csv
assert_contains "$T_OUT" '"line_count":2,"gate":{"verdict":"PASSED","problems":[]}}' "a good file passes"
assert_eq "" "$T_ERR" "nothing on stderr for a file that passes"

# 1. a layout with the debit and credit columns swapped
assert_exit 1 "${PC[@]}" inspect --format sgbank-swapped fixtures/formats/sgbank-corp/good.csv
assert_eq "BALANCE_BREAK" "$(verdict "$T_OUT")" "swapped debit/credit columns"
assert_contains "$T_OUT" '"problems":["opening 1250000.00 + lines -14974.50 = 1235025.50, but the closing balance is SGD 1264974.50"]' \
	"the arithmetic is shown"
assert_contains "$T_ERR" "pipeline: inspect: fixtures/formats/sgbank-corp/good.csv:1: statement 00045 of account 0123456790: BALANCE_BREAK" \
	"and named on stderr"

# 2. a missing row, 3. a wrong sign
assert_exit 1 "${PC[@]}" inspect $G/eubank-missing-row.csv
assert_eq "BALANCE_BREAK" "$(verdict "$T_OUT")" "a missing row"
assert_contains "$T_ERR" "opening 5000.00 + lines 8765.44 = 13765.44, but the closing balance is EUR 13755.94" "missing row arithmetic"
assert_exit 1 "${PC[@]}" inspect $G/eubank-wrong-sign.csv
assert_eq "BALANCE_BREAK" "$(verdict "$T_OUT")" "a wrong sign"
assert_contains "$T_ERR" "opening 5000.00 + lines -11244.06 = -6244.06" "wrong sign arithmetic"

# continuity and duplicates within the file
assert_exit 0 "${PC[@]}" inspect $G/mt940-two-good.sta
assert_eq "PASSED PASSED" "$(verdict "$T_OUT")" "two statements that follow each other"
assert_exit 1 "${PC[@]}" inspect $G/mt940-gap.sta
assert_eq "PASSED STATEMENT_GAP" "$(verdict "$T_OUT")" "a gap in the numbers"
assert_contains "$T_ERR" "mt940-gap.sta:19: statement 00048/001 of account 0123456789: STATEMENT_GAP: statement 00048/001 does not follow the previous statement 00045/001: statements are missing in between" \
	"the gap named with file and line"
assert_exit 1 "${PC[@]}" inspect $G/mt940-duplicate.sta
assert_eq "PASSED DUPLICATE" "$(verdict "$T_OUT")" "a statement twice in one file"

# several files: exit 1 if any statement fails, every file still printed
assert_exit 1 "${PC[@]}" inspect $G/mt940-two-good.sta $G/eubank-wrong-sign.csv
assert_eq "PASSED PASSED BALANCE_BREAK" "$(verdict "$T_OUT")" "all files printed"

# the new Singapore layouts pass their good samples (guessed from the content)
for f in dbs-posb/good.csv ocbc/good.csv uob/good.csv; do
	assert_exit 0 "${PC[@]}" inspect fixtures/formats/$f
	assert_eq "PASSED" "$(verdict "$T_OUT")" "$f passes the gate"
done
assert_exit 0 "${PC[@]}" inspect --format uob fixtures/formats/uob/good.csv
assert_contains "$T_OUT" '"kind":"line","line_no":3,' "newest-first: the first row printed is line 3"
t_done
