#!/bin/bash
# The fetch stage refuses to talk to a server it cannot trust, before authenticating: host key
# mismatch and unknown host (exact messages with both SHA256 fingerprints, nothing downloaded,
# no authentication attempt in the server's log); a refused user key; a private key readable by
# others; a passphrase variable that is not set; a server that accepts TCP and never answers
# (a timeout, not a hang); nothing listening (connection refused), each exit 1 or 2.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/30_fetch_lib.inc"
t_init fetch_hostkey
sftp_setup
deliver_all 20261125

SERVER_FP=SHA256:zEAVjdIpZmtTb56eqGe9wArs2x1XrXY6SpuC7gUk3Vk   # ssh-keygen -lf fixtures/ssh/ssh_host_ed25519_key.pub
OTHER_FP=SHA256:SV9vVf3YUxRVMwyi/T9GOVICH+jBazE861wcx+hEuks    # ssh-keygen -lf fixtures/ssh/other_host_ed25519.pub
good_kh=$T/known_hosts

nothing_fetched() {
	assert_eq 0 "$(t_psql "SELECT count(*) FROM fetched_file")" "$1: no row"
	assert_eq "" "$(inbox_files 2026-11-25)" "$1: no file in the inbox"
}

# --- host key mismatch: the known_hosts entry for [127.0.0.1]:PORT holds another key
echo "[127.0.0.1]:$SFTP_PORT $(cut -d' ' -f1,2 "$FX_SSH/other_host_ed25519.pub")" > "$T/kh_mismatch"
sed -i "s|^known_hosts = .*|known_hosts = $T/kh_mismatch|" "$T/pipeline.conf"
before=$(sshd_auth_attempts)
assert_exit 1 t_pipeline fetch --date 2026-11-25
assert_contains "$T_ERR" "pipeline: 127.0.0.1:$SFTP_PORT: host key mismatch: $T/kh_mismatch expects ssh-ed25519 $OTHER_FP, the server presented ssh-ed25519 $SERVER_FP; nothing was sent." "mismatch message"
nothing_fetched mismatch
assert_eq "$before" "$(sshd_auth_attempts)" "mismatch: no authentication was attempted"
assert_eq "failed|14" "$(t_psql "SELECT state, error_code FROM stage_run ORDER BY run_id DESC LIMIT 1")" "mismatch recorded"

# --- a key of another type for the host: a mismatch too, naming what known_hosts has
echo "[127.0.0.1]:$SFTP_PORT $(cut -d' ' -f1,2 "$FX_SSH/client_ecdsa.pub")" > "$T/kh_type"
sed -i "s|^known_hosts = .*|known_hosts = $T/kh_type|" "$T/pipeline.conf"
assert_exit 1 t_pipeline fetch --date 2026-11-25
assert_contains "$T_ERR" "host key mismatch: $T/kh_type expects ecdsa-sha2-nistp256 SHA256:" "other key type"
assert_contains "$T_ERR" "the server presented ssh-ed25519 $SERVER_FP; nothing was sent" "other key type: presented"
nothing_fetched keytype

# --- unknown host: known_hosts knows the key, but for another port (OpenSSH keys entries by port)
echo "[127.0.0.1]:1 $(cut -d' ' -f1,2 "$FX_SSH/ssh_host_ed25519_key.pub")" > "$T/kh_unknown"
sed -i "s|^known_hosts = .*|known_hosts = $T/kh_unknown|" "$T/pipeline.conf"
before=$(sshd_auth_attempts)
assert_exit 1 t_pipeline fetch --date 2026-11-25
assert_contains "$T_ERR" "pipeline: 127.0.0.1:$SFTP_PORT: unknown host: $T/kh_unknown has no key for [127.0.0.1]:$SFTP_PORT, the server presented ssh-ed25519 $SERVER_FP; nothing was sent." "unknown host message"
nothing_fetched unknown
assert_eq "$before" "$(sshd_auth_attempts)" "unknown host: no authentication was attempted"
: > "$T/kh_empty"
sed -i "s|^known_hosts = .*|known_hosts = $T/kh_empty|" "$T/pipeline.conf"
assert_exit 1 t_pipeline fetch --date 2026-11-25
assert_contains "$T_ERR" "unknown host: $T/kh_empty has no key for [127.0.0.1]:$SFTP_PORT" "empty known_hosts"
sed -i "s|^known_hosts = .*|known_hosts = $good_kh|" "$T/pipeline.conf"

# --- wrong user key: the server refuses it
sed -i "s|^key_file = .*|key_file = $FX_SSH/wrong_client_ed25519|" "$T/pipeline.conf"
assert_exit 1 t_pipeline fetch --date 2026-11-25
assert_contains "$T_ERR" "pipeline: sftp://dabs@127.0.0.1:$SFTP_PORT/bank/client: the server refused key $FX_SSH/wrong_client_ed25519 for user dabs" "wrong key message"
nothing_fetched wrongkey
assert_eq "failed|15" "$(t_psql "SELECT state, error_code FROM stage_run ORDER BY run_id DESC LIMIT 1")" "auth failure recorded"

# --- a private key readable by others is refused before connecting (exit 2: configuration)
cp "$FX_SSH/client_ed25519" "$T/open_key" && chmod 644 "$T/open_key"
sed -i "s|^key_file = .*|key_file = $T/open_key|" "$T/pipeline.conf"
assert_exit 2 t_pipeline fetch --date 2026-11-25
assert_contains "$T_ERR" "key_file $T/open_key is accessible by group or others (mode 0644): chmod 600 it" "key mode"
nothing_fetched keymode

# --- the ECDSA key works as well (and a named but unset passphrase variable is a config error)
sed -i "s|^key_file = .*|key_file = $FX_SSH/client_ecdsa|" "$T/pipeline.conf"
conf_set source.bank_client key_passphrase_env DABS_TEST_NO_SUCH_VAR
assert_exit 2 t_pipeline fetch --date 2026-11-25
assert_contains "$T_ERR" "key_passphrase_env names DABS_TEST_NO_SUCH_VAR, which is not set" "unset passphrase variable"
sed -i '/^key_passphrase_env = DABS_TEST_NO_SUCH_VAR$/d' "$T/pipeline.conf"
assert_exit 0 t_pipeline fetch --date 2026-11-25
assert_eq 4 "$(t_psql "SELECT count(*) FROM fetched_file")" "ecdsa key fetched everything"

# --- a server that offers only weak algorithms: no connection; its log shows we never offered them
for weak in "Ciphers aes128-cbc,3des-cbc" "MACs hmac-sha1,hmac-md5" \
	"KexAlgorithms diffie-hellman-group1-sha1,diffie-hellman-group14-sha1"; do
	wport=$(SFTP_OWNER_PID=$$ SFTP_SSHD_OPTIONS=$weak "$REPO/scripts/sftp-server.sh" start auto "$T/sftp_weak") \
		|| { t_fail "cannot start the weak server ($weak)"; continue; }
	echo "[127.0.0.1]:$wport $(cut -d' ' -f1,2 "$FX_SSH/ssh_host_ed25519_key.pub")" > "$T/kh_weak"
	sed "s|^port = .*|port = $wport|; s|^known_hosts = .*|known_hosts = $T/kh_weak|" "$T/pipeline.conf" > "$T/weak.conf"
	assert_exit 1 "$PIPELINE" --config "$T/weak.conf" fetch --date 2026-11-25 --force
	assert_contains "$T_ERR" "pipeline: sftp://dabs@127.0.0.1:$wport/bank/client: SSH handshake: no algorithm in common" "weak server: $weak"
	"$REPO/scripts/sftp-server.sh" stop "$wport"
	offer=$(grep -E 'Unable to negotiate|no matching' "$REPO/var/sftp/sshd-$wport.log" | head -1)
	assert_contains "$offer" "Their offer:" "weak server log: $weak"
	case "$offer" in
	*cbc*|*3des*|*hmac-sha1,*|*hmac-sha1\ *|*hmac-md5*|*group1-sha1*|*group14-sha1*|*ssh-dss*|*arcfour*|*blowfish*)
		t_fail "the pipeline offered a weak algorithm: $offer" ;;
	esac
done
assert_eq 4 "$(t_psql "SELECT count(*) FROM fetched_file")" "weak servers: nothing more fetched"

# --- a server that accepts the connection and never says a word: a timeout, not a hang
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' > "$T/blackhole.port" &
BLACKHOLE_PID=$!
t_wait_file "$T/blackhole.port" $BLACKHOLE_PID
bh=$(cat "$T/blackhole.port")
sed -i "s|^port = .*|port = $bh|; s|^io_timeout = .*|io_timeout = 2|; s|^retries = .*|retries = 1|" "$T/pipeline.conf"
sed -i "s|^known_hosts = .*|known_hosts = $good_kh|" "$T/pipeline.conf"
start=$(date +%s)
assert_exit 1 timeout 120 "$PIPELINE" --config "$T/pipeline.conf" fetch --date 2026-11-26
took=$(( $(date +%s) - start ))
assert_contains "$T_ERR" "pipeline: sftp://dabs@127.0.0.1:$bh/bank/client: SSH handshake: no answer within 2 s (io_timeout)" "timeout message"
assert_contains "$T_ERR" 'msg="connection problem; retrying" source=bank_client attempt=1' "retried once"
# 4 sources x 2 attempts x 2 s plus backoff: well under a minute, and certainly no hang
[ "$took" -le 40 ] || t_fail "timeouts took $took s"
assert_eq "failed|16" "$(t_psql "SELECT state, error_code FROM stage_run ORDER BY run_id DESC LIMIT 1")" "timeout recorded"
kill "$BLACKHOLE_PID" 2>/dev/null; wait "$BLACKHOLE_PID" 2>/dev/null; BLACKHOLE_PID=

# --- nothing listening: connection refused, retried, exit 1
sed -i "s|^port = .*|port = $bh|" "$T/pipeline.conf"
assert_exit 1 t_pipeline fetch --date 2026-11-26
assert_contains "$T_ERR" "pipeline: sftp://dabs@127.0.0.1:$bh/bank/client: cannot connect: Connection refused" "refused"

t_done
