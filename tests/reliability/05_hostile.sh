#!/bin/bash
# Scenario 5, hostile inputs, through the whole nightly on the fixture world's day 2026-11-23 with
# one statement replaced by a hostile one (fixtures/hostile/make.py): formula text and SQL
# metacharacters (valid: loaded verbatim, never executed - the report holds them as text, never a
# formula); a NUL byte, a 1 MB narrative, a field repeated 100,000 times, :20: repeated, an
# unbalanced quote (rejected: the file is quarantined with a precise file:line reason, nothing of
# it loaded, the other files loaded as usual); 10,000 statements in one file (loaded, bounded
# time); a 2 GB file (a sparse file: refused by size before a byte is copied). Then hostile
# configurations derived from the test's own: unknown key, duplicate section, a private key
# readable by others, a missing key, a key that is a directory, a world-readable password file:
# exit 2, a message naming the file (and line), and nothing changed at all. Secrets never appear
# in logs or the report.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
DATE=2026-11-23
DAY=$REPO/fixtures/statements/$DATE
H=$REPO/var/reliability/hostile
MANY=$([ "$SHORT" = 1 ] && echo 2000 || echo 10000)
HOSTILE_MANY=$MANY python3 "$REPO/fixtures/hostile/make.py" "$H" || { echo "scenario 5: make.py failed" >&2; exit 1; }
CLIENT=bank/client/stmt_0123456789_20261123.sta
OPER=bank/operating/acct_0123456790_20261123.csv

t_init rel_hostile
t_import $DATE || { echo "scenario 5: import failed" >&2; exit 1; }
rel_template_make
rel_reset "$DAY"
t_pipeline -q run --date $DATE >"$T/ref.log" 2>&1
REF_RC=$?
REL_RUNS=$((REL_RUNS + 1))
rel_check_invariants final
rel_snapshot >"$T/snapshot.ref"
# others ACCOUNT [SNAPSHOT]: what the other files loaded (statement rows, their lines, registers)
others() { grep -E '^(statement|lines|register)\|' "${2:-/dev/stdin}" | grep -v "|$1|"; }

# run_with TARGET FILE: the day's statements with TARGET replaced by FILE, the nightly run once.
run_with() {
	rel_reset "$DAY"
	cp "$2" "$(rel_remote)/$1"
	local t0=$EPOCHREALTIME
	"$PIPELINE" --config "$T/pipeline.conf" -q run --date $DATE >"$T/case.log" 2>&1
	RC=$?
	TOOK=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	REL_RUNS=$((REL_RUNS + 1))
	REL_FAULTS=$((REL_FAULTS + 1))
}
load_of() { rel_psql -c "SELECT l.status || '|' || coalesce(l.reason, '') FROM file_load l JOIN fetched_file f USING (file_id)
                         WHERE f.remote_name = '$(basename "$1")'"; }

# rejected NAME TARGET ACCOUNT REGEX: quarantined with a reason matching REGEX, nothing of it
# loaded, the other files as in the clean run, an open FILE_QUARANTINED exception.
rejected() {
	local name=$1 target=$2 account=$3 re=$4 load
	run_with "$target" "$H/$name"
	load=$(load_of "$target")
	echo "  $name: exit $RC in ${TOOK}s: ${load:0:170}"
	echo "$load" | grep -Eq "^QUARANTINED\|.*$(basename "$target"):[0-9]+: .*$re" ||
		rel_violation "$name: expected QUARANTINED with [$re], got [$load]"
	assert_eq 0 "$(rel_psql -c "SELECT count(*) FROM statement s JOIN fetched_file f USING (file_id)
	                            WHERE f.remote_name = '$(basename "$target")'")" "$name: nothing of the file loaded"
	assert_eq 1 "$(rel_psql -c "SELECT count(*) FROM exception WHERE type = 'FILE_QUARANTINED' AND status = 'OPEN'")" \
		"$name: one FILE_QUARANTINED exception"
	assert_eq "$(others "$account" "$T/snapshot.ref")" "$(rel_snapshot | others "$account")" "$name: the other files loaded as in the clean run"
	case $RC in 0|1|5) ;; *) rel_violation "$name: exit $RC" ;; esac
	rel_check_invariants final
}

rejected nul.sta "$CLIENT" 0123456789 "NUL byte"
rejected bignarr.sta "$CLIENT" 0123456789 "line is [0-9]+ bytes long, expected at most 4096"
rejected repeated.sta "$CLIENT" 0123456789 ":86: field is longer than 8192 bytes"
rejected repeated20.sta "$CLIENT" 0123456789 ":20: field is not expected here"
rejected quote.csv "$OPER" 0123456790 "stray quote"

# --- valid but hostile text: loaded verbatim, never executed, never a formula in the report
for name in formula.sta sqlmeta.sta; do
	run_with "$CLIENT" "$H/$name"
	load=$(load_of "$CLIENT")
	echo "  $name: exit $RC in ${TOOK}s: ${load:0:120}"
	assert_eq "LOADED|" "$load" "$name: loaded"
	# every narrative of the file is in the database byte for byte (a parameter, never SQL text)
	want=$(grep -a '^:86:' "$H/$name" | head -5 | cut -c5- | tr -d '\r' | sort)
	got=$(rel_psql -c "SELECT narrative FROM statement_line l JOIN statement s USING (statement_id)
	                   WHERE s.account_no = '0123456789' ORDER BY line_no" | sort)
	while IFS= read -r n; do
		grep -qxF -- "$n" <<<"$got" || grep -qF -- "$n" <<<"$got" || rel_violation "$name: narrative [$n] not stored verbatim"
	done <<<"$want"
	assert_eq 0 "$(rel_psql -c "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()")" \
		"$name: nothing from the file ran"
	for tbl in statement_line journal_txn; do
		rel_psql -c "SELECT 1 FROM $tbl LIMIT 1" >/dev/null || rel_violation "$name: table $tbl is gone"
	done
	book=$(find "$T/reports" -name '*.xlsx' | head -1)
	if [ -n "$book" ]; then
		out=$(/usr/bin/python3 - "$book" <<'PY'
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
bad = [f"{ws.title}!{c.coordinate}" for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"]
print("formulas:", " ".join(bad[:5]) if bad else "none")
PY
)
		assert_eq "formulas: none" "$out" "$name: no formula in the report"
	else
		rel_violation "$name: no report written"
	fi
	rel_check_invariants final
done
# exported exceptions defuse the formula text for spreadsheets (OWASP: a leading ' )
t_pipeline export exceptions --date $DATE --format csv >"$T/export.csv" 2>/dev/null
REL_RUNS=$((REL_RUNS + 1))
if grep -aqE '(^|,)"?[=+@-][A-Z(0-9]' "$T/export.csv"; then
	rel_violation "export: a field starts with a formula character: $(grep -aE '(^|,)"?[=+@-][A-Z(0-9]' "$T/export.csv" | head -1 | cut -c1-120)"
fi

# --- 10,000 statements in one file (SHORT=1: 2,000): loaded whole, in bounded time
run_with "$CLIENT" "$H/many.sta"
load=$(load_of "$CLIENT")
echo "  many.sta ($MANY statements): exit $RC in ${TOOK}s: ${load:0:120}"
case $load in
"LOADED|") assert_eq $MANY "$(rel_psql -c "SELECT count(*) FROM statement WHERE account_no = '0123456789'")" "many.sta: $MANY statements" ;;
QUARANTINED*) echo "$load" | grep -q "many.sta\|stmt_0123456789_20261123.sta:[0-9]" || rel_violation "many.sta: imprecise reason [$load]" ;;
*) rel_violation "many.sta: [$load]" ;;
esac
awk -v t="$TOOK" 'BEGIN { exit !(t < 120) }' || rel_violation "many.sta: took ${TOOK}s"
rel_check_invariants final

# --- a 2 GB statement (a sparse file, nothing written): refused by size, nothing copied
for limit in 1048576 default; do
	rel_reset "$DAY"
	cp "$T/pipeline.conf" "$T/pipeline.conf.orig"
	[ $limit != default ] && sed -i "/^\[source.bank_client\]/a max_size = $limit" "$T/pipeline.conf"
	rm -f "$(rel_remote)/$CLIENT"
	truncate -s 2G "$(rel_remote)/$CLIENT"
	"$PIPELINE" --config "$T/pipeline.conf" -q run --date $DATE >"$T/case.log" 2>&1
	RC=$?
	REL_RUNS=$((REL_RUNS + 1))
	REL_FAULTS=$((REL_FAULTS + 1))
	msg=$(grep '^pipeline: ' "$T/case.log" | tail -1)
	echo "  2 GB file (max_size $limit): exit $RC: ${msg:0:170}"
	[ $RC = 1 ] || rel_violation "2 GB file: exit $RC, expected 1"
	echo "$msg" | grep -q "stmt_0123456789_20261123.sta" && echo "$msg" | grep -Eq "size|large|limit" ||
		rel_violation "2 GB file: imprecise message [$msg]"
	assert_eq 0 "$(rel_psql -c "SELECT count(*) FROM fetched_file WHERE source = 'bank_client'")" "2 GB file: nothing recorded"
	used=$(du -sk "$T/data" | cut -f1)
	[ "$used" -lt 10240 ] || rel_violation "2 GB file: $used KiB written under data_dir"
	cp "$T/pipeline.conf.orig" "$T/pipeline.conf"
	rel_check_invariants
done

# --- hostile configurations: exit 2, the file (and line) named, nothing changed
rel_reset "$DAY"
t_pipeline -q run --date $DATE >/dev/null 2>&1
REL_RUNS=$((REL_RUNS + 1))
state() { rel_snapshot; rel_psql -c "SELECT count(*), max(run_id) FROM stage_run"; find "$T/data" "$T/reports" -type f | sort; }
cp "$REPO/fixtures/ssh/client_ed25519" "$T/key_open" && chmod 644 "$T/key_open"
mkdir -p "$T/key_dir"
printf 'S3cr3t-Reliability-Pw\n' >"$T/pw_open" && chmod 644 "$T/pw_open"
# The key file is checked when the transport authenticates (src/transport.c authenticate()), so
# these cases need a live server: the client source on sftp against scripts/sftp-server.sh.
SFTP_PORT=$(SFTP_OWNER_PID=$$ "$REPO/scripts/sftp-server.sh" start auto "$T/sftp") || { echo "scenario 5: no sshd" >&2; exit 1; }
trap '"$REPO/scripts/sftp-server.sh" stop "$SFTP_PORT"' EXIT
echo "[127.0.0.1]:$SFTP_PORT $(cut -d' ' -f1,2 "$REPO/fixtures/ssh/ssh_host_ed25519_key.pub")" >"$T/known_hosts"
sftp_source() {   # the client source on sftp with key_file $1
	sed "/^\[source.bank_client\]/,/^\[/ { s|^transport = .*|transport = sftp|; s|^key_file = .*|key_file = $1|;
	     s|^port = .*|port = $SFTP_PORT|; s|^known_hosts = .*|known_hosts = $T/known_hosts|; s|^remote_dir = .*|remote_dir = /bank/client|; }" \
		"$T/pipeline.conf"
}
hostile_conf() {   # NAME REGEX [stage]: $T/bad.conf must be refused with exit 2 and a message matching REGEX
	local rc msg before
	before=$(state)
	"$PIPELINE" --config "$T/bad.conf" -q run --date $DATE --force >"$T/conf.log" 2>&1
	rc=$?
	REL_RUNS=$((REL_RUNS + 1))
	REL_FAULTS=$((REL_FAULTS + 1))
	msg=$(grep '^pipeline: ' "$T/conf.log" | tail -1)
	echo "  config $1: exit $rc: ${msg:0:170}"
	[ $rc = 2 ] || rel_violation "config $1: exit $rc, expected 2 ($msg)"
	echo "$msg" | grep -Eq -- "$2" || rel_violation "config $1: message [$msg] does not match [$2]"
	# a key is checked by the fetch stage, which records its failure (a stage_run row) and nothing else
	local now
	if [ "${3:-}" = stage ]; then
		now=$(state | grep -Ev '^[0-9]+\|[0-9]+$|^stage\||/data/log/')
		[ "$(echo "$before" | grep -Ev '^[0-9]+\|[0-9]+$|^stage\||/data/log/')" = "$now" ] ||
			rel_violation "config $1: something changed: $(diff <(echo "$before") <(echo "$now") | head -4 | tr '\n' ' ')"
		assert_eq "failed|2" "$(rel_psql -c "SELECT state, error_code FROM stage_run ORDER BY run_id DESC LIMIT 1")" "config $1: fetch recorded failed (PERR_CONFIG)"
	else
		now=$(state)
		[ "$before" = "$now" ] || rel_violation "config $1: something changed: $(diff <(echo "$before") <(echo "$now") | head -4 | tr '\n' ' ')"
	fi
}
awk '{ print } /^\[pipeline\]/ { print "colour = blue" }' "$T/pipeline.conf" >"$T/bad.conf"
hostile_conf "unknown key" "bad.conf:[0-9]+: unknown key \"colour\" in \[pipeline\]"
{ cat "$T/pipeline.conf"; printf '\n[match]\nwindow_days = 9\n'; } >"$T/bad.conf"
hostile_conf "duplicate section" "bad.conf:[0-9]+: section \[match\] appears twice"
{ cat "$T/pipeline.conf"; printf '\n[paint]\ncolour = blue\n'; } >"$T/bad.conf"
hostile_conf "unknown section" "bad.conf:[0-9]+: unknown section \[paint\]"
sftp_source "$T/key_open" >"$T/bad.conf"
hostile_conf "world-readable key" "key_open is accessible by group or others \(mode 0644\)" stage
sftp_source "$T/no_such_key" >"$T/bad.conf"
hostile_conf "missing key" "key_file .*no_such_key: No such file" stage
sftp_source "$T/key_dir" >"$T/bad.conf"
hostile_conf "key is a directory" "key_file .*key_dir is not a regular file" stage
sed "/^\[database\]/a password_file = $T/pw_open" "$T/pipeline.conf" >"$T/bad.conf"
hostile_conf "world-readable password file" "password_file: .*pw_open is readable by others"

# --- secrets: a password file (0600) is used, its content never logged nor in the report
chmod 600 "$T/pw_open"
sed -i "/^\[database\]/a password_file = $T/pw_open" "$T/pipeline.conf"
t_pipeline -v run --date $DATE --force >"$T/secret.log" 2>&1 || rel_violation "run with a password file failed: $(tail -1 "$T/secret.log")"
REL_RUNS=$((REL_RUNS + 1))
for f in "$T/secret.log" $(find "$T/data/log" -type f) ; do
	grep -aq "S3cr3t-Reliability-Pw" "$f" && rel_violation "the database password appears in $f"
done
for b in $(find "$T/reports" -name '*.xlsx'); do
	/usr/bin/python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); sys.exit(any(b"S3cr3t-Reliability-Pw" in z.read(n) for n in z.namelist()))' "$b" ||
		rel_violation "the database password appears in $b"
done
rel_check_invariants final

REL_NOTES="NUL, 1 MB line, repeated :86:/:20:, stray quote, formula, SQL, 10k statements, 2 GB sparse x2, 7 configs, secrets"
rel_result "5 hostile inputs"
