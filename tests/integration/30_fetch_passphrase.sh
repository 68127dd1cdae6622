#!/bin/bash
# A client key protected by a passphrase (fixtures/ssh/client_ed25519_pass, Ed25519 in OpenSSH
# format, the passphrase below: a test fixture, not a secret), against the real sshd: every source
# and destination uses it with key_passphrase_env. The variable unset: a configuration error saying
# so (exit 2); a wrong passphrase: a clear error naming the key file, not the passphrase (exit 1);
# the right one: the fetch works. `pipeline doctor` with each. The passphrase (right or wrong)
# never appears on stdout/stderr, in the log files, in the database (stage_run and everything
# else: pg_dump) or in the report.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/30_fetch_lib.inc"
t_init fetch_passphrase
sftp_setup
KEY=$FX_SSH/client_ed25519_pass
chmod 600 "$KEY"
PASS='fixture passphrase: dabs-7Qx!'     # ssh-keygen -y -P "$PASS" -f fixtures/ssh/client_ed25519_pass
WRONG='not-the-passphrase-Zk4'
VAR=DABS_TEST_KEY_PASSPHRASE
for sec in $(sed -n 's/^\[\(\(source\|outbound\)\.[a-z_]*\)\]$/\1/p' "$T/pipeline.conf"); do
	conf_set "$sec" key_file "$KEY"
	conf_set "$sec" key_passphrase_env "$VAR"
done
[ "$(grep -c "^key_passphrase_env = $VAR$" "$T/pipeline.conf")" -ge 5 ] || t_fail "every endpoint uses the key with its variable"
deliver_all 20261125
D=2026-11-25
# every output of every run, for the search for the passphrase at the end
out_all() { cat "$T/stderr" >>"$T/all_output"; printf '%s\n' "$T_OUT" >>"$T/all_output"; }

# --- the variable is not set: a configuration error before connecting (exit 2)
assert_exit 2 env -u "$VAR" "$PIPELINE" --config "$T/pipeline.conf" -v fetch --date $D
out_all
assert_contains "$T_ERR" "key_passphrase_env names $VAR, which is not set" "unset variable named"
assert_eq "failed|2" "$(t_psql "SELECT state, error_code FROM stage_run ORDER BY run_id DESC LIMIT 1")" "unset: recorded as a configuration error"
assert_eq 0 "$(t_psql "SELECT count(*) FROM fetched_file")" "unset: nothing fetched"

# --- a wrong passphrase: an authentication error naming the key file, not the passphrase (exit 1)
before=$(sshd_auth_attempts)
assert_exit 1 env "$VAR=$WRONG" "$PIPELINE" --config "$T/pipeline.conf" -v fetch --date $D
out_all
assert_contains "$(echo "$T_ERR" | tail -1)" "pipeline: sftp://dabs@127.0.0.1:$SFTP_PORT/bank/client: cannot use key $KEY for user dabs (wrong passphrase" \
	"wrong passphrase: the last line names the key file and says why"
assert_eq "failed|15" "$(t_psql "SELECT state, error_code FROM stage_run ORDER BY run_id DESC LIMIT 1")" "wrong passphrase: an authentication failure"
assert_contains "$(t_psql "SELECT error FROM stage_run ORDER BY run_id DESC LIMIT 1")" "cannot use key $KEY" "stage_run names the key"
assert_eq 0 "$(t_psql "SELECT count(*) FROM fetched_file")" "wrong passphrase: nothing fetched"
assert_eq "$before" "$(sshd_auth_attempts)" "wrong passphrase: the key is not even offered to the server"

# --- the right passphrase: the fetch works
assert_exit 0 env "$VAR=$PASS" "$PIPELINE" --config "$T/pipeline.conf" -v fetch --date $D
out_all
assert_eq 4 "$(t_psql "SELECT count(*) FROM fetched_file WHERE business_date = '$D'")" "every source fetched with the key"
assert_eq "done" "$(t_psql "SELECT state FROM stage_run ORDER BY run_id DESC LIMIT 1")" "fetch done"
for s in $SOURCES; do
	[ -n "$(find "$T/data/inbox/$D/$s" -type f ! -name '.*')" ] || t_fail "$s: no file in the inbox"
done
grep -q "Accepted publickey for dabs .* ED25519 SHA256:$(ssh-keygen -lf "$KEY.pub" | awk '{ print $2 }' | cut -d: -f2)" "$SSHD_LOG" \
	|| t_fail "sshd's log shows the login with the passphrase key"

# the report of the date is written (no passphrase may end up there either)
assert_exit 0 env "$VAR=$PASS" "$PIPELINE" --config "$T/pipeline.conf" -v report --date $D
out_all
[ -f "$T/reports/$D/recon-$D.xlsx" ] || t_fail "the report was written"

# --- pipeline doctor with that key
assert_exit 0 env "$VAR=$PASS" "$PIPELINE" --config "$T/pipeline.conf" doctor
out_all
assert_contains "$T_OUT" "ok    source.bank_client key_file $KEY (mode 600), passphrase from the environment" "doctor: key ok"
for s in $SOURCES; do
	assert_contains "$T_OUT" "ok    source.$s sftp://dabs@127.0.0.1:$SFTP_PORT/" "doctor: $s reached with the key"
done
assert_contains "$T_OUT" "ok    payments   sftp://dabs@127.0.0.1:$SFTP_PORT/bank/payments-in" "doctor: the payments destination reached"
assert_exit 1 env "$VAR=$WRONG" "$PIPELINE" --config "$T/pipeline.conf" doctor
out_all
assert_contains "$T_OUT" "FAIL  source.bank_client cannot connect: SSH authentication failed: sftp://dabs@127.0.0.1:$SFTP_PORT/bank/client: cannot use key $KEY for user dabs (wrong passphrase" "doctor: wrong passphrase"
assert_exit 1 env -u "$VAR" "$PIPELINE" --config "$T/pipeline.conf" doctor --offline
out_all
assert_contains "$T_OUT" "FAIL  source.bank_client key_passphrase_env names \$$VAR, which is not set" "doctor: unset variable"

# --- the passphrase, right or wrong, is nowhere
pg_dump -h "$PGSOCK" -U postgres "$T_DB" >"$T/db.sql" || t_fail "pg_dump"
mkdir -p "$T/xlsx" && (cd "$T/xlsx" && python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(".")' "$T/reports/$D/recon-$D.xlsx") \
	|| t_fail "unzip the report"
logs=$(find "$T/data/log" -type f)
[ -n "$logs" ] || t_fail "the runs wrote log files"
[ -s "$T/all_output" ] || t_fail "the runs' output was kept"
for secret in "$PASS" "dabs-7Qx" "$WRONG" "Zk4"; do
	hits=$(grep -rlF -- "$secret" "$T/all_output" $logs "$T/db.sql" "$T/xlsx" "$T/reports" 2>/dev/null)
	assert_eq "" "$hits" "[$secret] appears nowhere (output, logs, database, report)"
done
assert_eq "" "$(t_psql "SELECT run_id FROM stage_run WHERE concat_ws(' ', error, operator, config_digest, invocation)
	LIKE '%dabs-7Qx%' OR concat_ws(' ', error) LIKE '%Zk4%'")" "stage_run holds neither passphrase"
t_done
