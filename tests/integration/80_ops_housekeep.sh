#!/bin/bash
# pipeline housekeep: inbox, report and log directories of business dates older than keep_days are
# archived (or removed with action = remove); recent dates, non-date names, the outbox and every
# database row stay; --dry-run changes nothing; a second run finds nothing; an archive destination
# that exists is never overwritten (exit 1, source kept); keep_days = 0 is off; bad options exit 2.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/80_ops_lib.inc"
t_init ops_housekeep

D=$T/data
today=$(TZ=Asia/Singapore date +%F)
recent=$(TZ=Asia/Singapore date -d "$today - 3 days" +%F)
edge_keep=$(TZ=Asia/Singapore date -d "$today - 30 days" +%F)   # exactly keep_days old: kept
edge_go=$(TZ=Asia/Singapore date -d "$today - 31 days" +%F)
mk() { mkdir -p "$(dirname "$1")" && echo "$2" > "$1"; }
world() {
	for d in 2020-01-01 "$edge_go" "$edge_keep" "$recent"; do
		mk "$D/inbox/$d/bank_client/stmt_$d.sta" "statement $d"
		mk "$T/reports/$d/recon-$d.xlsx" "report $d"
		mk "$D/log/$d/pipeline-$d.log" "log $d"
		mk "$D/outbox/$d/pain001-$d.xml" "payment $d"
	done
	mk "$D/inbox/not-a-date/keep.txt" "keep"
	mk "$D/inbox/2020-02-30/keep.txt" "an impossible date: not ours"
}
tree() { (cd "$T" && find data/inbox data/log data/outbox data/archive reports -type f 2>/dev/null | sort); }
conf_set housekeep keep_days 30
world
t_psql "INSERT INTO stage_run (business_date, stage, state, finished_at, pid, host, operator, config_digest)
	VALUES ('2020-01-01', 'fetch', 'done', now(), 1, 'h', 'o', 'd')" >/dev/null
rows_before=$(t_psql "SELECT count(*) FROM stage_run")

# --- dry run: says what it would do, changes nothing
before=$(tree)
assert_exit 0 t_pipeline housekeep --dry-run
assert_contains "$T_OUT" "would archive $D/inbox/2020-01-01 -> $D/archive/inbox/2020-01-01" "dry run inbox"
assert_contains "$T_OUT" "would archive $T/reports/$edge_go -> $D/archive/reports/$edge_go" "dry run reports"
assert_eq "$before" "$(tree)" "dry run changed nothing"

# --- archive
assert_exit 0 t_pipeline housekeep
assert_contains "$T_OUT" "housekeep: business dates before $edge_keep: 6 archived, 0 removed, 0 failed, 6 kept" "summary"
for k in inbox log; do
	for d in 2020-01-01 "$edge_go"; do
		[ -d "$D/$k/$d" ] && t_fail "$k/$d still in place"
		[ -f "$D/archive/$k/$d/$( [ $k = inbox ] && echo "bank_client/stmt_$d.sta" || echo "pipeline-$d.log")" ] || t_fail "$k/$d not archived"
	done
	for d in "$edge_keep" "$recent"; do
		[ -d "$D/$k/$d" ] || t_fail "$k/$d (recent) was moved"
	done
done
[ -f "$D/archive/reports/2020-01-01/recon-2020-01-01.xlsx" ] || t_fail "old report not archived"
[ -f "$T/reports/$recent/recon-$recent.xlsx" ] || t_fail "recent report moved"
assert_eq "statement 2020-01-01" "$(cat "$D/archive/inbox/2020-01-01/bank_client/stmt_2020-01-01.sta")" "content kept"
[ -f "$D/inbox/not-a-date/keep.txt" ] && [ -f "$D/inbox/2020-02-30/keep.txt" ] || t_fail "non-date directories touched"
assert_eq 4 "$(find "$D/outbox" -type f | wc -l)" "outbox untouched"
assert_eq "$rows_before" "$(t_psql "SELECT count(*) FROM stage_run")" "database rows untouched"
assert_contains "$T_ERR" 'stage=housekeep msg=archived kind=inbox' "archived logged"

# --- a second run finds nothing to do
assert_exit 0 t_pipeline housekeep
assert_contains "$T_OUT" ": 0 archived, 0 removed, 0 failed, 6 kept" "idempotent"

# --- an existing archive destination is never overwritten
mk "$D/inbox/2020-01-01/bank_client/stmt_again.sta" "a second copy"
assert_exit 1 t_pipeline housekeep
assert_contains "$T_ERR" "pipeline: housekeep: $D/archive/inbox/2020-01-01 already exists: move or remove it by hand, then run housekeep again" "conflict message"
[ -f "$D/inbox/2020-01-01/bank_client/stmt_again.sta" ] || t_fail "conflicting source was touched"
[ -f "$D/archive/inbox/2020-01-01/bank_client/stmt_2020-01-01.sta" ] || t_fail "archive was touched"
[ -f "$D/archive/inbox/2020-01-01/bank_client/stmt_again.sta" ] && t_fail "archive was merged into"

# --- remove
conf_set housekeep action remove
assert_exit 0 t_pipeline housekeep --keep-days 1
assert_contains "$T_OUT" "removed $D/inbox/2020-01-01" "removed inbox"
assert_contains "$T_OUT" "removed $D/inbox/$recent" "--keep-days overrides"
[ -d "$D/inbox/2020-01-01" ] && t_fail "removed dir still there"
[ -f "$D/archive/inbox/2020-01-01/bank_client/stmt_2020-01-01.sta" ] || t_fail "remove touched the archive"
assert_eq 4 "$(find "$D/outbox" -type f | wc -l)" "outbox untouched by remove"
# a symlink inside a removed directory is removed, not followed
mkdir -p "$T/outside" "$D/log/2020-03-03"
echo precious > "$T/outside/precious"
ln -s "$T/outside" "$D/log/2020-03-03/link"
assert_exit 0 t_pipeline housekeep
[ -f "$T/outside/precious" ] || t_fail "remove followed a symlink"
[ -e "$D/log/2020-03-03" ] && t_fail "dir with a symlink not removed"

# --- retention off; bad options
conf_set housekeep keep_days 0
assert_exit 0 t_pipeline housekeep
assert_eq "housekeep: [housekeep] keep_days = 0: retention is off, nothing done" "$T_OUT" "off"
assert_exit 2 t_pipeline housekeep --keep-days 0
assert_contains "$T_ERR" "--keep-days 0: expected a whole number from 1 to 36500" "bad --keep-days"
assert_exit 2 t_pipeline housekeep --keep-days 3x
assert_exit 2 t_pipeline housekeep extra
t_done
