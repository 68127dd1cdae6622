#!/bin/bash
# bench/run.sh - `make bench`: runs every bench/*.sh (or those named) and prints their figures.
# Benchmarks print; they never fail because the machine is slow. A benchmark that cannot run at
# all (a crash, a missing tool) is reported as such and makes the whole run exit non-zero.
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0
benches=("$@")
[ ${#benches[@]} -eq 0 ] && benches=(bench/*.sh)
for b in "${benches[@]}"; do
	[ "$(basename "$b")" = run.sh ] && continue
	echo "== $(basename "$b" .sh)"
	if ! bash "$b"; then
		echo "bench: $b did not complete" >&2
		rc=1
	fi
	echo
done
exit $rc
