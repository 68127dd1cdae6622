#!/bin/bash
# tests/run-unit.sh BIN... - runs each cmocka unit-test program and prints "N passed, N failed"
# over all of their test cases.
set -uo pipefail
pass=0 fail=0
for b in "$@"; do
	out=$("$b" 2>&1)
	rc=$?
	p=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
	f=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
	if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi   # crashed (e.g. a sanitizer abort)
	pass=$((pass + p)) fail=$((fail + f))
	if [ $rc -ne 0 ]; then
		echo "FAIL  $(basename "$b")"
		echo "$out" | tail -30 | sed 's/^/      /'
	else
		echo "ok    $(basename "$b") ($p)"
	fi
done
echo "unit: $pass passed, $fail failed"
[ $fail -eq 0 ]
