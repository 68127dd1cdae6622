-- 001_ledger.sql - the platform's ledger: currencies, bank accounts, investors, expected cash
-- movements, offerings, subscriptions, holdings, and the append-only double-entry journal.
-- Forward-only: never edit a migration that has shipped; add a new numbered file.

CREATE TABLE currency (
    code      char(3) PRIMARY KEY CHECK (code ~ '^[A-Z]{3}$'),
    exponent  smallint NOT NULL CHECK (exponent BETWEEN 0 AND 4)
);
INSERT INTO currency (code, exponent) VALUES
    ('SGD', 2), ('USD', 2), ('EUR', 2), ('GBP', 2), ('HKD', 2), ('AUD', 2), ('CHF', 2),
    ('CNY', 2), ('MYR', 2), ('KRW', 0), ('JPY', 0), ('BHD', 3), ('KWD', 3);

CREATE TABLE bank_account (
    account_no  text PRIMARY KEY CHECK (account_no ~ '^[A-Za-z0-9/-]{1,34}$'),
    currency    char(3) NOT NULL REFERENCES currency,
    purpose     text NOT NULL CHECK (purpose IN ('CLIENT_MONEY', 'OPERATING', 'TRUSTEE')),
    name        text NOT NULL
);

CREATE TABLE investor (
    investor_id      text PRIMARY KEY CHECK (investor_id <> ''),
    name             text NOT NULL,
    virtual_account  text NOT NULL UNIQUE CHECK (virtual_account <> ''),
    status           text NOT NULL CHECK (status IN ('ACTIVE', 'SUSPENDED', 'CLOSED'))
);

-- A cash movement the platform expects on one of its bank accounts. Direction is as seen from the
-- bank account (CREDIT: money comes in). Imported from the ledger extract (origin IMPORT) or made
-- by the settle stage (origin SETTLE).
CREATE TABLE cash_movement (
    movement_id    text PRIMARY KEY CHECK (movement_id <> ''),
    account_no     text NOT NULL REFERENCES bank_account,
    direction      text NOT NULL CHECK (direction IN ('CREDIT', 'DEBIT')),
    amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
    currency       char(3) NOT NULL REFERENCES currency,
    expected_date  date NOT NULL,
    reference      text NOT NULL DEFAULT '',
    kind           text NOT NULL CHECK (kind IN ('DEPOSIT', 'WITHDRAWAL', 'PROCEEDS', 'FEE', 'REFUND', 'OTHER')),
    investor_id    text REFERENCES investor,
    batch_id       text CHECK (batch_id <> ''),
    origin         text NOT NULL DEFAULT 'IMPORT' CHECK (origin IN ('IMPORT', 'SETTLE'))
);
CREATE INDEX cash_movement_account_date ON cash_movement (account_no, expected_date);
CREATE INDEX cash_movement_reference ON cash_movement (reference);
CREATE INDEX cash_movement_batch ON cash_movement (batch_id) WHERE batch_id IS NOT NULL;

CREATE TABLE offering (
    offering_id          text PRIMARY KEY CHECK (offering_id ~ '^[A-Za-z0-9-]{1,16}$'),
    name                 text NOT NULL,
    currency             char(3) NOT NULL REFERENCES currency,
    unit_price_minor     bigint NOT NULL CHECK (unit_price_minor > 0),
    units_offered        bigint NOT NULL CHECK (units_offered > 0),
    min_units            bigint NOT NULL CHECK (min_units >= 0),
    subscription_open    date NOT NULL,
    subscription_close   date NOT NULL,
    settlement_date      date NOT NULL,
    fee_bps              integer NOT NULL CHECK (fee_bps BETWEEN 0 AND 10000),
    trustee_account_no   text NOT NULL REFERENCES bank_account,
    CHECK (min_units <= units_offered),
    CHECK (subscription_open <= subscription_close),
    CHECK (subscription_close <= settlement_date)
);

CREATE TABLE subscription (
    subscription_id  text PRIMARY KEY CHECK (subscription_id <> ''),
    offering_id      text NOT NULL REFERENCES offering,
    investor_id      text NOT NULL REFERENCES investor,
    units            bigint NOT NULL CHECK (units > 0),
    subscribed_at    timestamptz NOT NULL,
    status           text NOT NULL CHECK (status IN ('ACTIVE', 'CANCELLED'))
);
CREATE INDEX subscription_offering ON subscription (offering_id);

-- The ledger's DABS holdings: a snapshot per date. The holding of an investor as of date D is the
-- row with the greatest as_of_date <= D. Imported (origin IMPORT) or written by settle (SETTLE).
CREATE TABLE holding (
    as_of_date   date NOT NULL,
    offering_id  text NOT NULL REFERENCES offering,
    investor_id  text NOT NULL REFERENCES investor,
    units        bigint NOT NULL CHECK (units >= 0),
    origin       text NOT NULL DEFAULT 'IMPORT' CHECK (origin IN ('IMPORT', 'SETTLE')),
    PRIMARY KEY (offering_id, investor_id, as_of_date)
);

-- The double-entry journal. Invariant: for every transaction and currency, the postings sum to
-- zero (checked at commit by a deferred constraint trigger). Append-only: UPDATE, DELETE and
-- TRUNCATE are refused by triggers. Ledger account names are "KIND:ID", e.g. "BANK:0123456789",
-- "WALLET:INV0001", "ESCROW:OFF-A", "FEES", "TRUSTEE:OFF-A".
CREATE TABLE journal_txn (
    txn_id         bigserial PRIMARY KEY,
    txn_key        text NOT NULL UNIQUE,       -- deterministic: the same business event cannot be posted twice
    business_date  date NOT NULL,
    kind           text NOT NULL,
    description    text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE journal_posting (
    posting_id    bigserial PRIMARY KEY,
    txn_id        bigint NOT NULL REFERENCES journal_txn,
    ledger_account text NOT NULL CHECK (ledger_account ~ '^[A-Z_]+(:[A-Za-z0-9_-]+)?$'),
    currency      char(3) NOT NULL REFERENCES currency,
    amount_minor  bigint NOT NULL CHECK (amount_minor <> 0)
);
CREATE INDEX journal_posting_txn ON journal_posting (txn_id);

CREATE FUNCTION journal_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
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

CREATE CONSTRAINT TRIGGER journal_balanced
    AFTER INSERT ON journal_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION journal_check_balanced();

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER journal_txn_append_only BEFORE UPDATE OR DELETE ON journal_txn
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER journal_txn_no_truncate BEFORE TRUNCATE ON journal_txn
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER journal_posting_append_only BEFORE UPDATE OR DELETE ON journal_posting
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER journal_posting_no_truncate BEFORE TRUNCATE ON journal_posting
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
