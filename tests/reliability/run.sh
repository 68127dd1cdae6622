#!/bin/bash
# tests/reliability/run.sh [NN...] - `make reliability`: runs the reliability scenarios (issue 9)
# 01_crash 02_dbfault 03_sftp 04_concurrency 05_hostile 06_security (or those named by number: 1 5),
# each one's full output in var/reliability/logs/, then prints the table: scenario, runs, faults
# injected, invariant violations. Exit 1 if any violation, failed assertion or scenario that did
# not finish. See docs/reliability.md.
#
#   SHORT=1                the CI size (small worlds; still >= 50 kill points): ~2-3 minutes
#   PIPELINE=PATH          the binary to test (default ./pipeline; e.g. build/san/pipeline)
#   RELIABILITY_SCALE=N    world sizes x N (10: scenario 1 on ~100,000 statement lines)
#   REL_SEED=S             replay the random choices of an earlier run (the seed is printed)
#   REL_KILLS=N            SIGKILL points in scenario 1 (default 50)
set -uo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
export REL_SEED=${REL_SEED:-$(date +%s)}
export REL_RESULTS=$REPO/var/reliability/results.$$.txt
LOGS=$REPO/var/reliability/logs
mkdir -p "$LOGS"
# The scenarios share test worlds, databases and logs: a second `make reliability` waits here.
exec 9>"$REPO/var/reliability/run.lock"
flock -n 9 || { echo "reliability: another run of the suite is in progress; waiting for it" >&2; flock 9; }
: >"$REL_RESULTS"
[ -x ./pipeline ] || { echo "reliability: build ./pipeline first (make)" >&2; exit 1; }

want=("$@")
scripts=()
for s in tests/reliability/[0-9][0-9]_*.sh; do
	n=$(basename "$s" | cut -c1-2)
	if [ ${#want[@]} -eq 0 ] || printf '%s\n' "${want[@]}" | grep -qx "$n\|$((10#$n))"; then scripts+=("$s"); fi
done

echo "reliability: seed $REL_SEED, SHORT=${SHORT:-0}, RELIABILITY_SCALE=${RELIABILITY_SCALE:-1} (replay: REL_SEED=$REL_SEED)"
failed=0
start_all=$(date +%s)
for s in "${scripts[@]}"; do
	name=$(basename "$s" .sh)
	start=$(date +%s)
	before=$(wc -l <"$REL_RESULTS")
	bash "$s" >"$LOGS/$name.log" 2>&1 9>&-   # the suite lock is not for the daemons a scenario starts
	rc=$?
	took=$(( $(date +%s) - start ))
	if [ "$(wc -l <"$REL_RESULTS")" = "$before" ]; then
		echo "$name|-|-|ERROR|did not finish (exit $rc): see $LOGS/$name.log" >>"$REL_RESULTS"
	fi
	[ $rc = 0 ] || failed=1
	printf '  %-18s exit %d in %4ds  (%s)\n' "$name" $rc $took "$LOGS/$name.log"
	grep -E '^(VIOLATION|FAIL)' "$LOGS/$name.log" | head -5 | sed 's/^/      /'
done

echo
printf '%-22s %6s %8s %11s  %s\n' scenario runs faults violations notes
printf '%-22s %6s %8s %11s  %s\n' ---------------------- ------ -------- ----------- -----
total_v=0
while IFS='|' read -r sc runs faults viol notes; do
	printf '%-22s %6s %8s %11s  %s\n' "$sc" "$runs" "$faults" "$viol" "$notes"
	case $viol in ''|*[!0-9]*) failed=1 ;; *) total_v=$((total_v + viol)) ;; esac
done <"$REL_RESULTS"
echo
echo "reliability: $total_v invariant violation(s) in $(( $(date +%s) - start_all ))s; seed $REL_SEED"
mv "$REL_RESULTS" "$REPO/var/reliability/results.txt"
[ $failed = 0 ] && [ $total_v = 0 ]
