-- privileges.sql - what the nightly role may do, in one place. Not a numbered migration:
-- `pipeline db init` re-applies it, as the owner role, after every migration run, so a new table
-- is covered the moment it exists. The role names come from pipeline.conf [database] through the
-- settings pipeline.owner_role and pipeline.nightly_role, set by db init just before.
--
-- Deny by default: the nightly role may read every table and add rows to it; it may change or
-- remove rows only where listed below. A new table that a stage must UPDATE or DELETE needs a line
-- here, and the tests fail with "permission denied" until it has one.
--
-- file_acceptance (`pipeline accept`: which copy of a re-sent file is the file of record, by whom
-- and why) is history under the rule below: SELECT and INSERT, never UPDATE or DELETE (sql/105's
-- triggers refuse those to everyone); its doors are sql/106's file_accept and
-- normalize_unload_superseded.
--
-- The money records are append-only for it: journal_txn, journal_posting, allocation,
-- offering_settlement, holding and cash_movement get no UPDATE or DELETE at all; transfer,
-- issuance and outbound_file only on the columns that record their progress (status, approval,
-- file, upload), which the triggers of sql/091 let go forward once and never back. The triggers
-- of sql/001, sql/002 and sql/091 refuse the same changes even to the owner.
--
-- THE HISTORY RULE (sql/130_history.sql; follow it for every table you add):
--   History is every record of something that happened: stage_run, fetched_file, file_load,
--   statement, statement_line, trustee_register, trustee_holding, recon_match,
--   recon_match_movement, exception (its resolution and note), recon_run_config, history_replace,
--   payment_status_report, payment_status, transfer_status_event (sql/115: the bank's answers and
--   a transfer's life; triggers refuse any change to everyone),
--   bank_rec and bank_rec_item (sql/140: replaced only by bank_rec_replace_date), and every table
--   of actions by people or stages (approve, accept, cancel, resolve, ...; recon_signoff of sql/141,
--   exception_assignment and exception_comment of sql/142: INSERT only, their triggers refuse the rest).
--   1. The nightly role gets NO table-level UPDATE or DELETE on a history table, and no column
--      UPDATE either: it INSERTs, and it reads. Do not add a GRANT UPDATE/DELETE here for one.
--   2. A change a stage really must make (a --force rerun replacing its own date's output, a state
--      change of the engine, the runner's bookkeeping) is a SECURITY DEFINER function owned by the
--      owner role, `SET search_path = pg_catalog, public, pg_temp`, that checks the stage_run it
--      acts for is running (history_run), touches only that run's date's own rows, set-based (one
--      statement per table, no loop over rows), and records what it changed in history_replace
--      (deletions are counted by the history_count_deleted trigger once you wrap them in
--      history_begin/history_end; updates with history_note). Being SECURITY DEFINER is what
--      makes it callable by the nightly role (below) and by nobody else; so never make a function
--      SECURITY DEFINER that is not such a checked path. Give the table the history_count_deleted
--      trigger in your migration (CREATE TRIGGER ... REFERENCING OLD TABLE AS gone, as sql/130).
--   3. An action a person took (an approval, an acceptance, a cancellation, a resolution with its
--      note) is never changed or deleted, by anyone: a trigger refuses it (see
--      exception_resolved_guard); a correction is a new row.
--   4. Name the table in doctor's list (commands/doctor.c, check_nightly_role) and add a refused
--      UPDATE and DELETE for it to tests/integration/17_history.sh.
-- Not history: business_holiday (the configuration's calendar, rewritten by every reconcile).
--
-- Not covered: `pipeline approve` acts as this role too, so the database cannot tell an approval
-- from the nightly's own writes; it refuses only an approver who is the transfer's creator.
DO $$
DECLARE
    nightly text := current_setting('pipeline.nightly_role');
    fn text;
BEGIN
    -- start from nothing, so a privilege removed here is removed from the database too
    -- (revoking a table privilege also revokes its column privileges)
    -- (the schema itself belongs to the database's owner, not to this role: db init grants the
    -- nightly role USAGE on it as the login user, and doctor fails if it may CREATE there)
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', nightly);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I', nightly);
    EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM %I', nightly);

    EXECUTE format('GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO %I', nightly);
    EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO %I', nightly);
    EXECUTE format('REVOKE INSERT ON schema_migrations FROM %I', nightly);

    -- history (the rule above): no UPDATE or DELETE, only the replace paths of sql/130
    EXECUTE format('REVOKE INSERT ON history_replace FROM %I', nightly);
    -- every SECURITY DEFINER function of the schema is a door the nightly role may use (the
    -- replace paths of sql/130, pipeline_analyze), and nobody else (PUBLIC may execute functions
    -- by default)
    FOR fn IN SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname = 'public' AND p.prosecdef LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', fn);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', fn, nightly);
    END LOOP;
    -- not history: the calendar reconcile rewrites from the configuration each run
    EXECUTE format('GRANT DELETE ON business_holiday TO %I', nightly);

    -- reconcile reserves a block of match ids at once (setval needs UPDATE on the sequence)
    EXECUTE format('GRANT UPDATE ON SEQUENCE %s TO %I', pg_get_serial_sequence('recon_match', 'match_id'), nightly);

    -- money records: only the columns that record progress, each set once (sql/091 triggers)
    EXECUTE format('GRANT UPDATE (status, approved_by, approved_at, payment_file) ON transfer TO %I', nightly);
    EXECUTE format('GRANT UPDATE (issuance_file, status) ON issuance TO %I', nightly);
    EXECUTE format('GRANT UPDATE (sha256, size_bytes, written_at, uploaded_at, voided_at, voided_by)'
                   ' ON outbound_file TO %I', nightly);
    -- settlement_action (the audit trail of `pipeline transfer|issuance cancel|reissue`),
    -- outbound_attempt and cash_movement_void are history (the rule above): INSERT only, like every
    -- table by default, and their triggers refuse UPDATE and DELETE to everyone (sql/120)
END $$;
