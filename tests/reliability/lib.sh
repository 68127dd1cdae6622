# tests/reliability/lib.sh - helpers shared by the reliability scenarios (issue 9). Source it after
# tests/lib.sh. A scenario counts its runs, the faults it injected and the invariant violations it
# found, and ends with rel_result, which appends one row to $REL_RESULTS for run.sh's table.
#
# Knobs (environment):
#   SHORT=1              the CI size: small worlds, same number of faults
#   RELIABILITY_SCALE=N  multiply world sizes by N (1 = default, ~10,000 statement lines; 10 = ~100,000)
#   REL_SEED=S           the seed of every random choice (printed; replay with the same value)
#   REL_KILLS=N          SIGKILL points in scenario 1 (default 50)

REL_DIR=$REPO/tests/reliability
REL_RESULTS=${REL_RESULTS:-$REPO/var/reliability/results.txt}
REL_SEED=${REL_SEED:-$(date +%s)}
REL_SCALE=${RELIABILITY_SCALE:-1}
SHORT=${SHORT:-0}
REL_RUNS=0
REL_FAULTS=0
REL_VIOLATIONS=0
REL_NOTES=""
mkdir -p "$(dirname "$REL_RESULTS")"

# rel_lines: the statement lines of the generated world for scenario 1.
rel_lines() {
	if [ "$SHORT" = 1 ]; then echo $((2000 * REL_SCALE)); else echo $((10000 * REL_SCALE)); fi
}

# rel_world LINES: a generated world (tools/genworld.py, seed $REL_WORLD_SEED) under
# var/reliability/world-LINES, made once and reused; prints its directory.
rel_world() {
	local dir=$REPO/var/reliability/world-$1
	if [ ! -f "$dir/summary.txt" ]; then
		rm -rf "$dir"
		python3 "$REPO/tools/genworld.py" --lines "$1" --seed "${REL_WORLD_SEED:-1}" --out "$dir" >/dev/null ||
			{ echo "reliability: genworld failed" >&2; exit 1; }
	fi
	echo "$dir"
}

rel_psql() { psql -X -q -A -t -h "$PGSOCK" -U postgres -d "$T_DB" -v ON_ERROR_STOP=1 "$@"; }
rel_admin() { psql -X -q -A -t -h "$PGSOCK" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$1" >/dev/null; }

# rel_violation WHAT: one invariant violation (printed, counted, never fatal: the scenario goes on).
rel_violation() {
	echo "VIOLATION [${T_NAME:-?}]: $*" >&2
	REL_VIOLATIONS=$((REL_VIOLATIONS + 1))
}

# rel_check_invariants [final]: tests/reliability/invariants.sql against $T_DB; each row a violation.
rel_check_invariants() {
	local out final=false
	[ "${1:-}" = final ] && final=true
	out=$(rel_psql -v final=$final -f "$REL_DIR/invariants.sql" 2>&1)
	if [ $? != 0 ]; then
		rel_violation "invariants.sql failed: $out"
		return 1
	fi
	if [ -n "$out" ]; then
		while IFS= read -r l; do rel_violation "$l"; done <<<"$out"
		return 1
	fi
}

# rel_snapshot: the database's results as stable text (tests/reliability/snapshot.sql).
rel_snapshot() { rel_psql -f "$REL_DIR/snapshot.sql"; }

# rel_files: what the outside world and the finance team see: every delivered file (name, size,
# content hash with the payment file's creation time masked), every inbox file's hash.
rel_files() {
	local d f
	for d in "$T/remote/bank/payments-in" "$T/remote/trustee/issuance-in"; do
		[ -d "$d" ] || continue
		for f in $(cd "$d" && ls -A | sort); do
			echo "delivered ${d#$T/} $f $(sed 's#<CreDtTm>[^<]*</CreDtTm>#<CreDtTm>X</CreDtTm>#' "$d/$f" | sha256sum | cut -c1-64)"
		done
	done
	[ -d "$T/data/inbox" ] && (cd "$T/data/inbox" && find . -type f ! -name '.*' ! -name '*.tmp.*' | sort | while read -r f; do
		echo "inbox $f $(sha256sum < "$f" | cut -c1-64)"; done)
	[ -d "$T/reports" ] && (cd "$T/reports" && find . -type f ! -name '.*' ! -name '*.tmp.*' | sort | sed 's/^/report /')
}

# rel_check_files: no partial file under a final name. Every delivered file equals its outbox copy
# (the file the rows were made into); every inbox file equals the remote original it was fetched
# from; every report workbook is a complete ZIP. Temporary files left by a SIGKILL (NAME.tmp.PID,
# .NAME.part.PID) are allowed (never under a final name) and counted in REL_TEMP_LEFT.
rel_check_files() {
	local f base orig
	for f in $(find "$T/remote/bank/payments-in" "$T/remote/trustee/issuance-in" -type f 2>/dev/null); do
		base=$(basename "$f")
		case $base in .*|*.tmp.*|*.part*) continue ;; esac
		orig=$(find "$T/data/outbox" -name "$base" -type f | head -1)
		[ -n "$orig" ] && cmp -s "$f" "$orig" || rel_violation "delivered $base differs from its outbox copy (or none)"
	done
	for f in $(find "$T/data/inbox" -type f 2>/dev/null); do
		base=$(basename "$f")
		case $base in .*|*.tmp.*|*.part*) continue ;; esac
		orig=$(find "$T/remote" -name "$base" -type f | head -1)
		[ -n "$orig" ] && cmp -s "$f" "$orig" || rel_violation "inbox $base differs from the remote original"
	done
	for f in $(find "$T/reports" -name '*.xlsx' -type f 2>/dev/null); do
		/usr/bin/python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); sys.exit(z.testzip() is not None)' "$f" \
			2>/dev/null || rel_violation "report $f is not a complete workbook"
	done
	REL_TEMP_LEFT=$(find "$T/remote" "$T/data" "$T/reports" \( -name '*.tmp.*' -o -name '.*.part.*' \) 2>/dev/null | wc -l)
}

# rel_compare WHAT REF_FILE: the current snapshot+files against a reference; a difference is a violation.
rel_compare() {
	local cur=$T/snapshot.cur
	{ rel_snapshot; rel_files; } >"$cur" 2>&1
	if ! cmp -s "$2" "$cur"; then
		rel_violation "$1: differs from the uninterrupted run: $(diff "$2" "$cur" | head -8 | tr '\n' ' ' | cut -c1-600)"
		cp "$cur" "$T/snapshot.diff-$(date +%s%N)"
		return 1
	fi
}

# rel_template_make: saves the current $T_DB as the template ${T_DB}_tmpl.
rel_template_make() {
	rel_admin "DROP DATABASE IF EXISTS ${T_DB}_tmpl WITH (FORCE)"
	rel_admin "CREATE DATABASE ${T_DB}_tmpl TEMPLATE $T_DB"
}

# rel_reset STATEMENTS_DIR...: $T_DB re-made from the template, data, reports and remote emptied,
# the statements of STATEMENTS_DIR copied to the remote directories again.
rel_reset() {
	local s
	rel_admin "DROP DATABASE IF EXISTS $T_DB WITH (FORCE)"
	rel_admin "CREATE DATABASE $T_DB TEMPLATE ${T_DB}_tmpl"
	rm -rf "$T/data" "$T/reports" "$T/remote"
	mkdir -p "$T/data" "$T/remote"
	for d in $(awk '/^remote_dir *=/ { sub(/^remote_dir *= */, ""); print }' "$T/pipeline.conf"); do mkdir -p "$d"; done
	for s in "$@"; do cp -R "$s/." "$T/remote/"; done
}

# rel_complete DATE [LOG]: runs the nightly until it completes. Exit 4 (the lock of a killed
# process's backend not yet released by the server) waits and retries; anything but 0 or 4 is a
# violation. Counts runs.
rel_complete() {
	local rc i
	for i in $(seq 1 50); do
		"$PIPELINE" --config "$T/pipeline.conf" -q run --date "$1" >>"${2:-$T/rerun.log}" 2>&1
		rc=$?
		REL_RUNS=$((REL_RUNS + 1))
		case $rc in
		0) return 0 ;;
		4) sleep 0.2 ;;
		*) rel_violation "rerun of $1 exited $rc (see ${2:-$T/rerun.log}): $(tail -2 "${2:-$T/rerun.log}" | tr '\n' ' ')"; return 1 ;;
		esac
	done
	rel_violation "rerun of $1 still locked after 50 tries"
	return 1
}

# rel_setup NAME LINES DATE: t_init NAME; the generated world of LINES lines plus the three
# offerings closing on DATE (fixtures/settle/ledger) imported and saved as the template; then the
# uninterrupted reference run: its results in $T/snapshot.ref, its stage start offsets (seconds
# from the process start) and durations in REF_OFF / REF_DUR. Settle pays despite the generated
# world's statement breaks, so that every run files payments. Sets W (the world's directory).
declare -A REF_OFF REF_DUR
rel_setup() {
	local t0 st s d
	W=$(rel_world "$2")
	t_init "$1"
	sed -i 's/^pay_despite_breaks = .*/pay_despite_breaks = yes/' "$T/pipeline.conf"
	t_pipeline -q ledger import "$W/ledger/$3" >/dev/null || { echo "reliability: import failed" >&2; exit 1; }
	mkdir -p "$T/offerings"
	cp "$REPO"/fixtures/settle/ledger/{investors,offerings,subscriptions}.csv "$T/offerings/"
	t_pipeline -q ledger import "$T/offerings" >/dev/null || { echo "reliability: offerings import failed" >&2; exit 1; }
	rel_template_make
	rel_reset "$W/statements/$3"
	t0=$EPOCHREALTIME
	t_pipeline -q run --date "$3" >"$T/ref.log" 2>&1 || { echo "reliability: reference run failed: $(tail -3 "$T/ref.log")" >&2; exit 1; }
	REL_RUNS=$((REL_RUNS + 1))
	rel_check_invariants final
	rel_check_files
	{ rel_snapshot; rel_files; } >"$T/snapshot.ref"
	while IFS='|' read -r st s d; do
		REF_OFF[$st]=$(awk -v s="$s" -v t="$t0" 'BEGIN { printf "%.3f", s - t }')
		REF_DUR[$st]=$d
	done < <(rel_psql -c "SELECT stage, extract(epoch FROM started_at), extract(epoch FROM finished_at - started_at)
	                      FROM stage_run ORDER BY run_id")
	grep -q 'settlement|S-PRO|PRO_RATA' "$T/snapshot.ref" && grep -q '^delivered.*pain001' "$T/snapshot.ref" ||
		rel_violation "the reference run settled nothing: the scenario would not test settle"
}

# rel_result SCENARIO: appends "scenario|runs|faults|violations|notes" to $REL_RESULTS and exits
# non-zero if there was a violation (or a failed lib.sh assertion).
rel_result() {
	echo "$1|$REL_RUNS|$REL_FAULTS|$((REL_VIOLATIONS + T_FAILS))|$REL_NOTES" >>"$REL_RESULTS"
	[ $((REL_VIOLATIONS + T_FAILS)) = 0 ]
	exit $?
}
