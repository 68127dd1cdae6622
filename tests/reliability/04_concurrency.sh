#!/bin/bash
# Scenario 4, concurrency: two `pipeline run` started at the same instant (repeated); a second
# run, a manual `settle --force` and a `ledger import` while a run is held inside normalize; a
# `settle --force` after the nightly (a no-op: nothing paid twice); `resolve` while a
# `reconcile --force` is inside its transaction. The documented behaviour: one run holds the lock,
# the others exit 4 at once naming the holder; nothing is corrupted (invariants), the results equal
# an uninterrupted run's, and a resolution is never lost.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
DATE=2026-11-23
LINES=$([ "$SHORT" = 1 ] && echo 2000 || echo 5000)
RACES=$([ "$SHORT" = 1 ] && echo 5 || echo 10)
trap 'release_lock 2>/dev/null' EXIT
echo "scenario 4: world $LINES lines, $RACES simultaneous starts"
rel_setup rel_conc "$LINES" $DATE
run_bg() { "$PIPELINE" --config "$T/pipeline.conf" -q "$@" >"$T/bg.$BASHPID.$RANDOM.log" 2>&1; }

# --- two runs started at the same instant
for i in $(seq 1 "$RACES"); do
	rel_reset "$W/statements/$DATE"
	"$PIPELINE" --config "$T/pipeline.conf" -q run --date $DATE >"$T/race.a" 2>&1 &
	a=$!
	"$PIPELINE" --config "$T/pipeline.conf" -q run --date $DATE >"$T/race.b" 2>&1 &
	b=$!
	wait $a; ra=$?
	wait $b; rb=$?
	REL_RUNS=$((REL_RUNS + 2))
	REL_FAULTS=$((REL_FAULTS + 1))
	codes=$(printf '%s\n' $ra $rb | sort | tr '\n' ' ')
	case "$codes" in
	"0 4 ")
		loser=$([ $ra = 4 ] && echo "$T/race.a" || echo "$T/race.b")
		grep -q "another pipeline run holds the lock" "$loser" || rel_violation "race $i: exit 4 without naming the holder: $(tail -1 "$loser")" ;;
	"0 0 ") ;;                      # one finished before the other looked: the second found it all done
	*) rel_violation "race $i: exit codes $codes ($(tail -1 "$T/race.a") / $(tail -1 "$T/race.b"))" ;;
	esac
	rel_check_invariants final
	rel_check_files
	rel_compare "race $i" "$T/snapshot.ref"
done

# --- while a run is inside normalize: a second run, settle --force and ledger import exit 4 at once
rel_reset "$W/statements/$DATE"
hold_lock statement_line
"$PIPELINE" --config "$T/pipeline.conf" -q run --date $DATE >"$T/held.log" 2>&1 &
held=$!
if wait_blocked normalize; then
	for cmd in "run --date $DATE" "settle --date $DATE --force" "ledger import $T/offerings" "normalize --date $DATE --force"; do
		start=$EPOCHREALTIME
		assert_exit 4 t_pipeline $cmd
		REL_RUNS=$((REL_RUNS + 1))
		REL_FAULTS=$((REL_FAULTS + 1))
		assert_contains "$T_ERR" "another pipeline run holds the lock" "$cmd while a run holds the lock"
		took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", b - a }')
		[ "$took" -le 5 ] || rel_violation "$cmd: exit 4 took $took s (it should not wait)"
	done
else
	rel_violation "the run never blocked in normalize"
fi
release_lock
wait $held || rel_violation "the held run exited $? ($(tail -1 "$T/held.log"))"
REL_RUNS=$((REL_RUNS + 1))
rel_check_invariants final
rel_compare "a run with rivals refused" "$T/snapshot.ref"

# --- settle --force after the nightly: finds everything paid and issued, pays nothing again
before=$(rel_snapshot | grep -E '^(settlement|allocation|transfer|issuance|holding|movement|journal|outbound)\|')
files_before=$(rel_files | grep '^delivered')
assert_exit 0 t_pipeline -q settle --date $DATE --force
REL_RUNS=$((REL_RUNS + 1))
assert_eq "$before" "$(rel_snapshot | grep -E '^(settlement|allocation|transfer|issuance|holding|movement|journal|outbound)\|')" \
	"settle --force after the nightly changes no settlement row"
assert_eq "$files_before" "$(rel_files | grep '^delivered')" "settle --force after the nightly delivers nothing new"
rel_complete $DATE      # the report, marked stale by the forced settle, is redone
rel_check_invariants final
rel_compare "settle --force after the nightly" "$T/snapshot.ref"

# --- resolve while reconcile --force is inside its transaction
ex=$(rel_psql -c "SELECT exception_id FROM exception WHERE status = 'OPEN' AND type = 'UNMATCHED_STATEMENT'
                  AND opened_date = '$DATE' ORDER BY exception_id LIMIT 1")
subject=$(rel_psql -c "SELECT type || '|' || subject FROM exception WHERE exception_id = ${ex:-0}")
if [ -z "$ex" ]; then
	rel_violation "no open exception to resolve in the world"
else
	hold_lock recon_match
	"$PIPELINE" --config "$T/pipeline.conf" -q reconcile --date $DATE --force >"$T/recon.log" 2>&1 &
	rpid=$!
	if wait_blocked reconcile; then
		"$PIPELINE" --config "$T/pipeline.conf" resolve "$ex" --note "checked with the bank (reliability test)" \
			--by ops-reliability >"$T/resolve.log" 2>&1 &
		spid=$!
		sleep 1
		REL_FAULTS=$((REL_FAULTS + 1))
		release_lock
		wait $rpid; rr=$?
		wait $spid; rs=$?
		REL_RUNS=$((REL_RUNS + 2))
		echo "  resolve during reconcile --force: reconcile exit $rr, resolve exit $rs: $(tail -1 "$T/resolve.log" | cut -c1-150)"
		[ $rr = 0 ] || rel_violation "reconcile --force exited $rr: $(tail -1 "$T/recon.log")"
		case $rs in 0|1|4) ;; *) rel_violation "resolve exited $rs: $(tail -1 "$T/resolve.log")" ;; esac
		if [ $rs = 0 ]; then
			# resolved: the record is kept and the same break is not open again
			assert_eq "RESOLVED|ops-reliability" "$(rel_psql -c "SELECT status, closed_by FROM exception WHERE exception_id = $ex")" \
				"a resolution made during reconcile --force is kept"
			assert_eq 0 "$(rel_psql -c "SELECT count(*) FROM exception WHERE status = 'OPEN' AND type || '|' || subject = '$subject'")" \
				"a resolved break is not raised again by the concurrent reconcile"
		fi
	else
		release_lock; kill -9 $rpid 2>/dev/null; wait $rpid 2>/dev/null
		rel_violation "reconcile --force never blocked"
	fi
	rel_complete $DATE
	rel_check_invariants final
	rel_check_files
fi

REL_NOTES="$RACES simultaneous runs; run/settle --force/ledger import/normalize while locked -> 4; resolve during reconcile"
rel_result "4 concurrency"
