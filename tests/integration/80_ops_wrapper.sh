#!/bin/bash
# deploy/pipeline-nightly, the scheduler's wrapper: pins the date, retries exit 3 with a doubling
# backoff bounded by the cut-off, marks every attempt but the last PIPELINE_NOTIFY_RETRYING=1, makes
# one last attempt after the cut-off and exits 3; passes any other exit code through at once.
# First with a stub program (exact sequence of calls), then with the real pipeline and fake sendmail.
# Also: the systemd units parse (OnCalendar with the Singapore zone) and the crontab line is sane.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/80_ops_lib.inc"
t_init ops_wrapper
WRAP=$REPO/deploy/pipeline-nightly

# stub: `notify --cut-off` prints the next line of $T/stub/left ("DATE LEFT CUT"); `run` exits with
# the next line of $T/stub/rcs. Every call is appended to $T/stub/calls with PIPELINE_NOTIFY_RETRYING.
mkdir -p "$T/stub"
cat > "$T/stub/pipeline" <<'SH'
#!/bin/bash
d=$(dirname "$0")
echo "retrying=${PIPELINE_NOTIFY_RETRYING:-unset} $*" >> "$d/calls"
next() { local n; n=$(cat "$d/$1.i" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$d/$1.i"; sed -n "${n}p" "$d/$1"; }
for a in "$@"; do
	case $a in
	--cut-off) next left; exit 0 ;;
	run) exit "$(next rcs)" ;;
	esac
done
exit 99
SH
chmod 755 "$T/stub/pipeline"
stub_reset() { rm -f "$T/stub/calls" "$T/stub/"*.i; printf '%s\n' "$1" | tr ',' '\n' > "$T/stub/rcs"; printf '%s\n' "$2" | tr ',' '\n' > "$T/stub/left"; }
export PIPELINE_NIGHTLY_BACKOFF=1 PIPELINE_NIGHTLY_BACKOFF_MAX=2

# 1. input late twice, then there: retries, attempts marked retrying, exit 0, date pinned throughout
stub_reset "3,3,0" "2026-11-25 100 2026-11-25T23:00:00Z,2026-11-25 100 x,2026-11-25 100 x,2026-11-25 100 x,2026-11-25 100 x"
PIPELINE=$T/stub/pipeline assert_exit 0 "$WRAP" --config /etc/p.conf --fail-on-exceptions
assert_eq "retrying=unset --config /etc/p.conf notify --cut-off
retrying=1 --config /etc/p.conf run --date 2026-11-25 --fail-on-exceptions
retrying=unset --config /etc/p.conf notify --cut-off --date 2026-11-25
retrying=unset --config /etc/p.conf notify --cut-off --date 2026-11-25
retrying=1 --config /etc/p.conf run --date 2026-11-25 --fail-on-exceptions
retrying=unset --config /etc/p.conf notify --cut-off --date 2026-11-25
retrying=unset --config /etc/p.conf notify --cut-off --date 2026-11-25
retrying=1 --config /etc/p.conf run --date 2026-11-25 --fail-on-exceptions" "$(cat "$T/stub/calls")" "late input: retried until it came"
assert_contains "$T_ERR" 'msg="input not there yet (exit 3); retrying" date=2026-11-25 attempt=1 retry_in_s=1' "first backoff 1 s"
assert_contains "$T_ERR" 'msg="input not there yet (exit 3); retrying" date=2026-11-25 attempt=2 retry_in_s=2' "backoff doubles"
assert_contains "$T_ERR" 'msg="nightly run ended" date=2026-11-25 attempt=3 exit=0' "ended"

# 2. still missing when the cut-off passes: one last attempt without RETRYING (it notifies), exit 3
stub_reset "3,3" "2026-11-25 5 2026-11-25T23:00:00Z,2026-11-25 0 x"
PIPELINE=$T/stub/pipeline assert_exit 3 "$WRAP"
assert_eq "retrying=unset notify --cut-off
retrying=1 run --date 2026-11-25
retrying=unset notify --cut-off --date 2026-11-25
retrying=0 run --date 2026-11-25" "$(cat "$T/stub/calls")" "cut-off passed: one last notifying attempt"
assert_contains "$T_ERR" 'msg="input not there yet and the cut-off has passed: one last attempt"' "last attempt logged"
assert_contains "$T_ERR" 'msg="input still missing at the cut-off; giving up (the run has notified)" date=2026-11-25 attempt=2 cut_off=2026-11-25T23:00:00Z exit=3' "gave up"

# 3. the wait never goes past the cut-off
stub_reset "3,0" "2026-11-25 1 c,2026-11-25 1 c,2026-11-25 1 c"
PIPELINE_NIGHTLY_BACKOFF=60 PIPELINE=$T/stub/pipeline assert_exit 0 "$WRAP"
assert_contains "$T_ERR" "retry_in_s=1 " "backoff capped by the seconds left"

# 4. started after the cut-off (a catch-up): no retry, the one attempt notifies
stub_reset "3" "2026-11-25 0 2026-11-25T23:00:00Z"
PIPELINE=$T/stub/pipeline assert_exit 3 "$WRAP"
assert_eq "retrying=unset notify --cut-off
retrying=0 run --date 2026-11-25" "$(cat "$T/stub/calls")" "after the cut-off: one attempt"

# 5. no cut-off configured: no retry
stub_reset "3" "2026-11-25 none -"
PIPELINE=$T/stub/pipeline assert_exit 3 "$WRAP"
assert_eq 2 "$(wc -l < "$T/stub/calls")" "no cut-off: one attempt"

# 6. other exit codes pass through at once, not retried
for rc in 1 2 4 5; do
	stub_reset "$rc" "2026-11-25 100 c"
	PIPELINE=$T/stub/pipeline assert_exit "$rc" "$WRAP"
	assert_eq 2 "$(wc -l < "$T/stub/calls")" "exit $rc: not retried"
done

# 7. a broken configuration: the wrapper stops with the program's exit code
stub_reset "" ""
printf '#!/bin/sh\necho "pipeline: bad.conf:3: unknown key" >&2\nexit 2\n' > "$T/stub/broken"
chmod 755 "$T/stub/broken"
PIPELINE=$T/stub/broken assert_exit 2 "$WRAP"
assert_contains "$T_ERR" 'msg="cannot read the configuration or the cut-off" exit=2' "broken config"
PIPELINE_NIGHTLY_BACKOFF=soon PIPELINE=$T/stub/pipeline assert_exit 2 "$WRAP"
PIPELINE_ENV_FILE=$T/nope PIPELINE=$T/stub/pipeline assert_exit 2 "$WRAP"
assert_contains "$T_ERR" "cannot read PIPELINE_ENV_FILE" "missing env file"

# 8. the env file is loaded (cron) before anything else
stub_reset "0" "2026-11-25 none -"
echo "PIPELINE_NIGHTLY_BACKOFF=notanumber" > "$T/env"
PIPELINE_ENV_FILE=$T/env PIPELINE=$T/stub/pipeline assert_exit 2 "$WRAP"

# --- the real program: the default date has passed its cut-off, statements absent -> one
# notifying attempt, exit 3, one mail; then a run that succeeds (--from report) exits 0
unset PIPELINE_NIGHTLY_BACKOFF PIPELINE_NIGHTLY_BACKOFF_MAX
fake_sendmail
conf_set notify command "$T/bin/sendmail -t"
conf_set notify mail_to "oncall@example.com"
conf_set notify cut_off "00:00"
PIPELINE=$PIPELINE assert_exit 3 "$WRAP" --config "$T/pipeline.conf" -q
assert_eq 1 "$(mail_count)" "real: gave up with one notification"
assert_contains "$(cat "$T/mail/1.msg")" "INPUT MISSING: input still missing at the cut-off, giving up" "real: the mail says it gave up"
PIPELINE=$PIPELINE assert_exit 0 "$WRAP" "--config=$T/pipeline.conf" --from report
assert_eq 2 "$(mail_count)" "real: success notified"
assert_contains "$(sed -n 2p "$T/mail/2.msg")" " OK: " "real: OK"

# --- the units and the cron line
grep -q '^OnCalendar=\*-\*-\* 01:30:00 Asia/Singapore$' "$REPO/deploy/pipeline-nightly.timer" || t_fail "timer OnCalendar"
grep -q '^Persistent=true$' "$REPO/deploy/pipeline-nightly.timer" || t_fail "timer Persistent"
grep -q '^ExecStart=/usr/local/bin/pipeline-nightly$' "$REPO/deploy/pipeline-nightly.service" || t_fail "service ExecStart"
if command -v systemd-analyze >/dev/null; then
	out=$(systemd-analyze calendar "$(sed -n 's/^OnCalendar=//p' "$REPO/deploy/pipeline-nightly.timer")" 2>&1)
	assert_contains "$out" "Next elapse:" "systemd parses OnCalendar"
	assert_contains "$out" ":30:00 UTC" "01:30 Singapore is a half hour in UTC"
	# the units themselves (ExecStart and User made resolvable on this machine)
	mkdir -p "$T/units"
	sed -e 's#^ExecStart=.*#ExecStart=/bin/true#' -e 's#^User=.*#User=root#' -e 's#^Group=.*#Group=root#' \
		"$REPO/deploy/pipeline-nightly.service" > "$T/units/pipeline-nightly.service"
	cp "$REPO/deploy/pipeline-nightly.timer" "$T/units/"
	out=$(cd "$T/units" && systemd-analyze verify --man=no ./pipeline-nightly.service ./pipeline-nightly.timer 2>&1)
	assert_eq "" "$out" "systemd-analyze verify finds nothing"
fi
line=$(grep -v '^#' "$REPO/deploy/crontab" | grep -E '^[0-9]')
assert_eq "30 1 * * *" "$(echo "$line" | cut -d' ' -f1-5)" "cron schedule 01:30"
assert_contains "$line" "/usr/local/bin/pipeline-nightly" "cron runs the wrapper"
t_done
