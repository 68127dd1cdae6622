#!/bin/bash
# Reconcile is one transaction: a failure after the matches were written (here the database refuses
# the exceptions) leaves nothing of the run behind - no match, no exception - the stage is recorded
# as failed with the reason, and the next run does the whole date. Also: a movement id of any
# length is handled (subjects are not truncated).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/50_reconcile_lib.inc"
t_init reconcile_atomic

recon_setup
recon_day1 fwd
LONG_ID=M-$(printf 'X%.0s' $(seq 1 400))
t_psql "INSERT INTO cash_movement (movement_id, account_no, direction, amount_minor, currency, expected_date,
          reference, kind) VALUES ('$LONG_ID', '0123456789', 'DEBIT', 123456, 'SGD', '2026-11-10', 'WD-LONG', 'OTHER');
        INSERT INTO cash_movement (movement_id, account_no, direction, amount_minor, currency, expected_date,
          reference, kind) VALUES ('A$LONG_ID', '0123456789', 'DEBIT', 4242, 'SGD', '2026-11-23', '', 'OTHER'),
          ('B$LONG_ID', '0123456789', 'DEBIT', 4242, 'SGD', '2026-11-23', '', 'OTHER');
        SELECT t_line('0123456789', 'C1', '2026-11-23', -4242, '', 'FT-LONG');
        CREATE FUNCTION t_refuse() RETURNS trigger LANGUAGE plpgsql AS \$\$
        BEGIN RAISE EXCEPTION 'injected failure: exceptions refused'; END \$\$;
        CREATE TRIGGER t_refuse BEFORE INSERT ON exception FOR EACH ROW EXECUTE FUNCTION t_refuse();" >/dev/null

assert_exit 1 t_pipeline reconcile --date 2026-11-23
assert_contains "$T_ERR" "injected failure: exceptions refused" "the reason is reported"
assert_eq "0|0|0" "$(t_psql "SELECT (SELECT count(*) FROM recon_match), (SELECT count(*) FROM recon_match_movement),
	(SELECT count(*) FROM exception)")" "nothing of the failed run remains"
assert_eq "0" "$(t_psql "SELECT count(*) FROM recon_run_config")" "no configuration recorded for a failed run"
assert_contains "$(t_psql "SELECT state || ' ' || error FROM stage_run WHERE stage = 'reconcile'")" \
	"failed" "the stage_run row says failed"

t_psql "DROP TRIGGER t_refuse ON exception" >/dev/null
assert_exit 0 t_pipeline reconcile --date 2026-11-23
assert_eq 6 "$(t_psql "SELECT count(*) FROM recon_match")" "the next run does the whole date"
assert_eq "UNMATCHED_LEDGER|movement:$LONG_ID|$LONG_ID" \
	"$(t_psql "SELECT type, subject, ledger_id FROM exception WHERE ledger_id LIKE 'M-XXX%'")" \
	"a 400-character movement id is carried whole"
assert_eq "A$LONG_ID,B$LONG_ID" "$(t_psql "SELECT ledger_id FROM exception WHERE type = 'AMBIGUOUS'
	AND statement_ref = 'FT-LONG'")" "AMBIGUOUS lists long candidate ids whole"
assert_exit 0 t_pipeline explain "$LONG_ID"
assert_contains "$T_OUT" "UNMATCHED_LEDGER (ERROR) OPEN" "explain finds its exception"
t_done
