#!/bin/bash
# Notifications at the end of `pipeline run`: through a fake sendmail (message on stdin, -t) and a
# local HTTP server (JSON POST). Exit 3 notifies only past the cut-off and never when the nightly
# wrapper will retry; success, failure and the exceptions summary; on = failure; a failing or stuck
# channel is logged and never changes the run's exit code; the webhook URL (a token) is never logged;
# `notify --test` and `notify --cut-off`; [notify]/[housekeep] configuration errors (exit 2).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/80_ops_lib.inc"
t_init ops_notify

# --- configuration errors: exit 2 with the exact message, nothing run
while IFS='|' read -r case expected; do
	case "$case" in ''|'#'*) continue ;; esac
	assert_exit 2 "$PIPELINE" --config "$REPO/fixtures/ops/$case.conf" notify --cut-off --date 2026-11-25
	assert_contains "$T_ERR" "pipeline: $REPO/fixtures/ops/$expected" "config $case"
	assert_eq "" "$T_OUT" "config $case prints nothing on stdout"
done < "$REPO/fixtures/ops/expected.txt"

# --- no channel configured: a run does not try to notify; notify --test says why it cannot
assert_exit 3 t_pipeline run --date 2026-11-20
assert_exit 2 t_pipeline notify --test --date 2026-11-20
assert_contains "$T_ERR" "[notify] has no command, mail_to, webhook_url or webhook_url_env: nothing to send to" "notify --test without channel"

fake_sendmail
webhook_start
TOKEN=T0k3n-$RANDOM-SECRET
conf_set notify mail_to "finance@example.com, oncall@example.com"
conf_set notify mail_from "pipeline@example.com"
conf_set notify command "$T/bin/sendmail -t -i"
conf_set notify webhook_url "http://127.0.0.1:$HOOK_PORT/hooks/$TOKEN"

# --- notify --cut-off: none configured
conf_set notify cut_off none
assert_exit 0 t_pipeline notify --cut-off --date 2026-11-20
assert_eq "2026-11-20 none -" "$T_OUT" "no cut-off"

# --- exit 3 without a cut-off notifies at once: INPUT MISSING
assert_exit 3 t_pipeline run --date 2026-11-20
assert_eq 1 "$(mail_count)" "exit 3 without cut-off: one mail"
assert_eq 1 "$(hook_count)" "exit 3 without cut-off: one webhook"
assert_eq "-t -i" "$(cat "$T/mail/1.args")" "sendmail arguments"
assert_eq "PIPELINE_NOTIFY_DATE=2026-11-20
PIPELINE_NOTIFY_STATUS=INPUT MISSING" "$(cat "$T/mail/1.env")" "command environment"
msg=$(cat "$T/mail/1.msg")
assert_eq "To: finance@example.com, oncall@example.com" "$(sed -n 1p "$T/mail/1.msg")" "To header first"
assert_eq "From: pipeline@example.com" "$(sed -n 2p "$T/mail/1.msg")" "From header"
assert_contains "$(sed -n 3p "$T/mail/1.msg")" "Subject: [pipeline] 2026-11-20 INPUT MISSING: input missing (no cut_off set: not retried): input for 2026-11-20 not there yet: bank_" "subject"
assert_contains "$msg" "X-Pipeline-Status: INPUT MISSING" "status header"
assert_contains "$msg" "business date 2026-11-20 on $(hostname): INPUT MISSING (exit 3)" "body first line"
# run 1 was the run above, without channels
assert_contains "$msg" "  fetch      failed          2" "fetch failed with its run id"
assert_contains "$msg" "Report: (none written for this date)" "no report"
json=$(cat "$T/hook/1.json")
assert_eq "PATH /hooks/$TOKEN" "$(head -1 "$T/hook/1.headers")" "webhook path"
assert_contains "$(cat "$T/hook/1.headers")" "Content-Type: application/json; charset=utf-8" "webhook content type"
assert_eq "INPUT MISSING|3|fetch|failed|2|None" "$(/usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print("|".join(str(x) for x in (j["status"], j["exit_code"], j["stages"][0]["stage"], j["stages"][0]["state"], j["stages"][0]["run_id"], j["report"])))
' "$T/hook/1.json")" "webhook JSON fields"
assert_contains "$json" '"text":"[pipeline] 2026-11-20 INPUT MISSING' "webhook text for chat tools"

# --- the token in the webhook URL is never logged (stderr nor run log); its host is
assert_exit 3 t_pipeline run --date 2026-11-20
assert_contains "$T_ERR" "channel=webhook to=http://127.0.0.1:$HOOK_PORT status=\"INPUT MISSING\"" "webhook logged by host"
if grep -rq "$TOKEN" "$T/stderr" "$T/data/log"; then t_fail "the webhook token appears in a log"; fi
assert_eq 2 "$(mail_count)" "second exit 3: second mail"

# --- cut-off: before it, exit 3 is quiet (the wrapper retries); after it, it notifies
conf_set notify cut_off "07:00"
assert_exit 0 t_pipeline notify --cut-off --date 2026-11-20
assert_eq "2026-11-20 0 2026-11-20T23:00:00Z" "$T_OUT" "cut-off passed: 0 s left, 07:00 SGT next day"
assert_exit 0 t_pipeline notify --cut-off --date 2030-01-02
assert_contains "$T_OUT" "2030-01-02 " "future date"
assert_contains "$T_OUT" " 2030-01-02T23:00:00Z" "future cut-off"
left=$(echo "$T_OUT" | cut -d' ' -f2)
[ "$left" -gt 86400 ] || t_fail "seconds left until a 2030 cut-off: $left"
assert_exit 3 t_pipeline run --date 2030-01-02
assert_contains "$T_ERR" 'msg="input not there yet; no notification before the cut-off" cut_off=2030-01-02T23:00:00Z' "quiet before the cut-off"
assert_eq 2 "$(mail_count)" "no mail before the cut-off"
PIPELINE_NOTIFY_RETRYING=1 assert_exit 3 t_pipeline run --date 2026-11-20
assert_contains "$T_ERR" "the nightly wrapper retries, no notification" "quiet while the wrapper retries"
assert_eq 2 "$(mail_count)" "no mail while the wrapper retries"
assert_exit 3 t_pipeline run --date 2026-11-20
assert_eq 3 "$(mail_count)" "past the cut-off: mail"
assert_contains "$(sed -n 3p "$T/mail/3.msg")" "Subject: [pipeline] 2026-11-20 INPUT MISSING: input still missing at the cut-off, giving up: input for 2026-11-20" "gave up at the cut-off"
assert_eq 3 "$(hook_count)" "past the cut-off: webhook"

# --- success with exceptions: counts by type (new on the date / open now), largest breaks, report
t_psql "INSERT INTO exception (type, severity, stage, subject, account_no, item_date, amount_minor, currency, detail, opened_date, opened_run_id)
	VALUES ('UNMATCHED_STATEMENT', 'ERROR', 'reconcile', 'line:1', '0123456789', '2026-11-25', 150000, 'SGD', 'no movement for TRF-A', '2026-11-25', 1),
	       ('UNMATCHED_STATEMENT', 'ERROR', 'reconcile', 'line:2', '0123456789', '2026-11-24', -2500, 'SGD', 'no movement for VA1', '2026-11-24', 1),
	       ('AMOUNT_MISMATCH', 'ERROR', 'reconcile', 'line:3', '0123456789', '2026-11-25', -98765432, 'SGD', 'expected 987654.33, statement 987654.32', '2026-11-25', 1),
	       ('STATEMENT_MISSING', 'ERROR', 'fetch', 'source:trustee_cash:2026-11-25', NULL, '2026-11-25', NULL, NULL, 'no statement', '2026-11-25', 1)" >/dev/null
t_psql "INSERT INTO exception (type, severity, stage, subject, detail, opened_date, opened_run_id, status, closed_date, closed_by, close_note)
	VALUES ('UNMATCHED_LEDGER', 'WARNING', 'reconcile', 'movement:M9', 'closed one', '2026-11-25', 1, 'RESOLVED', '2026-11-25', 'alice', 'booked late')" >/dev/null
before=$(t_psql "SELECT count(*) FROM exception")
assert_exit 0 t_pipeline run --date 2026-11-25 --from report
assert_eq 4 "$(mail_count)" "success: mail"
msg=$(cat "$T/mail/4.msg")
assert_contains "$msg" "Subject: [pipeline] 2026-11-25 OK: 4 new, 4 open exceptions" "success subject"
assert_contains "$msg" "  AMOUNT_MISMATCH                   1 / 1" "AMOUNT_MISMATCH counts"
assert_contains "$msg" "  UNMATCHED_LEDGER                  1 / 0" "resolved today: new but not open"
assert_contains "$msg" "  UNMATCHED_STATEMENT               1 / 2" "UNMATCHED_STATEMENT counts"
assert_contains "$msg" "  total                             4 / 4" "totals"
assert_contains "$msg" "Largest open breaks" "largest breaks section"
first=$(grep -A1 'Largest open breaks' "$T/mail/4.msg" | tail -1)
assert_contains "$first" "AMOUNT_MISMATCH" "largest break first"
assert_contains "$first" "SGD -987654.32" "amount in major units with currency"
assert_contains "$msg" "Report: $T/reports/2026-11-25/recon-2026-11-25.xlsx" "report path"
[ -f "$T/reports/2026-11-25/recon-2026-11-25.xlsx" ] || t_fail "the report named in the mail exists"
assert_eq "OK|0|4|4|AMOUNT_MISMATCH|SGD -987654.32|2" "$(/usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
b = j["largest_breaks"]
print("|".join(str(x) for x in (j["status"], j["exit_code"], j["new_total"], j["open_total"], b[0]["type"], b[0]["amount"],
      [e for e in j["exceptions"] if e["type"] == "UNMATCHED_STATEMENT"][0]["open"])))
' "$T/hook/4.json")" "success JSON"
assert_eq "$before" "$(t_psql "SELECT count(*) FROM exception")" "notifying changes nothing in the database"

# --- a rerun that finds every stage done (weekend, holiday) has nothing new: no mail
assert_exit 0 t_pipeline run --date 2026-11-25 --from report
assert_contains "$T_ERR" 'msg="every stage was already done; no notification"' "nothing ran: logged"
assert_eq 4 "$(mail_count)" "nothing ran: no mail"

# --- on = failure: a success sends nothing
conf_set notify on failure
assert_exit 0 t_pipeline run --date 2026-11-25 --from report --force
assert_eq 4 "$(mail_count)" "on = failure: no mail on success"

# --- a failure (exit 1): a statement file over its source's max_size
echo client > "$T/remote/bank/client/stmt_0123456789_20261126.sta"
echo operating > "$T/remote/bank/operating/acct_0123456790_20261126.csv"
echo cash > "$T/remote/trustee/cash/trustee_8800123456_20261126.sta"
echo register > "$T/remote/trustee/register/register_20261126.csv"
conf_set source.bank_client max_size 3
assert_exit 1 t_pipeline run --date 2026-11-26
assert_eq 5 "$(mail_count)" "failure: mail"
assert_contains "$(sed -n 3p "$T/mail/5.msg")" "Subject: [pipeline] 2026-11-26 FAILED: fetch failed: " "failure subject names the stage"
assert_contains "$(cat "$T/mail/5.msg")" "(exit 1)" "failure exit code"
assert_contains "$(cat "$T/hook/5.json")" '"status":"FAILED","exit_code":1' "failure JSON"

# --- single stages run by hand do not notify
assert_exit 0 t_pipeline report --date 2026-11-25 --force
assert_eq 5 "$(mail_count)" "a single stage does not notify"

# --- channels that fail: logged, the run's exit code is unchanged
conf_set notify on always
echo 75 > "$T/mail/exit"
kill "$HOOK_PID"; wait "$HOOK_PID" 2>/dev/null
webhook_start 500
conf_set notify webhook_url "http://127.0.0.1:$HOOK_PORT/hooks/$TOKEN"
assert_exit 0 t_pipeline run --date 2026-11-25 --from report --force
assert_contains "$T_ERR" 'msg="notification failed" channel=command error="notify: command exited with status 75"' "sendmail failure logged"
assert_contains "$T_ERR" "msg=\"notification failed\" channel=webhook error=\"notify: webhook http://127.0.0.1:$HOOK_PORT answered HTTP 500\"" "webhook failure logged"
if grep -rq "$TOKEN" "$T/stderr" "$T/data/log"; then t_fail "the webhook token appears in a log after a failure"; fi
assert_exit 3 t_pipeline run --date 2026-11-20
assert_exit 1 t_pipeline notify --test --date 2026-11-25
rm -f "$T/mail/exit"

# --- a stuck command is killed after [notify] timeout; nothing listening on the webhook port
# (an argument of its own: other checkouts on this machine may run this test at the same time)
STUCK="sleep 30.$$"
conf_set notify command "$STUCK"
conf_set notify timeout 1
kill "$HOOK_PID"; wait "$HOOK_PID" 2>/dev/null
start=$(date +%s)
assert_exit 0 t_pipeline run --date 2026-11-25 --from report --force
took=$(( $(date +%s) - start ))
[ "$took" -lt 15 ] || t_fail "a stuck mail command held the run for ${took}s"
assert_contains "$T_ERR" "notify: command did not finish within 1 s; killed" "stuck command killed"
assert_contains "$T_ERR" "channel=webhook error=\"notify: webhook http://127.0.0.1:$HOOK_PORT: Couldn't connect to server\"" "webhook down"
pgrep -f "^$STUCK\$" >/dev/null && t_fail "the stuck command survived"

# --- notify --test sends the date's summary as TEST
conf_set notify command "$T/bin/sendmail -t"
conf_set notify webhook_url ""
sed -i '/^webhook_url = $/d' "$T/pipeline.conf"
n=$(mail_count)
assert_exit 0 t_pipeline notify --test --date 2026-11-25
assert_eq "notification sent" "$T_OUT" "notify --test output"
assert_eq $((n + 1)) "$(mail_count)" "notify --test sent a mail"
assert_contains "$(cat "$T/mail/$((n + 1)).msg")" "Subject: [pipeline] 2026-11-25 TEST: 4 new, 4 open exceptions" "test subject"

# --- the webhook URL from an environment variable; the mail command sees none of our secrets
webhook_start
conf_set notify webhook_url_env OPS_SECRET_HOOK
awk '/^\[source.bank_client\]/ { print; print "key_passphrase_env = OPS_SECRET_PASS"; next } { print }' \
	"$T/pipeline.conf" > "$T/p.tmp" && mv "$T/p.tmp" "$T/pipeline.conf"
n=$(mail_count)
h=$(hook_count)
OPS_SECRET_PASS=pass-$TOKEN OPS_SECRET_HOOK="http://127.0.0.1:$HOOK_PORT/env/$TOKEN" PGPASSWORD=pw-$TOKEN \
	assert_exit 0 t_pipeline notify --test --date 2026-11-25
assert_eq $((n + 1)) "$(mail_count)" "mail sent"
assert_eq "" "$(cat "$T/mail/$((n + 1)).secrets")" "the mail command got no secret in its environment"
assert_eq $((h + 1)) "$(hook_count)" "webhook from the environment variable"
assert_eq "PATH /env/$TOKEN" "$(head -1 "$T/hook/$((h + 1)).headers")" "URL taken from the variable"
if grep -rq "$TOKEN" "$T/stderr" "$T/data/log"; then t_fail "a secret appears in a log"; fi
# the variable not set: a configuration problem (exit 2), the mail still went out
n=$(mail_count)
assert_exit 2 t_pipeline notify --test --date 2026-11-25
assert_eq $((n + 1)) "$(mail_count)" "the other channel still sent"
assert_contains "$T_ERR" 'channel=webhook error="notify: webhook_url_env names $OPS_SECRET_HOOK, which is not set"' "unset webhook variable"
t_done
