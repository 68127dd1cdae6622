#!/bin/bash
# Scenario 6, the security checklist of issue 9, tested: after a real nightly (fixture day
# 2026-11-23, which pays and issues), the database itself refuses to UPDATE, DELETE or TRUNCATE
# the journal, to DELETE transfers, issuance records and outbound files, and to change a transfer's
# amount or accounts, move its status backwards, change an issuance record's units, or clear a
# file, payment file or upload once recorded (settle would issue or pay again) - even for
# the superuser (triggers, not only privileges); the nightly ran as the nightly role, which the
# privileges stop before the triggers are reached, and which cannot switch a trigger off or change
# the schema (sql/privileges.sql; 13_roles.sh tests the rest of the split). The fetch stage never
# follows a symlink: a statement that is a symlink on the server is not fetched, and a symlink
# planted in the inbox where the file will land is never written through. `pipeline doctor` names
# the libssh2 in use.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
DATE=2026-11-23
t_init rel_security
t_import $DATE || { echo "scenario 6: import failed" >&2; exit 1; }
rel_template_make        # before the nightly: the symlink cases below start from here
t_deliver $DATE
t_pipeline -q run --date $DATE >"$T/run.log" 2>&1 || { echo "scenario 6: nightly failed: $(tail -2 "$T/run.log")" >&2; exit 1; }
REL_RUNS=$((REL_RUNS + 1))
before=$(rel_snapshot)

# refused SQL REGEX: the statement fails with an error matching REGEX and changes nothing.
refused() {
	local out
	out=$(rel_psql -c "$1" 2>&1)
	REL_FAULTS=$((REL_FAULTS + 1))
	if [ $? = 0 ] && ! echo "$out" | grep -q ERROR; then
		rel_violation "accepted: $1"
	fi
	echo "$out" | grep -Eq "$2" || rel_violation "[$1]: unexpected error [$out]"
	echo "  refused: ${1:0:70} -> $(echo "$out" | head -1 | cut -c1-90)"
}
[ "$(rel_psql -c "SELECT count(*) FROM transfer")" -gt 0 ] || rel_violation "the nightly made no transfer: nothing to test"
[ "$(rel_psql -c "SELECT count(*) FROM issuance")" -gt 0 ] || rel_violation "the nightly made no issuance: nothing to test"
refused "UPDATE journal_posting SET amount_minor = amount_minor + 1" "refuse|never|not allowed|append"
refused "DELETE FROM journal_posting" "refuse|never|not allowed|append"
refused "UPDATE journal_txn SET description = 'x'" "refuse|never|not allowed|append"
refused "DELETE FROM journal_txn" "refuse|never|not allowed|append|foreign key"
refused "TRUNCATE journal_posting, journal_txn CASCADE" "refuse|never|not allowed|append"
refused "DELETE FROM transfer" "never deleted"
refused "DELETE FROM issuance" "never deleted"
refused "DELETE FROM outbound_file" "never deleted"
refused "UPDATE transfer SET amount_minor = amount_minor * 2" "only status, approval and file may change"
refused "UPDATE transfer SET to_account = from_account" "only status, approval and file may change"
refused "UPDATE transfer SET status = 'READY' WHERE status = 'UPLOADED'" "cannot go back"
refused "UPDATE issuance SET units = units + 1" "only the file may change"
refused "UPDATE issuance SET investor_id = (SELECT min(investor_id) FROM investor)" "only the file may change"
# set once (sql/091): settle picks its work by these NULLs, so clearing one would issue or pay again
refused "UPDATE issuance SET issuance_file = NULL" "a file is set once"
refused "UPDATE transfer SET payment_file = NULL WHERE payment_file IS NOT NULL" "approval and payment file are set once"
refused "UPDATE outbound_file SET uploaded_at = NULL" "recorded once"
refused "UPDATE outbound_file SET sha256 = repeat('0', 64)" "recorded once"
refused "UPDATE outbound_file SET destination = 'elsewhere'" "only its content and delivery"
# issue 16: a delivered issuance record is never cancelled, a delivered file never voided
refused "UPDATE issuance SET status = 'CANCELLED'" "a delivered record is never cancelled"
refused "UPDATE outbound_file SET voided_at = now() WHERE uploaded_at IS NOT NULL" "outbound_void_or_uploaded"
assert_eq "$before" "$(rel_snapshot)" "nothing changed by the refused statements"

# --- the role split: the nightly ran as the nightly role, which may not even try what the
# triggers refuse above, nor change the schema or switch the triggers off; the schema belongs to
# the owner role that db init ran the migrations as.
assert_eq "pipeline_nightly" "$(rel_psql -c "SELECT string_agg(DISTINCT db_role, ',') FROM stage_run")" \
	"every stage of the nightly ran as the nightly role"
assert_eq "" "$(rel_psql -c "SELECT string_agg(c.relname, ',') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = 'public' AND c.relkind IN ('r','v','S') AND pg_get_userbyid(c.relowner) <> 'pipeline_owner'")" \
	"every table, view and sequence belongs to the owner role"
assert_eq "" "$(rel_psql -c "SELECT string_agg(proname, ',') FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> 'pipeline_owner'")" "every function belongs to the owner role"
assert_eq "pipeline_owner" "$(rel_psql -c "SELECT string_agg(DISTINCT pg_get_userbyid(c.relowner), ',') FROM pg_class c
	WHERE c.relname = 'schema_migrations'")" "the migrations ran as the owner role"
# nightly_refused SQL: as the nightly role, SQL fails with "permission denied" or "must be owner".
nightly_refused() {
	local out
	out=$(rel_psql -c "SET ROLE pipeline_nightly" -c "$1" 2>&1)
	REL_FAULTS=$((REL_FAULTS + 1))
	echo "$out" | grep -Eq "permission denied|must be owner" || rel_violation "nightly role [$1]: not refused by privileges [$out]"
	echo "  nightly role refused: ${1:0:60} -> $(echo "$out" | grep ERROR | head -1 | cut -c1-80)"
}
nightly_refused "UPDATE journal_posting SET amount_minor = amount_minor + 1"
nightly_refused "DELETE FROM journal_posting"
nightly_refused "DELETE FROM journal_txn"
nightly_refused "TRUNCATE journal_posting"
nightly_refused "UPDATE transfer SET amount_minor = amount_minor * 2"
nightly_refused "UPDATE transfer SET to_account = from_account"
nightly_refused "DELETE FROM transfer"
nightly_refused "UPDATE issuance SET units = units + 1"
nightly_refused "DELETE FROM issuance"
nightly_refused "DELETE FROM outbound_file"
nightly_refused "UPDATE outbound_file SET destination = 'elsewhere'"
nightly_refused "UPDATE allocation SET allocated_units = allocated_units + 1"
nightly_refused "DELETE FROM offering_settlement"
nightly_refused "UPDATE holding SET units = units + 1"
nightly_refused "UPDATE cash_movement SET amount_minor = 1"
nightly_refused "UPDATE statement SET gate = 'PASSED'"
nightly_refused "UPDATE stage_run SET db_role = 'someone'"
nightly_refused "ALTER TABLE journal_posting DISABLE TRIGGER USER"
nightly_refused "DROP TRIGGER transfer_guard ON transfer"
nightly_refused "CREATE TABLE public.x (a int)"
nightly_refused "INSERT INTO schema_migrations (version, name) VALUES (999, 'x')"
assert_eq "$before" "$(rel_snapshot)" "nothing changed by the statements the nightly role was refused"
rel_check_invariants final

# --- the fetch stage and symlinks (dir transport: the same lstat/O_NOFOLLOW rules as sftp's)
rel_reset "$REPO/fixtures/statements/$DATE"
CLIENT=bank/client/stmt_0123456789_20261123.sta
echo "secret" >"$T/victim"
rm -f "$T/remote/$CLIENT"
ln -s "$T/victim" "$T/remote/$CLIENT"
t_pipeline -q fetch --date $DATE >"$T/fetch.log" 2>&1
rc=$?
REL_RUNS=$((REL_RUNS + 1))
REL_FAULTS=$((REL_FAULTS + 1))
echo "  remote symlink: fetch exit $rc: $(grep -E 'symlink|^pipeline:' "$T/fetch.log" | head -1 | cut -c1-150)"
assert_eq 0 "$(rel_psql -c "SELECT count(*) FROM fetched_file WHERE source = 'bank_client'")" "a remote symlink is not fetched"
[ -e "$T/data/inbox/$DATE/bank_client/$(basename "$CLIENT")" ] && rel_violation "a remote symlink was copied into the inbox"

rel_reset "$REPO/fixtures/statements/$DATE"
mkdir -p "$T/data/inbox/$DATE/bank_client"
echo "secret" >"$T/victim"
ln -s "$T/victim" "$T/data/inbox/$DATE/bank_client/$(basename "$CLIENT")"
t_pipeline -q fetch --date $DATE >"$T/fetch.log" 2>&1
rc=$?
REL_RUNS=$((REL_RUNS + 1))
REL_FAULTS=$((REL_FAULTS + 1))
echo "  inbox symlink: fetch exit $rc: $(grep '^pipeline:' "$T/fetch.log" | head -1 | cut -c1-150)"
assert_eq "secret" "$(cat "$T/victim")" "a symlink in the inbox is never written through"
assert_eq "" "$(find "$T/data" -newer "$T/victim" -type f -path '*victim*')" "nothing written outside the inbox"

# --- doctor names the libssh2 in use (Debian's fixed build is checked by doctor itself)
out=$(t_pipeline doctor --offline 2>&1)
REL_RUNS=$((REL_RUNS + 1))
assert_contains "$out" "libssh2 1." "doctor reports the libssh2 version"

REL_NOTES="20 trigger refusals, 21 nightly-role refusals, ownership, remote and inbox symlinks, doctor"
rel_result "6 security checklist"
