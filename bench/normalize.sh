#!/bin/bash
# bench/normalize.sh - parses and normalizes a generated N-line bank CSV (sgbank-corp) and an N-line
# MT940 file (tools/genworld.py; N = BENCH_NORMALIZE_LINES, default 1,000,000) and prints lines/s,
# MB/s and peak RSS of `pipeline inspect` and of the normalize stage, beside the floors measured in
# the same run on the same data:
#   csv floor  = a bare libcsv pass over the CSV (tools/parsebench.c --csv-floor, no validation)
#   copy floor = psql \copy of the same N canonical statement_line rows into statement_line (and,
#                for reference, into a bare table shaped like it without the foreign key)
# Also the parser alone (tools/parsebench.c: real parser, counting sink). Never fails on slowness.
# Wall-clock seconds are shown with the process's own CPU seconds: on a shared machine the wall
# clock also measures the neighbours (for the stage, PostgreSQL's work is in the wall clock only).
set -uo pipefail
cd "$(dirname "$0")/.."
source tests/lib.sh
source bench/lib.inc     # measure, rate, mib

N=${BENCH_NORMALIZE_LINES:-1000000}
W=$REPO/fixtures/formats/world/20261124
t_init bench_normalize
B=$T/big
mkdir -p "$B"

mbs() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? b / 1048576 / s : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
line() {      # line LABEL LINES BYTES SECONDS RSS_KIB
	printf '  %-44s %7.2f s %9s lines/s %7s MB/s' "$1" "$4" "$(rate "$2" "$4")" "$(mbs "$3" "$4")"
	[ -n "${5:-}" ] && printf '   peak RSS %6s MiB' "$(mib "$5")"
	printf '   (CPU %s s)\n' "$(cat "$T/cpu")"
}

echo "bench/normalize: generating $N-line files with tools/genworld.py ..."
/usr/bin/python3 tools/genworld.py --csv-lines "$N" "$B/acct.csv" >/dev/null || exit 0
/usr/bin/python3 tools/genworld.py --mt940-lines "$N" "$B/stmt.sta" >/dev/null || exit 0
CSV_BYTES=$(stat -c %s "$B/acct.csv")
STA_BYTES=$(stat -c %s "$B/stmt.sta")
cc -O2 -std=c11 -D_GNU_SOURCE -Isrc -Iengine -Iformats -o "$T/parsebench" tools/parsebench.c \
	build/rel/formats/*.o build/rel/src/money.o build/rel/src/bizdate.o build/rel/src/errors.o build/rel/src/util.o \
	build/rel/src/utf8.o build/rel/src/csvout.o \
	$(pkg-config --libs libpcre2-8 libcrypto) -lcsv || exit 0

echo "files: CSV $(mbs "$CSV_BYTES" 1) MB, MT940 $(mbs "$STA_BYTES" 1) MB, $N statement lines each"
echo "parsing (no database):"
measure "$T/parsebench" --csv-floor "$B/acct.csv" >/dev/null
s_floor=$(awk '{print $1}' "$T/time")
line "floor: bare libcsv pass over the CSV" "$N" "$CSV_BYTES" "$s_floor" "$(awk '{print $2}' "$T/time")"
measure "$T/parsebench" sgbank-corp "$B/acct.csv" >/dev/null
line "sgbank-corp parser alone (counting sink)" "$N" "$CSV_BYTES" $(cat "$T/time")
s_csvparse=$(awk '{print $1}' "$T/time")
measure "$T/parsebench" mt940 "$B/stmt.sta" >/dev/null
line "MT940 parser alone (counting sink)" "$N" "$STA_BYTES" $(cat "$T/time")
measure "$PIPELINE" inspect --format sgbank-corp "$B/acct.csv" >/dev/null
line "pipeline inspect CSV (2 passes + JSON)" "$N" "$CSV_BYTES" $(cat "$T/time")
measure "$PIPELINE" --config "$T/pipeline.conf" inspect --source bank_client "$B/stmt.sta" >/dev/null
line "pipeline inspect MT940 (2 passes + JSON + refs)" "$N" "$STA_BYTES" $(cat "$T/time")

# The normalize stage: day 1 has the big CSV (operating), day 2 the big MT940 (client money); the
# other sources get the small fixture files so that fetch finds every required file.
put() { mkdir -p "$(dirname "$2")"; cp "$1" "$2"; }
R=$T/remote
put "$W/bank/client/stmt_0123456789_20261124.sta" "$R/bank/client/stmt_0123456789_20261124.sta"
put "$B/acct.csv" "$R/bank/operating/acct_0123456790_20261124.csv"
put "$W/trustee/cash/trustee_8800123456_20261124.sta" "$R/trustee/cash/trustee_8800123456_20261124.sta"
put "$W/trustee/register/register_20261124.csv" "$R/trustee/register/register_20261124.csv"
put "$B/stmt.sta" "$R/bank/client/stmt_0123456789_20261125.sta"
# (a byte-identical re-send does not count as the day's file: day 2 takes other small files)
put "$W/../20261126/bank/operating/acct_0123456790_20261126.csv" "$R/bank/operating/acct_0123456790_20261125.csv"
put "$W/../20261125/trustee/cash/trustee_8800123456_20261125.sta" "$R/trustee/cash/trustee_8800123456_20261125.sta"
put "$W/../20261125/trustee/register/register_20261125.csv" "$R/trustee/register/register_20261125.csv"
t_pipeline -q fetch --date 2026-11-24 >/dev/null 2>&1 || { echo "bench/normalize: fetch failed" >&2; exit 0; }
t_pipeline -q fetch --date 2026-11-25 >/dev/null 2>&1 || { echo "bench/normalize: fetch failed" >&2; exit 0; }
echo "normalize stage (parse, validate, gate, COPY into PostgreSQL, one transaction per file):"
measure "$PIPELINE" --config "$T/pipeline.conf" -q normalize --date 2026-11-24 >/dev/null
s_norm_csv=$(awk '{print $1}' "$T/time")
line "normalize, day with the CSV" "$N" "$CSV_BYTES" $(cat "$T/time")
measure "$PIPELINE" --config "$T/pipeline.conf" -q normalize --date 2026-11-25 >/dev/null
s_norm_sta=$(awk '{print $1}' "$T/time")
line "normalize, day with the MT940" "$N" "$STA_BYTES" $(cat "$T/time")
loaded=$(t_psql "SELECT count(*) FROM statement_line")
echo "  loaded statement lines: $loaded (expected $((2 * N)) + the small files')"

# copy floors: the same canonical rows of each day, \copy'd (a) into statement_line itself after
# deleting them (its foreign key, unique key and indexes: what the stage pays too), and (b) into a
# bare table shaped like it (same columns, constraints and indexes; no foreign key).
t_psql "CREATE TABLE floor_line (LIKE statement_line INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)" >/dev/null
COLS="statement_id, line_no, account_no, entry_date, value_date, amount_minor, currency, mark, funds_code,
	type_code, customer_ref, bank_ref, supplementary, narrative, reference"
copy_floor() {   # copy_floor ACCOUNT DATE LABEL -> seconds in $s_copy (real table) and $s_bare
	local sel="FROM statement_line l JOIN statement s USING (statement_id) WHERE s.account_no = '$1'
		AND s.business_date = '$2'"
	t_psql "COPY (SELECT l.statement_id, l.line_no, l.account_no, l.entry_date, l.value_date, l.amount_minor,
		l.currency, l.mark, l.funds_code, l.type_code, l.customer_ref, l.bank_ref, l.supplementary, l.narrative,
		l.reference $sel) TO STDOUT" > "$B/rows.tsv" || return 1
	[ "$(wc -l < "$B/rows.tsv")" = "$N" ] || { echo "bench/normalize: expected $N rows to copy" >&2; return 1; }
	t_psql "DELETE FROM statement_line WHERE line_id IN (SELECT l.line_id $sel)" >/dev/null
	t_psql "VACUUM statement_line" >/dev/null
	measure psql -X -q -h "$PGSOCK" -U postgres -d "$T_DB" -c "\\copy statement_line ($COLS) FROM '$B/rows.tsv'" >/dev/null
	s_copy=$(awk '{print $1}' "$T/time")
	line "floor: \\copy $N rows into statement_line ($3)" "$N" "$(stat -c %s "$B/rows.tsv")" $(cat "$T/time")
	t_psql "TRUNCATE floor_line" >/dev/null
	measure psql -X -q -h "$PGSOCK" -U postgres -d "$T_DB" -c "\\copy floor_line ($COLS) FROM '$B/rows.tsv'" >/dev/null
	s_bare=$(awk '{print $1}' "$T/time")
	line "floor: \\copy $N rows into a bare copy ($3)" "$N" "$(stat -c %s "$B/rows.tsv")" $(cat "$T/time")
}
copy_floor 0123456790 2026-11-24 CSV
s_copy_csv=$s_copy
copy_floor 0123456789 2026-11-25 MT940
s_copy_sta=$s_copy
echo "summary:"
echo "  normalize CSV day / (libcsv floor + copy floor)  = $(ratio "$s_norm_csv" "$(awk -v a="$s_floor" -v b="$s_copy_csv" 'BEGIN { print a + b }')")x  (aim: <= 1.5x)"
echo "  normalize MT940 day / copy floor of its rows      = $(ratio "$s_norm_sta" "$s_copy_sta")x  (MT940: no libcsv floor)"
echo "  sgbank-corp parser alone / libcsv floor           = $(ratio "$s_csvparse" "$s_floor")x"
rm -rf "$B"
exit 0
