#!/bin/bash
# A graceful stop (src/signals.h) in the fetch stage, against the real sshd: SIGTERM in the middle
# of a large SFTP download (the transfer loop notices it: exit 143, the stage failed "stopped by
# SIGTERM", no partial file in the inbox, nothing recorded, a rerun fetches the file whole), and
# SIGTERM while fetch waits for a statement that has not arrived (missing_retries backoff: the wait
# ends at once instead of sleeping it out), and SIGTERM while the SSH handshake waits for a server
# that never answers (ends at once, not retried as a timeout).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/30_fetch_lib.inc"
t_init fetch_signal
sftp_setup
D=2026-11-25
deliver_all 20261125
big=$(remote_path bank_client 20261125)
head -c 250000000 /dev/urandom > "$big"
bigsha=$(sha256sum "$big" | cut -d' ' -f1)
final=$T/data/inbox/$D/bank_client/$(basename "$big")

# --- 1. SIGTERM while a large file is being downloaded
"$PIPELINE" --config "$T/pipeline.conf" fetch --date $D > "$T/out1" 2> "$T/err1" &
pid=$!
part_started() { [ -n "$(find "$T/data/inbox/$1" -name '*.part.*' -size +20M 2>/dev/null)" ]; }
t_until 120 part_started $D
[ -n "$(find "$T/data/inbox/$D" -name '*.part.*' -size +20M 2>/dev/null)" ] || t_fail "the large transfer never started"
t0=$EPOCHREALTIME
kill -TERM $pid
wait $pid
assert_eq 143 $? "SIGTERM during a download: exit 143"
echo "stop during the download: exited $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }') ms after the signal"
assert_contains "$(tail -1 "$T/err1")" "pipeline: stopped by SIGTERM" "the last line says why"
assert_eq "failed|30|stopped by SIGTERM" "$(t_psql "SELECT state || '|' || error_code || '|' || error FROM stage_run
	ORDER BY run_id DESC LIMIT 1")" "stage_run: fetch stopped"
grep -q 'connection problem; retrying' "$T/err1" && t_fail "a stop is not a connection problem to retry"
[ -e "$final" ] && t_fail "no file under the final name"
assert_eq "" "$(inbox_files $D | grep -F "$(basename "$big")")" "no partial download left in the inbox"
assert_eq 0 "$(t_psql "SELECT count(*) FROM fetched_file WHERE source = 'bank_client'")" "nothing recorded for the stopped file"
assert_exit 0 t_pipeline fetch --date $D
assert_eq "$bigsha" "$(sha256sum "$final" | cut -d' ' -f1)" "the rerun fetches the file whole"
assert_eq 4 "$(inbox_files $D | wc -l)" "four files, nothing else"

# --- 2. SIGTERM while fetch waits (missing_retries, 30 s backoff) for a statement not there yet
conf_set source.bank_client missing_retries 3
conf_set source.bank_client missing_backoff_ms 30000
D2=2026-11-26
"$PIPELINE" --config "$T/pipeline.conf" fetch --date $D2 > "$T/out2" 2> "$T/err2" &
pid=$!
t_until 120 grep -q 'expected file not there yet; looking again' "$T/err2"
grep -q 'expected file not there yet; looking again' "$T/err2" || t_fail "fetch never waited for the missing file"
kill -TERM $pid
# the 30 s wait is cut short: the run ends long before it (a bound, not a measurement)
for _ in $(seq 200); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
kill -0 $pid 2>/dev/null && t_fail "fetch still waits 10 s after SIGTERM (the backoff sleep was not interrupted)"
wait $pid
assert_eq 143 $? "SIGTERM during the missing-file wait: exit 143"
assert_eq "failed|stopped by SIGTERM" "$(t_psql "SELECT state || '|' || error FROM stage_run ORDER BY run_id DESC LIMIT 1")" \
	"stage_run: the waiting fetch stopped"

# --- 3. SIGTERM while the SSH handshake waits for a server that accepts TCP and never answers
# (io_timeout 30 s, 3 retries): the interrupted wait is the stop, not a timeout to retry.
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
held = []
while True:
    c, _ = s.accept(); held.append(c); print("accepted", flush=True)
' > "$T/blackhole.out" &
BLACKHOLE_PID=$!
t_wait_file "$T/blackhole.out" $BLACKHOLE_PID
sed -i "s|^port = .*|port = $(head -1 "$T/blackhole.out")|; s|^io_timeout = .*|io_timeout = 30|; s|^retries = .*|retries = 3|" "$T/pipeline.conf"
"$PIPELINE" --config "$T/pipeline.conf" fetch --date 2026-11-27 > "$T/out3" 2> "$T/err3" &
pid=$!
t_until 120 grep -q accepted "$T/blackhole.out"
grep -q accepted "$T/blackhole.out" || t_fail "fetch never connected to the silent server"
sleep 0.2                      # inside libssh2's wait for the server's banner
kill -TERM $pid
for _ in $(seq 200); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
kill -0 $pid 2>/dev/null && t_fail "fetch still waits for the silent server 10 s after SIGTERM"
wait $pid
assert_eq 143 $? "SIGTERM during the handshake: exit 143"
grep -q 'connection problem; retrying' "$T/err3" && t_fail "the interrupted handshake was retried as a connection problem"
assert_eq "failed|30|stopped by SIGTERM" "$(t_psql "SELECT state || '|' || error_code || '|' || error FROM stage_run
	ORDER BY run_id DESC LIMIT 1")" "stage_run: the connecting fetch stopped"
t_done
