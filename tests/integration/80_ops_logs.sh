#!/bin/bash
# Logs and ids: one `pipeline run` is one invocation ("<UTC start>-<pid>"): its stage_run rows share
# it, its per-run log file is named after it, every line it logs ends with invocation=..., and
# `status --json` shows it;
# each stage's lines carry run= (its stage_run.run_id); JSON lines parse; -q keeps warnings and
# errors only; a secret from password_file never appears in any log.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/80_ops_lib.inc"
t_init ops_logs

printf 'S3cr3t-Pw-%s\n' "$RANDOM" > "$T/db.password"
chmod 600 "$T/db.password"
conf_set database password_file "$T/db.password"

assert_exit 0 t_pipeline run --date 2026-11-25 --from settle
inv=$(t_psql "SELECT DISTINCT invocation FROM stage_run WHERE business_date = '2026-11-25'")
assert_eq 1 "$(echo "$inv" | wc -l)" "one invocation for the stages of one run"
assert_eq 2 "$(t_psql "SELECT count(*) FROM stage_run WHERE invocation = '$inv'")" "settle and report share it"
[[ "$inv" =~ ^[0-9]{8}T[0-9]{6}Z-[0-9]+$ ]] || t_fail "invocation format: $inv"
log=$T/data/log/2026-11-25/pipeline-$inv.log
[ -f "$log" ] || t_fail "the run log is named after the invocation: $log"
n=$(wc -l < "$log")
[ "$n" -ge 4 ] || t_fail "run log has the lines ($n)"
assert_eq "$n" "$(grep -c " invocation=$inv\$" "$log")" "every line of the run log ends with the invocation"
settle_id=$(t_psql "SELECT run_id FROM stage_run WHERE invocation = '$inv' AND stage = 'settle'")
assert_contains "$T_ERR" "run=$settle_id stage=settle date=2026-11-25 msg=\"stage started\"" "settle lines carry its run id"
assert_eq "$(grep -c 'stage=settle' "$log")" "$(grep -c "run=$settle_id stage=settle" "$log")" "every settle line has its run id"

# status --json shows it for monitoring
assert_exit 0 t_pipeline status --json --date 2026-11-25
assert_eq "$inv|$inv" "$(echo "$T_OUT" | /usr/bin/python3 -c '
import json, sys
st = {s["stage"]: s for s in json.load(sys.stdin)[0]["stages"]}
print(st["settle"]["invocation"] + "|" + st["report"]["invocation"])')" "status --json carries the invocation"

# JSON lines
conf_set pipeline log_format json
assert_exit 0 t_pipeline run --date 2026-11-26 --from report
echo "$T_ERR" | /usr/bin/python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    j = json.loads(line)
    assert {"ts", "level", "msg", "invocation"} <= set(j), j
    n += 1
assert n >= 3, n
' || t_fail "JSON log lines do not parse or lack keys: $T_ERR"
conf_set pipeline log_format logfmt

# -q: warnings and errors only
assert_exit 3 t_pipeline -q run --date 2026-11-20
if echo "$T_ERR" | grep -q 'level=info'; then t_fail "-q printed info lines"; fi
assert_contains "$T_ERR" "level=error" "-q keeps errors"

# each error once: the stage's failure line names it; the command's own log line does not repeat it
assert_exit 3 t_pipeline run --date 2026-11-20
why="input for 2026-11-20 not there yet: bank_client: 0 of 1 expected file(s)"
assert_contains "$(echo "$T_ERR" | tail -1)" "pipeline: $why" "the last line is the plain sentence"
assert_eq 1 "$(echo "$T_ERR" | grep '^ts=' | grep -cF -- "$why")" "the error is logged once"

# under systemd (stderr is the journal, $JOURNAL_STREAM names it): syslog priorities, no plain line
: > "$T/journal"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal") t_pipeline run --date 2026-11-20 2>>"$T/journal"
assert_eq 3 $? "journal: exit 3"
assert_eq 0 "$(grep -vc '^<[3467]>ts=' "$T/journal")" "journal: every line starts with its priority"
assert_eq "$(grep -c '^<3>' "$T/journal")" "$(grep -c 'level=error' "$T/journal")" "journal: errors are <3>"
assert_eq "$(grep -c '^<6>' "$T/journal")" "$(grep -c 'level=info' "$T/journal")" "journal: info lines are <6>"
[ "$(grep -c '^<3>' "$T/journal")" -ge 1 ] || t_fail "journal: no error line"
assert_eq 1 "$(grep -cF -- "$why" "$T/journal")" "journal: the error once"
grep -q '^pipeline: ' "$T/journal" && t_fail "journal: the plain last line repeats the error"
grep -rq '^<' "$T/data/log" && t_fail "the run log file has priority prefixes"
# the same variable for another file (a shell redirected elsewhere) is not the journal
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal") t_pipeline run --date 2026-11-20 2>"$T/not-journal"
grep -q '^<' "$T/not-journal" && t_fail "priorities written to a stderr that is not the journal"

# the password never appears
pw=$(cat "$T/db.password")
if grep -rq -- "$pw" "$T/data/log" "$T/stderr"; then t_fail "the database password appears in a log"; fi
t_done
