#!/bin/bash
# pipeline doctor: all good on the test configuration (exit 0), then one problem at a time, each
# with its exact line and its fix (exit 1): a broken configuration; a private key readable by
# others; a missing key; an unset passphrase variable; known_hosts missing, writable by others, or
# without the server's entry (plain and hashed entries both recognised); a database whose schema is
# behind; an unreachable database; a missing notification program; and, against a real local sshd,
# reachability with the host key verified, a changed host key, and a refused login.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/30_fetch_lib.inc"
source "$(dirname "$0")/80_ops_lib.inc"   # its conf_set also adds a missing section
t_init ops_doctor

# --- the test configuration (dir transport) is healthy
assert_exit 0 t_pipeline doctor
assert_contains "$T_OUT" "ok    versions   pipeline $(cat "$REPO/VERSION"), libssh2 " "versions line"
assert_contains "$T_OUT" "ok    config     $T/pipeline.conf (sha256 " "config ok"
assert_contains "$T_OUT" "ok    database   connected, server " "database ok"
assert_contains "$T_OUT" "ok    source.bank_client dir:$T/remote/bank/client: directory readable, 0 entries listed" "dir source reachable"
assert_contains "$T_OUT" "0 problems, " "no problem"
assert_contains "$T_OUT" "warn  notify     no notification channel" "no channel is a warning"

# --- the libssh2 really loaded: Debian's build with the security fixes; an older one fails, one
# that no package owns (a library put on LD_LIBRARY_PATH) is a warning
lib=$(realpath "$(ldconfig -p | awk '/libssh2\.so\.1 .*x86-64|libssh2\.so\.1 / { print $NF; exit }')")
assert_contains "$T_OUT" "ok    libssh2    $lib from Debian package libssh2-1" "libssh2 from Debian"
assert_contains "$T_OUT" "(has the fixes of 1.10.0-3+deb12u1)" "libssh2 fixed build"
PIPELINE_LIBSSH2_MIN=99:0 assert_exit 1 t_pipeline doctor --offline
assert_contains "$T_OUT" "FAIL  libssh2    $lib from libssh2-1" "an older build fails"
assert_contains "$T_OUT" "is older than 99:0, the first build with the security fixes the pipeline needs" "older: says why"
assert_contains "$T_OUT" "fix: apt-get update && apt-get install --only-upgrade libssh2-1" "older: the fix"
mkdir -p "$T/lib" && cp "$lib" "$T/lib/libssh2.so.1"
LD_LIBRARY_PATH=$T/lib assert_exit 0 t_pipeline doctor --offline
assert_contains "$T_OUT" "warn  libssh2    $T/lib/libssh2.so.1 is not from a Debian package: cannot tell whether it has the security fixes" "a library no package owns"

# --- the pain.001 schema every payment file is validated against (issue 16): found, or a FAIL with the fix
assert_contains "$T_OUT" "ok    schema     $REPO/formats/schemas/pain.001.001.03.xsd" "the schema is found under formats_dir"
mkdir -p "$T/noschema" && cp "$REPO"/formats/*.layout "$T/noschema/"
sed "s|^formats_dir = .*|formats_dir = $T/noschema|" "$T/pipeline.conf" > "$T/noschema.conf"
if [ ! -e /usr/local/share/pipeline/formats/schemas/pain.001.001.03.xsd ]; then
	assert_exit 1 "$PIPELINE" --config "$T/noschema.conf" doctor --offline
	assert_contains "$T_OUT" "FAIL  schema     /usr/local/share/pipeline/formats/schemas/pain.001.001.03.xsd not readable" "a missing schema fails"
fi

# --- a broken configuration: the error names file and line
printf '[pipeline]\nlog_format = yaml\n' > "$T/bad.conf"
assert_exit 1 "$PIPELINE" --config "$T/bad.conf" doctor
assert_contains "$T_OUT" "FAIL  config     $T/bad.conf:2: log_format = \"yaml\": expected logfmt or json" "bad config"
assert_contains "$T_OUT" "1 problem, 0 warnings" "one problem"

# --- a configuration writable by others
chmod 666 "$T/pipeline.conf"
assert_exit 1 t_pipeline doctor --offline
assert_contains "$T_OUT" "FAIL  config     $T/pipeline.conf is writable by others (mode 666)" "config mode"
assert_contains "$T_OUT" "fix: chmod o-w $T/pipeline.conf" "config fix"
chmod 644 "$T/pipeline.conf"

# --- a database whose schema is behind, and one that cannot be reached
psql -q -X -h "$PGSOCK" -U postgres -d postgres -c "DROP DATABASE IF EXISTS ${T_DB}_empty" -c "CREATE DATABASE ${T_DB}_empty" >/dev/null
sed "s|^conninfo = .*|conninfo = host=$PGSOCK user=postgres dbname=${T_DB}_empty|" "$T/pipeline.conf" > "$T/empty.conf"
assert_exit 1 "$PIPELINE" --config "$T/empty.conf" doctor --offline
assert_contains "$T_OUT" "FAIL  database   the database schema is at version 0, this program needs" "schema behind"
assert_contains "$T_OUT" "fix: run: pipeline db init" "schema fix"
sed "s|^conninfo = .*|conninfo = host=$PGSOCK user=postgres dbname=no_such_db_ops|" "$T/pipeline.conf" > "$T/nodb.conf"
assert_exit 1 "$PIPELINE" --config "$T/nodb.conf" doctor --offline
assert_contains "$T_OUT" "FAIL  database   cannot connect to the database: " "no database"
assert_contains "$T_OUT" "no_such_db_ops" "names the database"
psql -q -X -h "$PGSOCK" -U postgres -d postgres -c "DROP DATABASE IF EXISTS ${T_DB}_empty" >/dev/null

# --- notification program missing
cp "$T/pipeline.conf" "$T/good.conf"
conf_set notify mail_to oncall@example.com
conf_set notify command "/nonexistent/sendmail -t"
assert_exit 1 t_pipeline doctor --offline
assert_contains "$T_OUT" "FAIL  notify     command /nonexistent/sendmail -t: program /nonexistent/sendmail not found or not executable" "notify program"
cp "$T/good.conf" "$T/pipeline.conf"

# --- SFTP: a real sshd on a random port; the key and known_hosts checks, then reachability
sftp_setup
assert_exit 0 t_pipeline doctor
for s in $SOURCES; do
	assert_contains "$T_OUT" "ok    source.$s sftp://dabs@127.0.0.1:$SFTP_PORT/" "$s: reached"
done
assert_contains "$T_OUT" "host key verified, logged in" "host key verified"
# what the session negotiated is shown, and is from the strong lists of src/transport.c (the test
# sshd offers OpenSSH's defaults; libssh2 1.10 knows neither AES-GCM nor EtM MACs, so AES-CTR
# with HMAC-SHA2, a pair Terrapin's prefix truncation does not break)
assert_contains "$T_OUT" "; negotiated kex=curve25519-sha256 hostkey=ssh-ed25519 cipher=aes256-ctr mac=hmac-sha2-256
" "negotiated algorithms"
assert_contains "$T_OUT" "ok    source.bank_client known_hosts $T/known_hosts: 1 key(s) for [127.0.0.1]:$SFTP_PORT" "known_hosts entry"
assert_contains "$T_OUT" "ok    source.bank_client key_file $REPO/fixtures/ssh/client_ed25519 (mode 600)" "key ok"
assert_contains "$T_OUT" "ok    payments   sftp://dabs@127.0.0.1:$SFTP_PORT/bank/payments-in" "outbound reached"

# hashed known_hosts entries are recognised (ssh-keygen -H)
cp "$T/known_hosts" "$T/kh_hashed"
ssh-keygen -H -f "$T/kh_hashed" >/dev/null 2>&1
rm -f "$T/kh_hashed.old"
grep -q '^|1|' "$T/kh_hashed" || t_fail "ssh-keygen -H hashed the file"
sed -i "s|^known_hosts = .*|known_hosts = $T/kh_hashed|" "$T/pipeline.conf"
assert_exit 0 t_pipeline doctor
assert_contains "$T_OUT" "known_hosts $T/kh_hashed: 1 key(s) for [127.0.0.1]:$SFTP_PORT" "hashed entry"

# a changed host key: reported with the advice not to accept it blindly
echo "[127.0.0.1]:$SFTP_PORT $(cut -d' ' -f1,2 "$FX_SSH/other_host_ed25519.pub")" > "$T/kh_other"
sed -i "s|^known_hosts = .*|known_hosts = $T/kh_other|" "$T/pipeline.conf"
assert_exit 1 t_pipeline doctor
assert_contains "$T_OUT" "FAIL  source.bank_client cannot connect: SSH host key not trusted: 127.0.0.1:$SFTP_PORT: host key mismatch" "mismatch"
assert_contains "$T_OUT" "host key mismatch: $T/kh_other expects ssh-ed25519 SHA256:" "mismatch detail"
assert_contains "$T_OUT" "fix: the server presented a key that is not in known_hosts: do NOT just accept it" "mismatch fix"

# known_hosts without an entry for host:port (another port)
echo "[127.0.0.1]:1 $(cut -d' ' -f1,2 "$FX_SSH/ssh_host_ed25519_key.pub")" > "$T/kh_port"
sed -i "s|^known_hosts = .*|known_hosts = $T/kh_port|" "$T/pipeline.conf"
assert_exit 1 t_pipeline doctor --offline
assert_contains "$T_OUT" "FAIL  source.bank_client known_hosts $T/kh_port has no key for [127.0.0.1]:$SFTP_PORT: the connection would be refused" "no entry"
assert_contains "$T_OUT" "fix: add the server's key for [127.0.0.1]:$SFTP_PORT (ssh-keyscan -p $SFTP_PORT 127.0.0.1 >> $T/kh_port), after checking its fingerprint" "no entry fix"

# known_hosts writable by others; known_hosts missing
cp "$T/known_hosts" "$T/kh_open"
chmod 666 "$T/kh_open"
sed -i "s|^known_hosts = .*|known_hosts = $T/kh_open|" "$T/pipeline.conf"
assert_exit 1 t_pipeline doctor --offline
assert_contains "$T_OUT" "FAIL  source.bank_client known_hosts $T/kh_open is writable by group or others (mode 666)" "known_hosts writable"
assert_contains "$T_OUT" "fix: chmod go-w $T/kh_open" "known_hosts writable fix"
sed -i "s|^known_hosts = .*|known_hosts = $T/kh_absent|" "$T/pipeline.conf"
assert_exit 1 t_pipeline doctor --offline
assert_contains "$T_OUT" "FAIL  source.bank_client known_hosts $T/kh_absent: No such file or directory" "known_hosts missing"
sed -i "s|^known_hosts = .*|known_hosts = $T/known_hosts|" "$T/pipeline.conf"

# a private key readable by others: an error with the chmod to run
cp "$FX_SSH/client_ed25519" "$T/key_open"
chmod 644 "$T/key_open"
sed -i "s|^key_file = .*|key_file = $T/key_open|" "$T/pipeline.conf"
assert_exit 1 t_pipeline doctor
assert_contains "$T_OUT" "FAIL  source.bank_client key_file $T/key_open is readable by group or others (mode 644): a private key must be readable by its owner only" "key mode"
assert_contains "$T_OUT" "fix: chmod 600 $T/key_open" "key mode fix"
chmod 600 "$T/key_open"
assert_exit 0 t_pipeline doctor
# a missing key
sed -i "s|^key_file = .*|key_file = $T/key_absent|" "$T/pipeline.conf"
assert_exit 1 t_pipeline doctor --offline
assert_contains "$T_OUT" "FAIL  source.bank_client key_file $T/key_absent: No such file or directory" "key missing"
# a key the server does not accept
sed -i "s|^key_file = .*|key_file = $FX_SSH/wrong_client_ed25519|" "$T/pipeline.conf"
assert_exit 1 t_pipeline doctor
assert_contains "$T_OUT" "FAIL  source.bank_client cannot connect: SSH authentication failed: " "auth refused"
assert_contains "$T_OUT" "fix: the key could not be used or the server refused it: check key_file and its passphrase" "auth fix"
sed -i "s|^key_file = .*|key_file = $FX_SSH/client_ed25519|" "$T/pipeline.conf"
# a passphrase variable that is not set
awk '/^\[source.bank_client\]/ { print; print "key_passphrase_env = OPS_TEST_NO_SUCH_VAR"; next } { print }' \
	"$T/pipeline.conf" > "$T/p.tmp" && mv "$T/p.tmp" "$T/pipeline.conf"
assert_exit 1 t_pipeline doctor --offline
assert_contains "$T_OUT" "FAIL  source.bank_client key_passphrase_env names \$OPS_TEST_NO_SUCH_VAR, which is not set" "passphrase variable"

# a server that is down
sed -i '/^key_passphrase_env = OPS_TEST_NO_SUCH_VAR$/d' "$T/pipeline.conf"
"$REPO/scripts/sftp-server.sh" stop "$SFTP_PORT"
assert_exit 1 t_pipeline doctor
assert_contains "$T_OUT" "FAIL  source.bank_client cannot connect: " "server down"
assert_contains "$T_OUT" "fix: check host, port, the network path and firewall" "server down fix"
assert_exit 0 t_pipeline doctor --offline
assert_contains "$T_OUT" "warn  network    --offline: servers not contacted" "offline"
t_done
