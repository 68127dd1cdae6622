#!/bin/bash
# Scenario 3, SFTP faults, on the whole nightly over a real OpenSSH server (scripts/sftp-server.sh
# via tests/integration/30_fetch_lib.inc): statements fetched and payment/issuance files delivered
# over SFTP. Faults: the server down when the nightly starts; the server killed while settle
# delivers; the server's host key changed before settle delivers; a full local disk while fetching
# (the inbox on a tmpfs too small for the statement) and while settle writes its outbox (a full
# tmpfs); a file-size limit (ulimit -f) on the process. Each: exit 1 with a clear error (or, for the
# file-size limit, the kernel's SIGXFSZ), no partial file under a final name, and a clean rerun
# giving the uninterrupted run's results. The server killed, stalled in the middle of a 250 MB
# download and the client killed mid-download are tests/integration/30_fetch_interrupt.sh, run
# here too unless SHORT=1 (it runs in `make integration` anyway).
source "$(dirname "$0")/../lib.sh"
source "$REPO/tests/integration/30_fetch_lib.inc"
source "$(dirname "$0")/lib.sh"
DATE=2026-11-23
LINES=$([ "$SHORT" = 1 ] && echo 2000 || echo 5000)
MOUNTS=()
cleanup() {
	local m
	for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null; done
	release_lock 2>/dev/null
	sftp_teardown
}
rel_after_init() {
	sftp_setup
	trap cleanup EXIT
	REL_REMOTE=$SFTP_ROOT
}
echo "scenario 3: world $LINES lines over SFTP"
rel_setup rel_sftp "$LINES" $DATE
PAY=$SFTP_ROOT/bank/payments-in

# then_rerun WHAT: after the fault is gone, the nightly completes with the reference results.
then_rerun() {
	rel_check_invariants
	rel_complete $DATE "$T/rerun.log" || return
	rel_check_invariants final
	rel_check_files
	rel_compare "$1" "$T/snapshot.ref"
}
restart_server() { "$REPO/scripts/sftp-server.sh" start "$SFTP_PORT" "$T/sftp" >/dev/null || rel_violation "sshd restart failed"; }
# block_in_settle: the nightly started in the background ($RUN_PID), held inside settle (lock).
block_in_settle() {
	hold_lock allocation || return 1
	"$PIPELINE" --config "$T/pipeline.conf" -q run --date $DATE >"$T/fault.log" 2>&1 &
	RUN_PID=$!
	wait_blocked settle && return 0
	rel_violation "the run never blocked in settle"
	release_lock; kill -9 $RUN_PID 2>/dev/null; wait $RUN_PID 2>/dev/null
	return 1
}
no_upload() {
	[ -z "$(ls -A "$PAY" "$SFTP_ROOT/trustee/issuance-in" 2>/dev/null | grep -v ':$' | grep .)" ] ||
		rel_violation "$1: something was uploaded: $(ls -A "$PAY" "$SFTP_ROOT/trustee/issuance-in")"
}

# --- A. the server is down when the nightly starts
rel_reset "$W/statements/$DATE"
"$REPO/scripts/sftp-server.sh" crash "$SFTP_PORT"
"$PIPELINE" --config "$T/pipeline.conf" -q run --date $DATE >"$T/fault.log" 2>&1 &
REL_FAULTS=$((REL_FAULTS + 1))
expect_fail "server down at the start" $! "sftp://dabs@127.0.0.1:$SFTP_PORT/.*(connect|refused)"
assert_eq 0 "$(rel_psql -c "SELECT count(*) FROM fetched_file")" "server down: nothing recorded"
assert_eq "" "$(find "$T/data/inbox" -type f 2>/dev/null)" "server down: nothing in the inbox"
restart_server
then_rerun "server down at the start"

# --- B. the server is killed while settle is about to deliver
rel_reset "$W/statements/$DATE"
if block_in_settle; then
	"$REPO/scripts/sftp-server.sh" crash "$SFTP_PORT"
	REL_FAULTS=$((REL_FAULTS + 1))
	release_lock
	expect_fail "server killed during settle" $RUN_PID "sftp://dabs@127.0.0.1:$SFTP_PORT/(bank|trustee)"
	no_upload "server killed during settle"
	restart_server
	then_rerun "server killed during settle"
fi

# --- C. the server's host key changes before settle delivers: nothing is sent
rel_reset "$W/statements/$DATE"
if block_in_settle; then
	cp "$T/known_hosts" "$T/known_hosts.good"
	rm -f "$T/otherkey" "$T/otherkey.pub"
	ssh-keygen -q -t ed25519 -N '' -f "$T/otherkey" >/dev/null
	echo "[127.0.0.1]:$SFTP_PORT $(cut -d' ' -f1,2 "$T/otherkey.pub")" >"$T/known_hosts"
	REL_FAULTS=$((REL_FAULTS + 1))
	release_lock
	expect_fail "host key changed before delivery" $RUN_PID "host key mismatch: .* nothing was sent"
	no_upload "host key changed"
	cp "$T/known_hosts.good" "$T/known_hosts"
	then_rerun "host key changed"
fi

# --- D. a full local disk while fetching: the inbox is a 64 KiB tmpfs, the statement is larger
rel_reset "$W/statements/$DATE"
mkdir -p "$T/data/inbox"
if mount -t tmpfs -o size=64k tmpfs "$T/data/inbox" 2>/dev/null; then
	MOUNTS+=("$T/data/inbox")
	"$PIPELINE" --config "$T/pipeline.conf" -q run --date $DATE >"$T/fault.log" 2>&1 &
	REL_FAULTS=$((REL_FAULTS + 1))
	expect_fail "full disk while fetching" $! "No space left on device"
	rel_check_files
	assert_eq "" "$(find "$T/data/inbox" -name '.*.part.*')" "full disk: the temporary file is removed"
	assert_eq "$(find "$T/data/inbox" -type f | wc -l)" "$(rel_psql -c "SELECT count(*) FROM fetched_file")" \
		"full disk: every file in the inbox is recorded, and only those"
	mount -o remount,size=64m "$T/data/inbox"       # space freed: the rerun fetches the rest
	then_rerun "full disk while fetching"
	umount "$T/data/inbox" && MOUNTS=()
else
	REL_NOTES="$REL_NOTES tmpfs unavailable: full-disk cases skipped;"
fi

# --- E. a full local disk while settle writes its outbox
rel_reset "$W/statements/$DATE"
mkdir -p "$T/data/outbox"
if mount -t tmpfs -o size=64k tmpfs "$T/data/outbox" 2>/dev/null; then
	MOUNTS+=("$T/data/outbox")
	dd if=/dev/zero of="$T/data/outbox/filler" bs=4k 2>/dev/null
	"$PIPELINE" --config "$T/pipeline.conf" -q run --date $DATE >"$T/fault.log" 2>&1 &
	REL_FAULTS=$((REL_FAULTS + 1))
	expect_fail "full disk while writing the outbox" $! "No space left on device"
	no_upload "full outbox disk"
	assert_eq "" "$(find "$T/data/outbox" -type f ! -name filler)" "full outbox disk: no file (partial or temporary) left"
	rm -f "$T/data/outbox/filler"
	then_rerun "full disk while writing the outbox"
	umount "$T/data/outbox" && MOUNTS=()
fi

# --- F. a file-size limit on the process (ulimit -f 64 KiB): SIGXFSZ or EFBIG, never a short file
rel_reset "$W/statements/$DATE"
(ulimit -f 64; "$PIPELINE" --config "$T/pipeline.conf" -q run --date $DATE >"$T/fault.log" 2>&1; exit $?) 2>/dev/null
rc=$?
REL_RUNS=$((REL_RUNS + 1))
REL_FAULTS=$((REL_FAULTS + 1))
echo "  file-size limit: exit $rc $(grep '^pipeline: ' "$T/fault.log" | tail -1 | cut -c1-160)"
case $rc in 1|153) ;; *) rel_violation "file-size limit: exit $rc, expected 1 (EFBIG) or 153 (SIGXFSZ)" ;; esac
rel_check_files
then_rerun "file-size limit"

# --- G. mid-transfer faults (server killed, server stalled, client killed) on a 250 MB download
if [ "$SHORT" != 1 ]; then
	if bash "$REPO/tests/integration/30_fetch_interrupt.sh" >"$T/interrupt.log" 2>&1; then
		echo "  30_fetch_interrupt.sh: ok (server killed, stalled and client killed mid-transfer)"
	else
		rel_violation "tests/integration/30_fetch_interrupt.sh failed: $(grep FAIL "$T/interrupt.log" | head -3 | tr '\n' ' ')"
	fi
	REL_RUNS=$((REL_RUNS + 6))
	REL_FAULTS=$((REL_FAULTS + 3))
	REL_NOTES="$REL_NOTES + 30_fetch_interrupt.sh;"
fi

# then_rerun_elsewhere WHAT: then_rerun, for a fault made by pointing [outbound.payments] at another
# server: the payment file's recorded destination (fixed when it was filed) names that server's
# port, the one thing that differs from the uninterrupted run, so the port is masked there.
then_rerun_elsewhere() {
	rel_check_invariants
	rel_complete $DATE "$T/rerun.log" || return
	rel_check_invariants final
	rel_check_files
	sed -E 's#(sftp://dabs@127\.0\.0\.1:)[0-9]+/bank/payments-in#\1PORT/bank/payments-in#' "$T/snapshot.ref" > "$T/snapshot.ref.masked"
	local cur=$T/snapshot.cur
	{ rel_snapshot; rel_files; } | sed -E 's#(sftp://dabs@127\.0\.0\.1:)[0-9]+/bank/payments-in#\1PORT/bank/payments-in#' > "$cur"
	cmp -s "$T/snapshot.ref.masked" "$cur" ||
		rel_violation "$1: differs from the uninterrupted run: $(diff "$T/snapshot.ref.masked" "$cur" | head -8 | tr '\n' ' ' | cut -c1-600)"
}

# --- H. the bank's server down while the trustee's is up (delivery versus payment, issue 16): the
# payments go to a port nobody listens on; the issuance must not go either; the rerun sends both.
payments_port() { awk -v p="$1" '/^\[/ { sec = $0 } sec == "[outbound.payments]" && /^port *=/ { print "port = " p; next } { print }' \
	"$T/pipeline.conf" > "$T/pipeline.conf.tmp" && mv "$T/pipeline.conf.tmp" "$T/pipeline.conf"; }
dead_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rel_reset "$W/statements/$DATE"
payments_port "$(dead_port)"
"$PIPELINE" --config "$T/pipeline.conf" -q run --date $DATE >"$T/fault.log" 2>&1 &
REL_FAULTS=$((REL_FAULTS + 1))
expect_fail "bank down, trustee up" $! "uploading pain001-.*cannot connect"
no_upload "bank down, trustee up"
payments_port "$SFTP_PORT"
then_rerun_elsewhere "bank down, trustee up"

# --- I. hostile SFTP servers for the payments (tests/integration/hostile_sftp_upload.py, paramiko): one
# keeps half of each write, one reports a rename it did not do, one changes the file after upload.
# Nothing recorded as uploaded, nothing under a final name, no issuance; the rerun on the real
# server delivers both.
HOSTILE_PIDS=""
trap 'cleanup; for p in $HOSTILE_PIDS; do kill $p 2>/dev/null; done' EXIT
for mode in halfwrite lierename changeafter; do
	hroot=$T/hostile-$mode
	mkdir -p "$hroot/bank/payments-in"
	rm -f "$T/hostile-$mode.port"
	/usr/bin/python3 "$REPO/tests/integration/hostile_sftp_upload.py" --mode $mode --root "$hroot" \
		--host-key "$FX_SSH/ssh_host_ed25519_key" --authorized "$FX_SSH/client_ed25519.pub" \
		--port-file "$T/hostile-$mode.port" 2>"$T/hostile-$mode.log" &
	hpid=$!
	HOSTILE_PIDS="$HOSTILE_PIDS $hpid"
	until [ -s "$T/hostile-$mode.port" ]; do       # readiness: the port file appears once it listens
		kill -0 $hpid 2>/dev/null || { rel_violation "hostile server $mode died: $(cat "$T/hostile-$mode.log")"; break; }
		read -r -t 0.05 <> <(:) || true
	done
	hport=$(cat "$T/hostile-$mode.port")
	echo "[127.0.0.1]:$hport $(cut -d' ' -f1,2 "$FX_SSH/ssh_host_ed25519_key.pub")" >> "$T/known_hosts"
	rel_reset "$W/statements/$DATE"
	payments_port "$hport"
	"$PIPELINE" --config "$T/pipeline.conf" -q run --date $DATE >"$T/fault.log" 2>&1 &
	REL_FAULTS=$((REL_FAULTS + 1))
	expect_fail "hostile server: $mode" $! "uploading pain001-.*(short write|is not there|changed)"
	[ -z "$(ls -A "$hroot/bank/payments-in")" ] || rel_violation "$mode: left on the hostile server: $(ls -A "$hroot/bank/payments-in")"
	no_upload "hostile server: $mode"
	assert_eq 0 "$(rel_psql -c "SELECT count(*) FROM outbound_file WHERE uploaded_at IS NOT NULL")" "$mode: nothing recorded as uploaded"
	rel_check_invariants
	payments_port "$SFTP_PORT"
	then_rerun_elsewhere "hostile server: $mode"
	kill $hpid 2>/dev/null
done

REL_NOTES="server down, killed and host key changed before delivery, full disk (inbox, outbox), ulimit -f, bank down with the trustee up, hostile servers (half writes, a lying rename, a changed file);$REL_NOTES"
rel_result "3 SFTP faults"
