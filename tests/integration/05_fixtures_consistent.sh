#!/bin/bash
# 05_fixtures_consistent.sh - the committed fixture world is exactly what tools/genworld.py --demo
# writes (byte for byte), every statement in it balances (opening + lines = closing, running
# balances, consecutive numbers, balances carried day to day, proper endings), the expected files
# agree with the statements, and the large-world generator writes a consistent world too.
# Needs no database: it checks files only.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PY=${PYTHON:-python3}
GEN=$REPO/tools/genworld.py
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FAILS=0
fail() { echo "FAIL [05_fixtures_consistent]: $*" >&2; FAILS=$((FAILS + 1)); }

# 1. Regenerate the demo world and compare with the committed one.
"$PY" "$GEN" --demo --out "$TMP/world" >/dev/null || fail "genworld --demo failed"
for d in ledger statements expected; do
	diff -r "$REPO/fixtures/$d" "$TMP/world/$d" >"$TMP/diff" || fail "fixtures/$d differs from the generator's output: $(head -5 "$TMP/diff")"
done
cmp -s "$REPO/fixtures/README.md" "$TMP/world/README.md" || fail "fixtures/README.md differs from the generator's output"

# 1b. The bank's status reports of the world are valid pain.002.001.03.
XSD2="$REPO/../shared/schemas/pain.002.001.03.xsd"
n=0
for f in "$REPO"/fixtures/statements/*/bank/status/*.xml; do
	out=$(xmllint --noout --schema "$XSD2" "$f" 2>&1) || fail "$f is not valid pain.002.001.03: $out"
	n=$((n + 1))
done
[ "$n" = 2 ] || fail "expected the world's 2 pain.002 reports, found $n"

# 2. Parse-check the committed statements (an independent parser in genworld.py --check).
out=$("$PY" "$GEN" --check "$REPO/fixtures" 2>&1) || fail "check: $out"
case $out in *"9 statement files, 124 lines"*) ;; *) fail "unexpected statement count: $out" ;; esac

# 3. The expected balances are the statements' balances.
for day in 2026-11-23 2026-11-24 2026-11-25; do
	ymd=${day//-/}
	exp=$(tail -n +2 "$REPO/fixtures/expected/$day/balances.csv")
	op=$REPO/fixtures/statements/$day/bank/operating/acct_0123456790_$ymd.csv
	[ -f "$op" ] || op=$REPO/fixtures/statements/late/$day/bank/operating/acct_0123456790_$ymd.csv
	got=$(for f in "$REPO/fixtures/statements/$day/bank/client/stmt_0123456789_$ymd.sta" "$op" \
			"$REPO/fixtures/statements/$day/trustee/cash/trustee_8800123456_$ymd.sta"; do
		"$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import genworld as g
p = sys.argv[2]
s = g.check_mt940(p) if p.endswith(".sta") else g.check_sgbank(p)
print("%s,%d,%d" % (s["account"], s["opening"], s["closing"]))' "$REPO/tools" "$f"
	done | sort)
	[ "$exp" = "$got" ] || fail "$day: balances.csv [$exp] but statements say [$got]"
done

# 4. The deliberate problems are where fixtures/README.md says they are.
grep -q ':25:0123456789' "$REPO/fixtures/statements/2026-11-23/bank/client/stmt_0123456789_20261123.sta" || fail "day 1 client statement"
grep -q 'VA99999999' "$REPO/fixtures/statements/2026-11-23/bank/client/stmt_0123456789_20261123.sta" || fail "unknown deposit missing"
[ ! -e "$REPO/fixtures/statements/2026-11-24/bank/operating" ] || fail "day 2 operating statement must be late"
[ -f "$REPO/fixtures/statements/late/2026-11-24/bank/operating/acct_0123456790_20261124.csv" ] || fail "late statement missing"
dups=$(grep -o '//FT[0-9]*' "$REPO/fixtures/statements/2026-11-25/bank/client/stmt_0123456789_20261125.sta" | sort | uniq -d | wc -l)
[ "$dups" = 1 ] || fail "day 3 must have exactly one duplicated bank reference, found $dups"
for day in 2026-11-23 2026-11-24; do
	d=$(cat "$REPO"/fixtures/statements/$day/bank/client/*.sta | grep -o '//FT[0-9]*' | sort | uniq -d | wc -l)
	[ "$d" = 0 ] || fail "$day: duplicated bank reference"
done
grep -q '^CM-20261118-0001,0123456789,CREDIT,' "$REPO/fixtures/ledger/2026-11-23/cash_movements.csv" || fail "never-arriving deposit"
exc3=$(tail -n +2 "$REPO/fixtures/expected/2026-11-25/exceptions.csv" | cut -d, -f1 | tr '\n' ' ')
[ "$exc3" = "AMOUNT_MISMATCH BOOK_BALANCE_BREAK DUPLICATE_LINE HOLDING_MISMATCH UNMATCHED_LEDGER UNMATCHED_STATEMENT " ] || fail "day 3 exceptions: $exc3"
# problem 7: the operating account's book balance of day 3 is 1234.56 below what its movements say
grep -q '^0123456790,2026-11-25,1328795.24$' "$REPO/fixtures/ledger/2026-11-25/balances.csv" || fail "problem 7 book balance"
grep -q '^0123456790,BREAK,.*,123456$' "$REPO/fixtures/expected/2026-11-25/bank_rec.csv" || fail "problem 7 expected break"
[ "$(grep -c ',AGREED,' "$REPO"/fixtures/expected/*/bank_rec.csv | cut -d: -f2 | paste -sd+ | bc)" = 8 ] ||
	fail "every other statement agrees with its book balance"
# every file is small
big=$(find "$REPO/fixtures/ledger" "$REPO/fixtures/statements" "$REPO/fixtures/expected" -type f -size +300k)
[ -z "$big" ] || fail "fixture files over 300 KB: $big"

# 5. A generated large world is consistent too, and reproducible with the same seed.
"$PY" "$GEN" --lines 5000 --days 3 --seed 7 --out "$TMP/large" >/dev/null || fail "genworld --lines failed"
"$PY" "$GEN" --check "$TMP/large" >/dev/null || fail "large world does not check"
"$PY" "$GEN" --lines 5000 --days 3 --seed 7 --out "$TMP/large2" >/dev/null
diff -r "$TMP/large" "$TMP/large2" >/dev/null || fail "large world not reproducible with the same seed"
n=$(grep -c '^:61:' "$TMP"/large/statements/*/bank/client/*.sta | awk -F: '{ s += $2 } END { print s }')
[ "$n" -ge 4900 ] && [ "$n" -le 5100 ] || fail "large world: $n client lines for --lines 5000"
"$PY" "$GEN" --mt940-lines 1000 "$TMP/one/statements/2026-11-23/one.sta" && \
"$PY" "$GEN" --csv-lines 1000 "$TMP/one/statements/2026-11-23/acct_one.csv" && \
"$PY" "$GEN" --check "$TMP/one" >/dev/null || fail "--mt940-lines/--csv-lines files do not check"

if [ "$FAILS" -gt 0 ]; then
	echo "05_fixtures_consistent: $FAILS failure(s)" >&2
	exit 1
fi
echo "05_fixtures_consistent: ok"
