-- 120_settle_safely.sql - a way out of every stuck settlement state (issue 16): the transfer status
-- set the bank's answer needs, cancel and re-issue of transfers and issuance records with an
-- audit trail, outbound files that can be voided before they were ever delivered, a record of
-- every upload attempt, and an offering status for offerings settled before the pipeline existed.
-- Forward-only.

-- ---- transfer statuses ----
-- The same set and transitions as migration 115 of the pain.002 work (issue 15), written so that
-- it is correct whether or not 115 ran before it:
--   forward along AWAITING_APPROVAL -> READY -> FILED -> UPLOADED -> ACCEPTED -> SETTLED
--   UPLOADED / ACCEPTED -> REJECTED                  (the bank refused it: pain.002 RJCT)
--   AWAITING_APPROVAL / READY / FILED / REJECTED -> CANCELLED   (never paid; `pipeline transfer`)
ALTER TABLE transfer DROP CONSTRAINT IF EXISTS transfer_status_check;
ALTER TABLE transfer ADD CONSTRAINT transfer_status_check CHECK (status IN (
    'AWAITING_APPROVAL', 'READY', 'FILED', 'UPLOADED', 'ACCEPTED', 'SETTLED', 'REJECTED', 'CANCELLED'));

-- A re-issued transfer names the cancelled one it replaces (TRF-...-R1 replaces TRF-...).
ALTER TABLE transfer ADD COLUMN replaces text UNIQUE REFERENCES transfer;
-- One live transfer per offering and purpose; cancelled ones stay beside their replacement.
ALTER TABLE transfer DROP CONSTRAINT IF EXISTS transfer_offering_id_purpose_key;
CREATE UNIQUE INDEX transfer_live_purpose ON transfer (offering_id, purpose) WHERE status <> 'CANCELLED';

CREATE OR REPLACE FUNCTION transfer_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    chain text[] := ARRAY['AWAITING_APPROVAL','READY','FILED','UPLOADED','ACCEPTED','SETTLED'];
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
    IF NEW.status <> OLD.status AND NOT (
           (array_position(chain, NEW.status) > array_position(chain, OLD.status))
        OR (NEW.status = 'REJECTED' AND OLD.status IN ('UPLOADED', 'ACCEPTED'))
        OR (NEW.status = 'CANCELLED' AND OLD.status IN ('AWAITING_APPROVAL', 'READY', 'FILED', 'REJECTED'))) THEN
        RAISE EXCEPTION 'transfer %: status cannot go back or sideways from % to %', OLD.transfer_id, OLD.status, NEW.status
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

-- ---- issuance records: cancel and re-issue ----
ALTER TABLE issuance ADD COLUMN status text NOT NULL DEFAULT 'ACTIVE'
    CHECK (status IN ('ACTIVE', 'CANCELLED'));
ALTER TABLE issuance ADD COLUMN replaces text UNIQUE REFERENCES issuance;
ALTER TABLE issuance DROP CONSTRAINT IF EXISTS issuance_offering_id_investor_id_key;
CREATE UNIQUE INDEX issuance_live_investor ON issuance (offering_id, investor_id) WHERE status = 'ACTIVE';

-- ---- outbound files: voided before delivery; every upload attempt recorded ----
ALTER TABLE outbound_file ADD COLUMN voided_at timestamptz;
ALTER TABLE outbound_file ADD COLUMN voided_by text;
ALTER TABLE outbound_file ADD CONSTRAINT outbound_void_or_uploaded
    CHECK (voided_at IS NULL OR uploaded_at IS NULL);

-- An issuance record: nothing but its file and status may change; the file is set once, except
-- that a record of a voided (never delivered) file may go into a new one; ACTIVE -> CANCELLED
-- only while the record was never delivered.
CREATE OR REPLACE FUNCTION issuance_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.issuance_id <> OLD.issuance_id OR NEW.offering_id <> OLD.offering_id
       OR NEW.investor_id <> OLD.investor_id OR NEW.units <> OLD.units
       OR NEW.unit_price_minor <> OLD.unit_price_minor OR NEW.amount_minor <> OLD.amount_minor
       OR NEW.currency <> OLD.currency OR NEW.settlement_date <> OLD.settlement_date
       OR NEW.business_date <> OLD.business_date OR NEW.created_at <> OLD.created_at
       OR NEW.replaces IS DISTINCT FROM OLD.replaces THEN
        RAISE EXCEPTION 'issuance %: only the file may change (and the status, to CANCELLED)', OLD.issuance_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.issuance_file IS NOT NULL AND NEW.issuance_file IS DISTINCT FROM OLD.issuance_file
       AND NOT EXISTS (SELECT 1 FROM outbound_file f WHERE f.file_name = OLD.issuance_file
                       AND f.voided_at IS NOT NULL) THEN
        RAISE EXCEPTION 'issuance %: it is in file % already; a file is set once', OLD.issuance_id,
            OLD.issuance_file USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status <> OLD.status AND (OLD.status <> 'ACTIVE' OR EXISTS (
           SELECT 1 FROM outbound_file f WHERE f.file_name = OLD.issuance_file AND f.uploaded_at IS NOT NULL)) THEN
        RAISE EXCEPTION 'issuance %: status cannot go from % to % (a delivered record is never cancelled)',
            OLD.issuance_id, OLD.status, NEW.status USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION outbound_file_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
       OR (OLD.uploaded_at IS NOT NULL AND NEW.uploaded_at IS DISTINCT FROM OLD.uploaded_at)
       OR (OLD.voided_at IS NOT NULL AND NEW.voided_at IS DISTINCT FROM OLD.voided_at)
       OR (OLD.voided_by IS NOT NULL AND NEW.voided_by IS DISTINCT FROM OLD.voided_by) THEN
        RAISE EXCEPTION 'outbound file %: its content and delivery are recorded once, and so is its voiding', OLD.file_name
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

-- Every attempt to deliver a file, verified or not (a short write, a rename the server did not
-- do, a file changed after upload). Append-only.
CREATE TABLE outbound_attempt (
    attempt_id   bigserial PRIMARY KEY,
    file_name    text NOT NULL REFERENCES outbound_file,
    attempted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    verified     boolean NOT NULL,
    detail       text NOT NULL DEFAULT ''
);

-- ---- the audit trail of cancel and re-issue ----
CREATE TABLE settlement_action (
    action_id    bigserial PRIMARY KEY,
    acted_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    subject_kind text NOT NULL CHECK (subject_kind IN ('TRANSFER', 'ISSUANCE')),
    subject_id   text NOT NULL,
    action       text NOT NULL CHECK (action IN ('CANCEL', 'REISSUE')),
    replacement  text,
    status_before text NOT NULL,
    by_name      text NOT NULL CHECK (btrim(by_name) <> ''),
    note         text NOT NULL CHECK (btrim(note) <> ''),
    detail       text NOT NULL DEFAULT ''
);
CREATE INDEX settlement_action_subject ON settlement_action (subject_id);

-- (refuse_change(), the append-only trigger function, is sql/001's)
CREATE TRIGGER settlement_action_append_only BEFORE UPDATE OR DELETE ON settlement_action
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER outbound_attempt_append_only BEFORE UPDATE OR DELETE ON outbound_attempt
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- The expected cash movements of a cancelled transfer are no longer expected on a statement.
CREATE TABLE cash_movement_void (
    movement_id  text PRIMARY KEY REFERENCES cash_movement,
    transfer_id  text NOT NULL REFERENCES transfer,
    voided_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TRIGGER cash_movement_void_append_only BEFORE UPDATE OR DELETE ON cash_movement_void
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- ---- offerings settled before the pipeline existed ----
-- The ledger extract's offerings.csv may carry a status column; SETTLED means the offering was
-- settled outside the pipeline: settle never allocates, pays or records it (never FAILED).
ALTER TABLE offering ADD COLUMN status text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'SETTLED'));
