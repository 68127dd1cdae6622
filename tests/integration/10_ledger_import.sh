#!/bin/bash
# Ledger import: loads a small extract, is idempotent, rejects every kind of bad row with
# "file:line: field: reason" and then loads nothing at all (fixtures/ledger-bad/expected.txt).
source "$(dirname "$0")/../lib.sh"
t_init ledger_import

count_all() {
	t_psql "SELECT (SELECT count(*) FROM bank_account) || ',' || (SELECT count(*) FROM investor) || ','
	        || (SELECT count(*) FROM offering) || ',' || (SELECT count(*) FROM subscription) || ','
	        || (SELECT count(*) FROM cash_movement) || ',' || (SELECT count(*) FROM holding) || ','
	        || (SELECT count(*) FROM book_balance)"
}

assert_exit 0 t_pipeline ledger import "$REPO/fixtures/ledger-small"
assert_contains "$T_OUT" "imported" "first import reports"
assert_eq "4,3,1,2,3,1,3" "$(count_all)" "rows after the first import"
assert_eq "150000|2050|150000" "$(t_psql "SELECT string_agg(amount_minor::text, '|' ORDER BY movement_id) FROM cash_movement")" \
	"amounts stored exactly in minor units (SGD 1500.00, SGD 20.5, JPY 150000)"
assert_eq "150000|-2050|150000" "$(t_psql "SELECT string_agg(balance_minor::text, '|' ORDER BY account_no) FROM book_balance")" \
	"book balances in minor units of each account's currency (SGD 1500.00, SGD -20.5, JPY 150000)"
assert_eq 'Müller "Max"' "$(t_psql "SELECT name FROM investor WHERE investor_id = 'I3'")" "quoted UTF-8 name"

# Idempotent: the same extract again changes nothing.
before=$(t_psql "SELECT md5(string_agg(c::text, ',' ORDER BY movement_id)) FROM cash_movement c")
assert_exit 0 t_pipeline ledger import "$REPO/fixtures/ledger-small"
assert_contains "$T_OUT" "0 new" "second import adds nothing"
assert_eq "4,3,1,2,3,1,3" "$(count_all)" "rows after the second import"
assert_eq "$before" "$(t_psql "SELECT md5(string_agg(c::text, ',' ORDER BY movement_id)) FROM cash_movement c")" \
	"movements unchanged by the second import"

# Every bad case: exit 1, the exact message, and nothing loaded (row counts of a fresh db stay 0,
# or stay as they were for the changed-row case, which needs the base loaded first).
while IFS='|' read -r case expected; do
	case "$case" in ''|'#'*) continue ;; esac
	file=${case%%--*}.csv
	dir=$T/bad/$case
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$REPO/fixtures/ledger-small/"*.csv "$dir/"
	cp "$REPO/fixtures/ledger-bad/$case.csv" "$dir/$file"
	before=$(count_all)
	assert_exit 1 t_pipeline ledger import "$dir"
	assert_contains "$T_ERR" "$dir/$file${expected#*.csv}" "$case: message"
	assert_eq "$before" "$(count_all)" "$case: nothing loaded"
done < "$REPO/fixtures/ledger-bad/expected.txt"

# An extract with a bad row in a later file loads nothing from the earlier files either.
t_psql "TRUNCATE book_balance, holding, cash_movement, subscription, offering, investor, bank_account CASCADE" >/dev/null
dir=$T/bad/all-or-nothing
mkdir -p "$dir"
cp "$REPO/fixtures/ledger-small/"*.csv "$dir/"
cp "$REPO/fixtures/ledger-bad/holdings--negative-units.csv" "$dir/holdings.csv"
assert_exit 1 t_pipeline ledger import "$dir"
assert_eq "0,0,0,0,0,0,0" "$(count_all)" "a bad holdings.csv leaves accounts etc. unloaded"

# A missing directory is a usage error.
assert_exit 2 t_pipeline ledger import "$T/no-such-dir"
t_done
