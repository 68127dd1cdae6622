#!/bin/bash
# Scenario 1, crash anywhere: the full nightly (fetch, normalize, reconcile, settle, report) on a
# generated world (tools/genworld.py, ~10,000 statement lines; SHORT=1 2,000; RELIABILITY_SCALE=10
# ~100,000) plus three offerings closing that day (fixtures/settle/ledger), is killed with SIGKILL
# at REL_KILLS (default 50) points chosen by a seeded generator, spread over every stage: a stage
# is drawn uniformly among those not yet done; once its stage_run row says it is running, the
# process is killed after a random fraction of that stage's duration in the uninterrupted run. A world takes 1-3 kills in a row (a rerun killed again), then runs to completion.
# Plus the four named fault points inside settle (PIPELINE_FAULT=settle:POINT). After every
# completion: the invariants, and the database results (matches, exceptions, transfers, issuance,
# holdings, journal) and every delivered/inbox file identical to an uninterrupted run's; no partial
# file under a final name. The seed is printed; REL_SEED=S replays the same choices (stage and
# fraction; the moment is a wall-clock delay, so a replay lands near, not exactly on, the same
# instruction). The invariants are also checked right after every kill, before the rerun.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
DATE=2026-11-23
LINES=$(rel_lines)
KILLS=${REL_KILLS:-50}
STAGES=(fetch normalize reconcile settle report)
echo "scenario 1: seed $REL_SEED, world $LINES lines, $KILLS kills (replay: REL_SEED=$REL_SEED)"
RANDOM=$REL_SEED
rel_setup "rel_crash_$LINES" "$LINES" $DATE      # one world per size: a SHORT and a long run may run side by side
declare -n OFF=REF_OFF DUR=REF_DUR
echo "reference run: $(for s in "${STAGES[@]}"; do printf '%s %.2fs  ' "$s" "${DUR[$s]}"; done)"

stage_no() { local i; for i in "${!STAGES[@]}"; do [ "${STAGES[$i]}" = "$1" ] && echo $i; done; }
rand() { echo $(( (RANDOM << 15) | RANDOM )); }         # 0 .. 2^30-1
declare -A HIT
kills=0
worlds=0
while [ $kills -lt "$KILLS" ]; do
	rel_reset "$W/statements/$DATE"
	worlds=$((worlds + 1))
	n=$(( $(rand) % 3 + 1 ))
	for k in $(seq 1 $n); do
		# stages not yet done in this world, in order
		done_list=$(rel_psql -c "SELECT string_agg(stage, ' ') FROM (SELECT DISTINCT ON (stage) stage, state
		                         FROM stage_run WHERE business_date = '$DATE' ORDER BY stage, run_id DESC) x WHERE state = 'done'")
		todo=()
		for s in "${STAGES[@]}"; do [[ " $done_list " == *" $s "* ]] || todo+=("$s"); done
		[ ${#todo[@]} = 0 ] && break
		target=${todo[$(( $(rand) % ${#todo[@]} ))]}
		frac=$(rand)
		wait_for=$(awk -v d="${DUR[$target]}" -v r="$frac" 'BEGIN { printf "%.3f", d * r / 1073741824 }')
		"$PIPELINE" --config "$T/pipeline.conf" -q run --date $DATE >>"$T/killed.log" 2>&1 &
		pid=$!
		# Wait until the target stage is running (its stage_run row), then a random part of its
		# reference duration; if a later stage is already running (the target was quicker than a
		# poll), kill at once. Where it really landed is read back after the kill.
		deadline=$(( $(date +%s) + 60 ))
		if [ "$target" = fetch ]; then     # over before a poll sees it (dir transport): a blind delay
			sleep "$(awk -v o="${OFF[fetch]}" -v d="${DUR[fetch]}" -v r="$frac" 'BEGIN { printf "%.3f", (o + d) * r / 1073741824 }')"
			deadline=0
		fi
		while kill -0 $pid 2>/dev/null && [ "$(date +%s)" -lt $deadline ]; do
			cur=$(rel_psql -c "SELECT stage FROM stage_run WHERE state = 'running' AND pid = $pid ORDER BY run_id DESC LIMIT 1" 2>/dev/null)
			if [ "$cur" = "$target" ]; then sleep "$wait_for"; break; fi
			if [ -n "$cur" ] && [ "$(stage_no "$cur")" -gt "$(stage_no "$target")" ]; then break; fi
			sleep 0.005
		done
		if kill -9 $pid 2>/dev/null; then
			wait $pid 2>/dev/null
			REL_RUNS=$((REL_RUNS + 1))
			kills=$((kills + 1))
			REL_FAULTS=$((REL_FAULTS + 1))
			at=$(rel_psql -c "SELECT stage FROM stage_run WHERE state = 'running' ORDER BY run_id DESC LIMIT 1")
			at=${at:-between}
			HIT[$at]=$(( ${HIT[$at]:-0} + 1 ))
			# the invariants hold at every crash point, not only after the rerun
			rel_check_invariants
		else
			wait $pid
			REL_RUNS=$((REL_RUNS + 1))
			break          # it finished before the kill: this world is complete
		fi
	done
	rel_complete $DATE "$T/rerun.log" || continue
	rel_check_invariants final
	rel_check_files
	rel_compare "world $worlds (seed $REL_SEED)" "$T/snapshot.ref"
done

# The named fault points inside settle: the process kills itself between "rows committed", "file
# written", "file uploaded" and "upload recorded"; the rerun finishes the work exactly once.
for point in rows_committed file_written file_uploaded upload_recorded; do
	rel_reset "$W/statements/$DATE"
	(PIPELINE_FAULT=settle:$point "$PIPELINE" --config "$T/pipeline.conf" -q run --date $DATE >"$T/fault.log" 2>&1; exit $?) 2>/dev/null
	rc=$?
	REL_RUNS=$((REL_RUNS + 1))
	if [ $rc != 137 ] || ! grep -q "fault injection: killing the process" "$T/fault.log"; then
		rel_violation "settle:$point: the fault point did not fire (exit $rc)"
		continue
	fi
	REL_FAULTS=$((REL_FAULTS + 1))
	HIT[settle:$point]=1
	rel_check_invariants
	rel_complete $DATE "$T/rerun.log" || continue
	rel_check_invariants final
	rel_check_files
	rel_compare "settle:$point" "$T/snapshot.ref"
done

hits=$(for s in "${STAGES[@]}" between; do printf '%s=%s ' "$s" "${HIT[$s]:-0}"; done)
echo "scenario 1: $kills SIGKILLs over $worlds worlds ($hits) + 4 settle fault points; temporary files left behind by kills (summed over the worlds, not under a final name): ${REL_TEMP_TOTAL:-0}"
echo "scenario 1: longest wait for a killed run's lock to be released by the server: ${REL_LOCK_WAIT_MAX}s"
REL_NOTES="seed $REL_SEED, $LINES lines; kills by stage: $hits+ 4 settle points; ${REL_TEMP_TOTAL:-0} temp files left; lock wait max ${REL_LOCK_WAIT_MAX}s"
rel_result "1 crash anywhere"
