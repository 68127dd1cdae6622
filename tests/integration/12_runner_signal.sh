#!/bin/bash
# A graceful stop (src/signals.h) against the real database, on a generated world of
# SIGNAL_LINES (default 100,000) statement lines:
#   1. SIGTERM while normalize COPYs the big bank statement: exit 143, the stage_run row failed
#      with "stopped by SIGTERM" (error_code 30), the parser stopped early (rows_in), nothing of
#      the file committed, no stage after it started, `pipeline status` shows it, the lock released;
#   2. SIGTERM (the next run) while the report is being written: exit 143, no workbook under the
#      final name, no temporary file left (ours, the matched CSV's, libxlsxwriter's);
#   3. SIGINT while reconcile waits for a table lock: the query in flight is cancelled (the run
#      ends while the lock holder still holds it), exit 130;
#   then a rerun completes and its results (tests/reliability/snapshot.sql, and the workbook) are
#   those of an uninterrupted run of the same world;
#   4. the nightly wrapper, stopped in its retry wait, exits 143 and starts no further attempt;
#   5. a second SIGTERM while the run stops (here: in its end-of-run notification) ends it at once.
source "$(dirname "$0")/../lib.sh"
t_init runner_signal
D=2026-11-23
LINES=${SIGNAL_LINES:-100000}
python3 "$REPO/tools/genworld.py" --lines "$LINES" --seed 7 --out "$T/world" >/dev/null || { t_fail "genworld"; t_done; }
t_pipeline -q ledger import "$T/world/ledger/$D" >/dev/null || { t_fail "ledger import"; t_done; }

admin() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -A -t -h "$PGSOCK" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$1" >/dev/null; }
admin "DROP DATABASE IF EXISTS ${T_DB}_tmpl WITH (FORCE)"
admin "CREATE DATABASE ${T_DB}_tmpl TEMPLATE $T_DB"
trap 'admin "DROP DATABASE IF EXISTS ${T_DB}_tmpl WITH (FORCE)"' EXIT
# reset: the database as imported, data, reports and remote as before any run, statements delivered.
reset() {
	admin "DROP DATABASE IF EXISTS $T_DB WITH (FORCE)"
	admin "CREATE DATABASE $T_DB TEMPLATE ${T_DB}_tmpl"
	rm -rf "$T/data" "$T/reports" "$T/remote"
	mkdir -p "$T/data"
	for d in $(awk '/^remote_dir *=/ { sub(/^remote_dir *= */, ""); print }' "$T/pipeline.conf"); do mkdir -p "$d"; done
	cp -R "$T/world/statements/$D/." "$T/remote/"
}
snapshot() { t_psql "$(cat "$REPO/tests/reliability/snapshot.sql")" ; }
# leftovers: temporary files anywhere a run writes (report dir, libxlsxwriter's scratch, inbox).
leftovers() { find "$T/reports" "$T/data" \( -name '*.tmp.*' -o -name '.*.part.*' -o -name 'tmp.*' \) 2>/dev/null | sort; }
latest() { t_psql "SELECT $2 FROM stage_run WHERE business_date = '$D' AND stage = '$1' ORDER BY run_id DESC LIMIT 1"; }
# wait_until SQL: polls (every 20 ms, at most 60 s) until SQL returns t; false if the run ($pid) ended first.
wait_until() {
	local i
	for i in $(seq 3000); do
		[ "$(t_psql "$1" 2>/dev/null)" = t ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}
# stopped_in WHAT: prints how long the stop took since $t0 (information for the log, not a test).
stopped_in() { echo "stop during $1: exited $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }') ms after the signal"; }
workbook_ok() { python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); sys.exit(z.testzip() is not None)' "$1" 2>/dev/null; }

# --- the uninterrupted reference
reset
assert_exit 0 t_pipeline -q run --date $D || { t_done; }
ref=$(snapshot)
workbook_ok "$T/reports/$D/recon-$D.xlsx" || t_fail "reference: no complete workbook"
big_lines=$(t_psql "SELECT l.lines FROM file_load l JOIN fetched_file f USING (file_id) WHERE f.remote_name LIKE 'stmt_%'")
[ "${big_lines:-0}" -gt 50000 ] || t_fail "the world's MT940 file has only [$big_lines] lines: too small to stop in the middle"

# --- 1. SIGTERM in the middle of normalize's COPY of the big file
reset
"$PIPELINE" --config "$T/pipeline.conf" run --date $D >"$T/run1.out" 2>"$T/run1.err" &
pid=$!
# Some thousands of lines are in the COPY (sent, not committed) when the signal arrives.
wait_until "SELECT EXISTS (SELECT 1 FROM pg_stat_progress_copy p JOIN pg_stat_activity a USING (pid)
            WHERE a.application_name LIKE 'pipeline pid=$pid %' AND p.relid = 'statement_line'::regclass
              AND p.tuples_processed >= 5000)" || t_fail "normalize's COPY was not seen in progress (the run ended first?)"
t0=$EPOCHREALTIME
kill -TERM $pid
wait $pid
assert_eq 143 $? "SIGTERM: exit 128 + 15"
stopped_in "normalize"
err=$(cat "$T/run1.err")
assert_contains "$(tail -1 "$T/run1.err")" "pipeline: stopped by SIGTERM" "the last line says why"
assert_contains "$err" 'stage=normalize' "the log names the stage"
assert_contains "$err" 'msg="stage failed" error="stopped by SIGTERM"' "the stage failed with the stop"
assert_eq "failed|30|stopped by SIGTERM" "$(latest normalize "state || '|' || error_code || '|' || error")" \
	"stage_run: normalize failed, error_code 30 (PERR_INTERRUPTED), the error"
assert_eq "t" "$(latest normalize "finished_at IS NOT NULL")" "stage_run: the failure is recorded with its end time"
rows_in=$(latest normalize rows_in)
[ "$rows_in" -lt "$big_lines" ] || t_fail "the parser must stop early: it read $rows_in of $big_lines lines"
assert_eq "0|0|0" "$(t_psql "SELECT (SELECT count(*) FROM file_load) || '|' || (SELECT count(*) FROM statement)
	|| '|' || (SELECT count(*) FROM statement_line)")" "nothing of the file committed (no file_load, statement or line)"
assert_eq "fetch normalize" "$(t_psql "SELECT string_agg(stage, ' ' ORDER BY run_id) FROM stage_run")" \
	"no stage starts after the stop"
assert_eq 0 "$(t_psql "SELECT count(*) FROM stage_run WHERE state = 'running'")" "no row left running"
assert_exit 0 t_pipeline status --date $D
assert_contains "$(echo "$T_OUT" | grep normalize)" "failed" "status shows normalize failed"
assert_contains "$(echo "$T_OUT" | grep normalize)" "stopped by SIGTERM" "status shows the error"
assert_eq "" "$(leftovers)" "no temporary file left after the normalize stop"

# --- 2. the next run, stopped while the report is being written
"$PIPELINE" --config "$T/pipeline.conf" run --date $D >"$T/run2.out" 2>"$T/run2.err" &
pid=$!
# The report has fetched rows from its first cursor and is writing the sheets.
wait_until "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
            WHERE application_name LIKE 'pipeline pid=$pid %' AND query LIKE 'FETCH % FROM rep_%')" \
	|| t_fail "the report's cursors were not seen (the run ended first?)"
sleep 0.3
t0=$EPOCHREALTIME
kill -TERM $pid
wait $pid
assert_eq 143 $? "SIGTERM during the report: exit 143"
stopped_in "report"
assert_contains "$(tail -1 "$T/run2.err")" "pipeline: stopped by SIGTERM" "report stop: the last line"
assert_eq "done done done failed" "$(t_psql "SELECT string_agg(state, ' ' ORDER BY run_id) FROM stage_run
	WHERE run_id > (SELECT max(run_id) FROM stage_run WHERE stage = 'normalize' AND state = 'failed')")" \
	"normalize, reconcile and settle done, the report failed"
assert_eq "failed|30|stopped by SIGTERM" "$(latest report "state || '|' || error_code || '|' || error")" "stage_run: report stopped"
[ -e "$T/reports/$D/recon-$D.xlsx" ] && t_fail "no workbook under the final name after a stopped report"
[ -e "$T/reports/$D/recon-$D-matched.csv" ] && t_fail "no matched CSV under the final name after a stopped report"
assert_eq "" "$(leftovers)" "no temporary file left after the report stop"
assert_eq 0 "$(t_psql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" "the run lock was released"

# --- 3. SIGINT while reconcile --force waits for a lock: the query in flight is cancelled
PGAPPNAME=sig_lock psql -X -q -h "$PGSOCK" -U postgres -d "$T_DB" -c "BEGIN" \
	-c "LOCK TABLE recon_match IN ACCESS EXCLUSIVE MODE" -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
locker=$!
pid=$locker
wait_until "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
            WHERE c.relname = 'recon_match' AND l.mode = 'AccessExclusiveLock' AND l.granted)" ||
	t_fail "could not take the lock on recon_match"
"$PIPELINE" --config "$T/pipeline.conf" reconcile --date $D --force >"$T/run3.out" 2>"$T/run3.err" &
pid=$!
wait_until "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'pipeline pid=$pid %'
            AND wait_event_type = 'Lock')" || t_fail "reconcile never waited for the lock"
t0=$EPOCHREALTIME
kill -INT $pid
wait $pid
assert_eq 130 $? "SIGINT: exit 128 + 2"
stopped_in "reconcile (lock wait)"
if kill -0 $locker 2>/dev/null; then :; else t_fail "the run ended only when the lock holder did: the query was not cancelled"; fi
assert_eq "failed|stopped by SIGINT" "$(latest reconcile "state || '|' || error")" "stage_run: reconcile stopped by SIGINT"
admin "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sig_lock'"
wait $locker 2>/dev/null

# --- the rerun completes with the uninterrupted run's results
assert_exit 0 t_pipeline -q run --date $D
assert_eq "$ref" "$(snapshot)" "after the stops, a rerun gives what the uninterrupted run gave"
workbook_ok "$T/reports/$D/recon-$D.xlsx" || t_fail "rerun: no complete workbook"
assert_eq "" "$(leftovers)" "no temporary file after the rerun"

# --- the nightly wrapper (deploy/pipeline-nightly), stopped in its retry wait (a stub pipeline that
# always exits 3): SIGTERM to its process group, as systemd's control group gets it, ends it with
# 143 and no further attempt.
mkdir -p "$T/stub"
cat > "$T/stub/pipeline" <<'SH'
#!/bin/sh
echo "$*" >> "$(dirname "$0")/calls"
case "$*" in
*--cut-off*) echo "2026-11-25 600 2026-11-25T23:00:00Z"; exit 0 ;;
run*) exit 3 ;;
esac
exit 99
SH
chmod 755 "$T/stub/pipeline"
PIPELINE=$T/stub/pipeline PIPELINE_NIGHTLY_BACKOFF=60 setsid "$REPO/deploy/pipeline-nightly" 2>"$T/wrap.err" &
pid=$!
t_until 120 grep -q 'retrying' "$T/wrap.err"
kill -TERM -- -$pid
wait $pid
assert_eq 143 $? "the wrapper stopped in its retry wait: exit 143"
assert_eq 1 "$(grep -c "^run " "$T/stub/calls")" "the wrapper starts no further attempt after a stop"
assert_contains "$(cat "$T/wrap.err")" 'msg="stopped by a signal; no further attempt"' "the wrapper says why"

# --- 5. a second signal while stopping ends the process at once. The run is stopped while fetch
# waits for a missing statement; the stop then sends the end-of-run notification, whose command
# (sleep, its pid in $T/notify.pid) keeps the process stopping; the second SIGTERM comes then.
sed -i '/^\[source.bank_client\]/a missing_retries = 3\nmissing_backoff_ms = 30000' "$T/pipeline.conf"
sed -i "/^\[notify\]/a mail_to = oncall@example.com\ncommand = echo \$\$ > $T/notify.pid; exec sleep 60\ntimeout = 60" "$T/pipeline.conf"
rm -f "$T/notify.pid"
"$PIPELINE" --config "$T/pipeline.conf" run --date 2026-11-26 >"$T/run5.out" 2>"$T/run5.err" &
pid=$!
t_until 120 grep -q 'expected file not there yet; looking again' "$T/run5.err"
kill -TERM $pid
t_until 120 test -s "$T/notify.pid"
[ -s "$T/notify.pid" ] || t_fail "the stopped run did not start its notification"
assert_eq "failed|stopped by SIGTERM" "$(t_psql "SELECT state || '|' || error FROM stage_run WHERE business_date = '2026-11-26'
	ORDER BY run_id DESC LIMIT 1")" "the first SIGTERM recorded the fetch stopped"
kill -TERM $pid
wait $pid
assert_eq 143 $? "the second SIGTERM: ended by the signal"
notifier=$(cat "$T/notify.pid" 2>/dev/null)
if [ -n "$notifier" ] && kill -0 "$notifier" 2>/dev/null; then
	kill "$notifier"        # still sleeping: the pipeline did not wait for it
else
	t_fail "the notification command had already ended: the second signal did not end the run at once"
fi
grep -q '^pipeline: stopped by SIGTERM' "$T/run5.err" && t_fail "the second signal must end the process before its normal exit path"
t_done
