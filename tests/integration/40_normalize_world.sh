#!/bin/bash
# normalize on the shared fixture world (fixtures/statements): the statements of day 1 load with
# the numbers, lines and balances fixtures/README.md gives; after reconcile has matched lines, a
# forced normalize of the day replaces them (reconcile's matches of those lines go with them, the
# runner marks reconcile stale) and the next run matches them again, never twice.
source "$(dirname "$0")/../lib.sh"
t_init normalize_world
q() { t_psql "$1"; }

assert_exit 0 t_day 2026-11-23
assert_eq "0123456789|00327|42|1843756215|1914113499|PASSED
0123456790|00044|0|125000000|125000000|PASSED
8800123456|00112|0|348021540|348021540|PASSED" "$(q "SELECT account_no, statement_no, line_count, opening_minor, closing_minor, gate
	FROM statement WHERE business_date = '2026-11-23' ORDER BY 1")" "day 1 statements as in fixtures/README.md"
assert_eq 42 "$(q "SELECT count(*) FROM statement_line")" "42 lines"
assert_eq "0" "$(q "SELECT count(*) FROM statement_line WHERE reference = ''")" \
	"every line of day 1 has its reference extracted by the source's patterns"
assert_eq "VA99999999" "$(q "SELECT reference FROM statement_line WHERE bank_ref = 'FT26327000442'")" \
	"problem 1's reference extracted"
assert_eq "2" "$(q "SELECT count(*) FROM statement_line WHERE amount_minor = 500000 AND account_no = '0123456789'
	AND reference = 'VA67307949'")" "two identical deposits, both kept"
assert_eq "LOADED LOADED LOADED LOADED" "$(q "SELECT string_agg(status, ' ') FROM file_load")" "four files loaded"
matches=$(q "SELECT count(*) FROM recon_match")
[ "$matches" -gt 0 ] || t_fail "reconcile matched nothing"

assert_exit 0 t_pipeline normalize --date 2026-11-23 --force
assert_eq 0 "$(q "SELECT count(*) FROM recon_match")" "forced normalize takes reconcile's matches of its lines with it"
assert_eq 42 "$(q "SELECT count(*) FROM statement_line")" "same lines, not doubled"
assert_eq stale "$(q "SELECT state FROM stage_run WHERE stage = 'reconcile' ORDER BY run_id DESC LIMIT 1")" "reconcile stale"
assert_exit 0 t_pipeline run --date 2026-11-23
assert_eq "$matches" "$(q "SELECT count(*) FROM recon_match")" "the next run matches them again, once"
t_done
