#!/bin/bash
# Bidirectional controls and invisible characters in remote names, references and narratives are
# shown as \uXXXX escapes in logs and on the terminal, never obeyed (src/utf8.h, utf8_shown): a
# remote name with U+202E (RIGHT-TO-LEFT OVERRIDE) in fetch's log lines, in the error line and in
# `status`; a narrative with U+2066/U+2069 and U+200B in `inspect`'s JSON (which still decodes to
# the same text) and in the JSON log; and no raw such character anywhere on stderr or stdout.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/30_fetch_lib.inc"   # conf_set
t_init invisible
D=2026-11-23
RLO=$(printf '\342\200\256')
name="stmt_0123456789_20261123${RLO}ats.sta"
t_deliver $D
printf 'x%.0s' $(seq 100) > "$T/remote/bank/client/$name"
conf_set source.bank_client pattern '^stmt_0123456789_%Y%m%d.*\.sta$'
conf_set source.bank_client max_size 99
conf_set source.bank_client expected_count 1

raw_free() { if printf '%s' "$2" | grep -q "$RLO\|$(printf '\342\201\246')\|$(printf '\342\200\213')"; then t_fail "$1: a raw bidi/invisible character was printed"; fi; }

assert_exit 1 t_pipeline fetch --date $D
# (fetch shows remote names escaped, and the log line escapes that escape's backslash, as for controls)
assert_contains "$T_ERR" 'msg="file refused" source=bank_client file="stmt_0123456789_20261123\\u202eats.sta"' "the log line shows the escape"
assert_contains "$T_ERR" "pipeline: dir:$T/remote/bank/client: $T/remote/bank/client/stmt_0123456789_20261123\\u202eats.sta is 100 bytes, over the limit" \
	"the last line, for a person, shows the escape"
raw_free "fetch stderr" "$T_ERR"
assert_exit 0 t_pipeline status --date $D
assert_contains "$T_OUT" 'stmt_0123456789_20261123\u202eats.sta' "status shows the escape"
raw_free "status" "$T_OUT"

# a narrative with isolates and a zero-width space, through inspect (JSON Lines) and the JSON log
src=$REPO/fixtures/statements/$D/bank/client/stmt_0123456789_20261123.sta
sed "0,/^:86:GIRO CREDIT/s//:86:GIRO $(printf '\342\201\246')CREDIT$(printf '\342\201\251\342\200\213')/" "$src" > "$T/bidi.sta"
grep -q "$(printf '\342\201\246')" "$T/bidi.sta" || t_fail "test setup: no bidi character in the statement"
assert_exit 0 t_pipeline inspect --format mt940 "$T/bidi.sta"
assert_contains "$T_OUT" '"narrative":"GIRO \u2066CREDIT\u2069\u200b' "inspect escapes the narrative"
raw_free "inspect" "$T_OUT"
assert_eq "GIRO $(printf '\342\201\246')CREDIT$(printf '\342\201\251\342\200\213')" \
	"$(printf '%s\n' "$T_OUT" | /usr/bin/python3 -c 'import json, sys
for l in sys.stdin:
    n = json.loads(l).get("narrative", "")
    if n.startswith("GIRO"): print(n.split(" AQILAH")[0]); break')" "the JSON still decodes to the same text"
sed -i 's/^log_format = .*/log_format = json/' "$T/pipeline.conf"
assert_exit 1 t_pipeline fetch --date $D --force
assert_contains "$T_ERR" '"file":"stmt_0123456789_20261123\\u202eats.sta"' "the JSON log escapes the name"
assert_contains "$T_ERR" 'client/stmt_0123456789_20261123\u202eats.sta is 100 bytes' "the JSON log escapes the name in an error"
raw_free "JSON log" "$T_ERR"

t_done
