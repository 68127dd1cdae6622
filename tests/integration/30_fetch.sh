#!/bin/bash
# The fetch stage against a real OpenSSH sshd: a normal fetch records every file with its size and
# SHA-256; a rerun fetches nothing new; a changed file under the same name is kept beside the first
# and raises FILE_CONFLICT; a byte-identical file under a new name is a DUPLICATE; a missing file
# exits 3 after the configured retries naming what is missing; hostile names, symlinks, directories
# and oversized files are never taken; the archive move; the `dir` transport obeys the same rules.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/30_fetch_lib.inc"
t_init fetch
sftp_setup

sha() { sha256sum "$1" | cut -d' ' -f1; }
rows() { t_psql "SELECT count(*) FROM fetched_file WHERE business_date = '$1'"; }

# --- 1. normal fetch: every source's file, recorded with size and SHA-256, same bytes locally
deliver_all 20261125
assert_exit 0 t_pipeline fetch --date 2026-11-25
assert_eq 4 "$(rows 2026-11-25)" "one row per source"
assert_eq "NEW NEW NEW NEW" "$(t_psql "SELECT string_agg(status, ' ') FROM fetched_file WHERE business_date = '2026-11-25'")" "all NEW"
for s in $SOURCES; do
	remote=$(remote_path "$s" 20261125)
	local_path=$T/data/inbox/2026-11-25/$s/$(basename "$remote")
	assert_eq "$(sha "$remote")" "$(sha "$local_path")" "$s: same bytes"
	assert_eq "$(sha "$remote")|$(stat -c %s "$remote")|$local_path" \
		"$(t_psql "SELECT sha256, size_bytes, local_path FROM fetched_file WHERE source = '$s'")" "$s: recorded"
done
assert_contains "$T_ERR" 'msg="file fetched" source=bank_client file=stmt_0123456789_20261125.sta status=NEW' "one log line per file"
assert_eq 4 "$(inbox_files 2026-11-25 | wc -l)" "no temporary files left in the inbox"
assert_eq done "$(t_psql "SELECT state FROM stage_run WHERE stage = 'fetch' ORDER BY run_id DESC LIMIT 1")" "stage done"

# --- 2. rerun (forced, as an operator would): nothing new
assert_exit 0 t_pipeline fetch --date 2026-11-25 --force
assert_eq 4 "$(rows 2026-11-25)" "rerun adds no row"
assert_contains "$T_ERR" 'msg="already fetched, unchanged" source=bank_client' "rerun says unchanged"
assert_eq 4 "$(inbox_files 2026-11-25 | wc -l)" "rerun adds no file"
# and without --force the runner finds the stage done
assert_exit 0 t_pipeline fetch --date 2026-11-25
assert_contains "$T_ERR" "already done for this date" "unforced rerun is skipped"

# --- 3. the bank re-sends a corrected statement under the same name: kept beside, exception
first=$(remote_path bank_client 20261125)
cp "$T/data/inbox/2026-11-25/bank_client/stmt_0123456789_20261125.sta" "$T/first.sta"
printf 'bank_client CORRECTED statement for 20261125\n' > "$first"
newsha=$(sha "$first")
assert_exit 0 t_pipeline fetch --date 2026-11-25 --force
assert_eq 5 "$(rows 2026-11-25)" "the corrected file is recorded"
assert_eq "CONFLICT|$T/data/inbox/2026-11-25/bank_client/stmt_0123456789_20261125.sta.${newsha:0:12}" \
	"$(t_psql "SELECT status, local_path FROM fetched_file WHERE sha256 = '$newsha'")" "CONFLICT beside the first"
assert_eq "$(sha "$T/first.sta")" "$(sha "$T/data/inbox/2026-11-25/bank_client/stmt_0123456789_20261125.sta")" \
	"the first copy is not overwritten"
assert_eq "$newsha" "$(sha "$T/data/inbox/2026-11-25/bank_client/stmt_0123456789_20261125.sta.${newsha:0:12}")" \
	"the second copy has the new bytes"
assert_eq "FILE_CONFLICT|ERROR|OPEN|fetch" \
	"$(t_psql "SELECT type, severity, status, stage FROM exception WHERE subject = 'file:' || (SELECT file_id FROM fetched_file WHERE sha256 = '$newsha')")" \
	"FILE_CONFLICT exception"
assert_contains "$(t_psql "SELECT detail FROM exception WHERE type = 'FILE_CONFLICT'")" \
	"bank_client sent stmt_0123456789_20261125.sta again for 2026-11-25 with different content" "exception detail"
assert_eq 1 "$(t_psql "SELECT exceptions FROM stage_run WHERE stage = 'fetch' ORDER BY run_id DESC LIMIT 1")" "counted on the run"
# a further rerun changes nothing (neither files nor exceptions)
assert_exit 0 t_pipeline fetch --date 2026-11-25 --force
assert_eq 5 "$(rows 2026-11-25)" "rerun after conflict adds nothing"
assert_eq 1 "$(t_psql "SELECT count(*) FROM exception WHERE type = 'FILE_CONFLICT'")" "one exception"

# --- 4. byte-identical content under a new name (next day): DUPLICATE of the earlier file, and
# not the day's statement: the source still counts as missing (exit 3), saying why
deliver_all 20261126
cp "$(remote_path bank_operating 20261125)" "$(remote_path bank_operating 20261126)"
assert_exit 3 t_pipeline fetch --date 2026-11-26
assert_contains "$T_ERR" "pipeline: input for 2026-11-26 not there yet: bank_operating: 0 of 1 expected file(s) matching ^acct_0123456790_20261126\\.csv\$ in /bank/operating (and 1 byte-identical re-send(s) of earlier files)" "a re-send is not the day's file"
assert_eq "DUPLICATE|t" "$(t_psql "SELECT status, duplicate_of = (SELECT file_id FROM fetched_file WHERE business_date = '2026-11-25' AND source = 'bank_operating') FROM fetched_file WHERE business_date = '2026-11-26' AND source = 'bank_operating'")" "duplicate recognised"
assert_eq "NEW NEW NEW" "$(t_psql "SELECT string_agg(status, ' ' ORDER BY source) FROM fetched_file WHERE business_date = '2026-11-26' AND source <> 'bank_operating'")" "the others are new"

# the real file arrives: replaces nothing, counts
printf 'bank_operating statement for 20261126, the real one\n' > "$(remote_path bank_operating 20261126)"
assert_exit 0 t_pipeline fetch --date 2026-11-26
assert_eq "CONFLICT" "$(t_psql "SELECT status FROM fetched_file WHERE business_date = '2026-11-26' AND source = 'bank_operating' ORDER BY file_id DESC LIMIT 1")" "same name, new content after a re-send: CONFLICT"

# --- 4b. several files per date (expected_count)
conf_set source.trustee_register pattern '^register_%Y%m%d_[0-9]\.csv$'
conf_set source.trustee_register expected_count 2
deliver_all 20261204
printf 'part 1\n' > "$SFTP_ROOT/trustee/register/register_20261204_1.csv"
assert_exit 3 t_pipeline fetch --date 2026-12-04
assert_contains "$T_ERR" "trustee_register: 1 of 2 expected file(s) matching ^register_20261204_[0-9]\\.csv\$ in /trustee/register" "1 of 2"
printf 'part 2\n' > "$SFTP_ROOT/trustee/register/register_20261204_2.csv"
assert_exit 0 t_pipeline fetch --date 2026-12-04
assert_eq 2 "$(t_psql "SELECT count(*) FROM fetched_file WHERE business_date = '2026-12-04' AND source = 'trustee_register'")" "2 of 2"
conf_set source.trustee_register pattern '^register_%Y%m%d\.csv$'
conf_set source.trustee_register expected_count 1

# --- 5. missing input: exit 3 after the retries, naming what is missing; what is there is fetched
conf_set source.bank_client missing_retries 2
conf_set source.bank_client missing_backoff_ms 100
printf 'x\n' > "$(remote_path bank_operating 20261127)"
printf 'y\n' > "$(remote_path trustee_cash 20261127)"
start=$(date +%s%N)
assert_exit 3 t_pipeline fetch --date 2026-11-27
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_contains "$T_ERR" "pipeline: input for 2026-11-27 not there yet: bank_client: 0 of 1 expected file(s) matching ^stmt_0123456789_20261127\\.sta\$ in /bank/client; trustee_register: 0 of 1 expected file(s) matching ^register_20261127\\.csv\$ in /trustee/register" "exit 3 message"
assert_eq 2 "$(echo "$T_ERR" | grep -c 'msg="expected file not there yet; looking again" source=bank_client')" "two more looks for bank_client"
[ "$elapsed_ms" -ge 300 ] || t_fail "the retries waited (100 ms + 200 ms backoff), took only $elapsed_ms ms"
assert_eq 2 "$(rows 2026-11-27)" "the files that are there are fetched"
assert_eq "failed|3" "$(t_psql "SELECT state, error_code FROM stage_run WHERE stage = 'fetch' ORDER BY run_id DESC LIMIT 1")" "run recorded failed with code 3"
# when they arrive, the scheduler's retry succeeds and fetches only the new ones
deliver_all 20261127
printf 'x\n' > "$(remote_path bank_operating 20261127)"
printf 'y\n' > "$(remote_path trustee_cash 20261127)"
assert_exit 0 t_pipeline fetch --date 2026-11-27
assert_eq 4 "$(rows 2026-11-27)" "late files fetched"
# not required: no exit 3
conf_set source.trustee_register required no
rm -f "$(remote_path trustee_register 20261201)"
deliver_all 20261201
rm -f "$(remote_path trustee_register 20261201)"
assert_exit 0 t_pipeline fetch --date 2026-12-01
assert_eq 3 "$(rows 2026-12-01)" "optional source may be missing"

# --- 6. hostile remote names, a symlink, a directory: never taken, logged
d=$SFTP_ROOT/bank/client
printf 'evil\n' > "$d/..x"
printf 'evil\n' > "$d/.hidden"
printf 'evil\n' > "$d/.stmt_0123456789_20261130.sta"
printf 'evil\n' > "$d/stmt_0123456789_20261130.sta"$'\n'
printf 'evil\n' > "$d/stmt_0123456789_20261130"$'\x1b'".sta"
printf 'evil\n' > "$d/stmt_0123456789_20261130.sta\\x"
ln -s /etc/passwd "$d/stmt_0123456789_20261130.sta"
mkdir "$SFTP_ROOT/bank/operating/acct_0123456790_20261130.csv"
printf 'ok\n' > "$(remote_path trustee_cash 20261130)"
printf 'ok\n' > "$(remote_path trustee_register 20261130)"
assert_exit 3 t_pipeline fetch --date 2026-11-30
assert_contains "$T_ERR" 'msg="remote name refused" source=bank_client file=..x reason="starts with '"'"'.'"'"'"' "..x refused"
assert_contains "$T_ERR" 'msg="remote name refused" source=bank_client file=.hidden' ".hidden refused"
assert_contains "$T_ERR" 'msg="remote name refused" source=bank_client file="stmt_0123456789_20261130.sta\\x0a" reason="contains a control character"' "newline name refused"
assert_contains "$T_ERR" 'file="stmt_0123456789_20261130\\x1b.sta" reason="contains a control character"' "escape name refused"
assert_contains "$T_ERR" 'file="stmt_0123456789_20261130.sta\\x5cx" reason="contains a path separator' "backslash name refused"
assert_contains "$T_ERR" 'msg="matching name is not a regular file; skipped" source=bank_client file=stmt_0123456789_20261130.sta type=symlink' "symlink skipped"
assert_contains "$T_ERR" 'msg="matching name is not a regular file; skipped" source=bank_operating file=acct_0123456790_20261130.csv type=directory' "directory skipped"
assert_contains "$T_ERR" "bank_client: 0 of 1 expected file(s)" "bank_client is missing"
assert_contains "$T_ERR" "bank_operating: 0 of 1 expected file(s)" "bank_operating is missing"
assert_eq "trustee_cash trustee_register" "$(t_psql "SELECT string_agg(source, ' ' ORDER BY source) FROM fetched_file WHERE business_date = '2026-11-30'")" "only the sane files"
assert_eq "./trustee_cash/trustee_8800123456_20261130.sta ./trustee_register/register_20261130.csv" \
	"$(inbox_files 2026-11-30 | tr '\n' ' ' | sed 's/ $//')" "nothing else in the inbox"

# --- 7. over the size limit: refused (exit 1), nothing kept, the other sources still fetched
conf_set source.bank_operating max_size 100
deliver_all 20261202
head -c 1000 /dev/zero > "$(remote_path bank_operating 20261202)"
assert_exit 1 t_pipeline fetch --date 2026-12-02
# logged once where it is found, by the file's own line (the command's last line does not repeat it)
assert_contains "$T_ERR" 'msg="file refused" source=bank_operating file=acct_0123456790_20261202.csv error=' "too large log line"
assert_contains "$T_ERR" "pipeline: sftp://dabs@127.0.0.1:$SFTP_PORT/bank/operating: /bank/operating/acct_0123456790_20261202.csv is 1000 bytes, over the limit of 100 bytes (max_size)" "too large message"
assert_eq "bank_client trustee_cash trustee_register" "$(t_psql "SELECT string_agg(source, ' ' ORDER BY source) FROM fetched_file WHERE business_date = '2026-12-02'")" "others fetched"
assert_eq "" "$(inbox_files 2026-12-02 | grep bank_operating)" "no part of the big file kept"
conf_set source.bank_operating max_size 268435456

# --- 8. archive after fetch: moved on the server, never replacing an archived file
mkdir -p "$SFTP_ROOT/bank/client/done" && chown dabs: "$SFTP_ROOT/bank/client/done"
conf_set source.bank_client archive_dir done
deliver_all 20261203
assert_exit 0 t_pipeline fetch --date 2026-12-03
[ -f "$SFTP_ROOT/bank/client/done/stmt_0123456789_20261203.sta" ] || t_fail "archived on the server"
[ -f "$(remote_path bank_client 20261203)" ] && t_fail "moved away from the drop directory"
# a rerun finds it nowhere on the server but recorded: not missing
assert_exit 0 t_pipeline fetch --date 2026-12-03 --force

# --- 9. the dir transport: same rules on a local directory
t_init fetch_dir
mkdir -p "$T/remote/bank/client" "$T/remote/bank/operating" "$T/remote/trustee/cash" "$T/remote/trustee/register"
printf 'a\n' > "$T/remote/bank/client/stmt_0123456789_20261125.sta"
printf 'b\n' > "$T/remote/bank/operating/acct_0123456790_20261125.csv"
printf 'c\n' > "$T/remote/trustee/cash/trustee_8800123456_20261125.sta"
ln -s "$T/remote/bank/client/stmt_0123456789_20261125.sta" "$T/remote/trustee/register/register_20261125.csv"
printf 'evil\n' > "$T/remote/trustee/register/.register_20261125.csv"
assert_exit 3 t_pipeline fetch --date 2026-11-25
assert_contains "$T_ERR" 'file=register_20261125.csv type=symlink' "dir: symlink skipped"
assert_contains "$T_ERR" "trustee_register: 0 of 1 expected file(s)" "dir: missing named"
assert_eq 3 "$(t_psql "SELECT count(*) FROM fetched_file")" "dir: three files"
rm "$T/remote/trustee/register/register_20261125.csv"
printf 'd\n' > "$T/remote/trustee/register/register_20261125.csv"
assert_exit 0 t_pipeline fetch --date 2026-11-25
assert_eq 4 "$(t_psql "SELECT count(*) FROM fetched_file")" "dir: all four"
printf 'a2\n' > "$T/remote/bank/client/stmt_0123456789_20261125.sta"
assert_exit 0 t_pipeline fetch --date 2026-11-25 --force
assert_eq "CONFLICT" "$(t_psql "SELECT status FROM fetched_file ORDER BY file_id DESC LIMIT 1")" "dir: conflict"

t_done
