-- 140_bank_rec.sql - the bank reconciliation statement (issue 19): the ledger's book balance of
-- each bank account per day, and what reconcile proves with it.
--
-- book_balance is part of the ledger extract (balances.csv, `pipeline ledger import`): the
-- platform's general-ledger cash balance of the account at the end of as_of_date. Like every
-- ledger row it is added, never changed.
--
-- bank_rec is one row per account and business date, written by reconcile (replaced by a rerun of
-- that date): the standard statement
--     balance per bank (closing of the day's PASSED statement)
--   + deposits in transit        (credit movements expected on or before D, not matched by D)
--   - outstanding payments       (debit movements expected on or before D, not matched by D)
--   - bank items not in the books (signed: statement lines not matched by D, and movements
--                                  matched by D that the books expect only after D)
--   = adjusted bank balance, beside the book balance; difference = adjusted - book.
-- status: AGREED (difference 0), BREAK (a BOOK_BALANCE_BREAK is open), NO_BOOK_BALANCE (the extract
-- has no balance of the account for D: nothing is invented), NO_STATEMENT (no PASSED statement).
-- bank_rec_item lists the reconciling items; per kind they add up to the row's figures
-- (amount_minor signed, credits positive; the statement shows outstanding payments as positive sums).
CREATE TABLE book_balance (
    account_no     text NOT NULL REFERENCES bank_account,
    as_of_date     date NOT NULL,
    balance_minor  bigint NOT NULL,
    PRIMARY KEY (account_no, as_of_date)
);

CREATE TABLE bank_rec (
    business_date    date NOT NULL,
    account_no       text NOT NULL REFERENCES bank_account,
    currency         char(3) NOT NULL REFERENCES currency,
    purpose          text NOT NULL,
    status           text NOT NULL CHECK (status IN ('AGREED', 'BREAK', 'NO_BOOK_BALANCE', 'NO_STATEMENT')),
    statement_id     bigint,
    bank_closing     bigint,
    in_transit       bigint NOT NULL,
    outstanding      bigint NOT NULL,      -- the sum of the debits, as a positive amount
    bank_not_books   bigint NOT NULL,      -- signed
    adjusted_bank    bigint,
    book_balance     bigint,
    difference       bigint,
    run_id           bigint NOT NULL REFERENCES stage_run,
    PRIMARY KEY (business_date, account_no),
    CHECK (status = 'NO_STATEMENT' OR adjusted_bank = bank_closing + in_transit - outstanding - bank_not_books),
    CHECK (difference IS NULL OR difference = adjusted_bank - book_balance)
);

CREATE TABLE bank_rec_item (
    business_date  date NOT NULL,
    account_no     text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('DEPOSIT_IN_TRANSIT', 'OUTSTANDING_PAYMENT', 'BANK_NOT_IN_BOOKS')),
    item           text NOT NULL,        -- "movement:ID" or "line:ID"
    item_date      date NOT NULL,        -- expected date of a movement, value date of a line
    age_days       integer NOT NULL,     -- business days from item_date to business_date
    amount_minor   bigint NOT NULL,      -- signed, credits positive
    reference      text NOT NULL DEFAULT '',
    exception_id   bigint,               -- the open exception about the item, if any
    FOREIGN KEY (business_date, account_no) REFERENCES bank_rec ON DELETE CASCADE,
    PRIMARY KEY (business_date, account_no, item)
);

-- History (sql/privileges.sql, THE HISTORY RULE): the nightly role only INSERTs these rows; reconcile
-- replaces its own date's statements through bank_rec_replace_date, and deletions are counted in
-- history_replace.
CREATE FUNCTION bank_rec_replace_date(p_run bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    r stage_run := history_run(p_run, 'reconcile');
BEGIN
    PERFORM history_begin('reconcile: the date''s bank reconciliation made again', r);
    DELETE FROM bank_rec WHERE business_date = r.business_date;
    PERFORM history_end();
END $$;
CREATE TRIGGER history_count_deleted AFTER DELETE ON bank_rec REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION history_count_deleted();
CREATE TRIGGER history_count_deleted AFTER DELETE ON bank_rec_item REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION history_count_deleted();

-- The old "ledger balance" check only proves that the bank's own statements are continuous
-- (the first opening balance plus every line gives the closing): it is renamed to say so, and the
-- bank reconciliation against the book balance gets its own type. The type list is edited in place,
-- whatever other migrations added to it. Only the OPEN breaks are renamed (reconcile carries and
-- closes them under the new name, settle is blocked by them); closed and resolved ones are history
-- and keep the name they had, which stays valid.
DO $$
DECLARE
    c record;
    def text;
BEGIN
    SELECT conname, pg_get_constraintdef(oid) AS d INTO c FROM pg_constraint
     WHERE conrelid = 'exception'::regclass AND contype = 'c'
       AND pg_get_constraintdef(oid) LIKE '%''LEDGER_BALANCE_BREAK''%';
    IF c.conname IS NULL THEN
        RAISE EXCEPTION '140_bank_rec: the exception type check naming LEDGER_BALANCE_BREAK is missing';
    END IF;
    def := replace(c.d, '''LEDGER_BALANCE_BREAK''::text',
                   '''LEDGER_BALANCE_BREAK''::text, ''STATEMENT_CONTINUITY_BREAK''::text, ''BOOK_BALANCE_BREAK''::text');
    EXECUTE format('ALTER TABLE exception DROP CONSTRAINT %I', c.conname);
    UPDATE exception SET type = 'STATEMENT_CONTINUITY_BREAK',
                         subject = 'continuity:' || substr(subject, length('balance:') + 1)
     WHERE type = 'LEDGER_BALANCE_BREAK' AND subject LIKE 'balance:%' AND status = 'OPEN';
    UPDATE exception SET type = 'STATEMENT_CONTINUITY_BREAK' WHERE type = 'LEDGER_BALANCE_BREAK' AND status = 'OPEN';
    EXECUTE format('ALTER TABLE exception ADD CONSTRAINT %I %s', c.conname, def);
END $$;
