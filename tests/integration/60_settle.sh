#!/bin/bash
# Settle on a small world (fixtures/settle/ledger): three offerings close the same day - one fails,
# one is exactly subscribed, one is oversubscribed with ties - and settle to hand-computed numbers;
# the payment file is schema-valid pain.001 and escapes names; the issuance CSV is exact; the
# journal balances; a rerun and a --force rerun change nothing and deliver nothing twice.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/60_settle_lib.inc"
t_init settle

assert_exit 0 t_pipeline ledger import "$REPO/fixtures/settle/ledger"
assert_exit 0 t_pipeline settle --date 2026-11-23
assert_contains "$T_ERR" 'msg="offering settled" offering=S-PRO outcome=PRO_RATA requested=35 allocated=9' "log line"

# --- allocation: S-PRO offers 9 units for 35 requested at 123.45.
# 10*9/35 = 2 rem 20 (P1, P2, P3), 5*9/35 = 1 rem 10 (P4): 7 given, 2 left over for the remainder 20s:
# P3 subscribed earliest (08:00+08), P1 and P2 tie at 09:00+08 (P2 written as 01:00Z), P1 has the smaller id.
assert_eq "F1|60|0
F2|40|0
P1|3|86415
P2|2|98760
P3|3|86415
P4|1|49380
X1|0|100000" "$(t_psql "SELECT subscription_id, allocated_units, refund_minor FROM allocation ORDER BY 1")" "allocations"
assert_eq 0 "$(t_psql "SELECT count(*) FROM allocation WHERE subscription_id = 'P5'")" "a cancelled subscription is not allocated"
# gross 9 x 123.45 = 1111.05; fee 1.5% = 16.66575 -> 16.66 (rounded down); S-FULL 5000.00 at 2% = 100.00
assert_eq "S-FAIL|FAILED|100|0|0|0|0|100000
S-FULL|FULL|100|100|500000|10000|490000|0
S-PRO|PRO_RATA|35|9|111105|1666|109439|320970" \
	"$(t_psql "SELECT offering_id, outcome, requested_units, allocated_units, gross_minor, fee_minor,
	                  proceeds_minor, refunded_minor FROM offering_settlement ORDER BY 1")" "settlements"
assert_eq 0 "$(t_psql "SELECT count(*) FROM offering_settlement WHERE offering_id = 'S-BIG'")" "S-BIG closes tomorrow"

# --- transfers, cash movements expected the next business day, issuance, holdings
assert_eq "TRF-S-FULL-FEE|0123456789|0123456790|10000|UPLOADED|pain001-20261123-01.xml
TRF-S-FULL-PROCEEDS|0123456789|8800123456|490000|UPLOADED|pain001-20261123-01.xml
TRF-S-PRO-FEE|0123456789|0123456790|1666|UPLOADED|pain001-20261123-01.xml
TRF-S-PRO-PROCEEDS|0123456789|8800123456|109439|UPLOADED|pain001-20261123-01.xml" \
	"$(t_psql "SELECT transfer_id, from_account, to_account, amount_minor, status, payment_file FROM transfer ORDER BY 1")" \
	"transfers (a failed offering pays nothing)"
assert_eq "TRF-S-FULL-FEE-CR|0123456790|CREDIT|10000|2026-11-24|TRF-S-FULL-FEE|FEE
TRF-S-FULL-FEE-DR|0123456789|DEBIT|10000|2026-11-24|TRF-S-FULL-FEE|FEE
TRF-S-FULL-PROCEEDS-CR|8800123456|CREDIT|490000|2026-11-24|TRF-S-FULL-PROCEEDS|PROCEEDS
TRF-S-FULL-PROCEEDS-DR|0123456789|DEBIT|490000|2026-11-24|TRF-S-FULL-PROCEEDS|PROCEEDS
TRF-S-PRO-FEE-CR|0123456790|CREDIT|1666|2026-11-24|TRF-S-PRO-FEE|FEE
TRF-S-PRO-FEE-DR|0123456789|DEBIT|1666|2026-11-24|TRF-S-PRO-FEE|FEE
TRF-S-PRO-PROCEEDS-CR|8800123456|CREDIT|109439|2026-11-24|TRF-S-PRO-PROCEEDS|PROCEEDS
TRF-S-PRO-PROCEEDS-DR|0123456789|DEBIT|109439|2026-11-24|TRF-S-PRO-PROCEEDS|PROCEEDS" \
	"$(t_psql "SELECT movement_id, account_no, direction, amount_minor, expected_date, reference, kind
	             FROM cash_movement WHERE origin = 'SETTLE' ORDER BY 1")" "cash movements for tomorrow's reconcile"
assert_eq "2026-11-24|S-FULL|I04|60
2026-11-24|S-FULL|I05|40
2026-11-24|S-PRO|I01|4
2026-11-24|S-PRO|I02|2
2026-11-24|S-PRO|I03|3" "$(t_psql "SELECT as_of_date, offering_id, investor_id, units FROM holding
                                     WHERE origin = 'SETTLE' ORDER BY 2, 3")" \
	"holdings dated the day the trustee registers them; I01's two subscriptions summed"
assert_journal_balanced
assert_eq "WALLET:I01|49380
WALLET:I02|24690
WALLET:I03|37035
WALLET:I04|300000
WALLET:I05|200000" "$(t_psql "SELECT ledger_account, sum(amount_minor) FROM journal_posting
                              WHERE ledger_account LIKE 'WALLET:%' GROUP BY 1 HAVING sum(amount_minor) <> 0 ORDER BY 1")" \
	"each wallet is charged exactly what its units cost (the failed offering's I06 nets to zero)"
assert_eq "-611105|11666" "$(t_psql "SELECT (SELECT sum(amount_minor) FROM journal_posting WHERE ledger_account = 'BANK:0123456789')
                          || '|' || (SELECT sum(amount_minor) FROM journal_posting WHERE ledger_account = 'BANK:0123456790')")" \
	"client money pays out gross 6111.05, operating receives the fees 116.66"

# --- the files on the server
assert_eq "pain001-20261123-01.xml" "$(ls -A "$(PAY_DIR)")" "one payment file for the run"
assert_eq "issuance-20261123-01.csv" "$(ls -A "$(ISS_DIR)")" "one issuance file for the run"
pay=$(PAY_DIR)/pain001-20261123-01.xml
assert_xsd "$pay"
x=$(cat "$pay")
assert_contains "$x" "<MsgId>DABS-PAY-20261123-01</MsgId>" "message id"
assert_contains "$x" "<NbOfTxs>4</NbOfTxs>" "transaction count"
assert_contains "$x" "<CtrlSum>6111.05</CtrlSum>" "control sum"
assert_contains "$x" "<ReqdExctnDt>2026-11-24</ReqdExctnDt>" "executed the next business day"
assert_contains "$x" "<Nm>Harbour Trust &amp; Nominees &lt;SG&gt; Pte. Ltd.</Nm>" "creditor name XML-escaped"
assert_contains "$x" "<Id>0123456789</Id>" "debtor is the client-money account"
assert_eq "TRF-S-FULL-FEE TRF-S-FULL-PROCEEDS TRF-S-PRO-FEE TRF-S-PRO-PROCEEDS" \
	"$(grep -o '<EndToEndId>[^<]*' "$pay" | cut -d'>' -f2 | tr '\n' ' ' | sed 's/ $//')" "EndToEndId = transfer id"
assert_contains "$x" '<InstdAmt Ccy="SGD">1094.39</InstdAmt>' "S-PRO proceeds"
assert_eq "issuance_id,offering_id,investor_id,units,unit_price,amount,currency,settlement_date
ISS-S-FULL-I04,S-FULL,I04,60,50.00,3000.00,SGD,2026-11-25
ISS-S-FULL-I05,S-FULL,I05,40,50.00,2000.00,SGD,2026-11-25
ISS-S-PRO-I01,S-PRO,I01,4,123.45,493.80,SGD,2026-11-25
ISS-S-PRO-I02,S-PRO,I02,2,123.45,246.90,SGD,2026-11-25
ISS-S-PRO-I03,S-PRO,I03,3,123.45,370.35,SGD,2026-11-25" "$(cat "$(ISS_DIR)/issuance-20261123-01.csv")" "issuance file"
for f in pain001-20261123-01.xml issuance-20261123-01.csv; do
	src=$(PAY_DIR)/$f; [ -f "$src" ] || src=$(ISS_DIR)/$f
	cmp -s "$src" "$T/data/outbox/2026-11-23/$f" || t_fail "$f: delivered copy differs from the outbox"
	assert_eq "$(sha256sum < "$src" | cut -c1-64)" "$(t_psql "SELECT sha256 FROM outbound_file WHERE file_name = '$f'")" \
		"$f: recorded sha256"
done
assert_eq "0" "$(t_psql "SELECT count(*) FROM outbound_file WHERE uploaded_at IS NULL OR written_at IS NULL")" "uploads recorded"

# --- reruns: nothing new, nothing twice
before=$(settle_snapshot)
files_before=$(delivered_files "$(PAY_DIR)"; delivered_files "$(ISS_DIR)"; sha256sum "$pay")
assert_exit 0 t_pipeline settle --date 2026-11-23
assert_contains "$T_ERR" "already done" "a rerun of a done stage is skipped"
assert_exit 0 t_pipeline settle --date 2026-11-23 --force
assert_contains "$T_ERR" 'settled=0' "--force allocates nothing again"
assert_eq "$before" "$(settle_snapshot)" "database unchanged by rerun and --force"
assert_eq "$files_before" "$(delivered_files "$(PAY_DIR)"; delivered_files "$(ISS_DIR)"; sha256sum "$pay")" \
	"no file re-sent or changed"
# the next day settles only S-BIG's (covered in 60_settle_foureyes.sh); the day after that, nothing
t_done
