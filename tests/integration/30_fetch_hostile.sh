#!/bin/bash
# The fetch stage against deliberately broken SFTP servers (tests/integration/hostile_sftp.py,
# real servers written with python3-paramiko) and the real sshd: a download is taken only when it
# is exactly the size the server announced; short answers (1 byte, up to a line end) are continued
# at the right offset and give the whole file; a file that grows while read is looked at again and
# then fails the source (42); more data than announced (43); a listing that never ends and a
# transfer that drips are cut off by their limits (44); a zero-length name is skipped with a
# warning; a 240-byte name is fetched (also as a conflicting second version). Never a partial file
# under an inbox name, never a partial file recorded.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/30_fetch_lib.inc"
t_init fetch_hostile
chmod 600 "$FX_SSH/client_ed25519"
D=2026-11-25
ROOT=$T/hs
mkdir -p "$ROOT"
cp -R "$REPO/fixtures/statements/$D/." "$ROOT/"
rm -f "$ROOT"/bank/status/*   # the day's four statement files; the bank's pain.002 (an optional source) is not served here
cp "$T/pipeline.conf" "$T/base.conf"

# use MODE [KEY=VALUE...]: a fresh database state, the hostile server in MODE, the config pointed
# at it with the given [source.*] keys set for every source.
use() {
	local mode=$1 kv s
	shift
	hostile_stop
	t_psql "SET client_min_messages = warning; TRUNCATE fetched_file, exception, stage_run CASCADE" >/dev/null
	rm -rf "$T/data/inbox"
	hostile_start "$mode" "$ROOT"
	cp "$T/base.conf" "$T/pipeline.conf"
	sftp_point "$HOSTILE_PORT"
	for kv in "$@"; do
		for s in $SOURCES; do conf_set "source.$s" "${kv%%=*}" "${kv#*=}"; done
	done
}

# every file of the day arrived whole: recorded size and SHA-256 equal the originals, inbox copies identical
all_whole() {
	local f rel
	assert_eq 4 "$(t_psql "SELECT count(*) FROM fetched_file")" "$1: four files recorded"
	for f in $(cd "$ROOT" && find . -type f | sort); do
		rel=${f#./}
		assert_eq "$(stat -c %s "$ROOT/$rel")|$(sha256sum < "$ROOT/$rel" | cut -d' ' -f1)" \
			"$(t_psql "SELECT size_bytes || '|' || sha256 FROM fetched_file WHERE remote_name = '$(basename "$rel")'")" \
			"$1: $rel recorded with its true size and SHA-256"
		cmp -s "$ROOT/$rel" "$(t_psql "SELECT local_path FROM fetched_file WHERE remote_name = '$(basename "$rel")'")" \
			|| t_fail "$1: inbox copy of $rel differs from the server's file"
	done
}

# nothing of SOURCE was taken: no row, no file under a final name in its inbox
nothing_taken() {
	assert_eq 0 "$(t_psql "SELECT count(*) FROM fetched_file WHERE source = '$1'")" "$2: no $1 row"
	assert_eq "" "$(cd "$T/data/inbox/$D/$1" 2>/dev/null && find . -type f)" "$2: nothing in the $1 inbox"
}

# --- an honest paramiko server: the baseline
use honest
assert_exit 0 t_pipeline fetch --date $D
all_whole honest

# --- every READ answered with 1 byte: the whole file, not 1 byte of it
use onebyte
assert_exit 0 t_pipeline fetch --date $D
all_whole onebyte
assert_contains "$T_ERR" 'msg="short read from the server; continuing one request at a time"' "onebyte: short read noticed"

# --- answers that stop at a line end: the whole trustee register, not its first lines
use lines
assert_exit 0 t_pipeline fetch --date $D
all_whole lines

# --- a zero-length name in the listing: skipped with a warning, the real files still fetched
use emptyname
assert_exit 0 t_pipeline fetch --date $D
all_whole emptyname
assert_contains "$T_ERR" 'msg="remote name refused" source=bank_client file="" reason="is empty"' "empty name warned"

# --- a file that grows while read: not taken, looked at again, then the source fails (42)
use grow changed_retries=2 missing_backoff_ms=50
assert_exit 1 t_pipeline fetch --date $D
assert_contains "$T_ERR" "changed" "grow: message"
assert_contains "$T_ERR" "still changing after 2 look(s) again: changed_retries" "grow: retried, then an error"
assert_contains "$T_ERR" 'msg="file changed while it was read; not taken, looking again later" source=bank_client' "grow: warned"
assert_eq "failed|42" "$(t_psql "SELECT state, error_code FROM stage_run ORDER BY run_id DESC LIMIT 1")" "grow: recorded 42"
for s in $SOURCES; do nothing_taken "$s" grow; done

# --- more data than announced: an error (43), nothing taken
use overrun
assert_exit 1 t_pipeline fetch --date $D
assert_contains "$T_ERR" "the server sent more than the 4753 bytes it announced; not taken" "overrun: message"
assert_eq "failed|43" "$(t_psql "SELECT state, error_code FROM stage_run ORDER BY run_id DESC LIMIT 1")" "overrun: recorded 43"
for s in $SOURCES; do nothing_taken "$s" overrun; done

# --- a listing that never ends: cut off by entries, by bytes of names, by time (44), in bounded time
use endless list_max_entries=2000
start=$(date +%s)
assert_exit 1 timeout 120 "$PIPELINE" --config "$T/pipeline.conf" fetch --date $D
assert_contains "$T_ERR" "listing /bank/client: more than 2000 entries (list_max_entries)" "endless: entries"
assert_eq "failed|44" "$(t_psql "SELECT state, error_code FROM stage_run ORDER BY run_id DESC LIMIT 1")" "endless: recorded 44"
use endless list_max_bytes=20000
assert_exit 1 timeout 120 "$PIPELINE" --config "$T/pipeline.conf" fetch --date $D
assert_contains "$T_ERR" "listing /bank/client: more than 20000 bytes of names (list_max_bytes)" "endless: bytes"
use endless list_timeout=2 list_max_entries=100000000 list_max_bytes=4294967296
assert_exit 1 timeout 120 "$PIPELINE" --config "$T/pipeline.conf" fetch --date $D
assert_contains "$T_ERR" "listing /bank/client: not finished within 2 s (list_timeout)" "endless: time"
took=$(( $(date +%s) - start ))
[ "$took" -le 100 ] || t_fail "endless listings took $took s"
for s in $SOURCES; do nothing_taken "$s" endless; done

# --- a server that drips 1 byte every 0.2 s: cut off by file_timeout (44), the partial file nowhere
use drip file_timeout=1
assert_exit 1 timeout 120 "$PIPELINE" --config "$T/pipeline.conf" fetch --date $D
assert_contains "$T_ERR" "not received within 1 s (file_timeout;" "drip: message"
assert_eq "failed|44" "$(t_psql "SELECT state, error_code FROM stage_run ORDER BY run_id DESC LIMIT 1")" "drip: recorded 44"
for s in $SOURCES; do nothing_taken "$s" drip; done
hostile_stop

# --- the real sshd: a 240-byte name is fetched, and a second version of it kept beside it
cp "$T/base.conf" "$T/pipeline.conf"
sftp_setup
deliver_all 20261125
long=stmt_0123456789_20261125_$(printf 'a%.0s' $(seq 211)).sta
[ ${#long} -eq 240 ] || t_fail "test setup: the long name is ${#long} bytes"
conf_set source.bank_client pattern '^stmt_0123456789_%Y%m%d(_[a-z]+)?\.sta$'
conf_set source.bank_client expected_count 2
echo "first version" > "$SFTP_ROOT/bank/client/$long"
assert_exit 0 t_pipeline fetch --date $D
assert_eq "NEW|first version" "$(t_psql "SELECT status FROM fetched_file WHERE remote_name = '$long'")|$(cat "$T/data/inbox/$D/bank_client/$long")" "240-byte name fetched"
echo "second version" > "$SFTP_ROOT/bank/client/$long"
assert_exit 0 t_pipeline fetch --date $D --force
conflict=$(t_psql "SELECT local_path FROM fetched_file WHERE remote_name = '$long' AND status = 'CONFLICT'")
assert_eq "second version" "$(cat "$conflict" 2>/dev/null)" "240-byte name: the second version kept beside the first"
[ ${#conflict} -gt 0 ] && [ "$(basename "$conflict" | wc -c)" -le 256 ] || t_fail "conflict name too long: $conflict"

t_done
