-- 115_payment_status.sql - what the bank said about our payments (pain.002) and the full life of a
-- transfer: the status set, its allowed moves, and an append-only history of every move.
--
-- A transfer's status (replaces the CHECK of sql/002 and the transfer_guard of sql/091):
--   AWAITING_APPROVAL -> READY -> FILED -> UPLOADED -> ACCEPTED -> SETTLED   (the forward path)
--   UPLOADED -> SETTLED                  (an ACSC, or the debit on the statement, before any ACCP)
--   UPLOADED or ACCEPTED -> REJECTED     (RJCT: the bank will not pay it)
--   AWAITING_APPROVAL, READY, FILED or REJECTED -> CANCELLED  (a person cancels it, issue 16)
-- SETTLED is final; REJECTED only goes on to CANCELLED; CANCELLED is final. Nothing else, for
-- anyone, the owner included. A move to ACCEPTED, SETTLED or REJECTED needs its event row (below)
-- written first, in the same transaction: nothing can be made to look paid without a source.
--
-- Readers: issue_after = accepted issues when status IN ('ACCEPTED', 'SETTLED'), settled when
-- status = 'SETTLED' (docs/settle.md).

ALTER TABLE transfer DROP CONSTRAINT transfer_status_check;
ALTER TABLE transfer ADD CONSTRAINT transfer_status_check CHECK (status IN (
    'AWAITING_APPROVAL', 'READY', 'FILED', 'UPLOADED', 'ACCEPTED', 'SETTLED', 'REJECTED', 'CANCELLED'));

-- One row per status a transfer took from the outside world (or from the pipeline itself), never
-- changed or removed. moved: this row moved the transfer to `status` (at most one per transfer and
-- status: each move happens exactly once); not moved: a status shown but not final (PDNG, PART,
-- RCVD), `status` is then the transfer's status at the time. source: PAIN002 (source_file is the
-- fetched pain.002 that said so), STATEMENT (statement_line_id is the debit reconcile matched to
-- the transfer's -DR movement; no foreign key: a forced normalize may replace the line, the event
-- stays as history), PIPELINE (the pipeline or a person, e.g. a cancellation).
CREATE TABLE transfer_status_event (
    event_id          bigserial PRIMARY KEY,
    transfer_id       text NOT NULL REFERENCES transfer,
    status            text NOT NULL CHECK (status IN ('AWAITING_APPROVAL', 'READY', 'FILED', 'UPLOADED',
                          'ACCEPTED', 'SETTLED', 'REJECTED', 'CANCELLED')),
    moved             boolean NOT NULL,
    bank_status       text NOT NULL DEFAULT '' CHECK (bank_status IN ('', 'ACCP', 'ACSC', 'ACSP', 'ACTC',
                          'ACWC', 'PART', 'PDNG', 'RCVD', 'RJCT')),
    reason_code       text NOT NULL DEFAULT '',
    reason_text       text NOT NULL DEFAULT '',
    source            text NOT NULL CHECK (source IN ('PAIN002', 'STATEMENT', 'PIPELINE')),
    source_file       bigint REFERENCES fetched_file,
    statement_line_id bigint,
    status_time       timestamptz NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    run_id            bigint NOT NULL REFERENCES stage_run,
    CHECK ((source = 'PAIN002') = (source_file IS NOT NULL)),
    CHECK ((source = 'STATEMENT') = (statement_line_id IS NOT NULL)),
    CHECK (moved OR source = 'PAIN002')
);
CREATE UNIQUE INDEX transfer_status_event_move_once ON transfer_status_event (transfer_id, status) WHERE moved;
CREATE UNIQUE INDEX transfer_status_event_shown_once ON transfer_status_event (transfer_id, bank_status, source_file)
    WHERE NOT moved;
CREATE INDEX transfer_status_event_transfer ON transfer_status_event (transfer_id, event_id);

-- (refuse_change() is the journal's, sql/001: "... is append-only: UPDATE refused")
CREATE TRIGGER transfer_status_event_append_only BEFORE UPDATE OR DELETE ON transfer_status_event
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
-- (TRUNCATE, like the transfer table's own, is the owner's alone: the nightly role has no privilege for it)

-- The allowed moves, in one place (the trigger below and `pipeline explain` read it).
CREATE FUNCTION transfer_move_allowed(old_status text, new_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT (old_status, new_status) IN (
        ('AWAITING_APPROVAL', 'READY'), ('READY', 'FILED'), ('FILED', 'UPLOADED'),
        ('UPLOADED', 'ACCEPTED'), ('ACCEPTED', 'SETTLED'), ('UPLOADED', 'SETTLED'),
        ('UPLOADED', 'REJECTED'), ('ACCEPTED', 'REJECTED'),
        ('AWAITING_APPROVAL', 'CANCELLED'), ('READY', 'CANCELLED'), ('FILED', 'CANCELLED'),
        ('REJECTED', 'CANCELLED'))
$$;

-- A transfer: as before (sql/040, sql/091), its status moves only as above, and a move the bank
-- decides (ACCEPTED, SETTLED, REJECTED) has its event.
CREATE OR REPLACE FUNCTION transfer_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    path CONSTANT text[] := ARRAY['AWAITING_APPROVAL','READY','FILED','UPLOADED','ACCEPTED','SETTLED'];
BEGIN
    IF NEW.transfer_id <> OLD.transfer_id OR NEW.offering_id <> OLD.offering_id
       OR NEW.purpose <> OLD.purpose OR NEW.from_account <> OLD.from_account
       OR NEW.to_account <> OLD.to_account OR NEW.amount_minor <> OLD.amount_minor
       OR NEW.currency <> OLD.currency OR NEW.business_date <> OLD.business_date
       OR NEW.created_by IS DISTINCT FROM OLD.created_by THEN
        RAISE EXCEPTION 'transfer %: only status, approval and file may change', OLD.transfer_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status <> OLD.status AND NOT transfer_move_allowed(OLD.status, NEW.status) THEN
        IF array_position(path, NEW.status) < array_position(path, OLD.status) THEN
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

-- A pain.002 payment status report as normalize loaded it (one per fetched file), and its
-- statuses in file order. History (sql/privileges.sql, "THE HISTORY RULE"): never changed or
-- deleted, by anyone (triggers below). The rows are a function of the file's bytes, which
-- normalize checks against the SHA-256 recorded at fetch, so a forced normalize finds them there
-- and keeps them (INSERT ... ON CONFLICT DO NOTHING) instead of replacing them.
CREATE TABLE payment_status_report (
    file_id        bigint PRIMARY KEY REFERENCES fetched_file,
    business_date  date NOT NULL,
    msg_id         text NOT NULL,             -- GrpHdr/MsgId: the bank's id of the report
    created_at     timestamptz NOT NULL,      -- GrpHdr/CreDtTm
    orgnl_msg_id   text NOT NULL,             -- OrgnlGrpInfAndSts/OrgnlMsgId: our pain.001 MsgId
    run_id         bigint NOT NULL REFERENCES stage_run
);
CREATE INDEX payment_status_report_date ON payment_status_report (business_date);

-- level GROUP (GrpSts: applies to every transfer of the message), PMTINF (PmtInfSts: to those of
-- the payment information), TX (TxSts: to the one transfer). A lower level overrides a higher.
-- status '' = the element carries no status of its own at that level (its children do).
CREATE TABLE payment_status (
    file_id              bigint NOT NULL REFERENCES payment_status_report,
    seq                  integer NOT NULL CHECK (seq > 0),
    level                text NOT NULL CHECK (level IN ('GROUP', 'PMTINF', 'TX')),
    orgnl_msg_id         text NOT NULL,
    orgnl_pmtinf_id      text NOT NULL DEFAULT '',
    orgnl_end_to_end_id  text NOT NULL DEFAULT '',
    status               text NOT NULL CHECK (status IN ('', 'ACCP', 'ACSC', 'ACSP', 'ACTC', 'ACWC', 'PART',
                             'PDNG', 'RCVD', 'RJCT')),
    reason_code          text NOT NULL DEFAULT '',
    reason_text          text NOT NULL DEFAULT '',
    status_time          timestamptz,         -- TxInfAndSts/AccptncDtTm, if given
    src_line             integer NOT NULL,
    PRIMARY KEY (file_id, seq),
    CHECK ((level = 'GROUP') = (orgnl_pmtinf_id = '')),
    CHECK ((level = 'TX') = (orgnl_end_to_end_id <> ''))
);

CREATE TRIGGER payment_status_report_append_only BEFORE UPDATE OR DELETE ON payment_status_report
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER payment_status_append_only BEFORE UPDATE OR DELETE ON payment_status
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- The file_load kinds of row stay: a pain.002 is LOADED (lines = its statuses) or QUARANTINED.

-- New exception types, added to whatever the CHECK lists now (other migrations extend it too, in
-- any order): the list is read back from the constraint and the union written.
DO $$
DECLARE
    def text;
    types text[];
BEGIN
    SELECT pg_get_constraintdef(c.oid) INTO def FROM pg_constraint c
     WHERE c.conrelid = 'exception'::regclass AND c.conname = 'exception_type_check';
    SELECT array_agg(DISTINCT m[1] ORDER BY m[1]) INTO types
      FROM (SELECT regexp_matches(def, '''([A-Z0-9_]+)''', 'g') AS m
            UNION ALL SELECT ARRAY[t] FROM unnest(ARRAY['PAYMENT_REJECTED', 'PAYMENT_STATUS_MISSING',
                'PAYMENT_STATUS_UNKNOWN', 'PAYMENT_STATUS_CONFLICT']) t) x;
    EXECUTE 'ALTER TABLE exception DROP CONSTRAINT exception_type_check';
    -- written as type IN ('A', 'B', ...) like the original, so later migrations that read the list
    -- back (sql/140 looks for 'LEDGER_BALANCE_BREAK' quoted) find each name as they expect
    EXECUTE format('ALTER TABLE exception ADD CONSTRAINT exception_type_check CHECK (type IN (%s))',
                   (SELECT string_agg(quote_literal(t), ', ' ORDER BY t) FROM unnest(types) t));
END $$;
