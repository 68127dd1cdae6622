-- 161_transfer_guard.sql - one transfer guard for the bank's answer (sql/115, issue 15) and the way
-- out of a stuck settlement (sql/120, issue 16), which each replaced sql/091's. A transfer's
-- identity, amount and accounts never change, nor what it replaces; its approval and payment file
-- are set once; its status moves forward along AWAITING_APPROVAL -> READY -> FILED -> UPLOADED ->
-- ACCEPTED -> SETTLED, to REJECTED from UPLOADED or ACCEPTED, to CANCELLED from a state that was
-- never paid (transfer_move_allowed, sql/115); and a move to ACCEPTED, SETTLED or REJECTED needs the
-- transfer_status_event that says who said so (a pain.002 file, a statement line).
CREATE OR REPLACE FUNCTION transfer_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    chain CONSTANT text[] := ARRAY['AWAITING_APPROVAL','READY','FILED','UPLOADED','ACCEPTED','SETTLED'];
BEGIN
    IF NEW.transfer_id <> OLD.transfer_id OR NEW.offering_id <> OLD.offering_id
       OR NEW.purpose <> OLD.purpose OR NEW.from_account <> OLD.from_account
       OR NEW.to_account <> OLD.to_account OR NEW.amount_minor <> OLD.amount_minor
       OR NEW.currency <> OLD.currency OR NEW.business_date <> OLD.business_date
       OR NEW.created_by IS DISTINCT FROM OLD.created_by
       OR NEW.replaces IS DISTINCT FROM OLD.replaces THEN
        RAISE EXCEPTION 'transfer %: only status, approval and file may change', OLD.transfer_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status <> OLD.status AND NOT (transfer_move_allowed(OLD.status, NEW.status)
           OR coalesce(array_position(chain, NEW.status) > array_position(chain, OLD.status), false)) THEN
        IF array_position(chain, NEW.status) < array_position(chain, OLD.status) THEN
            RAISE EXCEPTION 'transfer %: status cannot go back from % to %', OLD.transfer_id, OLD.status, NEW.status
                USING ERRCODE = 'check_violation';
        END IF;
        RAISE EXCEPTION 'transfer %: status cannot move from % to %', OLD.transfer_id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status <> OLD.status AND NEW.status IN ('ACCEPTED', 'SETTLED', 'REJECTED')
       AND NOT EXISTS (SELECT 1 FROM transfer_status_event e WHERE e.transfer_id = NEW.transfer_id
                        AND e.status = NEW.status AND e.moved) THEN
        RAISE EXCEPTION 'transfer %: a move to % needs its transfer_status_event (the file or statement line that said so)',
            OLD.transfer_id, NEW.status USING ERRCODE = 'check_violation';
    END IF;
    IF (OLD.payment_file IS NOT NULL AND NEW.payment_file IS DISTINCT FROM OLD.payment_file)
       OR (OLD.approved_by IS NOT NULL AND NEW.approved_by IS DISTINCT FROM OLD.approved_by)
       OR (OLD.approved_at IS NOT NULL AND NEW.approved_at IS DISTINCT FROM OLD.approved_at) THEN
        RAISE EXCEPTION 'transfer %: its approval and payment file are set once', OLD.transfer_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
