-- tests/report/world.sql - a small hand-made day (2026-11-25) for the report tests, inserted
-- straight into the tables the stages fill: every sheet has rows, every age bucket is used,
-- text from "outside" starts with = + - @ and tab, and there is a JPY account (0 decimals).
BEGIN;
INSERT INTO bank_account VALUES
  ('0123456789', 'SGD', 'CLIENT_MONEY', 'Client money account'),
  ('0123456790', 'SGD', 'OPERATING', 'Operating account'),
  ('8800123456', 'SGD', 'TRUSTEE', 'Trustee proceeds account'),
  ('JP00112233', 'JPY', 'CLIENT_MONEY', 'Client money (JPY)');
INSERT INTO investor VALUES
  ('INV0001', 'Tan Wei Ming', 'VA00000001', 'ACTIVE'),
  ('INV0002', '=HYPERLINK("http://evil.example","click")', 'VA00000002', 'ACTIVE'),
  ('INV0003', 'Lim Siew Ling', 'VA00000003', 'ACTIVE');
INSERT INTO stage_run (run_id, business_date, stage, state, finished_at, pid, host, operator, config_digest) VALUES
  (1, '2026-11-24', 'reconcile', 'done', now(), 1, 'h', 'test', 'x'),
  (2, '2026-11-25', 'fetch', 'done', now(), 1, 'h', 'test', 'x'),
  (3, '2026-11-25', 'normalize', 'done', now(), 1, 'h', 'test', 'x'),
  (4, '2026-11-25', 'reconcile', 'done', now(), 1, 'h', 'test', 'x'),
  (5, '2026-11-25', 'settle', 'done', now(), 1, 'h', 'test', 'x');
SELECT setval('stage_run_run_id_seq', 5);

-- Files of the day: two loaded statements, a JPY statement, a quarantined file, a duplicate.
INSERT INTO fetched_file (file_id, business_date, source, remote_name, local_path, size_bytes, sha256, status, duplicate_of, run_id) VALUES
  (1, '2026-11-24', 'bank_client', 'stmt_0123456789_20261124.sta', '/x/1', 100, repeat('1', 64), 'NEW', NULL, 1),
  (2, '2026-11-25', 'bank_client', 'stmt_0123456789_20261125.sta', '/x/2', 2048, repeat('a', 64), 'NEW', NULL, 2),
  (3, '2026-11-25', 'bank_operating', 'acct_0123456790_20261125.csv', '/x/3', 512, repeat('b', 64), 'NEW', NULL, 2),
  (4, '2026-11-25', 'trustee_cash', 'trustee_8800123456_20261125.sta', '/x/4', 77, repeat('c', 64), 'NEW', NULL, 2),
  (5, '2026-11-25', 'bank_client', 'stmt_0123456789_20261125_resent.sta', '/x/5', 2048, repeat('a', 64), 'DUPLICATE', 2, 2),
  (6, '2026-11-25', 'bank_jpy', 'jpy_20261125.sta', '/x/6', 300, repeat('d', 64), 'NEW', NULL, 2);
INSERT INTO file_load (file_id, business_date, format, status, reason, statements, lines, run_id) VALUES
  (1, '2026-11-24', 'mt940', 'LOADED', NULL, 1, 1, 1),
  (2, '2026-11-25', 'mt940', 'LOADED', NULL, 1, 4, 3),
  (3, '2026-11-25', 'sgbank-corp', 'LOADED', NULL, 1, 1, 3),
  (4, '2026-11-25', 'mt940', 'QUARANTINED', '=cmd|'' /C calc''!A0 trustee_8800123456_20261125.sta:7: closing balance missing', 0, 0, 3),
  (6, '2026-11-25', 'mt940', 'LOADED', NULL, 1, 2, 3);
INSERT INTO statement (statement_id, file_id, business_date, source, format, account_no, currency, statement_no, opening_date, opening_minor, closing_date, closing_minor, line_count, content_sha256, gate, run_id) VALUES
  (1, 1, '2026-11-24', 'bank_client', 'mt940', '0123456789', 'SGD', '329', '2026-11-24', 100000000, '2026-11-24', 100050000, 1, repeat('e', 64), 'PASSED', 1),
  (2, 2, '2026-11-25', 'bank_client', 'mt940', '0123456789', 'SGD', '330', '2026-11-25', 100050000, '2026-11-25', 100099951, 4, repeat('f', 64), 'PASSED', 3),
  (3, 3, '2026-11-25', 'bank_operating', 'sgbank-corp', '0123456790', 'SGD', '77', '2026-11-25', 500000, '2026-11-25', 512345, 1, repeat('0', 64), 'PASSED', 3),
  (4, 6, '2026-11-25', 'bank_jpy', 'mt940', 'JP00112233', 'JPY', '12', '2026-11-25', 1000000, '2026-11-25', 1250000, 2, repeat('9', 64), 'PASSED', 3);
INSERT INTO statement_line (line_id, statement_id, line_no, account_no, value_date, amount_minor, currency, mark, bank_ref, customer_ref, narrative, reference) VALUES
  (1, 1, 1, '0123456789', '2026-11-24', 50000, 'SGD', 'C', 'B1', 'VA00000003', 'DEPOSIT VA00000003', 'VA00000003'),
  (2, 2, 1, '0123456789', '2026-11-25', 150000, 'SGD', 'C', 'B2', 'VA00000001', '=1+2 DEPOSIT VA00000001', 'VA00000001'),
  (3, 2, 2, '0123456789', '2026-11-25', -100000, 'SGD', 'D', 'B3', 'WD-00000001', '+SUM(A1) WITHDRAWAL', 'WD-00000001'),
  (4, 2, 3, '0123456789', '2026-11-25', 50, 'SGD', 'C', 'B4', '', '@cmd unknown', ''),
  (5, 2, 4, '0123456789', '2026-11-25', -99, 'SGD', 'D', 'B5', 'BATCH-20261125-01', E'\tBATCH payout', 'BATCH-20261125-01'),
  (6, 3, 1, '0123456790', '2026-11-25', 12345, 'SGD', 'C', 'OP1', 'TRF-OFFA-FEE', 'FEE', 'TRF-OFFA-FEE'),
  (7, 4, 1, 'JP00112233', '2026-11-25', 200000, 'JPY', 'C', 'J1', 'VA00000002', '-10 JPY deposit', 'VA00000002'),
  (8, 4, 2, 'JP00112233', '2026-11-25', 50000, 'JPY', 'C', 'J2', '', 'unknown yen', '');
INSERT INTO cash_movement (movement_id, account_no, direction, amount_minor, currency, expected_date, reference, kind, investor_id, batch_id) VALUES
  ('M-1', '0123456789', 'CREDIT', 150000, 'SGD', '2026-11-25', 'VA00000001', 'DEPOSIT', 'INV0001', NULL),
  ('M-2', '0123456789', 'DEBIT', 100000, 'SGD', '2026-11-24', 'WD-00000001', 'WITHDRAWAL', 'INV0001', NULL),
  ('M-3', '0123456789', 'CREDIT', 50000, 'SGD', '2026-11-24', 'VA00000003', 'DEPOSIT', 'INV0003', NULL),
  ('M-4', '0123456789', 'DEBIT', 40, 'SGD', '2026-11-25', 'R1', 'REFUND', 'INV0001', 'BATCH-20261125-01'),
  ('M-5', '0123456789', 'DEBIT', 59, 'SGD', '2026-11-25', 'R2', 'REFUND', 'INV0003', 'BATCH-20261125-01'),
  ('M-6', '0123456790', 'CREDIT', 12345, 'SGD', '2026-11-25', 'TRF-OFFA-FEE', 'FEE', NULL, NULL),
  ('M-7', 'JP00112233', 'CREDIT', 200000, 'JPY', '2026-11-25', 'VA00000002', 'DEPOSIT', 'INV0002', NULL),
  -- pending: expected today, two days ago (inside the window of 3), and in two business days
  ('P-1', '0123456789', 'CREDIT', 777700, 'SGD', '2026-11-25', 'VA00000003', 'DEPOSIT', 'INV0003', NULL),
  ('P-2', '0123456789', 'DEBIT', 1000, 'SGD', '2026-11-23', '-WD-2', 'WITHDRAWAL', 'INV0001', NULL),
  ('P-3', 'JP00112233', 'CREDIT', 5000, 'JPY', '2026-11-27', 'VA00000002', 'DEPOSIT', 'INV0002', NULL),
  -- not pending: named by an open AMOUNT_MISMATCH, out of its window (a break), far in the future
  ('P-9', '0123456789', 'DEBIT', 120000, 'SGD', '2026-11-25', '+REF', 'WITHDRAWAL', 'INV0003', NULL),
  ('X-1', '0123456789', 'CREDIT', 3000, 'SGD', '2026-11-18', 'VA00000001', 'DEPOSIT', 'INV0001', NULL),
  ('X-2', '0123456789', 'CREDIT', 3000, 'SGD', '2027-01-15', 'VA00000001', 'DEPOSIT', 'INV0001', NULL);
INSERT INTO recon_match (match_id, business_date, rule, line_id, run_id) VALUES
  (1, '2026-11-25', 'REFERENCE', 1, 4),      -- a line of yesterday's statement, matched today
  (2, '2026-11-25', 'REFERENCE', 2, 4),
  (3, '2026-11-25', 'REFERENCE', 3, 4),
  (4, '2026-11-25', 'BATCH', 5, 4),
  (5, '2026-11-25', 'REFERENCE', 6, 4),
  (6, '2026-11-25', 'AMOUNT_DATE', 7, 4);
INSERT INTO recon_match_movement VALUES (1, 'M-3'), (2, 'M-1'), (3, 'M-2'), (4, 'M-4'), (4, 'M-5'), (5, 'M-6'), (6, 'M-7');

INSERT INTO exception (exception_id, type, severity, stage, subject, account_no, item_date, amount_minor, currency, reference, statement_ref, ledger_id, detail, opened_date, opened_run_id, status, closed_date, closed_run_id, closed_by, close_note) VALUES
  (1, 'UNMATCHED_STATEMENT', 'ERROR', 'reconcile', 'line:4', '0123456789', '2026-11-25', 50, 'SGD', '', 'B4', '', '=HYPERLINK("http://evil.example","x") a deposit nothing in the ledger explains', '2026-11-25', 4, 'OPEN', NULL, NULL, NULL, NULL),
  (2, 'UNMATCHED_LEDGER', 'ERROR', 'reconcile', 'movement:X-1', '0123456789', '2026-11-18', 3000, 'SGD', 'VA00000001', '', 'X-1', 'expected deposit has not arrived within 3 business days', '2026-11-24', 1, 'OPEN', NULL, NULL, NULL, NULL),
  (3, 'AMOUNT_MISMATCH', 'ERROR', 'reconcile', 'line:99', '0123456789', '2026-10-01', -123456, 'SGD', '+REF', 'B99', 'P-9', '-amount differs: statement -1,234.56, ledger -1,200.00, difference -34.56', '2026-10-01', 1, 'OPEN', NULL, NULL, NULL, NULL),
  (4, 'UNMATCHED_STATEMENT', 'WARNING', 'reconcile', 'line:8', 'JP00112233', '2026-11-25', 50000, 'JPY', '@ref', 'J2', '', E'\tyen deposit nothing explains', '2026-11-20', 1, 'OPEN', NULL, NULL, NULL, NULL),
  (5, 'HOLDING_MISMATCH', 'ERROR', 'reconcile', 'holding:OFF-A:INV0001', NULL, '2026-11-24', NULL, NULL, 'OFF-A', '', 'INV0001', 'trustee holds 10 units, ledger 12', '2026-11-02', 1, 'OPEN', NULL, NULL, NULL, NULL),
  (6, 'FILE_QUARANTINED', 'WARNING', 'normalize', 'file:4', '8800123456', '2026-11-25', NULL, NULL, '', 'trustee_8800123456_20261125.sta', '', 'file quarantined: closing balance missing', '2026-11-25', 3, 'OPEN', NULL, NULL, NULL, NULL),
  -- closed after the date: still open as of 2026-11-25
  (7, 'DUPLICATE_LINE', 'WARNING', 'reconcile', 'line:77', '0123456790', '2026-11-23', 100, 'SGD', E'\rCR-ref', 'OPX', '', 'bank reference seen twice', '2026-11-23', 1, 'CLOSED', '2026-11-26', NULL, 'reconcile run 9', NULL),
  -- closed today: on Closed Today, not on Exceptions
  (8, 'UNMATCHED_LEDGER', 'ERROR', 'reconcile', 'movement:M-3', '0123456789', '2026-11-20', 50000, 'SGD', 'VA00000003', '', 'M-3', 'deposit late', '2026-11-24', 1, 'CLOSED', '2026-11-25', 4, 'reconcile run 4 (rule REFERENCE)', NULL),
  (9, 'AMBIGUOUS', 'WARNING', 'reconcile', 'line:55', '0123456789', '2026-11-21', 500, 'SGD', '', 'B55', '', 'two candidates', '2026-11-21', 1, 'RESOLVED', '2026-11-25', NULL, 'alice', '=checked with the bank'),
  -- opened after the date: not shown
  (10, 'STATEMENT_MISSING', 'ERROR', 'reconcile', 'account:0123456789:2026-11-26', '0123456789', '2026-11-26', NULL, NULL, '', '', '', 'no statement', '2026-11-26', 1, 'OPEN', NULL, NULL, NULL, NULL);

-- Settlement of the day.
INSERT INTO offering VALUES
  ('OFF-A', 'Orchard Tower "A" =1', 'SGD', 100000, 1000, 100, '2026-11-01', '2026-11-20', '2026-11-25', 150, '8800123456'),
  ('OFF-B', 'Old offering', 'SGD', 100000, 1000, 100, '2026-10-01', '2026-10-20', '2026-10-25', 150, '8800123456');
INSERT INTO offering_settlement VALUES
  ('OFF-A', 'PRO_RATA', 1200, 1000, 100000000, 1500000, 98500000, 20000000, '2026-11-25', 5),
  ('OFF-B', 'FULL', 500, 500, 50000000, 750000, 49250000, 0, '2026-10-25', 1);
INSERT INTO transfer (transfer_id, offering_id, purpose, from_account, to_account, amount_minor, currency, business_date, status, approved_by, payment_file) VALUES
  ('TRF-OFFA-PROCEEDS', 'OFF-A', 'PROCEEDS', '0123456789', '8800123456', 98500000, 'SGD', '2026-11-25', 'AWAITING_APPROVAL', NULL, NULL),
  ('TRF-OFFA-FEE', 'OFF-A', 'FEE', '0123456789', '0123456790', 1500000, 'SGD', '2026-11-25', 'UPLOADED', NULL, 'pain001_20261125_01.xml'),
  ('TRF-OFFB-PROCEEDS', 'OFF-B', 'PROCEEDS', '0123456789', '8800123456', 49250000, 'SGD', '2026-10-25', 'UPLOADED', 'bob', 'pain001_20261025_01.xml'),
  ('TRF-OFFB-FEE', 'OFF-B', 'FEE', '0123456789', '0123456790', 750000, 'SGD', '2026-10-24', 'AWAITING_APPROVAL', NULL, NULL);
INSERT INTO outbound_file (file_name, kind, business_date, msg_id, created_at, uploaded_at, destination) VALUES
  ('pain001_20261125_01.xml', 'PAIN001', '2026-11-25', 'MSG1', '2026-11-25 18:00:00+00', '2026-11-25 18:05:07+00', 'payments');
INSERT INTO issuance (issuance_id, offering_id, investor_id, units, unit_price_minor, amount_minor, currency, settlement_date, business_date, issuance_file) VALUES
  ('ISS-OFFA-INV0001', 'OFF-A', 'INV0001', 600, 100000, 60000000, 'SGD', '2026-11-25', '2026-11-25', 'issuance_20261125.csv'),
  ('ISS-OFFA-INV0002', 'OFF-A', 'INV0002', 400, 100000, 40000000, 'SGD', '2026-11-25', '2026-11-25', 'issuance_20261125.csv'),
  ('ISS-OFFB-INV0003', 'OFF-B', 'INV0003', 500, 100000, 50000000, 'SGD', '2026-10-25', '2026-10-25', 'issuance_20261025.csv');

-- Journal postings (the report's ledger balance is reconcile's: statement anchor + matched movements;
-- these must not change it).
INSERT INTO journal_txn (txn_id, txn_key, business_date, kind, description) VALUES
  (1, 'open', '2026-11-01', 'OPENING', 'opening balances'),
  (2, 'dep-1', '2026-11-25', 'DEPOSIT', 'deposit'),
  (3, 'later', '2026-11-26', 'DEPOSIT', 'after the date: not counted');
INSERT INTO journal_posting (txn_id, ledger_account, currency, amount_minor) VALUES
  (1, 'BANK:0123456789', 'SGD', 100000000), (1, 'EQUITY', 'SGD', -100000000),
  (1, 'BANK:JP00112233', 'JPY', 1000000), (1, 'EQUITY', 'JPY', -1000000),
  (2, 'BANK:0123456789', 'SGD', 150000), (2, 'WALLET:INV0001', 'SGD', -150000),
  (3, 'BANK:0123456789', 'SGD', 999), (3, 'WALLET:INV0001', 'SGD', -999);
SELECT setval('exception_exception_id_seq', 10), setval('fetched_file_file_id_seq', 6),
       setval('statement_statement_id_seq', 4), setval('statement_line_line_id_seq', 8),
       setval('recon_match_match_id_seq', 6), setval('journal_txn_txn_id_seq', 3);
COMMIT;
