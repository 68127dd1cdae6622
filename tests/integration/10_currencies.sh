#!/bin/bash
# Currencies: db init seeds the currency table with every currency src/money.c knows
# (src/currencies.inc, from ICU with ISO 4217's minor units), idempotently, and refuses to change a
# currency whose minor units differ in the database; the ledger import books 0-, 2-, 3- and
# 4-decimal currencies exactly and still refuses a code that is not an ISO 4217 currency.
source "$(dirname "$0")/../lib.sh"
t_init currencies

n=$(grep -c '^{ "' "$REPO/src/currencies.inc")
assert_eq "$n" "$(t_psql "SELECT count(*) FROM currency")" "every currency of src/currencies.inc is in the table"
assert_eq "CLF|4,IDR|2,JOD|3,PLN|2,SGD|2,VND|0" \
	"$(t_psql "SELECT string_agg(code || '|' || exponent, ',' ORDER BY code) FROM currency
	           WHERE code IN ('CLF','IDR','JOD','PLN','SGD','VND')")" "minor units"

# db init again: nothing added twice
assert_exit 0 t_pipeline -q db init
assert_eq "$n" "$(t_psql "SELECT count(*) FROM currency")" "db init twice"

# A ledger in the new currencies
L=$T/ledger
mkdir -p "$L"
cp "$REPO/fixtures/ledger-small/"*.csv "$L/"
cat >> "$L/accounts.csv" <<'CSV'
3000000001,PLN,CLIENT_MONEY,Zloty client money
3000000002,CLF,CLIENT_MONEY,UF client money
3000000003,KWD,CLIENT_MONEY,Dinar client money
3000000004,VND,CLIENT_MONEY,Dong client money
CSV
cat >> "$L/cash_movements.csv" <<'CSV'
M10,3000000001,CREDIT,1234.56,PLN,2026-11-23,VA00000001,DEPOSIT,I1,
M11,3000000002,CREDIT,1.2345,CLF,2026-11-23,VA00000001,DEPOSIT,I1,
M12,3000000003,CREDIT,10.005,KWD,2026-11-23,VA00000001,DEPOSIT,I1,
M13,3000000004,CREDIT,2500000,VND,2026-11-23,VA00000001,DEPOSIT,I1,
CSV
assert_exit 0 t_pipeline ledger import "$L"
assert_eq "M10|123456|PLN,M11|12345|CLF,M12|10005|KWD,M13|2500000|VND" \
	"$(t_psql "SELECT string_agg(movement_id || '|' || amount_minor || '|' || currency, ',' ORDER BY movement_id)
	           FROM cash_movement WHERE movement_id LIKE 'M1_'")" "amounts in minor units of each currency"

# more decimals than CLF allows, and a code that is not a currency
B=$T/bad
mkdir -p "$B"
cp "$L/"*.csv "$B/"
echo "M14,3000000002,CREDIT,1.23456,CLF,2026-11-23,VA00000001,DEPOSIT,I1," >> "$B/cash_movements.csv"
assert_exit 1 t_pipeline ledger import "$B"
assert_contains "$T_ERR" "cash_movements.csv:9: amount: amount \"1.23456\" is not a valid amount: more decimals than the currency allows (CLF has 4 decimals)" "CLF 5 decimals"
cp "$L/cash_movements.csv" "$B/"
echo "M14,3000000001,CREDIT,1.00,PLZ,2026-11-23,VA00000001,DEPOSIT,I1," >> "$B/cash_movements.csv"
assert_exit 1 t_pipeline ledger import "$B"
assert_contains "$T_ERR" "cash_movements.csv:9: currency: unknown currency \"PLZ\"" "not a currency"

# A database whose currency has other minor units is not changed behind the stored amounts
t_psql "UPDATE currency SET exponent = 3 WHERE code = 'NOK'" >/dev/null
assert_exit 1 t_pipeline -q db init
assert_contains "$T_ERR" "the database's currency NOK has 3 minor units, ISO 4217 (src/currencies.inc) says 2" "mismatch refused"
assert_eq "3" "$(t_psql "SELECT exponent FROM currency WHERE code = 'NOK'")" "left as it was"
t_done
