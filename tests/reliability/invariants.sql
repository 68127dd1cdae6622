-- tests/reliability/invariants.sql - the invariants every reliability scenario checks after every
-- fault (issue 9). Prints one row per violation ("violation|what|detail"); no row = all hold.
-- Run with psql -X -A -t -v ON_ERROR_STOP=1 -f invariants.sql against a test database.
-- Read-only: SELECTs only, safe to run against a live database.

-- 1. No money created or lost: every journal transaction balances per currency.
SELECT 'violation', 'journal unbalanced', 'txn ' || t.txn_key || ' ' || p.currency || ' sums to ' || sum(p.amount_minor)
  FROM journal_posting p JOIN journal_txn t USING (txn_id)
 GROUP BY t.txn_key, p.currency HAVING sum(p.amount_minor) <> 0;

-- ... and the whole journal balances per currency.
SELECT 'violation', 'journal total unbalanced', currency || ' sums to ' || sum(amount_minor)
  FROM journal_posting GROUP BY currency HAVING sum(amount_minor) <> 0;

-- ... every settled offering's escrow nets to zero.
SELECT 'violation', 'escrow not zero', p.ledger_account || ' = ' || sum(p.amount_minor)
  FROM journal_posting p
 WHERE p.ledger_account LIKE 'ESCROW:%'
   AND substr(p.ledger_account, 8) IN (SELECT offering_id FROM offering_settlement)
 GROUP BY p.ledger_account HAVING sum(p.amount_minor) <> 0;

-- 2. Conservation per offering: allocations sum to the settlement, never more than offered,
--    gross = allocated x price, proceeds + fee = gross, refunds = unallocated x price.
SELECT 'violation', 'allocation sum', s.offering_id || ': settlement says ' || s.allocated_units || ' allocated, rows say '
       || coalesce(sum(a.allocated_units), 0) || ' of ' || s.requested_units || '/' || coalesce(sum(a.requested_units), 0)
  FROM offering_settlement s LEFT JOIN allocation a USING (offering_id)
 GROUP BY s.offering_id, s.allocated_units, s.requested_units
HAVING s.allocated_units <> coalesce(sum(a.allocated_units), 0) OR s.requested_units <> coalesce(sum(a.requested_units), 0);

SELECT 'violation', 'over-allocated', s.offering_id || ': ' || s.allocated_units || ' > ' || o.units_offered
  FROM offering_settlement s JOIN offering o USING (offering_id) WHERE s.allocated_units > o.units_offered;

SELECT 'violation', 'gross', s.offering_id || ': gross ' || s.gross_minor || ' <> ' || s.allocated_units || ' x ' || o.unit_price_minor
  FROM offering_settlement s JOIN offering o USING (offering_id)
 WHERE s.gross_minor <> s.allocated_units * o.unit_price_minor OR s.proceeds_minor + s.fee_minor <> s.gross_minor;

SELECT 'violation', 'refund', s.offering_id || ': refunded ' || s.refunded_minor || ' <> ' || (s.requested_units - s.allocated_units) || ' x ' || o.unit_price_minor
  FROM offering_settlement s JOIN offering o USING (offering_id)
 WHERE s.refunded_minor <> (s.requested_units - s.allocated_units) * o.unit_price_minor;

-- 3. Nothing paid twice: per offering at most one PROCEEDS and one FEE transfer (also a UNIQUE
--    key), their amounts equal the settlement's, nothing paid for an offering that did not settle.
--    A cancelled transfer (`pipeline transfer cancel`) stands beside its replacement (-R1): only
--    the live one (not CANCELLED) counts, and at most one is live per offering and purpose.
SELECT 'violation', 'transfer amount', t.transfer_id || ': ' || t.amount_minor || ' but settlement says '
       || CASE t.purpose WHEN 'PROCEEDS' THEN s.proceeds_minor ELSE s.fee_minor END
  FROM transfer t LEFT JOIN offering_settlement s USING (offering_id)
 WHERE s.offering_id IS NULL OR t.amount_minor <> CASE t.purpose WHEN 'PROCEEDS' THEN s.proceeds_minor ELSE s.fee_minor END;

SELECT 'violation', 'two live transfers', offering_id || ' ' || purpose || ' x' || count(*)
  FROM transfer WHERE status <> 'CANCELLED' GROUP BY offering_id, purpose HAVING count(*) > 1;

SELECT 'violation', 'transfer missing', s.offering_id || ' ' || x.purpose || ' not created'
  FROM offering_settlement s CROSS JOIN (VALUES ('PROCEEDS'), ('FEE')) x(purpose)
 WHERE CASE x.purpose WHEN 'PROCEEDS' THEN s.proceeds_minor ELSE s.fee_minor END > 0
   AND NOT EXISTS (SELECT 1 FROM transfer t WHERE t.offering_id = s.offering_id AND t.purpose = x.purpose
                     AND (t.status <> 'CANCELLED' OR NOT EXISTS (SELECT 1 FROM transfer r WHERE r.replaces = t.transfer_id)));

-- A transfer filed or uploaded is in exactly one payment file that exists; UPLOADED (and what the
-- bank's answer makes of it: ACCEPTED, SETTLED, REJECTED) only if that file's upload was recorded.
SELECT 'violation', 'transfer file', t.transfer_id || ' ' || t.status || ' file ' || coalesce(t.payment_file, '-')
  FROM transfer t LEFT JOIN outbound_file f ON f.file_name = t.payment_file
 WHERE (t.status IN ('FILED', 'UPLOADED', 'ACCEPTED', 'SETTLED', 'REJECTED') AND f.file_name IS NULL)
    OR (t.status IN ('UPLOADED', 'ACCEPTED', 'SETTLED', 'REJECTED') AND f.uploaded_at IS NULL)
    OR (t.status = 'FILED' AND f.voided_at IS NOT NULL)
    OR (t.status IN ('AWAITING_APPROVAL', 'READY') AND t.payment_file IS NOT NULL);

-- The bank's answer (sql/115): a transfer ACCEPTED, SETTLED or REJECTED has the event that moved it
-- there, each move happened once, and only to an uploaded transfer's file.
SELECT 'violation', 'transfer status event', t.transfer_id || ' ' || t.status || ' without its event'
  FROM transfer t
 WHERE t.status IN ('ACCEPTED', 'SETTLED', 'REJECTED')
   AND NOT EXISTS (SELECT 1 FROM transfer_status_event e WHERE e.transfer_id = t.transfer_id
                    AND e.status = t.status AND e.moved);
SELECT 'violation', 'transfer moved twice', e.transfer_id || ' ' || e.status || ' ' || count(*) || ' times'
  FROM transfer_status_event e WHERE e.moved GROUP BY e.transfer_id, e.status HAVING count(*) > 1;

-- 4. Nothing issued twice; holdings equal issued units: per offering, the issuance records sum to
--    the allocated units, and the units settle added to the ledger's holdings equal them too.
SELECT 'violation', 'issuance sum', s.offering_id || ': issued ' || coalesce(i.units, 0) || ' allocated ' || s.allocated_units
  FROM offering_settlement s LEFT JOIN (SELECT offering_id, sum(units) AS units FROM issuance WHERE status = 'ACTIVE' GROUP BY 1) i
       USING (offering_id)
 WHERE coalesce(i.units, 0) <> s.allocated_units;

SELECT 'violation', 'issuance per investor', i.issuance_id || ': ' || i.units || ' units, allocations say ' || coalesce(a.units, 0)
  FROM (SELECT * FROM issuance WHERE status = 'ACTIVE') i LEFT JOIN (SELECT offering_id, investor_id, sum(allocated_units) AS units FROM allocation GROUP BY 1, 2) a
       USING (offering_id, investor_id)
 WHERE i.units <> coalesce(a.units, 0) OR i.amount_minor <> i.units * i.unit_price_minor;

SELECT 'violation', 'holdings vs issued', h.offering_id || ': settle added ' || sum(h.units - coalesce(prev.units, 0))
       || ' units, issued ' || (SELECT coalesce(sum(units), 0) FROM issuance i WHERE i.offering_id = h.offering_id
                                AND i.status = 'ACTIVE')
  FROM holding h
  LEFT JOIN LATERAL (SELECT p.units FROM holding p WHERE p.offering_id = h.offering_id AND p.investor_id = h.investor_id
                        AND p.as_of_date < h.as_of_date ORDER BY p.as_of_date DESC LIMIT 1) prev ON true
 WHERE h.origin = 'SETTLE'
 GROUP BY h.offering_id
HAVING sum(h.units - coalesce(prev.units, 0)) <> (SELECT coalesce(sum(units), 0) FROM issuance i WHERE i.offering_id = h.offering_id
                                                   AND i.status = 'ACTIVE');

SELECT 'violation', 'issued without holding', i.issuance_id
  FROM issuance i WHERE NOT EXISTS (SELECT 1 FROM holding h WHERE h.offering_id = i.offering_id
                                      AND h.investor_id = i.investor_id AND h.origin = 'SETTLE');

-- Settlement cash movements: a filed transfer has exactly one debit on the paying account and one
-- credit on the receiving one, of its amount; a transfer not yet filed has none.
SELECT 'violation', 'settle movement', t.transfer_id || ' ' || t.status || ': ' || count(c.movement_id) || ' movements'
  FROM transfer t LEFT JOIN cash_movement c ON c.origin = 'SETTLE'
       AND ((c.movement_id = t.transfer_id || '-DR' AND c.account_no = t.from_account AND c.direction = 'DEBIT')
         OR (c.movement_id = t.transfer_id || '-CR' AND c.account_no = t.to_account AND c.direction = 'CREDIT'))
       AND c.amount_minor = t.amount_minor
 GROUP BY t.transfer_id, t.status
HAVING count(c.movement_id) <> CASE WHEN t.status IN ('AWAITING_APPROVAL', 'READY') THEN 0
                                    WHEN t.status = 'CANCELLED' THEN count(c.movement_id) ELSE 2 END;

-- 4b. DELIVERY VERSUS PAYMENT (issue 16): no issuance delivered before its payment. Every record
--     in a delivered issuance file belongs to an offering whose payment file was delivered first,
--     and no transfer of the offering that existed then was still undelivered at that moment.
SELECT 'violation', 'issuance delivered before its payment', i.issuance_id || ' in ' || f.file_name
  FROM issuance i JOIN outbound_file f ON f.file_name = i.issuance_file AND f.uploaded_at IS NOT NULL
 WHERE NOT EXISTS (SELECT 1 FROM transfer t JOIN outbound_file pf ON pf.file_name = t.payment_file
                    WHERE t.offering_id = i.offering_id AND pf.uploaded_at < f.uploaded_at)
    OR EXISTS (SELECT 1 FROM transfer t LEFT JOIN outbound_file pf ON pf.file_name = t.payment_file
                WHERE t.offering_id = i.offering_id AND t.created_at < f.uploaded_at
                  AND t.status NOT IN ('CANCELLED', 'REJECTED')
                  AND (pf.uploaded_at IS NULL OR pf.uploaded_at > f.uploaded_at));

-- ... and a file never both voided and delivered; every upload recorded as done was verified.
SELECT 'violation', 'file voided and delivered', file_name FROM outbound_file
 WHERE voided_at IS NOT NULL AND uploaded_at IS NOT NULL;

SELECT 'violation', 'upload recorded without a verified attempt', f.file_name FROM outbound_file f
 WHERE f.uploaded_at IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM outbound_attempt a WHERE a.file_name = f.file_name AND a.verified);

SELECT 'violation', 'settle movement without transfer', c.movement_id
  FROM cash_movement c WHERE c.origin = 'SETTLE'
   AND NOT EXISTS (SELECT 1 FROM transfer t WHERE c.movement_id IN (t.transfer_id || '-DR', t.transfer_id || '-CR'));

-- 5. Reconciliation: a line or movement is matched at most once (also UNIQUE keys), every match has
--    a movement, at most one OPEN exception per (type, subject) (also a unique index), and an open
--    UNMATCHED exception is never about a matched line or movement.
SELECT 'violation', 'empty match', 'match ' || m.match_id
  FROM recon_match m WHERE NOT EXISTS (SELECT 1 FROM recon_match_movement mm WHERE mm.match_id = m.match_id);

SELECT 'violation', 'open break on a matched line', x.type || ' ' || x.subject
  FROM exception x JOIN recon_match m ON x.subject = 'line:' || m.line_id
 WHERE x.status = 'OPEN' AND x.type = 'UNMATCHED_STATEMENT';

SELECT 'violation', 'open break on a matched movement', x.type || ' ' || x.subject
  FROM exception x JOIN recon_match_movement mm ON x.subject = 'movement:' || mm.movement_id
 WHERE x.status = 'OPEN' AND x.type = 'UNMATCHED_LEDGER';

SELECT 'violation', 'duplicate open exception', type || ' ' || subject || ' x' || count(*)
  FROM exception WHERE status = 'OPEN' GROUP BY type, subject HAVING count(*) > 1;

-- Statements: a PASSED statement's lines sum from opening to closing; no statement loaded twice.
SELECT 'violation', 'statement arithmetic', s.account_no || ' ' || s.statement_no || ': ' || s.opening_minor
       || ' + ' || coalesce(sum(l.amount_minor), 0) || ' <> ' || s.closing_minor
  FROM statement s LEFT JOIN statement_line l USING (statement_id)
 WHERE s.gate = 'PASSED'
 GROUP BY s.statement_id HAVING s.opening_minor + coalesce(sum(l.amount_minor), 0) <> s.closing_minor
                                OR count(l.line_id) <> s.line_count;

SELECT 'violation', 'statement loaded twice', account_no || ' ' || statement_no || ' x' || count(*)
  FROM statement GROUP BY account_no, statement_no, sequence_no, content_sha256 HAVING count(*) > 1;

-- 6. The runner: the latest row of every (date, stage) is not left 'running' once the run is over
--    (only checked when :final is set), and a stage is 'done' at most once without a redo between.
SELECT 'violation', 'stage left running', business_date || ' ' || stage || ' run ' || run_id
  FROM stage_run WHERE state = 'running' AND :final;

-- 7. No history row lost across any fault or rerun (sql/130_history.sql): every row deleted from a
--    history table was deleted by one of the documented replace paths, each deletion counted into
--    history_replace with the path that made it; a NULL action is a deletion outside them. A
--    resolved exception is never deleted or changed (a trigger refuses it to everyone), and every
--    exception's run and every replacement's run still exists.
SELECT 'violation', 'history row lost', table_name || ': ' || sum(rows) || ' row(s) deleted outside the replace paths'
  FROM history_replace WHERE action IS NULL GROUP BY table_name;
SELECT 'violation', 'history replaced by no run', replace_id || ': ' || action || ' on ' || table_name
  FROM history_replace WHERE change = 'DELETE' AND run_id IS NULL AND action IS NOT NULL;
SELECT 'violation', 'resolved exception without its note', exception_id::text
  FROM exception WHERE status = 'RESOLVED' AND (closed_by IS NULL OR close_note IS NULL);
