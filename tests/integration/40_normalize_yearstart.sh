#!/bin/bash
# The continuity check at the start of a year (fixtures/formats/yearstart): banks restart the MT940
# statement number at 1 (:28C: 1/1 or 00001/001) on the first statement of a new year. A reset to 1
# whose statement closes in a later year than the previous statement closed (its :60F: is still
# the previous closing date, 31 December, as banks write it), with the balance
# carried over, is accepted; a reset within the same year, a number that skips after a reset, and a
# reset whose opening balance is not the previous closing balance are each a STATEMENT_GAP (the
# statement still loads). Two chains: the client-money account (accepted reset on 2027-01-04, then
# statement 3 on 2027-01-05) and the trustee's cash account (reset on 2026-12-31, then a reset
# with a wrong opening balance on 2027-01-04). The files are registered as fetched directly.
source "$(dirname "$0")/../lib.sh"
t_init normalize_yearstart

F=$REPO/fixtures/formats/yearstart
q() { t_psql "$1"; }

# day DATE FILE...: FILE(s) as if fetch had brought them for DATE, then the normalize stage
day() {
	local d=$1 f src sha
	shift
	q "INSERT INTO stage_run (business_date, stage, state, finished_at, pid, host, operator, config_digest)
	   VALUES ('$d', 'fetch', 'done', now(), 1, 'test', 'test', 'test')" >/dev/null
	for f in "$@"; do
		case $f in stmt_*) src=bank_client ;; trustee_*) src=trustee_cash ;; esac
		sha=$(sha256sum "$F/$f" | cut -d' ' -f1)
		q "INSERT INTO fetched_file (business_date, source, remote_name, local_path, size_bytes, sha256, status, run_id)
		   VALUES ('$d', '$src', '$f', '$F/$f', $(stat -c %s "$F/$f"), '$sha', 'NEW',
		           (SELECT max(run_id) FROM stage_run WHERE stage = 'fetch'))" >/dev/null
	done
	assert_exit 0 t_pipeline normalize --date "$d"
}
gaps() { q "SELECT type || '|' || severity || '|' || subject || '|' || account_no || '|' || item_date || '|' || currency
	|| '|' || statement_ref || '|' || opened_date || '|' || status || '|' || detail FROM exception ORDER BY exception_id"; }

# 2026-12-30/31: the previous year's last statements; the trustee's count restarts (1/1) on 31 December
day 2026-12-30 trustee_8800123456_20261230.sta
assert_eq "" "$(gaps)" "2026-12-30: the trustee account's first statement"
day 2026-12-31 stmt_0123456789_20261231.sta trustee_8800123456_20261231.sta
G1="STATEMENT_GAP|ERROR|statement:8800123456:1/1|8800123456|2026-12-31|SGD|8800123456:1/1|2026-12-31|OPEN|Account 8800123456: statement 1/1 does not follow the previous statement 00261/001: it repeats or goes back. The statement was loaded; check with the bank."
assert_eq "$G1" "$(gaps)" "2026-12-31: a restart at 1 within the same year is a gap"

# 2027-01-04: the client account's count restarts (1/1) with the balance carried over: accepted.
# The trustee's restart (00001/001) opens at 900.00 where the previous statement closed at 800.00: a gap
day 2027-01-04 stmt_0123456789_20270104.sta trustee_8800123456_20270104.sta
G2="STATEMENT_GAP|ERROR|statement:8800123456:00001/001|8800123456|2027-01-04|SGD|8800123456:00001/001|2027-01-04|OPEN|Account 8800123456: the opening balance SGD 900.00 of statement 00001/001 differs from the closing balance SGD 800.00 of the previous statement 1/1 (2026-12-31): money appeared or vanished between them. The statement was loaded; check with the bank."
assert_eq "$G1
$G2" "$(gaps)" "2027-01-04: the year-start reset is accepted; a reset with another opening balance is a gap"

# 2027-01-05: statement 3 after the reset to 1: statement 2 is missing
day 2027-01-05 stmt_0123456789_20270105.sta
G3="STATEMENT_GAP|ERROR|statement:0123456789:3/1|0123456789|2027-01-05|SGD|0123456789:3/1|2027-01-05|OPEN|Account 0123456789: statement 3/1 does not follow the previous statement 1/1: statements are missing in between. The statement was loaded; check with the bank."
assert_eq "$G1
$G2
$G3" "$(gaps)" "2027-01-05: a number that skips after a reset is a gap"

# every statement loaded (a gap never stops one), none failed the gate
assert_eq "0123456789|00262|001|2026-12-31|100000|150000|PASSED
0123456789|1|1|2027-01-04|150000|160000|PASSED
0123456789|3|1|2027-01-05|160000|170000|PASSED
8800123456|00261|001|2026-12-30|50000|70000|PASSED
8800123456|1|1|2026-12-31|70000|80000|PASSED
8800123456|00001|001|2027-01-04|90000|100000|PASSED" "$(q "SELECT account_no, statement_no, sequence_no, business_date,
	opening_minor, closing_minor, gate FROM statement ORDER BY account_no, business_date")" "all six statements loaded"
assert_eq "0|1|1|1" "$(q "SELECT string_agg(exceptions::text, '|' ORDER BY run_id) FROM stage_run WHERE stage = 'normalize'")" \
	"exceptions opened per run: one per gap"
t_done
