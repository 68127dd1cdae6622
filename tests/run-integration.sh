#!/bin/bash
# tests/run-integration.sh - runs every tests/integration/*.sh (or those given) against the shared
# test cluster, prints one line per test and a closing "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
export PGSOCK
PGSOCK=$(tests/pg.sh start) || { echo "cannot start the test PostgreSQL" >&2; exit 1; }
mkdir -p var/test
pass=0 fail=0 failed=()
tests=("$@")
[ ${#tests[@]} -eq 0 ] && tests=(tests/integration/*.sh)
for t in "${tests[@]}"; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	start=$(date +%s)
	if bash "$t" >"var/test/$name.log" 2>&1; then
		pass=$((pass + 1))
		echo "ok    $name ($(( $(date +%s) - start ))s)"
	else
		fail=$((fail + 1))
		failed+=("$name")
		echo "FAIL  $name ($(( $(date +%s) - start ))s)"
		sed 's/^/      /' "var/test/$name.log" | tail -25
	fi
done
echo "integration: $pass passed, $fail failed"
[ $fail -eq 0 ]
