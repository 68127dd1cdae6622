#!/bin/bash
# History is append-only for the nightly role too (sql/130_history.sql, the rule in
# sql/privileges.sql): after two real nights (a resolved exception among them),
# - every UPDATE and DELETE of a history table tried as the nightly role is refused by privileges;
# - the replace paths refuse to act for a run that is not running, for another stage, for a file
#   of another date, for statements that are not the run's own, and the reap without the lock;
# - a resolved exception and its note are never changed or deleted, not even by the superuser, and
#   the audit of replacements cannot be rewritten;
# - the replace paths still work (normalize and reconcile --force, the runner's stale marks) and
#   record who, when, how many rows and the run in history_replace; the resolved exception and its
#   note survive the reruns;
# - every deleted history row is accounted for (the invariant of tests/reliability/invariants.sql).
source "$(dirname "$0")/../lib.sh"
t_init history
D1=2026-11-23
D2=2026-11-24
assert_exit 0 t_day $D1
assert_exit 0 t_day $D2

# nightly SQL: run SQL as the nightly role (13_roles.sh shows how to act as it)
nightly() { psql -X -q -A -t -h "$PGSOCK" -U postgres -d "$T_DB" -v ON_ERROR_STOP=1 -c "SET ROLE pipeline_nightly" -c "$1" 2>&1; }
# refused_as_nightly SQL REGEX: fails as the nightly role with an error matching REGEX
refused_as_nightly() {
	local out
	out=$(nightly "$1")
	echo "$out" | grep -q ERROR || t_fail "accepted as the nightly role: $1"
	echo "$out" | grep -Eq "$2" || t_fail "[$1]: expected an error matching /$2/, got [$out]"
}

before=$(t_psql "SELECT (SELECT count(*) FROM stage_run) || '/' || (SELECT count(*) FROM exception) || '/' ||
	(SELECT count(*) FROM recon_match) || '/' || (SELECT count(*) FROM statement_line) || '/' || (SELECT count(*) FROM file_load)")

# --- a person resolves a break: a decision and a note
xid=$(t_psql "SELECT min(exception_id) FROM exception WHERE status = 'OPEN' AND stage = 'reconcile' AND opened_date = '$D2'")
[ -n "$xid" ] || t_fail "no open reconcile exception of $D2 to resolve"
assert_exit 0 t_pipeline resolve "$xid" --note "confirmed with the bank: a fee" --by alice
assert_eq "RESOLVED|alice|confirmed with the bank: a fee" "$(t_psql "SELECT status, closed_by, close_note FROM exception WHERE exception_id = $xid")" "resolved"
assert_eq "1" "$(t_psql "SELECT rows FROM history_replace WHERE action LIKE 'resolve:%' AND detail = 'exception $xid' AND operator = 'alice'")" "the resolution recorded"

# --- every UPDATE and DELETE of a history table as the nightly role: refused by privileges
for tbl in stage_run fetched_file file_load statement statement_line trustee_register trustee_holding \
	recon_match recon_match_movement exception recon_run_config history_replace bank_rec bank_rec_item \
	book_balance recon_signoff exception_assignment exception_comment \
	settlement_action outbound_attempt cash_movement_void statement_pending recon_match_notification \
	file_acceptance payment_status_report payment_status transfer_status_event; do
	col=$(t_psql "SELECT attname FROM pg_attribute WHERE attrelid = '$tbl'::regclass AND attnum = 1")
	refused_as_nightly "DELETE FROM $tbl" "permission denied for table $tbl"
	refused_as_nightly "UPDATE $tbl SET $col = $col" "permission denied for table $tbl"
done
# the columns the nightly role could update before (column grants): gone too
refused_as_nightly "UPDATE stage_run SET state = 'done' WHERE state = 'failed'" "permission denied"
refused_as_nightly "UPDATE statement SET closing_minor = 0" "permission denied"
refused_as_nightly "UPDATE exception SET status = 'CLOSED', closed_date = current_date WHERE exception_id = $xid" "permission denied"
refused_as_nightly "INSERT INTO history_replace (table_name, change, rows) VALUES ('statement', 'DELETE', 1)" "permission denied"

# --- the replace paths refuse what is not their own
done_run=$(t_psql "SELECT max(run_id) FROM stage_run WHERE stage = 'normalize' AND business_date = '$D2'")
refused_as_nightly "SELECT normalize_replace_file($done_run, (SELECT min(file_id) FROM fetched_file WHERE business_date = '$D2'))" \
	"run $done_run: not a running normalize stage \\(normalize done\\)"
refused_as_nightly "SELECT recon_replace_date($done_run)" "not a running reconcile stage"
refused_as_nightly "SELECT bank_rec_replace_date($done_run)" "not a running reconcile stage"
refused_as_nightly "SELECT exceptions_replace($done_run, 'reconcile')" "not a running reconcile stage"
refused_as_nightly "SELECT exception_close_open($done_run, 'UNMATCHED_STATEMENT', 'x', 'me')" "not a running normalize stage"
refused_as_nightly "SELECT stage_run_reap()" "only the holder of the pipeline lock"
refused_as_nightly "SELECT stage_run_finish($done_run, 'stale', 0, 0, 0, NULL, NULL)" "a run ends done or failed"
# a running run of its own (as the runner makes one) still may not reach another date's file or older statements
run=$(nightly "INSERT INTO stage_run (business_date, stage, state, pid, host, operator, config_digest)
	VALUES ('$D2', 'normalize', 'running', 1, 'test', 'mallory', 'x') RETURNING run_id" | tail -1)
refused_as_nightly "SELECT normalize_replace_file($run, (SELECT min(file_id) FROM fetched_file WHERE business_date = '$D1'))" \
	"is not one of $D2's files"
refused_as_nightly "SELECT normalize_drop_statements($run, ARRAY[(SELECT min(statement_id) FROM statement)])" "are not this run's own"
refused_as_nightly "SELECT normalize_statement_header($run, (SELECT min(statement_id) FROM statement), 'x', '', '$D2', 0, false, '$D2', 0, false, 0, 'x', 'SGD')" \
	"is not this run's own"
assert_eq "t" "$(nightly "SELECT stage_run_finish($run, 'failed', 0, 0, 0, 1, 'test run')" | tail -1)" "a running run records its own end"
assert_eq "f" "$(nightly "SELECT stage_run_finish($run, 'done', 0, 0, 0, NULL, NULL)" | tail -1)" "and only once"
assert_eq "$before" "$(t_psql "SELECT (SELECT count(*) FROM stage_run) - 1 || '/' || (SELECT count(*) FROM exception) || '/' ||
	(SELECT count(*) FROM recon_match) || '/' || (SELECT count(*) FROM statement_line) || '/' || (SELECT count(*) FROM file_load)")" \
	"nothing changed by the refused writes"

# --- a resolved exception and the audit: refused even to the superuser
out=$(t_psql "DELETE FROM exception WHERE exception_id = $xid" 2>&1)
assert_contains "$out" "exception $xid: resolved by alice (\"confirmed with the bank: a fee\"), which is never changed or deleted" "superuser cannot delete a resolved exception"
out=$(t_psql "UPDATE exception SET close_note = 'nothing' WHERE exception_id = $xid" 2>&1)
assert_contains "$out" "which is never changed or deleted" "superuser cannot change a person's note"
out=$(t_psql "DELETE FROM history_replace" 2>&1)
assert_contains "$out" "history_replace is append-only" "the audit cannot be deleted"

# --- the replace paths still work: normalize and reconcile --force for D2, then the stale stages
audit_before=$(t_psql "SELECT count(*) FROM history_replace")
assert_exit 0 t_pipeline normalize --date $D2 --force
nrun=$(t_psql "SELECT max(run_id) FROM stage_run WHERE stage = 'normalize'")
assert_eq "t" "$(t_psql "SELECT count(*) > 0 FROM history_replace WHERE run_id = $nrun AND table_name = 'statement_line'
	AND change = 'DELETE' AND action LIKE 'normalize --force: file % loaded again' AND db_user = 'postgres' AND business_date = '$D2'")" \
	"normalize --force recorded the lines it replaced, with the run and date"
assert_eq "reconcile|stale" "$(t_psql "SELECT stage, state FROM stage_run WHERE business_date = '$D2' AND stage = 'reconcile' ORDER BY run_id DESC LIMIT 1")" \
	"the runner marked reconcile stale"
assert_eq "t" "$(t_psql "SELECT count(*) = 1 FROM history_replace WHERE run_id = $nrun AND table_name = 'stage_run' AND action = 'normalize redone: reconcile marked stale'")" \
	"the stale mark recorded"
assert_exit 0 t_pipeline run --date $D2
rrun=$(t_psql "SELECT max(run_id) FROM stage_run WHERE stage = 'reconcile'")
assert_eq "t" "$(t_psql "SELECT count(*) > 0 FROM history_replace WHERE run_id = $rrun AND table_name = 'exception' AND change = 'DELETE'")" \
	"reconcile recorded the exceptions of its date it opened again"
assert_exit 0 t_pipeline reconcile --date $D2 --force
assert_eq "t" "$(t_psql "SELECT sum(rows) > 0 FROM history_replace WHERE run_id = (SELECT max(run_id) FROM stage_run WHERE stage = 'reconcile')
	AND table_name = 'recon_match' AND action = 'reconcile: the date''s matches made again'")" "reconcile --force recorded the matches it replaced"
assert_eq "RESOLVED|alice|confirmed with the bank: a fee" "$(t_psql "SELECT status, closed_by, close_note FROM exception WHERE exception_id = $xid")" \
	"the resolved exception and its note survive the reruns"
[ "$(t_psql "SELECT count(*) FROM history_replace")" -gt "$audit_before" ] || t_fail "the reruns recorded nothing"

# --- every deleted history row was deleted by a replace path (the reliability invariant)
assert_eq "" "$(psql -X -q -A -t -h "$PGSOCK" -U postgres -d "$T_DB" -f "$REPO/tests/reliability/invariants.sql" | grep 'history' )" \
	"no history row lost"
t_psql "INSERT INTO fetched_file (business_date, source, remote_name, local_path, size_bytes, sha256, status, run_id)
	VALUES ('$D2', 'bank_client', 'planted', '/nowhere/planted', 0, repeat('0', 64), 'NEW', $nrun);
	DELETE FROM fetched_file WHERE remote_name = 'planted'" >/dev/null
assert_contains "$(psql -X -q -A -t -h "$PGSOCK" -U postgres -d "$T_DB" -f "$REPO/tests/reliability/invariants.sql")" \
	"violation|history row lost|fetched_file:" "a deletion outside the replace paths is a violation"

t_done
