#!/bin/bash
# Verified uploads against real hostile SFTP servers (issue 16; tests/integration/hostile_sftp_upload.py,
# paramiko): one keeps half of each write, one reports a rename it did not do, one changes the file
# after the upload. Each time: the upload is detected as not verified, recorded (outbound_attempt)
# and retried, never recorded as uploaded; nothing is left under the final name (nor a temporary);
# the issuance waits (delivery versus payment). Then recovery on a good server (OpenSSH sshd): the
# same bytes delivered, then the issuance.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/60_settle_lib.inc"
source "$(dirname "$0")/30_fetch_lib.inc"
HOSTILE_PIDS=""
stop_hostile() {
	local p
	for p in $HOSTILE_PIDS; do kill "$p" 2>/dev/null; done
	sftp_teardown
}
trap stop_hostile EXIT

# hostile_start MODE: starts the server on a free port ($HPORT), its root $HROOT, when it listens
hostile_start() {
	HROOT=$T/hostile-$1
	mkdir -p "$HROOT/bank/payments-in"
	rm -f "$T/hostile-$1.port"
	/usr/bin/python3 "$REPO/tests/integration/hostile_sftp_upload.py" --mode "$1" --root "$HROOT" \
		--host-key "$FX_SSH/ssh_host_ed25519_key" --authorized "$FX_SSH/client_ed25519.pub" \
		--port-file "$T/hostile-$1.port" 2>"$T/hostile-$1.log" &
	local pid=$!
	HOSTILE_PIDS="$HOSTILE_PIDS $pid"
	until [ -s "$T/hostile-$1.port" ]; do      # readiness: the port file appears once it listens
		kill -0 $pid 2>/dev/null || { cat "$T/hostile-$1.log" >&2; t_fail "hostile server $1 died"; exit 1; }
		read -r -t 0.05 <> <(:) || true
	done
	HPORT=$(cat "$T/hostile-$1.port")
	echo "[127.0.0.1]:$HPORT $(cut -d' ' -f1,2 "$FX_SSH/ssh_host_ed25519_key.pub")" >> "$T/known_hosts"
}

# payments_to PORT: [outbound.payments] over sftp to 127.0.0.1:PORT, one retry
payments_to() {
	conf_set outbound.payments transport sftp
	conf_set outbound.payments port "$1"
	conf_set outbound.payments known_hosts "$T/known_hosts"
	conf_set outbound.payments remote_dir /bank/payments-in
	conf_set outbound.payments retries 1
	conf_set outbound.payments retry_backoff_ms 100
	conf_set outbound.payments connect_timeout 5
	conf_set outbound.payments io_timeout 10
}

# hostile MODE REGEX: a settle run against that server, and what must (not) have happened
hostile() {
	local mode=$1 re=$2
	t_init "settle_hostile_$mode"
	chmod 600 "$FX_SSH/client_ed25519"
	: > "$T/known_hosts"
	t_pipeline -q ledger import "$REPO/fixtures/settle/ledger" >/dev/null || t_fail "import"
	hostile_start "$mode"
	payments_to "$HPORT"
	assert_exit 1 t_pipeline settle --date 2026-11-23
	echo "$T_ERR" | grep -Eq "uploading pain001-20261123-01.xml: .*$re" || t_fail "$mode: not detected as [$re]: $T_ERR"
	assert_eq "f" "$(t_psql "SELECT uploaded_at IS NOT NULL FROM outbound_file WHERE kind = 'PAIN001'")" "$mode: not recorded as uploaded"
	assert_eq "FILED" "$(t_psql "SELECT string_agg(DISTINCT status, ',') FROM transfer")" "$mode: transfers not UPLOADED"
	assert_eq "2|0" "$(t_psql "SELECT count(*) || '|' || count(*) FILTER (WHERE verified) FROM outbound_attempt")" \
		"$mode: the attempt and its retry recorded, neither verified"
	assert_eq "" "$(ls -A "$HROOT/bank/payments-in")" "$mode: nothing left under the final name, no temporary"
	assert_eq "" "$(ls -A "$(ISS_DIR)")" "$mode: no issuance delivered"
	# recovery: the bank's real server
	if [ -z "${SFTP_PORT:-}" ]; then
		SFTP_PORT=$(SFTP_OWNER_PID=$$ "$REPO/scripts/sftp-server.sh" start auto "$REPO/var/test/settle_hostile_good") ||
			{ t_fail "cannot start sshd"; exit 1; }
	fi
	SFTP_ROOT=$REPO/var/test/settle_hostile_good
	rm -f "$SFTP_ROOT/bank/payments-in/"*
	echo "[127.0.0.1]:$SFTP_PORT $(cut -d' ' -f1,2 "$FX_SSH/ssh_host_ed25519_key.pub")" >> "$T/known_hosts"
	payments_to "$SFTP_PORT"
	assert_exit 0 t_pipeline -q settle --date 2026-11-23 --force
	cmp -s "$SFTP_ROOT/bank/payments-in/pain001-20261123-01.xml" "$T/data/outbox/2026-11-23/pain001-20261123-01.xml" ||
		t_fail "$mode: the recovered delivery differs from the outbox copy"
	assert_eq "issuance-20261123-01.csv" "$(ls -A "$(ISS_DIR)")" "$mode: then the issuance"
	assert_eq "UPLOADED" "$(t_psql "SELECT string_agg(DISTINCT status, ',') FROM transfer")" "$mode: uploaded on the good server"
}

hostile halfwrite "the temporary upload reads back as [0-9]+ bytes .*a short write"
hostile lierename "the file after its rename is not there \(the server reported success\)"
hostile changeafter "the file after its rename reads back as .*changed\); removed it from the final name"
t_done
