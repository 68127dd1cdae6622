#!/bin/bash
# Scenario 2, database faults, on a PostgreSQL cluster private to this scenario
# (tests/reliability/pg.sh): the server is stopped in immediate mode (as if it died) in the middle
# of normalize, reconcile and settle; a statement timeout; a serialization failure (SQLSTATE 40001)
# in reconcile and in settle. Each time the run must exit 1 with a clear one-line error naming the
# database problem, and a rerun once the database is back must complete with the invariants intact
# and the same results as an uninterrupted run.
#
# "In the middle" is made deterministic, not left to timing: a second session holds an ACCESS
# EXCLUSIVE lock on a table the target stage writes (normalize: statement_line, reconcile:
# recon_match, settle: allocation), so the stage is caught inside its transaction, waiting; the
# fault is injected while `stage_run` says that stage is running and its backend is waiting.
PGSOCK=$("$(dirname "$0")/pg.sh" start) || { echo "scenario 2: cannot start the private cluster" >&2; exit 1; }
export PGSOCK
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
DATE=2026-11-23
LINES=$([ "$SHORT" = 1 ] && echo 2000 || echo 5000)
echo "scenario 2: world $LINES lines, private cluster $PGSOCK"
rel_setup rel_dbfault "$LINES" $DATE

declare -A LOCKTABLE=([normalize]=statement_line [reconcile]=recon_match [settle]=allocation)

# --- the server dies in the middle of a stage
for stage in normalize reconcile settle; do
	rel_reset "$W/statements/$DATE"
	hold_lock "${LOCKTABLE[$stage]}" || { rel_violation "$stage: lock"; continue; }
	"$PIPELINE" --config "$T/pipeline.conf" -q run --date $DATE >"$T/fault.log" 2>&1 &
	pid=$!
	if ! wait_blocked $stage; then
		rel_violation "$stage: the run never blocked inside $stage ($(rel_psql -c "SELECT string_agg(stage || ':' || state, ' ')
		               FROM stage_run"))"
		release_lock; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
		continue
	fi
	"$REL_DIR/pg.sh" crash
	REL_FAULTS=$((REL_FAULTS + 1))
	release_lock
	expect_fail "server stopped (immediate) during $stage" $pid
	# A clear error says which stage lost the database, not only that recording the failure failed
	# afterwards: the stage's own failure must be logged (commands/run.c run_one).
	grep -q "stage=$stage .*msg=\"stage failed\"" "$T/fault.log" ||
		rel_violation "server stopped during $stage: the stage's own error is never reported; the run only says" \
			"[$(grep '^pipeline: ' "$T/fault.log" | tail -1 | cut -c1-120)] (commands/run.c run_one returns record_end's error)"
	PGSOCK=$("$REL_DIR/pg.sh" start)
	rel_check_invariants
	rel_complete $DATE "$T/rerun.log" || continue
	rel_check_invariants final
	rel_check_files
	rel_compare "server stopped during $stage" "$T/snapshot.ref"
	assert_eq "failed|30" "$(rel_psql -c "SELECT state, error_code FROM stage_run WHERE stage = '$stage' ORDER BY run_id LIMIT 1")" \
		"$stage: the interrupted execution is recorded as failed by the rerun"
done

# --- a statement timeout: reconcile blocked longer than the connection's statement_timeout
rel_reset "$W/statements/$DATE"
cp "$T/pipeline.conf" "$T/pipeline.conf.orig"
sed -i "s|^conninfo = .*|& options=-cstatement_timeout=1500|" "$T/pipeline.conf"
hold_lock recon_match
"$PIPELINE" --config "$T/pipeline.conf" -q run --date $DATE >"$T/fault.log" 2>&1 &
pid=$!
REL_FAULTS=$((REL_FAULTS + 1))
expect_fail "statement timeout in reconcile" $pid
release_lock
grep -q "57014\|statement timeout" "$T/fault.log" || rel_violation "statement timeout: the error does not say so"
assert_eq "failed" "$(rel_psql -c "SELECT state FROM stage_run WHERE stage = 'reconcile' ORDER BY run_id DESC LIMIT 1")" \
	"statement timeout: reconcile recorded as failed"
cp "$T/pipeline.conf.orig" "$T/pipeline.conf"
rel_check_invariants
rel_complete $DATE "$T/rerun.log" && { rel_check_invariants final; rel_check_files; rel_compare "statement timeout" "$T/snapshot.ref"; }

# --- a serialization failure (SQLSTATE 40001) raised by the server inside reconcile, then settle
for pair in reconcile:recon_match settle:transfer; do
	stage=${pair%%:*} table=${pair#*:}
	rel_reset "$W/statements/$DATE"
	rel_psql -c "CREATE FUNCTION rel_inject_40001() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
	               RAISE EXCEPTION 'could not serialize access due to concurrent update (injected)' USING ERRCODE = '40001';
	             END \$\$;
	             CREATE TRIGGER rel_inject BEFORE INSERT ON $table FOR EACH ROW EXECUTE FUNCTION rel_inject_40001();" >/dev/null
	"$PIPELINE" --config "$T/pipeline.conf" -q run --date $DATE >"$T/fault.log" 2>&1 &
	pid=$!
	REL_FAULTS=$((REL_FAULTS + 1))
	expect_fail "serialization failure in $stage" $pid
	grep -q "40001" "$T/fault.log" || rel_violation "serialization failure: the error does not carry SQLSTATE 40001"
	assert_eq "failed" "$(rel_psql -c "SELECT state FROM stage_run WHERE stage = '$stage' ORDER BY run_id DESC LIMIT 1")" \
		"serialization failure: $stage recorded as failed"
	rel_check_invariants
	rel_psql -c "DROP TRIGGER rel_inject ON $table; DROP FUNCTION rel_inject_40001();" >/dev/null
	rel_complete $DATE "$T/rerun.log" && { rel_check_invariants final; rel_check_files; rel_compare "40001 in $stage" "$T/snapshot.ref"; }
done

REL_NOTES="server killed in normalize/reconcile/settle, statement timeout, 40001 x2"
rel_result "2 database faults"
