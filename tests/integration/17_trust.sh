#!/bin/bash
# Trust files, like OpenSSH's StrictModes (src/trust.h): the configuration, known_hosts, key files,
# the password file, formats_dir and every layout must be owned by root or the running user and
# not be writable by group or others, nor sit in a directory others may write (a sticky one, like
# /tmp, is fine). Otherwise every command but doctor refuses to start with exit 2 naming the file
# and the fix; doctor reports each of them. The suite's own files (umask 022, git's 0644/0755) pass.
source "$(dirname "$0")/../lib.sh"
t_init trust
cp -R "$REPO/formats" "$T/formats"
cp "$REPO/fixtures/ssh/known_hosts" "$T/known_hosts"
cp "$REPO/fixtures/ssh/client_ed25519" "$T/client_key" && chmod 600 "$T/client_key"
echo "not-a-real-password" > "$T/pgpass" && chmod 600 "$T/pgpass"
sed -i -e "s|^formats_dir = .*|formats_dir = $T/formats|" -e "s|^known_hosts = .*|known_hosts = $T/known_hosts|" \
	-e "s|^key_file = .*|key_file = $T/client_key|" "$T/pipeline.conf"
# the test database needs no password: the file is only here to be trusted or not
sed -i "s|^\[database\]|[database]\npassword_file = $T/pgpass|" "$T/pipeline.conf"

# every command starts with the suite's own files as they are
assert_exit 0 t_pipeline status
assert_exit 0 t_pipeline doctor --offline
assert_contains "$T_OUT" "ok    trust" "doctor: trust ok"

# refused PATH WHAT FIX: status, fetch, db init, ledger import, housekeep and inspect refuse
# (exit 2, the file and the fix named); doctor lists it and fails
refused() {
	local cmd
	for cmd in "status" "fetch --date 2026-11-23" "db init" "ledger import $REPO/fixtures/ledger/2026-11-23" \
		"housekeep" "resolve 1 --note x --by y"; do
		# shellcheck disable=SC2086
		assert_exit 2 t_pipeline $cmd
		assert_contains "$T_ERR" "pipeline: refusing to start: $1 $2" "$cmd refuses over $1"
		assert_contains "$T_ERR" "fix: $3" "$cmd names the fix for $1"
	done
	assert_exit 2 t_pipeline inspect --format mt940 "$REPO/fixtures/statements/2026-11-23/bank/client/stmt_0123456789_20261123.sta"
	assert_contains "$T_ERR" "$1 $2" "inspect refuses over $1"
	assert_exit 1 t_pipeline doctor --offline
	assert_contains "$T_OUT" "FAIL  trust" "doctor reports $1"
	assert_contains "$T_OUT" "$1 $2" "doctor names $1"
	assert_eq "0" "$(t_psql "SELECT count(*) FROM stage_run")" "nothing ran over $1"
}

chmod 666 "$T/pipeline.conf"
refused "$T/pipeline.conf" "(the configuration) is writable by group or others (owner uid 0, mode 0666)" "chmod go-w $T/pipeline.conf"
chmod 644 "$T/pipeline.conf"
chmod 664 "$T/known_hosts"
refused "$T/known_hosts" "(known_hosts) is writable by group or others" "chmod go-w $T/known_hosts"
chmod 644 "$T/known_hosts"
chmod 620 "$T/client_key"
refused "$T/client_key" "(key_file) is writable by group or others" "chmod go-w $T/client_key"
chmod 600 "$T/client_key"
chmod 777 "$T/formats"
refused "$T/formats" "(formats_dir) is writable by group or others (owner uid 0, mode 0777)" "chmod go-w $T/formats"
chmod 755 "$T/formats"
chmod 666 "$T/formats/sgbank-corp.layout"
refused "$T/formats/sgbank-corp.layout" "(layout) is writable by group or others" "chmod go-w $T/formats/sgbank-corp.layout"
chmod 644 "$T/formats/sgbank-corp.layout"
chown nobody "$T/pgpass"
refused "$T/pgpass" "(password_file) is owned by another user" "chown root $T/pgpass"
chown root "$T/pgpass"
chown nobody "$T/known_hosts"
refused "$T/known_hosts" "(known_hosts) is owned by another user" "chown root $T/known_hosts"
chown root "$T/known_hosts"
# a directory others may write lets them replace the file; a sticky one (like /tmp) does not
chmod 777 "$T"
refused "$T/pipeline.conf" "(the configuration): its directory is writable by group or others $T (owner uid 0, mode 0777), so the file can be replaced" "chmod go-w $T"
chmod 1777 "$T"
assert_exit 0 t_pipeline status
chmod 755 "$T"
assert_exit 0 t_pipeline status
assert_exit 0 t_pipeline doctor --offline

t_done
