-- tests/reliability/snapshot.sql - what a nightly produced, as stable text: serial ids, clocks and
-- local paths left out or replaced by natural keys (a statement line is account/statement/line_no),
-- so an interrupted-then-rerun world and an uninterrupted one print the same text when, and only
-- when, they did the same work. Used by the reliability scenarios to compare against a reference run.

CREATE TEMP VIEW nk_line AS
SELECT l.line_id, s.account_no || '/' || s.statement_no || '/' || s.sequence_no || '#' || l.line_no AS nk
  FROM statement_line l JOIN statement s USING (statement_id);

SELECT 'file', business_date, source, remote_name, size_bytes, sha256, status FROM fetched_file ORDER BY 2, 3, 4, 6;
SELECT 'load', f.remote_name, l.format, l.status, coalesce(l.reason, '-'), l.statements, l.lines
  FROM file_load l JOIN fetched_file f USING (file_id) ORDER BY 2;
SELECT 'statement', business_date, source, account_no, statement_no, sequence_no, opening_minor, closing_minor,
       line_count, content_sha256, gate FROM statement ORDER BY 4, 5, 6;
SELECT 'lines', s.account_no, s.statement_no, count(*), sum(l.amount_minor), md5(string_agg(
       concat_ws('|', l.line_no, l.value_date, l.amount_minor, l.mark, l.reference, l.narrative), E'\n' ORDER BY l.line_no))
  FROM statement_line l JOIN statement s USING (statement_id) GROUP BY 2, 3 ORDER BY 2, 3;
SELECT 'register', business_date, as_of_date, (SELECT count(*) FROM trustee_holding h WHERE h.register_id = r.register_id)
  FROM trustee_register r ORDER BY 2, 3;

-- matches: rule, line, movements
SELECT 'matches', count(*), md5(coalesce(string_agg(x, E'\n' ORDER BY x), '')) FROM (
  SELECT concat_ws('|', m.business_date, m.rule, n.nk,
                   (SELECT string_agg(mm.movement_id, ',' ORDER BY mm.movement_id) FROM recon_match_movement mm
                     WHERE mm.match_id = m.match_id)) AS x
    FROM recon_match m JOIN nk_line n USING (line_id)) y;

-- exceptions: line subjects by natural key
SELECT 'exceptions', count(*), md5(coalesce(string_agg(x, E'\n' ORDER BY x), '')) FROM (
  SELECT concat_ws('|', e.type, e.severity, e.stage,
                   CASE WHEN e.subject ~ '^line:[0-9]+$' THEN 'line:' || n.nk ELSE e.subject END,
                   e.account_no, e.item_date, e.amount_minor, e.currency, e.reference, e.statement_ref,
                   e.ledger_id, e.opened_date, e.status, e.closed_date) AS x
    FROM exception e LEFT JOIN nk_line n ON e.subject = 'line:' || n.line_id) y;
SELECT 'exception-types', type, status, count(*) FROM exception GROUP BY 2, 3 ORDER BY 2, 3;

SELECT 'settlement', offering_id, outcome, requested_units, allocated_units, gross_minor, fee_minor, proceeds_minor,
       refunded_minor, business_date FROM offering_settlement ORDER BY 2;
SELECT 'allocation', subscription_id, offering_id, investor_id, requested_units, allocated_units, refund_minor,
       business_date FROM allocation ORDER BY 2;
SELECT 'transfer', transfer_id, offering_id, purpose, from_account, to_account, amount_minor, currency,
       business_date, status, coalesce(approved_by, '-'), coalesce(payment_file, '-') FROM transfer ORDER BY 2;
SELECT 'transfer-event', e.transfer_id, e.status, e.moved, e.bank_status, e.reason_code, e.reason_text, e.source,
       coalesce(f.remote_name, '-'), e.status_time FROM transfer_status_event e
  LEFT JOIN fetched_file f ON f.file_id = e.source_file ORDER BY 2, 3, 4, 5, 9;
SELECT 'issuance', issuance_id, offering_id, investor_id, units, unit_price_minor, amount_minor, currency,
       settlement_date, business_date, coalesce(issuance_file, '-') FROM issuance ORDER BY 2;
SELECT 'holding', as_of_date, offering_id, investor_id, units, origin FROM holding ORDER BY 2, 3, 4;
SELECT 'movement', movement_id, account_no, direction, amount_minor, currency, expected_date, reference, kind
  FROM cash_movement WHERE origin = 'SETTLE' ORDER BY 2;
SELECT 'journal', t.txn_key, t.business_date, t.kind, p.ledger_account, p.currency, sum(p.amount_minor)
  FROM journal_txn t JOIN journal_posting p USING (txn_id) GROUP BY 2, 3, 4, 5, 6 ORDER BY 2, 5, 6;
SELECT 'journal-sum', ledger_account, currency, sum(amount_minor) FROM journal_posting GROUP BY 2, 3 ORDER BY 2, 3;
SELECT 'outbound', file_name, kind, business_date, msg_id, CASE WHEN kind = 'ISSUANCE' THEN sha256 END, size_bytes,
       written_at IS NOT NULL, uploaded_at IS NOT NULL, destination FROM outbound_file ORDER BY 2;
SELECT 'stage', business_date, stage, state FROM (
  SELECT DISTINCT ON (business_date, stage) * FROM stage_run ORDER BY business_date, stage, run_id DESC) s ORDER BY 2, 3;
