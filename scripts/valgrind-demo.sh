#!/bin/bash
# scripts/valgrind-demo.sh - the demo's pipeline commands under valgrind's memcheck: the three
# fixture days (ledger import, the nightly over a real local SFTP server, day 2's late file and the
# retry after exit 3), then status, export, explain and inspect. Passes when every command has no
# memcheck error (no invalid read or write, no use of uninitialised memory) and nothing
# "definitely lost"; "still reachable" (libraries' one-time allocations) and "possibly lost" are
# printed, not judged. Runs in its own test world (var/test/valgrind_demo, on the shared test
# cluster), so it never touches the demo's own data under var/.
#
#   scripts/valgrind-demo.sh            build ./pipeline first (make); logs in var/valgrind/
#   VALGRIND_DAYS="2026-11-23" ...      fewer days (each nightly takes ~1 min under valgrind)
set -uo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind-demo: apt-get install valgrind" >&2; exit 1; }
[ -x ./pipeline ] || { echo "valgrind-demo: build ./pipeline first (make)" >&2; exit 1; }
source tests/lib.sh
source tests/integration/30_fetch_lib.inc
LOGS=$REPO/var/valgrind
rm -rf "$LOGS"
mkdir -p "$LOGS"
DAYS=${VALGRIND_DAYS:-"2026-11-23 2026-11-24 2026-11-25"}

# One suppression, narrow on purpose: a conditional jump on uninitialised bytes whose innermost frame
# has no object at all, i.e. code generated at run time. That is PCRE2's JIT matcher, whose vector
# loops read past the subject's end inside its allocation (the unused capacity of formats/text.c's
# growable buffers, as --track-origins shows) and discard what they read; AddressSanitizer, which
# checks the allocation bounds, is clean there. Every frame of the program and its libraries has
# an object, so nothing else can match it.
cat >"$LOGS/pipeline.supp" <<'SUPP'
{
   pcre2-jit-generated-code-vector-read
   Memcheck:Cond
   obj:???
}
SUPP

t_init valgrind_demo
sftp_setup
n=0
bad=0
# vg NAME ARGS...: one pipeline command under memcheck; its exit code is returned, its log judged.
vg() {
	local name=$1 log rc def errs
	shift
	n=$((n + 1))
	log=$LOGS/$(printf '%02d' $n)-$name.log
	valgrind --tool=memcheck --suppressions="$LOGS/pipeline.supp" --leak-check=full --show-leak-kinds=definite,possible \
		--errors-for-leak-kinds=definite --num-callers=30 --log-file="$log" \
		"$PIPELINE" --config "$T/pipeline.conf" "$@" >"$log.out" 2>&1
	rc=$?
	def=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -1)
	errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$log" | tail -1)
	printf '  %-30s exit %d  errors %-3s definitely lost %-4s possibly lost %-4s suppressed (JIT) %s\n' "$name" "$rc" \
		"${errs:-?}" "${def:-0}" "$(sed -n 's/.*possibly lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -1 | grep . || echo 0)" \
		"$(sed -n 's/.*ERROR SUMMARY.*suppressed: \([0-9,]*\) from.*/\1/p' "$log" | tail -1)"
	if [ "${errs:-x}" != 0 ] || { [ -n "$def" ] && [ "$def" != 0 ]; }; then
		bad=$((bad + 1))
		grep -E "Invalid|uninitialised|definitely lost in|at 0x|by 0x" "$log" | head -12 | sed 's/^/      /'
	fi
	return $rc
}

echo "valgrind-demo: memcheck on the demo's commands (logs in $LOGS)"
for day in $DAYS; do
	vg "ledger-import-$day" ledger import "$REPO/fixtures/ledger/$day"
	cp -R "$REPO/fixtures/statements/$day/." "$SFTP_ROOT/"
	vg "run-$day" run --date "$day"
	rc=$?
	if [ $rc = 3 ] && [ -d "$REPO/fixtures/statements/late/$day" ]; then
		cp -R "$REPO/fixtures/statements/late/$day/." "$SFTP_ROOT/"
		vg "run-$day-retry" run --date "$day"
		rc=$?
	fi
	[ $rc = 0 ] || { echo "valgrind-demo: the run for $day exited $rc" >&2; bad=$((bad + 1)); }
done
last=${DAYS##* }
vg status status --date "$last"
vg status-json status --json
vg export export exceptions --date "$last" --format csv
ref=$(t_psql "SELECT movement_id FROM recon_match_movement ORDER BY 1 LIMIT 1")
[ -n "$ref" ] && vg explain explain "$ref"
vg inspect inspect "$REPO"/fixtures/statements/2026-11-23/bank/client/*.sta
vg settle-force settle --date "$last" --force
vg doctor-offline doctor --offline

if [ $bad = 0 ]; then
	echo "valgrind-demo: $n commands, no memcheck error, nothing definitely lost"
else
	echo "valgrind-demo: $bad of $n commands with memcheck errors or definite leaks (see $LOGS)" >&2
	exit 1
fi
