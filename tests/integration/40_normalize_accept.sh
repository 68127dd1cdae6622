#!/bin/bash
# A corrected file re-sent under the same name (`pipeline accept`), end to end on the real database:
# the bank's statement for 2026-11-24 is loaded by the nightly; the bank re-sends it corrected under
# the same name; fetch keeps it beside the first as a CONFLICT copy and a run loads nothing of it;
# `pipeline accept` makes it the file of record (audited, first copy kept); the next run unloads the
# first copy, loads the accepted one and redoes reconcile and report; status, explain and the
# Statements sheet say which copy was used, who accepted it and why. The nightly role may add
# acceptances but never change or remove one; the database refuses that to everyone.
source "$(dirname "$0")/../lib.sh"
t_init normalize_accept
NAME=stmt_0123456789_20261124.sta
REMOTE=$T/remote/bank/client/$NAME

t_day 2026-11-23 >/dev/null 2>&1; assert_eq 0 $? "day 1"
t_day 2026-11-24 >/dev/null 2>&1; assert_eq 0 $? "day 2"
FIRST=$(t_psql "SELECT file_id FROM fetched_file WHERE remote_name = '$NAME'")
assert_eq "LOADED" "$(t_psql "SELECT status FROM file_load WHERE file_id = $FIRST")" "the first copy loaded"
RUNS_BEFORE=$(t_psql "SELECT string_agg(stage || ':' || run_id, ' ' ORDER BY stage) FROM (SELECT DISTINCT ON (stage) stage, run_id FROM stage_run WHERE business_date = '2026-11-24' ORDER BY stage, run_id DESC) s")

# the bank re-sends the statement corrected, under the same name
sed -i 's/^\(:86:GIRO CREDIT LIM MEI LING VA67220914\)\(\r\{0,1\}\)$/\1 CORRECTED\2/' "$REMOTE"
grep -q CORRECTED "$REMOTE" || t_fail "the corrected copy differs"
assert_exit 0 t_pipeline -q fetch --date 2026-11-24 --force
COPY=$(t_psql "SELECT file_id FROM fetched_file WHERE remote_name = '$NAME' AND status = 'CONFLICT'")
[ -n "$COPY" ] || t_fail "the re-sent copy is kept as a CONFLICT"
assert_eq "OPEN" "$(t_psql "SELECT status FROM exception WHERE type = 'FILE_CONFLICT' AND subject = 'file:$COPY'")" "FILE_CONFLICT raised"
assert_exit 0 t_pipeline -q run --date 2026-11-24
assert_eq "" "$(t_psql "SELECT status FROM file_load WHERE file_id = $COPY")" "a conflict copy is never loaded by itself"
assert_eq "0" "$(t_psql "SELECT count(*) FROM statement_line WHERE narrative LIKE '%CORRECTED%'")" "nothing of it loaded"

# refused: usage, an unknown file, the file of record itself
assert_exit 2 t_pipeline accept "$COPY" --by alice
assert_contains "$T_ERR" "a note saying why is required" "a note is required"
assert_exit 2 t_pipeline accept "$COPY" --note "why"
assert_contains "$T_ERR" "say who accepts it (--by NAME)" "a name is required"
assert_exit 1 t_pipeline accept 999999 --by alice --note "x"
assert_contains "$T_ERR" "accept: fetched file 999999 does not exist" "an unknown file"
assert_exit 1 t_pipeline accept "$FIRST" --by alice --note "x"
assert_contains "$T_ERR" "accept: file $FIRST ($NAME of 2026-11-24, source bank_client) is already the file of record" \
	"the file of record cannot be accepted again"
assert_eq "0" "$(t_psql "SELECT count(*) FROM file_acceptance")" "nothing recorded by a refusal"

# accept the corrected copy
assert_exit 0 t_pipeline accept "$COPY" --by alice --note "bank's corrected statement, ticket SR-1182"
assert_contains "$T_OUT" "file $COPY ($NAME, source bank_client) is the file of record for 2026-11-24, superseding file $FIRST" "accept says what it did"
assert_eq "$COPY|$FIRST|alice|bank's corrected statement, ticket SR-1182" \
	"$(t_psql "SELECT file_id, superseded_file_id, accepted_by, note FROM file_acceptance")" "the acceptance is recorded"
assert_eq "RESOLVED|alice" "$(t_psql "SELECT status, closed_by FROM exception WHERE type = 'FILE_CONFLICT' AND subject = 'file:$COPY'")" \
	"the FILE_CONFLICT is resolved by the acceptance"
assert_eq "normalize:stale reconcile:done report:done settle:done" \
	"$(t_psql "SELECT string_agg(stage || ':' || state, ' ' ORDER BY stage) FROM (SELECT DISTINCT ON (stage) stage, state FROM stage_run WHERE business_date = '2026-11-24' AND stage <> 'fetch' ORDER BY stage, run_id DESC) s")" \
	"normalize is stale (redoing it makes the later stages stale)"
assert_eq "alice|accept: normalize marked stale|stage_run|UPDATE|1" \
	"$(t_psql "SELECT operator, action, table_name, change, rows FROM history_replace WHERE action LIKE 'accept:%'")" \
	"the stale mark is recorded in history_replace"
assert_eq "exception $(t_psql "SELECT exception_id FROM exception WHERE type = 'FILE_CONFLICT' AND subject = 'file:$COPY'")" \
	"$(t_psql "SELECT detail FROM history_replace WHERE action LIKE 'resolve:%' AND operator = 'alice'")" \
	"the resolution of the FILE_CONFLICT is recorded"
assert_exit 0 t_pipeline status --date 2026-11-24
assert_contains "$T_OUT" "bank_client $NAME: file $COPY is used (NOT LOADED YET), superseding file $FIRST; accepted by alice at" "status before the rerun"

# the rerun loads the accepted copy in place of the first and redoes the later stages
assert_exit 0 t_pipeline -q run --date 2026-11-24
assert_eq "LOADED" "$(t_psql "SELECT status FROM file_load WHERE file_id = $COPY")" "the accepted copy is loaded"
assert_eq "" "$(t_psql "SELECT status FROM file_load WHERE file_id = $FIRST")" "the first copy is unloaded"
assert_eq "0" "$(t_psql "SELECT count(*) FROM statement WHERE file_id = $FIRST")" "none of the first copy's statements remain"
assert_eq "NEW" "$(t_psql "SELECT status FROM fetched_file WHERE file_id = $FIRST")" "the first copy is still recorded"
[ -f "$(t_psql "SELECT local_path FROM fetched_file WHERE file_id = $FIRST")" ] || t_fail "the first copy is still in the inbox"
assert_eq "1" "$(t_psql "SELECT count(*) FROM statement_line l JOIN statement s USING (statement_id) WHERE s.file_id = $COPY AND l.narrative LIKE '%CORRECTED%'")" \
	"the corrected line is loaded"
assert_eq "1" "$(t_psql "SELECT count(*) FROM statement WHERE account_no = '0123456789' AND business_date = '2026-11-24'")" "one statement for the date, not two"
RUNS_AFTER=$(t_psql "SELECT string_agg(stage || ':' || run_id, ' ' ORDER BY stage) FROM (SELECT DISTINCT ON (stage) stage, run_id FROM stage_run WHERE business_date = '2026-11-24' ORDER BY stage, run_id DESC) s")
for st in normalize reconcile report; do
	before=$(echo "$RUNS_BEFORE" | tr ' ' '\n' | sed -n "s/^$st://p")
	after=$(echo "$RUNS_AFTER" | tr ' ' '\n' | sed -n "s/^$st://p")
	[ "$after" -gt "$before" ] || t_fail "$st was redone after the acceptance (run $before, then $after)"
	assert_eq "done" "$(t_psql "SELECT state FROM stage_run WHERE run_id = $after")" "$st done"
done
assert_contains "$(t_psql "SELECT action FROM history_replace WHERE table_name = 'statement' AND change = 'DELETE'")" \
	"normalize: superseded copy $FIRST unloaded (an accepted copy replaces it)" "the unload is recorded in history_replace"
assert_eq "0" "$(t_psql "SELECT count(*) FROM recon_match m JOIN statement_line l USING (line_id) JOIN statement s USING (statement_id) WHERE s.file_id = $FIRST")" \
	"no match points at the first copy"
assert_eq "1" "$(t_psql "SELECT count(*) FROM recon_match m JOIN statement_line l USING (line_id) WHERE l.narrative LIKE '%CORRECTED%'")" \
	"reconcile matched the corrected line again"

# status, explain, the Statements sheet
assert_exit 0 t_pipeline status --date 2026-11-24
assert_contains "$T_OUT" "bank_client $NAME: file $COPY is used (LOADED), superseding file $FIRST; accepted by alice at" "status shows the copy used"
assert_contains "$T_OUT" ": bank's corrected statement, ticket SR-1182" "status says why"
assert_exit 0 t_pipeline status --date 2026-11-24 --json
assert_contains "$T_OUT" "\"accepted\":[{\"source\":\"bank_client\",\"remote_name\":\"$NAME\",\"file_id\":$COPY,\"load\":\"LOADED\",\"superseded_file_id\":$FIRST,\"accepted_by\":\"alice\"" \
	"status --json"
assert_exit 0 t_pipeline explain VA67220914
assert_contains "$T_OUT" "from file $COPY ($NAME) is the accepted copy, superseding file $FIRST: accepted by alice on" "explain names the copy"
/usr/bin/python3 - "$T/reports/2026-11-24/recon-2026-11-24.xlsx" "$COPY" "$FIRST" > "$T/sheet.txt" <<'PY' || t_fail "the Statements sheet"
import sys, openpyxl
ws = openpyxl.load_workbook(sys.argv[1])["Statements"]
rows = [[c.value for c in r] for r in ws.iter_rows()]
hdr = next(r for r in rows if r and r[0] == "Source")
for r in rows:
    if r and r[0] == "bank_client" and r[1] and r[1].startswith("stmt_0123456789_20261124"):
        print(r[hdr.index("Status")], "|", r[hdr.index("Reason")])
PY
assert_contains "$(cat "$T/sheet.txt")" "PASSED | accepted copy (supersedes file $FIRST), accepted by alice: bank's corrected statement, ticket SR-1182" \
	"the Statements sheet: the accepted copy"
assert_contains "$(cat "$T/sheet.txt")" "SUPERSEDED | superseded by file $COPY, accepted by alice: bank's corrected statement, ticket SR-1182" \
	"the Statements sheet: the first copy, superseded"

# audited: the nightly role may add, never change or remove; the triggers refuse it to everyone
assert_exit 1 t_psql "SELECT file_accept($FIRST, 'mallory', 'no lock')"
assert_contains "$T_ERR" "file_accept: only the holder of the pipeline lock may choose a file of record" "file_accept needs the lock"
assert_exit 1 t_psql "SET ROLE pipeline_nightly; SELECT normalize_unload_superseded(1, $FIRST)"
assert_contains "$T_ERR" "not a running normalize stage" "unloading needs a running normalize"
assert_exit 1 t_psql "SET ROLE pipeline_nightly; UPDATE file_acceptance SET note = 'nothing happened'"
assert_contains "$T_ERR" "permission denied for table file_acceptance" "the nightly role cannot UPDATE"
assert_exit 1 t_psql "SET ROLE pipeline_nightly; DELETE FROM file_acceptance"
assert_contains "$T_ERR" "permission denied for table file_acceptance" "the nightly role cannot DELETE"
assert_exit 1 t_psql "DELETE FROM file_acceptance"
assert_contains "$T_ERR" "file_acceptance is append-only: DELETE refused" "nobody can DELETE"
assert_eq "1" "$(t_psql "SELECT count(*) FROM file_acceptance")" "the acceptance stays"

# a second run changes nothing
assert_exit 0 t_pipeline -q run --date 2026-11-24
assert_eq "LOADED" "$(t_psql "SELECT status FROM file_load WHERE file_id = $COPY")" "rerun: still the accepted copy"
t_done
