-- 091_set_once.sql - the columns that record how far a money record got are set once.
--
-- The settle stage chooses its work by these NULLs (issuance records without a file, files not
-- yet uploaded, READY transfers without a payment file), so setting one back to NULL would make
-- the next run issue the units again or upload the payment file again. The pipeline only ever
-- writes them `WHERE ... IS NULL`; from now on the database refuses anything else, to everyone
-- (found in review of the role split: the nightly role's column privileges allowed it).

-- An issuance record: nothing but its file may change, and the file only from NULL.
CREATE OR REPLACE FUNCTION issuance_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.issuance_id <> OLD.issuance_id OR NEW.offering_id <> OLD.offering_id
       OR NEW.investor_id <> OLD.investor_id OR NEW.units <> OLD.units
       OR NEW.unit_price_minor <> OLD.unit_price_minor OR NEW.amount_minor <> OLD.amount_minor
       OR NEW.currency <> OLD.currency OR NEW.settlement_date <> OLD.settlement_date
       OR NEW.business_date <> OLD.business_date OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'issuance %: only the file may change', OLD.issuance_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.issuance_file IS NOT NULL AND NEW.issuance_file IS DISTINCT FROM OLD.issuance_file THEN
        RAISE EXCEPTION 'issuance %: it is in file % already; a file is set once', OLD.issuance_id,
            OLD.issuance_file USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

-- A transfer: as before (sql/040), and its approval and payment file are set once.
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
    IF (OLD.payment_file IS NOT NULL AND NEW.payment_file IS DISTINCT FROM OLD.payment_file)
       OR (OLD.approved_by IS NOT NULL AND NEW.approved_by IS DISTINCT FROM OLD.approved_by)
       OR (OLD.approved_at IS NOT NULL AND NEW.approved_at IS DISTINCT FROM OLD.approved_at) THEN
        RAISE EXCEPTION 'transfer %: its approval and payment file are set once', OLD.transfer_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

-- An outbound file: its identity never changes; its content (sha256, size, written) and its
-- delivery (uploaded_at) are recorded once.
CREATE FUNCTION outbound_file_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.file_name <> OLD.file_name OR NEW.kind <> OLD.kind OR NEW.business_date <> OLD.business_date
       OR NEW.msg_id <> OLD.msg_id OR NEW.created_at <> OLD.created_at
       OR NEW.destination <> OLD.destination THEN
        RAISE EXCEPTION 'outbound file %: only its content and delivery are recorded', OLD.file_name
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (OLD.sha256 IS NOT NULL AND NEW.sha256 IS DISTINCT FROM OLD.sha256)
       OR (OLD.size_bytes IS NOT NULL AND NEW.size_bytes IS DISTINCT FROM OLD.size_bytes)
       OR (OLD.written_at IS NOT NULL AND NEW.written_at IS DISTINCT FROM OLD.written_at)
       OR (OLD.uploaded_at IS NOT NULL AND NEW.uploaded_at IS DISTINCT FROM OLD.uploaded_at) THEN
        RAISE EXCEPTION 'outbound file %: its content and delivery are recorded once', OLD.file_name
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER outbound_file_guard BEFORE UPDATE ON outbound_file
    FOR EACH ROW EXECUTE FUNCTION outbound_file_guard();
