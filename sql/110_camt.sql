-- 110_camt.sql - ISO 20022 camt.053 statements and camt.054 notifications (issue 15).
--
-- A camt.054 notification is stored as a statement with gate NOTIFICATION: no balances (its
-- opening and closing are 0 on the notification's creation date), never gated, never a
-- statement for the continuity check, STATEMENT_MISSING, the ledger balance or settle. Its lines
-- are statement_line rows like any other, so reconcile matches them with the same rules.
ALTER TABLE statement DROP CONSTRAINT statement_gate_check;
ALTER TABLE statement ADD CONSTRAINT statement_gate_check
    CHECK (gate IN ('PASSED', 'BALANCE_BREAK', 'NOTIFICATION'));
ALTER TABLE statement ADD COLUMN stmt_ref text NOT NULL DEFAULT '';   -- camt Stmt/Id, Ntfctn/Id

-- A camt statement's entries that are not booked (Sts PDNG, INFO, FUTR): listed on the report,
-- never loaded as lines. Inserted once, when the statement is complete (only if it has any).
CREATE TABLE statement_pending (
    statement_id   bigint PRIMARY KEY REFERENCES statement ON DELETE CASCADE,
    pending_count  integer NOT NULL CHECK (pending_count > 0),
    pending_minor  bigint NOT NULL          -- their signed sum
);

-- What a camt entry or transaction detail carries beyond the canonical columns ('' for MT940/CSV).
-- entry_no groups the lines one entry was split into (a batch with amounts per detail).
ALTER TABLE statement_line
    ADD COLUMN entry_no             integer NOT NULL DEFAULT 0,
    ADD COLUMN entry_amount_minor   bigint NOT NULL DEFAULT 0,
    ADD COLUMN entry_ref            text NOT NULL DEFAULT '',   -- Ntry/NtryRef
    ADD COLUMN entry_svcr_ref       text NOT NULL DEFAULT '',   -- Ntry/AcctSvcrRef
    ADD COLUMN end_to_end_id        text NOT NULL DEFAULT '',
    ADD COLUMN instr_id             text NOT NULL DEFAULT '',
    ADD COLUMN msg_id               text NOT NULL DEFAULT '',   -- TxDtls/Refs/MsgId, else Btch/MsgId
    ADD COLUMN pmtinf_id            text NOT NULL DEFAULT '',   -- TxDtls/Refs/PmtInfId, else Btch/PmtInfId
    ADD COLUMN creditor_ref         text NOT NULL DEFAULT '',
    ADD COLUMN bank_tx_code         text NOT NULL DEFAULT '';
-- (a camt line's counterparty, name and account, goes in sql/101's counterparty columns)

-- A statement line covered by camt.054 notification lines (docs/reconcile.md "camt.054"): the
-- statement's entry is matched by rule NOTIFIED, its notification lines carry the matches to the
-- ledger (carries). A notification arriving after its entry was already matched by another rule
-- is linked to that match without carrying (it is explained by it and not matched itself).
-- Each notification line is linked at most once.
ALTER TABLE recon_match DROP CONSTRAINT recon_match_rule_check;
ALTER TABLE recon_match ADD CONSTRAINT recon_match_rule_check
    CHECK (rule IN ('REFERENCE', 'BATCH', 'AMOUNT_DATE', 'NOTIFIED'));
CREATE TABLE recon_match_notification (
    match_id       bigint NOT NULL REFERENCES recon_match ON DELETE CASCADE,
    notif_line_id  bigint NOT NULL UNIQUE REFERENCES statement_line ON DELETE CASCADE,
    carries        boolean NOT NULL,
    PRIMARY KEY (match_id, notif_line_id)
);
-- statement_pending and recon_match_notification are history (sql/privileges.sql): the nightly
-- role only INSERTs them; they go with their statement or match (ON DELETE CASCADE, through
-- sql/130's replace paths).
CREATE INDEX statement_line_svcr ON statement_line (account_no, entry_svcr_ref) WHERE entry_svcr_ref <> '';
CREATE INDEX statement_line_entryref ON statement_line (account_no, entry_ref) WHERE entry_ref <> '';
CREATE INDEX statement_line_msgid ON statement_line (account_no, msg_id) WHERE msg_id <> '';
CREATE INDEX statement_line_pmtinf ON statement_line (account_no, pmtinf_id) WHERE pmtinf_id <> '';
