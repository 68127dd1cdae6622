-- 040_settle.sql - the settle stage's additions to the transfer table: the transfer row itself
-- records both people of the four-eyes rule (created_by = the operator of the settle run that made
-- it, approved_by = who approved it), and the database refuses an approval by the creator.
-- Forward-only.

ALTER TABLE transfer ADD COLUMN created_by text;

-- Transfers made before this migration: their creator is the operator of the settling run.
UPDATE transfer t SET created_by = r.operator
  FROM offering_settlement s JOIN stage_run r ON r.run_id = s.run_id
 WHERE s.offering_id = t.offering_id AND t.created_by IS NULL;

-- Four eyes, also at the database level: the approver is not the creator (names compared trimmed
-- and case-insensitively, like `pipeline approve` does), and a held transfer carries no approval.
ALTER TABLE transfer ADD CONSTRAINT transfer_four_eyes
    CHECK (approved_by IS NULL OR created_by IS NULL
           OR lower(btrim(approved_by)) <> lower(btrim(created_by)));
ALTER TABLE transfer ADD CONSTRAINT transfer_held_unapproved
    CHECK (status <> 'AWAITING_APPROVAL' OR (approved_by IS NULL AND approved_at IS NULL));

-- created_by joins the columns that never change once written.
CREATE OR REPLACE FUNCTION transfer_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.transfer_id <> OLD.transfer_id OR NEW.offering_id <> OLD.offering_id
       OR NEW.purpose <> OLD.purpose OR NEW.from_account <> OLD.from_account
       OR NEW.to_account <> OLD.to_account OR NEW.amount_minor <> OLD.amount_minor
       OR NEW.currency <> OLD.currency OR NEW.business_date <> OLD.business_date
       OR NEW.created_by IS DISTINCT FROM OLD.created_by THEN
        RAISE EXCEPTION 'transfer %: only status, approval and file may change', OLD.transfer_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF array_position(ARRAY['AWAITING_APPROVAL','READY','FILED','UPLOADED'], NEW.status)
       < array_position(ARRAY['AWAITING_APPROVAL','READY','FILED','UPLOADED'], OLD.status) THEN
        RAISE EXCEPTION 'transfer %: status cannot go back from % to %', OLD.transfer_id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
