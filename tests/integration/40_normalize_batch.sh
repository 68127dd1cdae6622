#!/bin/bash
# Many statements in one file: normalize writes small statements in batches (up to 1,000, or
# 256 KiB of lines) and streams a large one; the outcome must be the one of loading them one by
# one. Day 1: 2,500 statements with a skipped number (STATEMENT_GAP), a statement sent twice in a
# row (loaded once, its repeat still takes an id) and one of 6,000 lines (streamed) - everything
# loads, ids in file order, one exception. Day 2: the numbers and balances carry on from day 1 (no
# gap across the days), a gap early in the file, and statement 1,500 does not add up: the whole
# file is quarantined, only that statement's header is kept (BALANCE_BREAK), the gap is not kept.
# The files are generated here and registered as fetched directly (fetch is tested elsewhere).
source "$(dirname "$0")/../lib.sh"
t_init normalize_batch
q() { t_psql "$1"; }

# gen OUT FIRST N BALANCE [gap=K] [dup=K] [big=K:LINES] [brk=K]: N one-line statements for
# 0123456789 numbered FIRST.., balances chained from BALANCE (cents); prints the closing balance.
gen() {
	python3 - "$@" <<'EOF'
import sys
out, first, n, bal = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
o = dict(a.split("=", 1) for a in sys.argv[5:])
gap, dup, brk = int(o.get("gap", 0)), int(o.get("dup", 0)), int(o.get("brk", 0))
big = tuple(map(int, o["big"].split(":"))) if "big" in o else (0, 0)
parts, num = [], first - 1
for k in range(1, n + 1):
    num += 2 if k == gap else 1
    s = [":20:BATCH%05d\n:25:0123456789\n:28C:%05d/1\n" % (num, num),
         ":60%s:C261123SGD%d,%02d\n" % ("F" if k == 1 else "M", bal // 100, bal % 100)]
    for j in range(big[1] if k == big[0] else 1):
        amt = 100 + (k + j) % 997
        s.append(":61:2611231123C%d,%02dNTRFNONREF//FT%d-%d\n:86:BATCH %d LINE %d\n" % (amt // 100, amt % 100, num, j, num, j))
        bal += amt
    cl = bal + (1 if k == brk else 0)
    s.append(":62%s:C261123SGD%d,%02d\n-\n" % ("F" if k == n else "M", cl // 100, cl % 100))
    parts.append("".join(s) * (2 if k == dup else 1))
open(out, "w").write("".join(parts))
print(bal)
EOF
}
register() {  # register DATE FILE: as if fetch had brought FILE for bank_client on DATE
	local sha
	sha=$(sha256sum "$2" | cut -d' ' -f1)
	q "INSERT INTO stage_run (business_date, stage, state, finished_at, pid, host, operator, config_digest)
	   VALUES ('$1', 'fetch', 'done', now(), 1, 'test', 'test', 'test')" >/dev/null
	q "INSERT INTO fetched_file (business_date, source, remote_name, local_path, size_bytes, sha256, status, run_id)
	   VALUES ('$1', 'bank_client', '$(basename "$2")', '$2', $(stat -c %s "$2"), '$sha', 'NEW',
	           (SELECT max(run_id) FROM stage_run))" >/dev/null
}

# ---- day 1: 2,500 statements, 01500 skipped (1,499 is followed by 1,501), 01200 twice, 00020 has 6,000 lines
bal=$(gen "$T/day1.sta" 1 2500 1000000 gap=1500 dup=1200 big=20:6000) || exit 1
register 2026-11-23 "$T/day1.sta"
assert_exit 0 t_pipeline -v normalize --date 2026-11-23
assert_eq "LOADED|2500|8499" "$(q "SELECT status, statements, lines FROM file_load")" "day 1: loaded, the repeat once"
assert_contains "$T_ERR" 'msg="statement already loaded: skipped"' "day 1: the repeat is logged"
assert_eq "1" "$(echo "$T_ERR" | grep -c 'statement already loaded')" "day 1: one repeat"
assert_eq "2500|2501|t" "$(q "SELECT count(*), max(statement_id) - min(statement_id) + 1,
	bool_and(statement_no::int = rn + (rn >= 1500)::int) FROM (SELECT *, row_number() OVER (ORDER BY statement_id) AS rn
	FROM statement) s")" "day 1: ids in the file's order (the repeat took one, as it always has)"
assert_eq "8499|t" "$(q "SELECT count(*), bool_and(ok) FROM (SELECT line_id > lag(line_id, 1, 0::bigint) OVER
	(ORDER BY s.statement_no, l.line_no) AS ok FROM statement_line l JOIN statement s USING (statement_id)) x")" \
	"day 1: line ids in the file's order"
assert_eq "6000|00020" "$(q "SELECT line_count, statement_no FROM statement WHERE line_count > 1")" "day 1: the large statement"
assert_eq "STATEMENT_GAP|statement:0123456789:01501/1|Account 0123456789: statement 01501/1 does not follow the previous statement 01499/1: statements are missing in between. The statement was loaded; check with the bank." \
	"$(q "SELECT type, subject, detail FROM exception")" "day 1: exactly one gap"
assert_eq "8500|10999|1" "$(q "SELECT rows_in, rows_out, exceptions FROM stage_run WHERE stage = 'normalize'")" \
	"day 1: counts (lines read, the repeat's too; statements + lines out; one exception)"
assert_eq "$bal" "$(q "SELECT closing_minor FROM statement WHERE statement_no = '02501'")" "day 1: closing balance"

# ---- day 2: 02502.. carries on; 02511 skipped (a gap in the first batch); the 1,500th does not add up
gen "$T/day2.sta" 2502 2000 "$bal" gap=10 brk=1500 >/dev/null || exit 1
register 2026-11-24 "$T/day2.sta"
assert_exit 0 t_pipeline -v normalize --date 2026-11-24
assert_eq 'detail="statement 02512/1 does not follow the previous statement 02510/1: statements are missing in between"' \
	"$(echo "$T_ERR" | grep 'msg="statement gap"' | grep -o 'detail="[^"]*"')" "day 2: one gap on the way (none between the days)"
assert_eq "QUARANTINED|0|0" "$(q "SELECT status, statements, lines FROM file_load WHERE business_date = '2026-11-24'")" \
	"day 2: the whole file is quarantined"
assert_eq "04002|BALANCE_BREAK" "$(q "SELECT statement_no, gate FROM statement WHERE business_date = '2026-11-24'")" "day 2: only the failing statement's header is kept"
assert_eq "0" "$(q "SELECT count(*) FROM statement_line l JOIN statement s USING (statement_id) WHERE s.business_date = '2026-11-24'")" \
	"day 2: no line loaded"
assert_eq "BALANCE_BREAK|statement:0123456789:04002/1|1" "$(q "SELECT type, subject, amount_minor FROM exception
	WHERE opened_date = '2026-11-24'")" "day 2: one BALANCE_BREAK, the gap went with the rollback"
t_done
