#!/bin/bash
# The fixture world's offerings settle to the documented numbers (fixtures/expected/<DATE>/
# settlement.csv, allocations.csv, transfers.csv, issuance.csv, computed independently by
# tools/genworld.py): OFF-A fails, OFF-B is exactly subscribed (both close on day 1), OFF-C is
# oversubscribed with ties (day 2). The settle stage alone, day after day on the imported ledger.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/60_settle_lib.inc"
W=${SETTLE_WORLD:-$REPO/fixtures}
t_init settle_world

# expected FILE: the fixture CSV without its header, sorted
expected() { tail -n +2 "$1" | tr -d '\r' | sort; }

for d in 2026-11-23 2026-11-24 2026-11-25; do
	ex=$W/expected/$d
	[ -d "$ex" ] || { t_fail "no expectations in $ex"; continue; }
	assert_exit 0 t_pipeline -q ledger import "$W/ledger/$d"
	assert_exit 0 t_pipeline -q settle --date $d
	assert_eq "$(expected "$ex/settlement.csv")" "$(t_psql "SELECT concat_ws(',', offering_id, outcome, requested_units,
		allocated_units, refunded_minor, gross_minor, fee_minor, proceeds_minor) FROM offering_settlement
		WHERE business_date = '$d'" | sort)" "$d: settlement.csv"
	assert_eq "$(expected "$ex/allocations.csv")" "$(t_psql "SELECT subscription_id || ',' || allocated_units
		FROM allocation WHERE business_date = '$d'" | sort)" "$d: allocations.csv"
	assert_eq "$(expected "$ex/transfers.csv")" "$(t_psql "SELECT concat_ws(',', transfer_id, from_account, to_account,
		amount_minor) FROM transfer WHERE business_date = '$d'" | sort)" "$d: transfers.csv"
	assert_eq "$(expected "$ex/issuance.csv")" "$(t_psql "SELECT concat_ws(',', issuance_id, units, amount_minor)
		FROM issuance WHERE business_date = '$d'" | sort)" "$d: issuance.csv"
	n=$(expected "$ex/transfers.csv" | grep -c .)
	ymd=${d//-/}
	if [ "$n" -gt 0 ]; then
		pay=$(PAY_DIR)/pain001-$ymd-01.xml
		assert_xsd "$pay"
		assert_contains "$(cat "$pay")" "<NbOfTxs>$n</NbOfTxs>" "$d: one CdtTrfTxInf per transfer"
		assert_eq "$(expected "$ex/transfers.csv" | cut -d, -f1)" \
			"$(grep -o '<EndToEndId>[^<]*' "$pay" | cut -d'>' -f2 | sort)" "$d: EndToEndIds"
		assert_eq "$(expected "$ex/issuance.csv" | cut -d, -f1,2)" \
			"$(tail -n +2 "$(ISS_DIR)/issuance-$ymd-01.csv" | cut -d, -f1,4 | sort)" "$d: issuance file"
		assert_eq "UPLOADED" "$(t_psql "SELECT string_agg(DISTINCT status, ',') FROM transfer WHERE business_date = '$d'")" \
			"$d: nothing held in the demo world"
	else
		assert_eq "" "$(ls "$(PAY_DIR)" | grep "$ymd")" "$d: no payment file on a day without payments"
	fi
done
assert_journal_balanced
assert_eq 0 "$(t_psql "SELECT count(*) FROM outbound_file WHERE uploaded_at IS NULL")" "every file delivered"
t_done
