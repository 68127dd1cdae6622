-- 085_journal_check_once.sql - the journal balance check runs once per journal transaction per
-- database transaction instead of once per posting.
--
-- 001's deferred constraint trigger fires at commit for every posting row, and each firing summed
-- all postings of that journal transaction: O(n^2) in the size of a transaction (5,000 postings
-- took 8.7 s at commit). The first firing for a journal transaction now records that it checked
-- it in a transaction-local setting (reset at commit or rollback) and the other firings skip.
-- At commit every posting of the database transaction is present, so one check sees them all.
-- The invariant is unchanged: every journal transaction's postings sum to zero per currency.

CREATE OR REPLACE FUNCTION journal_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    marker text := 'pipeline_journal.checked_' || NEW.txn_id;
BEGIN
    IF current_setting(marker, true) = txid_current()::text THEN
        RETURN NULL;
    END IF;
    PERFORM set_config(marker, txid_current()::text, true);
    SELECT p.currency, sum(p.amount_minor) AS total INTO bad
      FROM journal_posting p
     WHERE p.txn_id = NEW.txn_id
     GROUP BY p.currency
    HAVING sum(p.amount_minor) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal transaction % is unbalanced: postings in % sum to %',
            NEW.txn_id, bad.currency, bad.total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
