#!/bin/bash
# No secret reaches a child process that does not need it (src/childenv.h): with an SFTP key
# passphrase variable, PGPASSWORD (and a password_file) and the webhook URL variable all set, the
# embedded PostgreSQL the pipeline starts (postmaster and every backend, read from
# /proc/PID/environ) holds none of them and only a minimal environment; the notification command
# (which dumps its own environment) holds none of them either; the webhook is libcurl in-process,
# and the pipeline starts no ssh or sshd of its own.
source "$(dirname "$0")/../lib.sh"
t_init secrets
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PASS=pass-$RANDOM-phrase-$$
PGPW=pgpw-$RANDOM-$$
HOOK=http://127.0.0.1:9/hooks/token-$RANDOM-$$
FILEPW=filepw-$RANDOM-$$

# the embedded cluster, with every kind of secret the configuration can name
E=$T/emb-data
sed -e "s|^conninfo = .*|conninfo =|" -e "s|^data_dir = .*|data_dir = $E|" "$T/pipeline.conf" > "$T/emb.conf"
CONF=$T/emb.conf
for s in bank_client bank_operating trustee_cash trustee_register; do
	CONF_V=DABS_TEST_PASSPHRASE awk -v sec="[source.$s]" '{ print } $0 == sec { print "key_passphrase_env = " ENVIRON["CONF_V"] }' \
		"$CONF" > "$CONF.tmp" && mv "$CONF.tmp" "$CONF"
done
echo "$FILEPW" > "$T/pgpass" && chmod 600 "$T/pgpass"
sed -i "s|^\[database\]|[database]\npassword_file = $T/pgpass|" "$CONF"
sed -i "s|^\[notify\]|[notify]\nwebhook_url_env = DABS_TEST_WEBHOOK\ncommand = env > $T/notify.env; cat > /dev/null|" "$CONF"
grep -q "^password_file = $T/pgpass" "$CONF" && grep -q "^webhook_url_env = DABS_TEST_WEBHOOK" "$CONF" \
	&& grep -q "^key_passphrase_env = DABS_TEST_PASSPHRASE" "$CONF" || t_fail "test setup: the configuration names no secret"
stop_embedded() {
	[ -f "$E/pg/data/postmaster.pid" ] || return 0
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$BIN/pg_ctl" -D "$E/pg/data" -m fast -w stop >/dev/null
	else "$BIN/pg_ctl" -D "$E/pg/data" -m fast -w stop >/dev/null; fi
}
trap stop_embedded EXIT

# secret_free WHAT FILE: FILE (an environment dump, NUL or newline separated) holds no secret
secret_free() {
	local v
	[ -s "$2" ] || { t_fail "$1: no environment read"; return; }
	for v in "$PASS" "$PGPW" "$HOOK" "$FILEPW"; do
		if tr '\0' '\n' < "$2" | grep -qF "$v"; then t_fail "$1: a secret is in its environment: $(tr '\0' '\n' < "$2" | grep -F "$v" | cut -c1-40)"; fi
	done
	for v in DABS_TEST_PASSPHRASE= PGPASSWORD= DABS_TEST_WEBHOOK=; do
		if tr '\0' '\n' < "$2" | grep -q "^$v"; then t_fail "$1: $v is set in its environment"; fi
	done
}

export DABS_TEST_PASSPHRASE=$PASS PGPASSWORD=$PGPW DABS_TEST_WEBHOOK=$HOOK DABS_TEST_HARMLESS=visible
assert_exit 0 "$PIPELINE" --config "$CONF" db init      # starts the cluster from a process holding them all
assert_exit 0 "$PIPELINE" --config "$CONF" ledger import "$REPO/fixtures/ledger/2026-11-23"
pm=$(head -1 "$E/pg/data/postmaster.pid")
[ -n "$pm" ] && [ -r "/proc/$pm/environ" ] || t_fail "no running postmaster to look at"
cat "/proc/$pm/environ" > "$T/postmaster.env"
secret_free postmaster "$T/postmaster.env"
if tr '\0' '\n' < "$T/postmaster.env" | grep -q '^DABS_TEST_HARMLESS='; then
	t_fail "the postmaster got more than the minimal environment"
fi
tr '\0' '\n' < "$T/postmaster.env" | grep -q '^PATH=' || t_fail "the postmaster has no PATH"
n=0
for c in $(ps -o pid= --ppid "$pm"); do
	cat "/proc/$c/environ" > "$T/backend.env" 2>/dev/null || continue
	secret_free "postgres child $c" "$T/backend.env"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || t_fail "no postgres child process to look at"

# PGPASSWORD from [database] password_file: set in our environment for libpq, never in the cluster's
stop_embedded
unset PGPASSWORD
assert_exit 0 "$PIPELINE" --config "$CONF" status
pm2=$(head -1 "$E/pg/data/postmaster.pid")
[ "$pm2" != "$pm" ] || t_fail "the cluster was not started again"
cat "/proc/$pm2/environ" > "$T/postmaster2.env"
secret_free "postmaster started with password_file" "$T/postmaster2.env"

# the notification command: the operator's own program, minus every secret
# (the webhook, libcurl in this process, fails on the closed port 9: only the command matters here)
"$PIPELINE" --config "$CONF" notify --test --date 2026-11-23 >"$T/notify.out" 2>&1
secret_free "notify command" "$T/notify.env"
grep -q '^PIPELINE_NOTIFY_STATUS=TEST$' "$T/notify.env" || t_fail "the notify command did not run with its own variables"
grep -q '^DABS_TEST_HARMLESS=visible$' "$T/notify.env" || t_fail "the notify command lost the operator's ordinary environment"

# the pipeline starts no ssh or sshd (libssh2 and libcurl run in-process): none is our child
assert_eq "" "$(grep -l -E 'execvp\("ssh|"sshd|"/usr/bin/ssh' "$REPO"/src/*.c "$REPO"/stages/*.c "$REPO"/commands/*.c "$REPO"/reports/*.c 2>/dev/null)" \
	"no ssh or sshd is started by the pipeline"

t_done
