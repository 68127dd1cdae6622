#!/bin/bash
# The stage runner on the fixture world: a rerun of done stages is a no-op; --force replaces a
# stage's own output (never adds to it) and marks the later stages stale, which the next run redoes;
# a second run while one holds the lock exits 4 naming the holder; --fail-on-exceptions exits 5.
source "$(dirname "$0")/../lib.sh"
t_init runner
D=2026-11-23

t_day $D || t_fail "the first night must succeed"
runs=$(t_psql "SELECT count(*) FROM stage_run")
assert_eq 5 "$runs" "one stage_run per stage"
assert_eq "done done done done done" "$(t_psql "SELECT string_agg(state, ' ' ORDER BY run_id) FROM stage_run")" "all done"

snapshot() {
	t_psql "SELECT (SELECT count(*) FROM fetched_file) || ',' || (SELECT count(*) FROM statement_line) || ','
	        || (SELECT count(*) FROM recon_match) || ',' || (SELECT count(*) FROM recon_match_movement) || ','
	        || (SELECT count(*) FROM exception) || ',' || (SELECT count(*) FROM transfer) || ','
	        || (SELECT count(*) FROM issuance) || ',' || (SELECT count(*) FROM journal_posting) || ','
	        || (SELECT count(*) FROM cash_movement)"
}
before=$(snapshot)

# A rerun finds every stage done: nothing runs, nothing changes.
assert_exit 0 t_pipeline run --date $D
assert_contains "$T_ERR" "already done for this date; skipped" "skip message"
assert_eq "$runs" "$(t_psql "SELECT count(*) FROM stage_run")" "no stage ran again"
assert_eq "$before" "$(snapshot)" "nothing changed"
assert_exit 0 t_pipeline settle --date $D
assert_eq "$runs" "$(t_psql "SELECT count(*) FROM stage_run")" "a single done stage is skipped too"

# --force on reconcile replaces its output and marks settle and report stale.
matches=$(t_psql "SELECT string_agg(line_id || ':' || rule, ',' ORDER BY line_id) FROM recon_match")
assert_exit 0 t_pipeline reconcile --date $D --force
assert_eq "$matches" "$(t_psql "SELECT string_agg(line_id || ':' || rule, ',' ORDER BY line_id) FROM recon_match")" \
	"reconcile --force replaced its matches with the same ones"
assert_eq "$before" "$(snapshot)" "reconcile --force added nothing"
assert_exit 0 t_pipeline status --date $D
assert_contains "$(echo "$T_OUT" | grep settle)" "stale" "settle is stale after reconcile was redone"
assert_contains "$(echo "$T_OUT" | grep report)" "stale" "report is stale after reconcile was redone"
assert_contains "$(echo "$T_OUT" | grep fetch)" "done" "fetch stays done"

# The next run redoes exactly the stale stages; settle finds its work done (nothing paid twice).
n=$(t_psql "SELECT count(*) FROM stage_run")
assert_exit 0 t_pipeline run --date $D
assert_eq "settle report" "$(t_psql "SELECT string_agg(stage, ' ' ORDER BY run_id) FROM stage_run WHERE run_id > $n")" \
	"only the stale stages ran"
assert_eq "$before" "$(snapshot)" "the stale rerun changed no rows"
assert_eq "done done done done done" "$(t_psql "SELECT string_agg(state, ' ' ORDER BY stage) FROM (
	SELECT DISTINCT ON (stage) stage, state FROM stage_run WHERE business_date = '$D' ORDER BY stage, run_id DESC) s")" \
	"all done again"

# --fail-on-exceptions: the fixture day has open error exceptions -> 5
assert_exit 5 t_pipeline run --date $D --fail-on-exceptions
assert_contains "$T_ERR" "open error exception(s)" "exit 5 says why"

# A second run while the first holds the lock: exit 4 at once, the holder named.
# The first run waits for a statement that has not arrived (missing_retries with backoff).
sed -i 's/^required = .*//; /^\[source.bank_client\]/a missing_retries = 4\nmissing_backoff_ms = 1000' "$T/pipeline.conf"
"$PIPELINE" --config "$T/pipeline.conf" -q run --date 2026-11-26 >/dev/null 2>&1 &
first=$!
running() { [ "$(t_psql "SELECT count(*) FROM stage_run WHERE business_date = '2026-11-26' AND state = 'running'")" = 1 ]; }
t_until 120 running || t_fail "the first run never started its stage"
start=$(date +%s)
assert_exit 4 t_pipeline run --date 2026-11-26
assert_contains "$T_ERR" "another pipeline run holds the lock: pipeline pid=$first run" "holder named with its pid and command"
[ $(( $(date +%s) - start )) -le 2 ] || t_fail "the second run must exit at once"
wait $first
assert_eq 3 "$?" "the first run ends with exit 3: the statement never came"
assert_eq "failed" "$(t_psql "SELECT state FROM stage_run WHERE business_date = '2026-11-26' ORDER BY run_id DESC LIMIT 1")" \
	"exit 3 is recorded as a failed fetch"
t_done
