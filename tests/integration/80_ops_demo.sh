#!/bin/bash
# make demo (scripts/demo.sh) as a person sees it: a short summary per day (stages, exceptions by
# type, settlements, the report) and the log files named, not the log lines; -v shows them too. Its
# SFTP port is DEMO_SFTP_PORT or a free one, written into the configuration it generates, so a busy
# 2222 does not stop it, and a busy DEMO_SFTP_PORT is said plainly. At the end it says how to stop
# the embedded PostgreSQL it leaves running. (The demo works in this checkout's var/, as make demo
# does; the embedded cluster is left as it was found.)
source "$(dirname "$0")/../lib.sh"
t_init ops_demo
was_running=; "$PIPELINE" db status >/dev/null 2>&1 && was_running=1
busy=
cleanup() {
	[ -n "$busy" ] && kill "$busy" 2>/dev/null
	[ -z "$was_running" ] && "$PIPELINE" db stop >/dev/null 2>&1
	return 0
}
trap cleanup EXIT

# hold a port (2222 if it is free, as an old demo or another program might)
/usr/bin/python3 - "$T/busy.port" <<'PY' 2>"$T/busy.err" &
import os, socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", 2222))
except OSError:
    s.bind(("127.0.0.1", 0))
s.listen(4)
open(sys.argv[1] + ".tmp", "w").write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    s.accept()
PY
busy=$!
t_wait_file "$T/busy.port" $busy || t_fail "the port holder did not start: $(cat "$T/busy.err")"
BUSY=$(cat "$T/busy.port")

# --- a busy DEMO_SFTP_PORT: said plainly, exit 1
DEMO_SFTP_PORT=$BUSY assert_exit 1 bash "$REPO/scripts/demo.sh"
assert_contains "$T_ERR" "port $BUSY is already in use" "busy port named"
assert_contains "$T_ERR" "demo: cannot start the SFTP server on port $BUSY (DEMO_SFTP_PORT)" "DEMO_SFTP_PORT named"

# --- the default: a free port, a short summary, the logs in files it names
assert_exit 0 bash "$REPO/scripts/demo.sh"
port=$(grep '^port = ' "$REPO/var/demo/pipeline.conf" | sort -u)
assert_eq 1 "$(echo "$port" | wc -l)" "one port in the generated configuration"
[ "${port#port = }" != "$BUSY" ] || t_fail "the demo used the busy port $BUSY"
assert_eq "$(grep -c '^\[\(source\|outbound\)\.' "$REPO/pipeline.conf")" "$(grep -c "^port = ${port#port = }\$" "$REPO/var/demo/pipeline.conf")" \
	"every source and outbound uses the chosen port"
assert_eq 7 "$(grep -c '^\[\(source\|outbound\)\.' "$REPO/pipeline.conf")" "five sources (the bank's pain.002 reports among them) and two outbounds"
assert_contains "$T_OUT" "SFTP server on 127.0.0.1:${port#port = }" "the port is said"
for day in 2026-11-23 2026-11-24 2026-11-25; do
	assert_contains "$T_OUT" "== Business day $day" "$day: heading"
	assert_contains "$T_OUT" "  report       $REPO/var/reports/$day/recon-$day.xlsx" "$day: report path"
	assert_contains "$T_OUT" "  log          $REPO/var/demo/log/$day.log" "$day: log file named"
	[ -s "$REPO/var/demo/log/$day.log" ] || t_fail "$day: the log file named is empty or missing"
	grep -q 'msg="stage done"' "$REPO/var/demo/log/$day.log" || t_fail "$day: the log file lacks the stage lines"
done
assert_eq 3 "$(echo "$T_OUT" | grep -c '^  stages       fetch done, normalize done, reconcile done, settle done, report done$')" "stages per day"
assert_contains "$T_OUT" "  exceptions   3 new, 6 open: AMOUNT_MISMATCH 1, BOOK_BALANCE_BREAK 1, DUPLICATE_LINE 1, HOLDING_MISMATCH 1, UNMATCHED_LEDGER 1, UNMATCHED_STATEMENT 1" "exceptions by type"
assert_contains "$T_OUT" "OFF-C pro_rata (4321 units, proceeds SGD 4,269,677.11, refunds SGD 1,874,924.73)" "settlements"
assert_contains "$T_OUT" "stop it with:   ./pipeline db stop" "says how to stop the database"
echo "$T_OUT" | grep -q 'ts=' && t_fail "log lines in the summary"
n=$(echo "$T_OUT" | wc -l)
[ "$n" -le 40 ] || t_fail "the demo printed $n lines"
"$REPO/scripts/sftp-server.sh" status "${port#port = }" >/dev/null && t_fail "the SFTP server was left running"
# what it says to run does stop it
assert_exit 0 "$PIPELINE" db stop
assert_exit 1 "$PIPELINE" db status

# --- -v: everything as well
assert_exit 0 bash "$REPO/scripts/demo.sh" -v
assert_contains "$T_OUT" 'msg="stage done"' "-v shows the log lines"
assert_contains "$T_OUT" "  exceptions   3 new, 6 open" "-v still has the summary"
t_done
