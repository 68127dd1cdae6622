#!/bin/bash
# Interrupted transfers: the server dies in the middle of a large download (no partial file under
# its final name, no row, a clean retry once it is back); the server stops answering in the middle
# of one (an I/O timeout, not a hang, then a reconnect that completes it); the pipeline itself is
# killed in the middle of one (the temporary file is cleaned up by the next run, which fetches the
# file whole).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/30_fetch_lib.inc"
t_init fetch_interrupt
sftp_setup
deliver_all 20261125
big=$(remote_path bank_client 20261125)
head -c 250000000 /dev/urandom > "$big"
bigsha=$(sha256sum "$big" | cut -d' ' -f1)
final=$T/data/inbox/2026-11-25/bank_client/$(basename "$big")

# wait_part: waits until a temporary download of more than 20 MB exists in the inbox
part_started() { [ -n "$(find "$T/data/inbox/$1" -name '*.part.*' -size +20M 2>/dev/null)" ]; }
wait_part() { t_until 120 part_started 2026-11-25; }

# --- 1. the server dies mid-transfer
t_pipeline fetch --date 2026-11-25 > "$T/out1" 2> "$T/err1" &
pid=$!
wait_part || t_fail "the large transfer never started"
"$REPO/scripts/sftp-server.sh" crash "$SFTP_PORT"
wait "$pid"
rc=$?
assert_eq 1 "$rc" "a dead server fails the stage"
assert_contains "$(cat "$T/err1")" "pipeline: sftp://dabs@127.0.0.1:$SFTP_PORT/bank/client" "connection error named"
assert_contains "$(cat "$T/err1")" 'msg="connection problem; retrying" source=bank_client attempt=1' "it retried first"
[ -e "$final" ] && t_fail "a partial file under the final name"
assert_eq "" "$(inbox_files 2026-11-25)" "no temporary file left behind"
assert_eq 0 "$(t_psql "SELECT count(*) FROM fetched_file")" "nothing recorded"

# the server comes back: a clean retry fetches the whole file
"$REPO/scripts/sftp-server.sh" start "$SFTP_PORT" "$T/sftp" > /dev/null || t_fail "restart sshd"
assert_exit 0 t_pipeline fetch --date 2026-11-25
assert_eq "$bigsha" "$(sha256sum "$final" | cut -d' ' -f1)" "complete file after the retry"
assert_eq "$bigsha|250000000" "$(t_psql "SELECT sha256, size_bytes FROM fetched_file WHERE source = 'bank_client'")" "recorded whole"
assert_eq 4 "$(inbox_files 2026-11-25 | wc -l)" "four files, nothing else"

# --- 2. the server stops answering mid-transfer: timeout after io_timeout, reconnect, complete
deliver_all 20261127
big3=$(remote_path bank_client 20261127)
head -c 250000000 /dev/urandom > "$big3"
big3sha=$(sha256sum "$big3" | cut -d' ' -f1)
final3=$T/data/inbox/2026-11-27/bank_client/$(basename "$big3")
sed -i "s|^io_timeout = .*|io_timeout = 2|" "$T/pipeline.conf"
start=$(date +%s)
t_pipeline fetch --date 2026-11-27 > "$T/out3" 2> "$T/err3" &
pid=$!
t_until 120 part_started 2026-11-27
stalled=$("$REPO/scripts/sftp-server.sh" stall "$SFTP_PORT")
[ -n "$stalled" ] || t_fail "no session to stall"
wait "$pid"
rc=$?
took=$(( $(date +%s) - start ))
for p in $stalled; do kill -9 "$p" 2>/dev/null; done
assert_eq 0 "$rc" "stalled server: the reconnect completes the fetch"
assert_contains "$(cat "$T/err3")" 'msg="connection problem; retrying" source=bank_client attempt=1 error="sftp://dabs@127.0.0.1:'"$SFTP_PORT"'/bank/client: reading /bank/client/stmt_0123456789_20261127.sta: no answer within 2 s (io_timeout)' "the stall is a timeout"
assert_eq "$big3sha" "$(sha256sum "$final3" | cut -d' ' -f1)" "stalled: complete file"
assert_eq 4 "$(inbox_files 2026-11-27 | wc -l)" "stalled: no temporary file left"
[ "$took" -le 60 ] || t_fail "stalled: took $took s"
sed -i "s|^io_timeout = .*|io_timeout = 5|" "$T/pipeline.conf"

# --- 3. the pipeline is killed mid-transfer (next day, same big file under its new name)
deliver_all 20261126
big2=$(remote_path bank_client 20261126)
head -c 250000000 /dev/urandom > "$big2"
big2sha=$(sha256sum "$big2" | cut -d' ' -f1)
final2=$T/data/inbox/2026-11-26/bank_client/$(basename "$big2")
"$PIPELINE" --config "$T/pipeline.conf" fetch --date 2026-11-26 > "$T/out2" 2> "$T/err2" &
pid=$!
t_until 120 part_started 2026-11-26
kill -9 "$pid"
wait "$pid" 2>/dev/null
[ -e "$final2" ] && t_fail "killed: a partial file under the final name"
assert_eq 0 "$(t_psql "SELECT count(*) FROM fetched_file WHERE business_date = '2026-11-26' AND source = 'bank_client'")" "killed: nothing recorded"
assert_exit 0 t_pipeline fetch --date 2026-11-26
assert_contains "$T_ERR" 'msg="removed a temporary file left by an interrupted run"' "the leftover is cleaned"
assert_eq "$big2sha" "$(sha256sum "$final2" | cut -d' ' -f1)" "killed: complete file on the next run"
assert_eq "" "$(find "$T/data/inbox/2026-11-26" -name '.*')" "killed: no temporary file left"
assert_contains "$(t_psql "SELECT state || ':' || coalesce(error, '') FROM stage_run WHERE business_date = '2026-11-26' ORDER BY run_id LIMIT 1")" \
	"failed:the process (pid" "the killed run is marked failed"

t_done
