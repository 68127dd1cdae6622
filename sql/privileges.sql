-- privileges.sql - what the nightly role may do, in one place. Not a numbered migration:
-- `pipeline db init` re-applies it, as the owner role, after every migration run, so a new table
-- is covered the moment it exists. The role names come from pipeline.conf [database] through the
-- settings pipeline.owner_role and pipeline.nightly_role, set by db init just before.
--
-- Deny by default: the nightly role may read every table and add rows to it; it may change or
-- remove rows only where listed below. A new table that a stage must UPDATE or DELETE needs a line
-- here, and the tests fail with "permission denied" until it has one.
--
-- The money records are append-only for it: journal_txn, journal_posting, allocation,
-- offering_settlement, holding, cash_movement and transfer_status_event (a transfer's history,
-- sql/115) get no UPDATE or DELETE at all; transfer,
-- issuance and outbound_file only on the columns that record their progress (status, approval,
-- file, upload), which the triggers of sql/091 let go forward once and never back. The triggers
-- of sql/001, sql/002 and sql/091 refuse the same changes even to the owner.
--
-- Not covered: `pipeline approve` acts as this role too, so the database cannot tell an approval
-- from the nightly's own writes; it refuses only an approver who is the transfer's creator.
DO $$
DECLARE
    nightly text := current_setting('pipeline.nightly_role');
    tbl text;
BEGIN
    -- start from nothing, so a privilege removed here is removed from the database too
    -- (revoking a table privilege also revokes its column privileges)
    -- (the schema itself belongs to the database's owner, not to this role: db init grants the
    -- nightly role USAGE on it as the login user, and doctor fails if it may CREATE there)
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', nightly);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I', nightly);

    EXECUTE format('GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO %I', nightly);
    EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO %I', nightly);
    EXECUTE format('REVOKE INSERT ON schema_migrations FROM %I', nightly);
    EXECUTE format('GRANT EXECUTE ON FUNCTION pipeline_analyze(text[]) TO %I', nightly);

    -- the pipeline's working records, corrected or replaced when a stage is rerun (the rows that
    -- reference them, statement_line, trustee_holding and recon_match_movement, go by ON DELETE
    -- CASCADE, which PostgreSQL performs as the table's owner)
    EXECUTE format('GRANT UPDATE (state, finished_at, rows_in, rows_out, exceptions, error_code, error)'
                   ' ON stage_run TO %I', nightly);
    -- a statement streamed in parts gets its header at its end; its gate (BALANCE_BREAK stops
    -- settle paying out of the account) is written once, by the INSERT
    EXECUTE format('GRANT UPDATE (statement_no, sequence_no, opening_date, opening_minor, opening_intermediate,'
                   ' closing_date, closing_minor, closing_intermediate, line_count, content_sha256, currency)'
                   ' ON statement TO %I', nightly);
    EXECUTE format('GRANT DELETE ON statement TO %I', nightly);
    EXECUTE format('GRANT UPDATE, DELETE ON exception TO %I', nightly);
    -- (payment_status_report: a forced normalize replaces a pain.002's statuses; payment_status goes
    -- with it by ON DELETE CASCADE)
    FOREACH tbl IN ARRAY ARRAY['file_load', 'trustee_register', 'recon_match', 'business_holiday',
                               'payment_status_report'] LOOP
        EXECUTE format('GRANT DELETE ON %I TO %I', tbl, nightly);
    END LOOP;

    -- reconcile reserves a block of match ids at once (setval needs UPDATE on the sequence)
    EXECUTE format('GRANT UPDATE ON SEQUENCE %s TO %I', pg_get_serial_sequence('recon_match', 'match_id'), nightly);

    -- money records: only the columns that record progress, each set once (sql/091 triggers)
    EXECUTE format('GRANT UPDATE (status, approved_by, approved_at, payment_file) ON transfer TO %I', nightly);
    EXECUTE format('GRANT UPDATE (issuance_file) ON issuance TO %I', nightly);
    EXECUTE format('GRANT UPDATE (sha256, size_bytes, written_at, uploaded_at) ON outbound_file TO %I', nightly);
END $$;
