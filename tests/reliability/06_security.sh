#!/bin/bash
# Scenario 6, the security checklist of issue 9, tested: after a real nightly (fixture day
# 2026-11-23, which pays and issues), the database itself refuses to UPDATE, DELETE or TRUNCATE
# the journal, to DELETE transfers, issuance records and outbound files, and to change a transfer's
# amount or accounts, move its status backwards, or change an issuance record's units - even for
# the superuser the pipeline connects as (triggers, not only privileges). The fetch stage never
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
assert_eq "$before" "$(rel_snapshot)" "nothing changed by the refused statements"
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

REL_NOTES="journal/transfer/issuance/outbound refusals (13), remote and inbox symlinks, doctor"
rel_result "6 security checklist"
