#!/bin/bash
# `pipeline inspect`: JSON Lines exactly as issue 4 specifies (statement object, then its lines),
# format guessed from content or given, a source's reference patterns, JSON escaping of quotes and
# non-ASCII text, errors on stderr with exit 1 and nothing on stdout, usage errors exit 2. No database.
source "$(dirname "$0")/../lib.sh"
T_NAME=normalize_inspect
T=$REPO/var/test/$T_NAME
rm -rf "$T"; mkdir -p "$T"
F=fixtures/formats
cd "$REPO"
P=$PIPELINE

assert_exit 0 "$P" inspect $F/sgbank-corp/good.csv
assert_eq '{"kind":"statement","file":"fixtures/formats/sgbank-corp/good.csv","format":"sgbank-corp","account":"0123456790","statement_no":"00045","sequence_no":"","currency":"SGD","opening":{"date":"2026-11-24","amount_minor":125000000,"mark":"C","intermediate":false},"closing":{"date":"2026-11-24","amount_minor":126497450,"mark":"C","intermediate":false},"line_count":2}
{"kind":"line","line_no":1,"value_date":"2026-11-24","entry_date":"2026-11-24","mark":"C","funds_code":"","amount_minor":1500000,"currency":"SGD","type_code":"","customer_ref":"","bank_ref":"FT2632800012","supplementary":"","narrative":"FAST TRF FROM DABS CLIENT A/C TRF-OFF-B-FEE","reference":"TRF-OFF-B-FEE"}
{"kind":"line","line_no":2,"value_date":"2026-11-24","entry_date":"2026-11-24","mark":"D","funds_code":"","amount_minor":-2550,"currency":"SGD","type_code":"","customer_ref":"","bank_ref":"BC2611240001","supplementary":"","narrative":"GIRO BANK CHARGES NOV","reference":""}' "$T_OUT" "sgbank-corp guessed, exact JSON Lines"

assert_exit 0 "$P" inspect --source bank_client $F/mt940/good.sta
assert_eq 5 "$(echo "$T_OUT" | wc -l)" "one statement and four lines"
assert_contains "$T_OUT" '"kind":"line","line_no":3,"value_date":"2026-11-24","entry_date":null,"mark":"C","funds_code":"R","amount_minor":900' \
	"CR9, is a credit with funds code R"
assert_contains "$T_OUT" '"mark":"RC","funds_code":"","amount_minor":-10000' "RC is a reversal"
assert_contains "$T_OUT" '"reference":"VA00000123"' "the source's reference patterns"
echo "$T_OUT" | /usr/bin/python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' || t_fail "output is not valid JSON Lines"

assert_exit 0 "$P" inspect $F/eubank-semicolon/good.csv
assert_contains "$T_OUT" '"narrative":"Müller GmbH Miete November; Büro \"Nord\""' "ISO-8859-1 to UTF-8, quotes escaped"
assert_exit 0 "$P" inspect $F/trustee/good.csv
assert_contains "$T_OUT" '{"kind":"register","file":"fixtures/formats/trustee/good.csv","format":"trustee_register","as_of_date":"2026-11-24","holdings":3}' \
	"the trustee register"

# errors: stderr, exit 1, nothing on stdout; the other files are still printed
assert_exit 1 "$P" inspect $F/mt940/bad-number.sta $F/mt940/good.sta
assert_eq 'pipeline: inspect: fixtures/formats/mt940/bad-number.sta:5: MT940 :61: amount "12,3,4" is not a valid amount: unexpected character in the decimals' \
	"$T_ERR" "the error on stderr"
assert_eq 5 "$(echo "$T_OUT" | wc -l)" "only the good file on stdout"
assert_exit 1 "$P" inspect --format mt940 $F/sgbank-corp/good.csv
assert_eq "" "$T_OUT" "nothing printed for a failed file"
assert_exit 1 "$P" inspect $F/trustee/bad-header.csv
assert_contains "$T_ERR" "cannot tell the format: it is not MT940" "an unknown shape says what was tried"
assert_exit 2 "$P" inspect --format nosuch $F/mt940/good.sta
assert_contains "$T_ERR" 'format "nosuch" is not a format' "unknown format"
assert_exit 2 "$P" inspect
t_done
