#!/bin/bash
# The backbone: configuration errors name file and line (exit 2), db init is idempotent, the
# journal refuses unbalanced postings and any update or delete, the run lock makes a second run
# exit 4 naming the holder, status shows every stage, exit codes are the documented ones.
source "$(dirname "$0")/../lib.sh"
t_init backbone

# --- configuration errors: exit 2 and the exact message
while IFS='|' read -r case expected; do
	case "$case" in ''|'#'*) continue ;; esac
	assert_exit 2 "$PIPELINE" --config "$REPO/fixtures/config-bad/$case.conf" status --date 2026-11-25
	assert_contains "$T_ERR" "$expected" "config $case"
done < "$REPO/fixtures/config-bad/expected.txt"
assert_exit 2 "$PIPELINE" --config "$T/no-such.conf" status
assert_contains "$T_ERR" "no-such.conf: cannot open" "missing config file"

# --- usage errors: exit 2
assert_exit 2 t_pipeline frobnicate
assert_exit 2 t_pipeline run --date 2026-02-30
assert_contains "$T_ERR" '--date 2026-02-30: date "2026-02-30" does not exist' "bad --date"
assert_exit 2 t_pipeline run --from nowhere
assert_exit 0 t_pipeline --help
assert_contains "$T_OUT" "4  another run holds the lock" "--help lists the exit codes"
assert_exit 0 t_pipeline --version
assert_contains "$T_OUT" "pipeline $(cat "$REPO/VERSION")" "--version"

# --- db init is idempotent and records the migrations
assert_exit 0 t_pipeline db init
assert_contains "$T_OUT" "(0 migrations applied)" "second db init applies nothing"
n=$(ls "$REPO"/sql/[0-9]*.sql | wc -l)
assert_eq "$n" "$(t_psql "SELECT count(*) FROM schema_migrations")" "every migration recorded"

# --- the journal: balanced per transaction and currency, append-only
t_psql "INSERT INTO journal_txn (txn_key, business_date, kind, description) VALUES ('t1', '2026-11-25', 'TEST', 'balanced')" >/dev/null
t_psql "BEGIN; INSERT INTO journal_posting (txn_id, ledger_account, currency, amount_minor)
        SELECT txn_id, 'WALLET:I1', 'SGD', -500 FROM journal_txn WHERE txn_key = 't1';
        INSERT INTO journal_posting (txn_id, ledger_account, currency, amount_minor)
        SELECT txn_id, 'ESCROW:OFF-T', 'SGD', 500 FROM journal_txn WHERE txn_key = 't1'; COMMIT;" >/dev/null
assert_eq 2 "$(t_psql "SELECT count(*) FROM journal_posting")" "a balanced transaction commits"
out=$(t_psql "BEGIN; INSERT INTO journal_txn (txn_key, business_date, kind, description) VALUES ('t2', '2026-11-25', 'TEST', 'unbalanced');
        INSERT INTO journal_posting (txn_id, ledger_account, currency, amount_minor)
        SELECT txn_id, 'WALLET:I1', 'SGD', -500 FROM journal_txn WHERE txn_key = 't2';
        INSERT INTO journal_posting (txn_id, ledger_account, currency, amount_minor)
        SELECT txn_id, 'ESCROW:OFF-T', 'SGD', 499 FROM journal_txn WHERE txn_key = 't2'; COMMIT;" 2>&1)
assert_contains "$out" "is unbalanced: postings in SGD sum to -1" "an unbalanced transaction is refused at commit"
assert_eq "2|1" "$(t_psql "SELECT (SELECT count(*) FROM journal_posting) || '|' || (SELECT count(*) FROM journal_txn)")" \
	"nothing of the unbalanced transaction remains"
out=$(t_psql "BEGIN; INSERT INTO journal_txn (txn_key, business_date, kind, description) VALUES ('t3', '2026-11-25', 'TEST', 'two currencies');
        INSERT INTO journal_posting (txn_id, ledger_account, currency, amount_minor)
        SELECT txn_id, 'WALLET:I1', 'SGD', -500 FROM journal_txn WHERE txn_key = 't3';
        INSERT INTO journal_posting (txn_id, ledger_account, currency, amount_minor)
        SELECT txn_id, 'ESCROW:OFF-T', 'USD', 500 FROM journal_txn WHERE txn_key = 't3'; COMMIT;" 2>&1)
assert_contains "$out" "is unbalanced" "postings must balance per currency"
out=$(t_psql "INSERT INTO journal_posting (txn_id, ledger_account, currency, amount_minor)
        SELECT txn_id, 'FEES', 'SGD', 7 FROM journal_txn WHERE txn_key = 't1'" 2>&1)
assert_contains "$out" "is unbalanced: postings in SGD sum to 7" "a later transaction cannot unbalance a committed one"
out=$(t_psql "BEGIN; INSERT INTO journal_txn (txn_key, business_date, kind, description) VALUES ('t4', '2026-11-25', 'TEST', 'many');
        INSERT INTO journal_posting (txn_id, ledger_account, currency, amount_minor)
        SELECT (SELECT txn_id FROM journal_txn WHERE txn_key = 't4'), 'WALLET:I' || g, 'SGD',
               CASE WHEN g % 2 = 0 THEN 100 ELSE -100 END FROM generate_series(1, 2000) g;
        INSERT INTO journal_posting (txn_id, ledger_account, currency, amount_minor)
        SELECT txn_id, 'FEES', 'SGD', 1 FROM journal_txn WHERE txn_key = 't4'; COMMIT;" 2>&1)
assert_contains "$out" "is unbalanced: postings in SGD sum to 1" "one cent off among 2,001 postings is found"
out=$(t_psql "UPDATE journal_posting SET amount_minor = amount_minor * 2" 2>&1)
assert_contains "$out" "journal_posting is append-only: UPDATE refused" "journal UPDATE refused"
out=$(t_psql "DELETE FROM journal_txn" 2>&1)
assert_contains "$out" "journal_txn is append-only: DELETE refused" "journal DELETE refused"
out=$(t_psql "TRUNCATE journal_posting" 2>&1)
assert_contains "$out" "append-only: TRUNCATE refused" "journal TRUNCATE refused"
assert_eq 2 "$(t_psql "SELECT count(*) FROM journal_posting")" "journal intact"

# --- the lock: a second run exits 4 at once and names the holder
PGAPPNAME="pipeline pid=4242 run" psql -X -q -h "$PGSOCK" -U postgres -d "$T_DB" \
	-c "SELECT pg_advisory_lock(1885958245), pg_sleep(600)" >/dev/null 2>&1 &
holder=$!
lock_held() { [ "$(t_psql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" = 1 ]; }
t_until 120 lock_held || t_fail "the holder never got the lock"
start=$(date +%s)
assert_exit 4 t_pipeline run --date 2026-11-25
assert_contains "$T_ERR" "another pipeline run holds the lock: pipeline pid=4242 run" "the holder is named"
assert_contains "$T_ERR" "(database backend pid " "the holder's backend"
# (no "connected since" here: the holder logged in as another user, whose start time PostgreSQL
# hides from the nightly role; 13_roles.sh sees it between two sessions of the nightly role)
[ $(( $(date +%s) - start )) -le 2 ] || t_fail "a locked run must exit at once"
assert_exit 4 t_pipeline report --date 2026-11-25
assert_exit 4 t_pipeline ledger import "$REPO/fixtures/ledger-small"
t_psql "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'pipeline pid=4242 run'" >/dev/null
wait $holder
assert_eq "" "$(t_psql "SELECT business_date FROM stage_run")" "a refused run records nothing"

# --- status: every stage, pending before anything ran
assert_exit 0 t_pipeline status --date 2026-11-25
for s in fetch normalize reconcile settle report; do
	assert_contains "$T_OUT" "$s" "status lists $s"
done
assert_eq 5 "$(echo "$T_OUT" | grep -c pending)" "all pending"
assert_exit 0 t_pipeline status --json --date 2026-11-25
assert_contains "$T_OUT" '"date":"2026-11-25","stages":[{"stage":"fetch","state":"pending"' "status --json"
assert_exit 0 t_pipeline status
assert_contains "$T_OUT" "nothing recorded yet" "status without --date skips dates with nothing recorded"
assert_eq 0 "$(echo "$T_OUT" | grep -c '^20')" "no empty dates listed"

# --- a stage left 'running' by a process that died is marked failed by the next run
t_psql "INSERT INTO stage_run (business_date, stage, state, pid, host, operator, config_digest)
        VALUES ('2026-11-20', 'report', 'running', 99999, 'gone', 'test', 'x')" >/dev/null
t_pipeline -q status --date 2026-11-20 >/dev/null
t_pipeline -q run --date 2026-11-20 --from report >/dev/null 2>&1
assert_contains "$(t_psql "SELECT state || ':' || error FROM stage_run WHERE pid = 99999")" \
	"failed:the process (pid 99999 on gone) ended before the stage finished" "dead run reaped"
t_done
