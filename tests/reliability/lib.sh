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

# rel_remote: the directory the sources and outbound destinations see as their root: $T/remote
# (dir transport, tests/lib.sh) or $REL_REMOTE (the SFTP server's root in scenario 3).
rel_remote() { echo "${REL_REMOTE:-$T/remote}"; }

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
	for d in "$(rel_remote)/bank/payments-in" "$(rel_remote)/trustee/issuance-in"; do
		[ -d "$d" ] || continue
		for f in $(cd "$d" && ls -A | sort); do
			echo "delivered ${d#$(rel_remote)/} $f $(sed 's#<CreDtTm>[^<]*</CreDtTm>#<CreDtTm>X</CreDtTm>#' "$d/$f" | sha256sum | cut -c1-64)"
		done
	done
	[ -d "$T/data/inbox" ] && (cd "$T/data/inbox" && find . -type f ! -name '.*' ! -name '*.tmp.*' | sort | while read -r f; do
		echo "inbox $f $(sha256sum < "$f" | cut -c1-64)"; done)
	[ -d "$T/reports" ] && (cd "$T/reports" && find . -type f ! -name '.*' ! -name '*.tmp.*' ! -name 'tmp.*' | sort | sed 's/^/report /')
}

# rel_check_files: no partial file under a final name. INVARIANT (issue 16): every file under a final
# name on a counterparty's server equals our outbox copy. Every delivered file equals its outbox copy
# (the file the rows were made into); every inbox file equals the remote original it was fetched
# from; every report workbook is a complete ZIP. Temporary files left by a SIGKILL (NAME.tmp.PID,
# .NAME.part.PID, libxlsxwriter's tmp.XXXXXX(XXXX)) are not under a final name: counted in REL_TEMP_LEFT
# (this world) and REL_TEMP_TOTAL (the scenario), reported, not a violation.
rel_check_files() {
	local f base orig
	for f in $(find "$(rel_remote)/bank/payments-in" "$(rel_remote)/trustee/issuance-in" -type f 2>/dev/null); do
		base=$(basename "$f")
		case $base in .*|*.tmp.*|*.part*) continue ;; esac
		orig=$(find "$T/data/outbox" -name "$base" -type f | head -1)
		[ -n "$orig" ] && cmp -s "$f" "$orig" || rel_violation "delivered $base differs from its outbox copy (or none)"
	done
	for f in $(find "$T/data/inbox" -type f 2>/dev/null); do
		base=$(basename "$f")
		case $base in .*|*.tmp.*|*.part*) continue ;; esac
		orig=$(find -H "$(rel_remote)" -name "$base" -type f | head -1)
		[ -n "$orig" ] && cmp -s "$f" "$orig" || rel_violation "inbox $base differs from the remote original"
	done
	for f in $(find "$T/reports" -name '*.xlsx' -type f 2>/dev/null); do
		/usr/bin/python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); sys.exit(z.testzip() is not None)' "$f" \
			2>/dev/null || rel_violation "report $f is not a complete workbook"
	done
	# libxlsxwriter's own temporaries (tmp.XXXXXX, constant-memory mode, in the report directory) too
	local left
	left=$(find -H "$(rel_remote)" "$T/data" "$T/reports" \( -name '*.tmp.*' -o -name '.*.part.*' -o -name 'tmp.*' \) 2>/dev/null)
	REL_TEMP_LEFT=$(printf '%s' "$left" | grep -c .)
	[ -n "$left" ] && echo "  temporary file(s) left: $(echo $left)"    # named in the scenario's log
	REL_TEMP_TOTAL=$(( ${REL_TEMP_TOTAL:-0} + REL_TEMP_LEFT ))
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
	rm -rf "$T/data" "$T/reports"
	mkdir -p "$T/data"
	if [ -z "${REL_REMOTE:-}" ]; then
		rm -rf "$T/remote"
		mkdir -p "$T/remote"
		for d in $(awk '/^remote_dir *=/ { sub(/^remote_dir *= */, ""); print }' "$T/pipeline.conf"); do mkdir -p "$d"; done
	else
		# -H: in a clone sshd will not chroot into, the root is a symlink into /var/lib/dabs-sftp
		find -H "$REL_REMOTE" -mindepth 2 -type f -delete    # an SFTP root: its directories stay as the server made them
	fi
	for s in "$@"; do cp -R "$s/." "$(rel_remote)/"; done
}

# rel_complete DATE [LOG]: runs the nightly until it completes. Exit 4 is waited out and retried:
# after a SIGKILL the server keeps the dead client's backend (and its advisory lock) until that
# backend next talks to the socket, which a long statement delays; the longest such wait is kept
# in REL_LOCK_WAIT_MAX (seconds). Anything but 0 or 4, or a lock held for more than 3 minutes, is
# a violation. Counts runs.
REL_LOCK_WAIT_MAX=0
rel_complete() {
	local rc start=$EPOCHREALTIME waited
	while :; do
		"$PIPELINE" --config "$T/pipeline.conf" -q run --date "$1" >>"${2:-$T/rerun.log}" 2>&1
		rc=$?
		REL_RUNS=$((REL_RUNS + 1))
		waited=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", b - a }')
		case $rc in
		0)  return 0 ;;
		4)  [ "$waited" -gt "$REL_LOCK_WAIT_MAX" ] && REL_LOCK_WAIT_MAX=$waited
		    if [ "$waited" -gt 180 ]; then
			rel_violation "rerun of $1 still locked after $waited s: $(tail -1 "${2:-$T/rerun.log}")"
			return 1
		    fi
		    sleep 0.2 ;;
		*)  rel_violation "rerun of $1 exited $rc (see ${2:-$T/rerun.log}): $(tail -2 "${2:-$T/rerun.log}" | tr '\n' ' ')"
		    return 1 ;;
		esac
	done
}

# rel_setup NAME LINES DATE: t_init NAME; the generated world of LINES lines plus the three
# offerings closing on DATE (fixtures/settle/ledger) imported and saved as the template; then the
# uninterrupted reference run: its results in $T/snapshot.ref, its stage start offsets (seconds
# from the process start) and durations in REF_OFF / REF_DUR. Settle pays despite the generated
# world's statement breaks, so that every run files payments. Sets W (the world's directory).
# A scenario may define rel_after_init (called right after t_init) for its own set-up.
declare -A REF_OFF REF_DUR
rel_setup() {
	local t0 st s d
	W=$(rel_world "$2")
	t_init "$1"
	sed -i 's/^pay_despite_breaks = .*/pay_despite_breaks = yes/' "$T/pipeline.conf"
	if declare -F rel_after_init >/dev/null; then rel_after_init; fi     # a scenario's own set-up (scenario 3: sshd)
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

# hold_lock TABLE: a background session holding an ACCESS EXCLUSIVE lock on TABLE for up to 60 s.
hold_lock() {
	PGAPPNAME=rel_lock psql -X -q -h "$PGSOCK" -U postgres -d "$T_DB" -c "BEGIN" -c "LOCK TABLE $1 IN ACCESS EXCLUSIVE MODE" \
		-c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
	LOCK_PID=$!
	local i
	for i in $(seq 1 100); do
		[ "$(rel_psql -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		                   WHERE c.relname = '$1' AND l.mode = 'AccessExclusiveLock' AND l.granted")" = 1 ] && return 0
		sleep 0.05
	done
	echo "reliability: could not take the lock on $1" >&2
	return 1
}
# release_lock: ends the locking session (its backend, sleeping, would not notice its client go).
release_lock() {
	[ -n "${LOCK_PID:-}" ] || return 0
	psql -X -q -A -t -h "$PGSOCK" -U postgres -d postgres \
		-c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'rel_lock'" >/dev/null 2>&1
	kill "$LOCK_PID" 2>/dev/null
	wait "$LOCK_PID" 2>/dev/null
	LOCK_PID=
}

# wait_blocked STAGE: until STAGE is running and the pipeline's backend waits for a lock (max 30 s).
wait_blocked() {
	local i
	for i in $(seq 1 300); do
		[ "$(rel_psql -c "SELECT (SELECT count(*) FROM stage_run WHERE stage = '$1' AND state = 'running')
		                        * (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		                           AND wait_event_type = 'Lock' AND application_name LIKE 'pipeline%')" 2>/dev/null)" = 1 ] &&
			return 0
		sleep 0.1
	done
	return 1
}

# expect_fail WHAT PID [PATTERN]: the run PID (its output in $T/fault.log) exits 1 with a one-line
# "pipeline: ..." error matching the extended regex PATTERN (default: names the database).
expect_fail() {
	wait "$2"
	local rc=$? msg
	REL_RUNS=$((REL_RUNS + 1))
	msg=$(grep '^pipeline: ' "$T/fault.log" | tail -1)
	cp "$T/fault.log" "$T/fault-$(echo "$1" | tr -c 'a-zA-Z0-9\n' '_').log"     # kept for reading
	[ "$rc" = 1 ] || rel_violation "$1: exit $rc, expected 1 ($(tail -2 "$T/fault.log" | tr '\n' ' '))"
	echo "$msg" | grep -Eq "${3:-database|server|connection|SQLSTATE}" ||
		rel_violation "$1: no clear error on stderr: [$msg]"
	echo "  $1: exit $rc: ${msg:0:200}"
}

# rel_result SCENARIO: appends "scenario|runs|faults|violations|notes" to $REL_RESULTS and exits
# non-zero if there was a violation (or a failed lib.sh assertion).
rel_result() {
	echo "$1|$REL_RUNS|$REL_FAULTS|$((REL_VIOLATIONS + T_FAILS))|$REL_NOTES" >>"$REL_RESULTS"
	[ $((REL_VIOLATIONS + T_FAILS)) = 0 ]
	exit $?
}
