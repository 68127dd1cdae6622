#!/bin/bash
# bench/night.sh - the whole night at scale (issue 18's measure): a generated world of N statement
# lines and about N ledger movements (tools/genworld.py --lines N), run through the real pipeline on
# the **embedded cluster at its production settings** (the one `pipeline` creates itself: fsync on,
# synchronous_commit on; not the test cluster, which runs with fsync off), each step timed on its
# own, medians of BENCH_REPEAT runs (default 1), beside floors measured in the same run on the same
# machine and data:
#   parse floor  = the real MT940 parser with a counting sink (tools/parsebench.c), no database
#   copy floor   = psql \copy of the night's canonical statement lines into a table without indexes
#                  or keys, fsync on (what writing them durably costs at the least)
#   join floor   = one SQL hash join of the day's lines and movements on reference and amount
#   pandas       = bench/pandas_match.py: read the same files, join on reference, write the
#                  exceptions to XLSX, no database (the obvious alternative; Debian's python3-pandas)
# and the aims of issue 18: normalize + reconcile + report <= 5 s at 1M with peak RSS <= 256 MiB;
# ledger import <= 3 s (no-op re-import <= 1 s); at least 2x faster than pandas with a quarter of
# its memory. Sizes: BENCH_NIGHT_SIZES (default "100000 1000000"); BENCH_10M=1 adds 10,000,000
# (needs ~10 GB of disk). Peak RSS is the pipeline process's own (the backend's is not counted).
# Prints figures; never fails because the machine is slow.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
T=$REPO/var/bench/night
source bench/lib.inc     # measure, rate, mib
source tests/conf.inc    # t_write_config
PY=/usr/bin/python3
D=2026-11-23
SIZES=${BENCH_NIGHT_SIZES:-"100000 1000000"}
[ "${BENCH_10M:-0}" = 1 ] && SIZES="$SIZES 10000000"
REPEAT=${BENCH_REPEAT:-1}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : 0) }'; }
# step LABEL CMD...: runs CMD REPEAT times (it must be rerunnable), keeps the median seconds and the
# largest peak RSS in $S/LABEL.{s,kib}.
step() {
	local label=$1 i; shift
	: > "$S/$label.all"
	for ((i = 0; i < REPEAT; i++)); do
		measure "$@" || return 1
		cat "$T/time" >> "$S/$label.all"
	done
	awk '{ print $1 }' "$S/$label.all" | median > "$S/$label.s"
	awk '{ print $2 }' "$S/$label.all" | sort -n | tail -1 > "$S/$label.kib"
}
show() {      # show LABEL TEXT [AIM]
	printf '  %-34s %8.2f s   peak RSS %7s MiB   %s\n' "$2" "$(cat "$S/$1.s")" "$(mib "$(cat "$S/$1.kib")")" "${3:-}"
}
sum() { awk '{ s += $1 } END { printf "%.2f", s }' "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }

# stop_cluster DIR: stops the embedded cluster of the world under DIR, if it runs.
stop_cluster() {
	local bin
	[ -f "$1/data/pg/data/postmaster.pid" ] || return 0
	bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$bin/pg_ctl" -D "$1/data/pg/data" -m fast -w stop >/dev/null 2>&1
	else
		"$bin/pg_ctl" -D "$1/data/pg/data" -m fast -w stop >/dev/null 2>&1
	fi
	return 0
}

for n in $SIZES; do
	W=$T/$n
	S=$W/figures
	stop_cluster "$W"        # a cluster left by an interrupted run must not outlive its directory
	rm -rf "$W"
	mkdir -p "$W" "$S"
	echo "night: $n statement lines (generating the world ...)"
	$PY tools/genworld.py --lines "$n" --out "$W/world" >/dev/null || { echo "night: genworld failed" >&2; exit 1; }
	t_write_config "$W" ""        # the embedded cluster: production settings
	P=("$REPO/pipeline" --config "$W/pipeline.conf" -q)
	"${P[@]}" db init >/dev/null || { echo "night: db init failed" >&2; exit 1; }
	SOCK=$("${P[@]}" db status | awk '$1 == "socket" { print $2 }')
	lines=$(grep -c '^:61:' "$W/world/statements/$D/bank/client/"*.sta)
	movements=$(($(wc -l < "$W/world/ledger/$D/cash_movements.csv") - 1))
	echo "  $lines client-money lines, $movements movements; embedded cluster: fsync=$(psql -X -A -t -h "$SOCK" -U postgres -d pipeline -c 'SHOW fsync'), synchronous_commit=$(psql -X -A -t -h "$SOCK" -U postgres -d pipeline -c 'SHOW synchronous_commit')"

	# the ledger import, then its no-op re-import
	measure "${P[@]}" ledger import "$W/world/ledger/$D" || exit 1
	cp "$T/time" "$S/import.all"; awk '{ print $1 }' "$T/time" > "$S/import.s"; awk '{ print $2 }' "$T/time" > "$S/import.kib"
	step reimport "${P[@]}" ledger import "$W/world/ledger/$D" || exit 1
	cp -R "$W/world/statements/$D/." "$W/remote/"
	"${P[@]}" fetch --date "$D" >/dev/null 2>&1 || { echo "night: fetch failed" >&2; exit 1; }
	step normalize "${P[@]}" normalize --date "$D" --force || exit 1
	step reconcile "${P[@]}" reconcile --date "$D" --force || exit 1
	step report "${P[@]}" report --date "$D" --force || exit 1

	# floors, same machine, same data, same cluster
	make -s build/rel/formats/mt940.o >/dev/null 2>&1
	if cc -O2 -std=c11 -D_GNU_SOURCE -Isrc -Iengine -Iformats -o "$W/parsebench" tools/parsebench.c \
		build/rel/formats/*.o build/rel/src/*.o build/rel/migrations.o \
		$(pkg-config --libs libpq libssh2 libpcre2-8 xlsxwriter inih libcrypto libcurl jansson libxml-2.0) \
		-lcsv -lm 2>"$W/cc.err"; then
		step parse "$W/parsebench" mt940 "$W/world/statements/$D/bank/client/"*.sta "$REPO/formats" || exit 1
	else
		echo "  (parse floor not built: $(head -1 "$W/cc.err"))"
		echo 0 > "$S/parse.s"; echo 0 > "$S/parse.kib"
	fi
	psql -X -q -h "$SOCK" -U postgres -d pipeline -c "\\copy (SELECT * FROM statement_line WHERE statement_id IN (SELECT statement_id FROM statement WHERE business_date = '$D')) TO '$W/lines.copy'"
	psql -X -q -h "$SOCK" -U postgres -d pipeline -c "CREATE TABLE bench_bare (LIKE statement_line)"
	step copy psql -X -q -h "$SOCK" -U postgres -d pipeline -v ON_ERROR_STOP=1 \
		-c "TRUNCATE bench_bare" -c "\\copy bench_bare FROM '$W/lines.copy'" || exit 1
	step join psql -X -q -h "$SOCK" -U postgres -d pipeline -v ON_ERROR_STOP=1 \
		-c "SET enable_mergejoin = off" -c "SET enable_nestloop = off" -c "
		SELECT count(*) FROM statement_line l JOIN cash_movement m
		    ON m.reference = l.reference AND m.amount_minor = abs(l.amount_minor)
		 WHERE l.statement_id IN (SELECT statement_id FROM statement WHERE business_date = '$D')" || exit 1
	psql -X -q -h "$SOCK" -U postgres -d pipeline -c "DROP TABLE bench_bare"
	step pandas $PY bench/pandas_match.py "$W/world" "$D" "$W/pandas.xlsx" || exit 1

	night=$(sum "$S/normalize.s" "$S/reconcile.s" "$S/report.s")
	night_kib=$(cat "$S/normalize.kib" "$S/reconcile.kib" "$S/report.kib" | sort -n | tail -1)
	echo "  pipeline (median of $REPEAT):"
	show import "ledger import" "(aim at 1M: <= 3 s)"
	show reimport "ledger re-import (no-op)" "(aim at 1M: <= 1 s)"
	show normalize "normalize"
	show reconcile "reconcile"
	show report "report"
	printf '  %-34s %8.2f s   peak RSS %7s MiB   (aim at 1M: <= 5 s, <= 256 MiB)\n' "normalize + reconcile + report" "$night" "$(mib "$night_kib")"
	echo "  floors:"
	show parse "MT940 parse, no database"
	show copy "\\copy lines into a bare table"
	show join "SQL hash join lines x movements"
	show pandas "pandas: read, join, write XLSX"
	printf '  %-34s %8s x the time, %s x the memory of pandas   (aim: <= 0.5 x and <= 0.25 x)\n' "the night" \
		"$(ratio "$night" "$(cat "$S/pandas.s")")" "$(ratio "$night_kib" "$(cat "$S/pandas.kib")")"
	stop_cluster "$W"
done
