-- 002_pipeline.sql - the pipeline's own records: stage runs, fetched files, canonical statements,
-- trustee registers, match results, exceptions, allocations, transfers, issuance records and the
-- files delivered to the outside world.

-- One row per execution of a stage for a business date. The state of (date, stage) is the state of
-- its latest row. 'stale': done, but an earlier stage was redone since, so the next run redoes it.
CREATE TABLE stage_run (
    run_id          bigserial PRIMARY KEY,
    business_date   date NOT NULL,
    stage           text NOT NULL CHECK (stage IN ('fetch', 'normalize', 'reconcile', 'settle', 'report')),
    state           text NOT NULL CHECK (state IN ('running', 'done', 'failed', 'stale')),
    forced          boolean NOT NULL DEFAULT false,
    started_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at     timestamptz,
    rows_in         bigint NOT NULL DEFAULT 0,
    rows_out        bigint NOT NULL DEFAULT 0,
    exceptions      bigint NOT NULL DEFAULT 0,
    error_code      integer,
    error           text,
    pid             integer NOT NULL,
    host            text NOT NULL,
    operator        text NOT NULL,
    config_digest   text NOT NULL,
    CHECK ((state = 'running') = (finished_at IS NULL))
);
CREATE INDEX stage_run_date_stage ON stage_run (business_date, stage, run_id DESC);

-- A file brought into the inbox by the fetch stage. status: NEW (to be normalized), DUPLICATE
-- (byte-identical to an earlier file: not loaded again), CONFLICT (same remote name as an earlier
-- file with different content: kept beside it under its own local name, raised as an exception).
CREATE TABLE fetched_file (
    file_id        bigserial PRIMARY KEY,
    business_date  date NOT NULL,
    source         text NOT NULL,
    remote_name    text NOT NULL,
    local_path     text NOT NULL UNIQUE,
    size_bytes     bigint NOT NULL CHECK (size_bytes >= 0),
    sha256         char(64) NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    status         text NOT NULL CHECK (status IN ('NEW', 'DUPLICATE', 'CONFLICT')),
    duplicate_of   bigint REFERENCES fetched_file,
    fetched_at     timestamptz NOT NULL DEFAULT now(),
    run_id         bigint NOT NULL REFERENCES stage_run
);
CREATE UNIQUE INDEX fetched_file_name_content ON fetched_file (source, business_date, remote_name, sha256);
CREATE INDEX fetched_file_sha ON fetched_file (sha256);

-- What normalize did with a file: LOADED (statements below), QUARANTINED (nothing loaded, reason
-- says why, "path:line: ..."), DUPLICATE (every statement in it was already loaded).
CREATE TABLE file_load (
    file_id        bigint PRIMARY KEY REFERENCES fetched_file,
    business_date  date NOT NULL,
    format         text NOT NULL,
    status         text NOT NULL CHECK (status IN ('LOADED', 'QUARANTINED', 'DUPLICATE')),
    reason         text,
    statements     integer NOT NULL DEFAULT 0,
    lines          bigint NOT NULL DEFAULT 0,
    run_id         bigint NOT NULL REFERENCES stage_run,
    CHECK ((status = 'QUARANTINED') = (reason IS NOT NULL))
);

-- A canonical bank statement. gate: PASSED (opening + lines = closing), BALANCE_BREAK (failed its own
-- arithmetic: kept for the report, lines not loaded, never matched), and gap/sequence problems are
-- exceptions (STATEMENT_GAP) without changing gate.
CREATE TABLE statement (
    statement_id      bigserial PRIMARY KEY,
    file_id           bigint NOT NULL REFERENCES fetched_file,
    business_date     date NOT NULL,
    source            text NOT NULL,
    format            text NOT NULL,
    account_no        text NOT NULL,
    currency          char(3) NOT NULL REFERENCES currency,
    statement_no      text NOT NULL,
    sequence_no       text NOT NULL DEFAULT '',
    opening_date      date NOT NULL,
    opening_minor     bigint NOT NULL,
    opening_intermediate boolean NOT NULL DEFAULT false,
    closing_date      date NOT NULL,
    closing_minor     bigint NOT NULL,
    closing_intermediate boolean NOT NULL DEFAULT false,
    line_count        integer NOT NULL CHECK (line_count >= 0),
    content_sha256    char(64) NOT NULL,   -- of the canonical content: same account+number+content = duplicate
    gate              text NOT NULL CHECK (gate IN ('PASSED', 'BALANCE_BREAK')),
    run_id            bigint NOT NULL REFERENCES stage_run,
    UNIQUE (account_no, statement_no, sequence_no, content_sha256)
);
CREATE INDEX statement_account_date ON statement (account_no, closing_date);

CREATE TABLE statement_line (
    line_id        bigserial PRIMARY KEY,
    statement_id   bigint NOT NULL REFERENCES statement ON DELETE CASCADE,
    line_no        integer NOT NULL CHECK (line_no > 0),
    account_no     text NOT NULL,
    entry_date     date,
    value_date     date NOT NULL,
    amount_minor   bigint NOT NULL CHECK (amount_minor <> 0),  -- signed: credits positive, debits negative
    currency       char(3) NOT NULL REFERENCES currency,
    mark           text NOT NULL CHECK (mark IN ('C', 'D', 'RC', 'RD')),
    funds_code     text NOT NULL DEFAULT '',
    type_code      text NOT NULL DEFAULT '',
    customer_ref   text NOT NULL DEFAULT '',
    bank_ref       text NOT NULL DEFAULT '',
    supplementary  text NOT NULL DEFAULT '',
    narrative      text NOT NULL DEFAULT '',
    reference      text NOT NULL DEFAULT '',   -- extracted by the source's reference patterns
    UNIQUE (statement_id, line_no)
);
CREATE INDEX statement_line_account ON statement_line (account_no, value_date);

-- The trustee's unit register as received (one per file).
CREATE TABLE trustee_register (
    register_id    bigserial PRIMARY KEY,
    file_id        bigint NOT NULL UNIQUE REFERENCES fetched_file,
    business_date  date NOT NULL,
    as_of_date     date NOT NULL,
    run_id         bigint NOT NULL REFERENCES stage_run
);
CREATE TABLE trustee_holding (
    register_id   bigint NOT NULL REFERENCES trustee_register ON DELETE CASCADE,
    offering_id   text NOT NULL,
    investor_id   text NOT NULL,
    units         bigint NOT NULL CHECK (units >= 0),
    PRIMARY KEY (register_id, offering_id, investor_id)
);

-- A match made by reconcile on business_date: one statement line and one or more movements
-- (several only for rule BATCH). Each line and each movement is matched at most once (unique keys).
CREATE TABLE recon_match (
    match_id       bigserial PRIMARY KEY,
    business_date  date NOT NULL,
    rule           text NOT NULL CHECK (rule IN ('REFERENCE', 'BATCH', 'AMOUNT_DATE')),
    line_id        bigint NOT NULL UNIQUE REFERENCES statement_line,
    run_id         bigint NOT NULL REFERENCES stage_run
);
CREATE INDEX recon_match_date ON recon_match (business_date);
CREATE TABLE recon_match_movement (
    match_id       bigint NOT NULL REFERENCES recon_match ON DELETE CASCADE,
    movement_id    text NOT NULL UNIQUE REFERENCES cash_movement,
    PRIMARY KEY (match_id, movement_id)
);

-- An exception ("break"). Carried night after night while OPEN; its age is the number of business
-- days from opened_date to the date looked at. Closed by a later match (status CLOSED, closed_by
-- names the rule/run) or by a person (RESOLVED, closed_by names the person, note required).
-- subject identifies what it is about ("line:123", "movement:M-1", "account:0123:2026-11-25", ...):
-- at most one OPEN exception of a type per subject.
CREATE TABLE exception (
    exception_id   bigserial PRIMARY KEY,
    type           text NOT NULL CHECK (type IN (
                       'UNMATCHED_STATEMENT', 'UNMATCHED_LEDGER', 'AMOUNT_MISMATCH', 'AMBIGUOUS',
                       'DUPLICATE_LINE', 'BALANCE_BREAK', 'STATEMENT_GAP', 'LEDGER_BALANCE_BREAK',
                       'HOLDING_MISMATCH', 'HOLDING_MISSING_AT_TRUSTEE', 'HOLDING_MISSING_IN_LEDGER',
                       'STATEMENT_MISSING', 'FILE_CONFLICT', 'FILE_QUARANTINED', 'SETTLEMENT_BLOCKED')),
    severity       text NOT NULL CHECK (severity IN ('ERROR', 'WARNING')),
    stage          text NOT NULL CHECK (stage IN ('fetch', 'normalize', 'reconcile', 'settle')),
    subject        text NOT NULL,
    account_no     text,
    item_date      date,
    amount_minor   bigint,
    currency       char(3) REFERENCES currency,
    reference      text NOT NULL DEFAULT '',
    statement_ref  text NOT NULL DEFAULT '',
    ledger_id      text NOT NULL DEFAULT '',
    detail         text NOT NULL,
    opened_date    date NOT NULL,
    opened_run_id  bigint NOT NULL REFERENCES stage_run,
    status         text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'CLOSED', 'RESOLVED')),
    closed_date    date,
    closed_run_id  bigint REFERENCES stage_run,
    closed_by      text,
    close_note     text,
    CHECK ((status = 'OPEN') = (closed_date IS NULL)),
    CHECK (status <> 'RESOLVED' OR (closed_by IS NOT NULL AND close_note IS NOT NULL))
);
CREATE UNIQUE INDEX exception_one_open ON exception (type, subject) WHERE status = 'OPEN';
CREATE INDEX exception_opened ON exception (opened_date);

-- Settlement: per subscription, what the close of its offering allocated.
CREATE TABLE allocation (
    subscription_id   text PRIMARY KEY REFERENCES subscription,
    offering_id       text NOT NULL REFERENCES offering,
    investor_id       text NOT NULL REFERENCES investor,
    requested_units   bigint NOT NULL CHECK (requested_units > 0),
    allocated_units   bigint NOT NULL CHECK (allocated_units >= 0 AND allocated_units <= requested_units),
    refund_minor      bigint NOT NULL CHECK (refund_minor >= 0),
    business_date     date NOT NULL,
    run_id            bigint NOT NULL REFERENCES stage_run
);

-- The outcome of an offering's close, written once in the same transaction as its allocations.
CREATE TABLE offering_settlement (
    offering_id       text PRIMARY KEY REFERENCES offering,
    outcome           text NOT NULL CHECK (outcome IN ('FAILED', 'FULL', 'PRO_RATA')),
    requested_units   bigint NOT NULL,
    allocated_units   bigint NOT NULL,
    gross_minor       bigint NOT NULL,
    fee_minor         bigint NOT NULL,
    proceeds_minor    bigint NOT NULL,
    refunded_minor    bigint NOT NULL,
    business_date     date NOT NULL,
    run_id            bigint NOT NULL REFERENCES stage_run,
    CHECK (proceeds_minor + fee_minor = gross_minor)
);

-- A bank payment. transfer_id is deterministic (offering + purpose) and is the pain.001 EndToEndId,
-- which reconcile finds on the statement. status moves forward only:
-- AWAITING_APPROVAL -> READY -> FILED (in payment_file) -> UPLOADED.
CREATE TABLE transfer (
    transfer_id     text PRIMARY KEY CHECK (transfer_id ~ '^[A-Za-z0-9-]{1,35}$'),
    offering_id     text NOT NULL REFERENCES offering,
    purpose         text NOT NULL CHECK (purpose IN ('PROCEEDS', 'FEE')),
    from_account    text NOT NULL REFERENCES bank_account,
    to_account      text NOT NULL REFERENCES bank_account,
    amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
    currency        char(3) NOT NULL REFERENCES currency,
    business_date   date NOT NULL,
    status          text NOT NULL CHECK (status IN ('AWAITING_APPROVAL', 'READY', 'FILED', 'UPLOADED')),
    approved_by     text,
    approved_at     timestamptz,
    payment_file    text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (offering_id, purpose)
);

CREATE TABLE issuance (
    issuance_id       text PRIMARY KEY CHECK (issuance_id <> ''),
    offering_id       text NOT NULL REFERENCES offering,
    investor_id       text NOT NULL REFERENCES investor,
    units             bigint NOT NULL CHECK (units > 0),
    unit_price_minor  bigint NOT NULL CHECK (unit_price_minor > 0),
    amount_minor      bigint NOT NULL CHECK (amount_minor > 0),
    currency          char(3) NOT NULL REFERENCES currency,
    settlement_date   date NOT NULL,
    business_date     date NOT NULL,
    issuance_file     text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (offering_id, investor_id)
);

-- A file the pipeline made for the outside world. Its identity (message id, creation time) is fixed
-- when the row is first written, so a rerun re-creates it byte for byte.
CREATE TABLE outbound_file (
    file_name       text PRIMARY KEY CHECK (file_name ~ '^[A-Za-z0-9._-]+$'),
    kind            text NOT NULL CHECK (kind IN ('PAIN001', 'ISSUANCE')),
    business_date   date NOT NULL,
    msg_id          text NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL,
    sha256          char(64),
    size_bytes      bigint,
    written_at      timestamptz,
    uploaded_at     timestamptz,
    destination     text NOT NULL
);

-- Transfers, issuance records and outbound files are never deleted; only their forward status
-- columns change.
CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never deleted', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER transfer_no_delete BEFORE DELETE ON transfer FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER issuance_no_delete BEFORE DELETE ON issuance FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER outbound_no_delete BEFORE DELETE ON outbound_file FOR EACH ROW EXECUTE FUNCTION refuse_delete();

CREATE FUNCTION transfer_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.transfer_id <> OLD.transfer_id OR NEW.offering_id <> OLD.offering_id
       OR NEW.purpose <> OLD.purpose OR NEW.from_account <> OLD.from_account
       OR NEW.to_account <> OLD.to_account OR NEW.amount_minor <> OLD.amount_minor
       OR NEW.currency <> OLD.currency OR NEW.business_date <> OLD.business_date THEN
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
CREATE TRIGGER transfer_guard BEFORE UPDATE ON transfer FOR EACH ROW EXECUTE FUNCTION transfer_guard();

CREATE FUNCTION issuance_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.issuance_id <> OLD.issuance_id OR NEW.offering_id <> OLD.offering_id
       OR NEW.investor_id <> OLD.investor_id OR NEW.units <> OLD.units
       OR NEW.unit_price_minor <> OLD.unit_price_minor OR NEW.amount_minor <> OLD.amount_minor
       OR NEW.currency <> OLD.currency OR NEW.settlement_date <> OLD.settlement_date THEN
        RAISE EXCEPTION 'issuance %: only the file may change', OLD.issuance_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER issuance_guard BEFORE UPDATE ON issuance FOR EACH ROW EXECUTE FUNCTION issuance_guard();
