-- 130_history.sql - the pipeline's history is append-only, for the nightly role too (issue 17).
--
-- History: the records of what happened, which later stages, the report and the auditors rely on:
--   stage_run, fetched_file, file_load, statement, statement_line, trustee_register,
--   trustee_holding, recon_match, recon_match_movement, exception (with its resolution and note),
--   recon_run_config, and the approval columns of transfer (sql/091); every accept/cancel/approve
--   action table added later belongs here too (the rule is in sql/privileges.sql).
-- The nightly role may INSERT history and read it; it has no UPDATE or DELETE on it at all. The few
-- changes a stage must make go through the SECURITY DEFINER functions below (owned by the owner
-- role, search_path pinned, EXECUTE granted to the nightly role by sql/privileges.sql). Each acts
-- only for a stage_run that is running now, only on that run's business date and own rows, and
-- records what it changed or removed in history_replace (who, when, how many rows, which run). All
-- are set-based: one statement per table, no per-row loop.
--
-- The replace paths (read stages/*.c, engine/exceptions.c, commands/run.c, commands/resolve.c):
--   normalize_replace_file     normalize --force: a file's own load (its statements and lines,
--                              trustee register and holdings, file_load row, and reconcile's
--                              matches of those lines; reconcile is marked stale and redoes them)
--   normalize_drop_statements  normalize: statements its own running run just inserted that turned
--                              out to be duplicates of earlier ones
--   normalize_statement_header normalize: the header of a statement its own running run inserted
--                              (streamed statements get it at their end)
--   recon_replace_date         reconcile (every run, --force too): that date's matches
--   exceptions_replace         normalize --force, reconcile, settle: what the stage opened on that
--                              date goes, what it closed on that date reopens; RESOLVED ones stay
--   exception_close_open       the engine closes an OPEN exception (a later match, a loaded statement)
--   exception_resolve_open     `pipeline resolve`: a person closes an OPEN exception with a note
--   stage_run_finish           the runner records its own running stage as done or failed
--   stage_run_reap             the runner, holding the pipeline lock, marks dead 'running' rows failed
--   stage_run_mark_stale       the runner marks the latest done run of a later stage stale
-- A RESOLVED exception (a person's decision and note) is never changed or deleted, by anyone, not
-- even by a rerun or the owner: a trigger refuses it. Every row deleted from a history table is
-- counted into history_replace by a statement-level trigger, with the replace path that did it (NULL
-- when it was not one): tests/reliability/invariants.sql checks that no row was lost any other way.

CREATE TABLE history_replace (
    replace_id     bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    db_user        text NOT NULL DEFAULT session_user,
    operator       text,                       -- stage_run.operator of the run, or the person
    run_id         bigint REFERENCES stage_run,
    business_date  date,
    action         text,                       -- the replace path; NULL: a deletion outside one
    table_name     text NOT NULL,
    change         text NOT NULL CHECK (change IN ('DELETE', 'UPDATE')),
    rows           bigint NOT NULL CHECK (rows > 0),
    detail         text
);
CREATE INDEX history_replace_run ON history_replace (run_id);

-- The audit of replacements is itself history: never changed, never deleted (TRUNCATE, a whole
-- test database reset, stays possible for the owner).
CREATE FUNCTION history_replace_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'history_replace is append-only: a record of what was replaced is never changed or deleted'
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER history_replace_guard BEFORE UPDATE OR DELETE ON history_replace
    FOR EACH ROW EXECUTE FUNCTION history_replace_guard();

-- A resolved exception is a person's decision: never changed, never deleted, even by a rerun.
CREATE FUNCTION exception_resolved_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'RESOLVED' THEN
        RAISE EXCEPTION 'exception %: resolved by % ("%"), which is never changed or deleted',
            OLD.exception_id, OLD.closed_by, OLD.close_note USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER exception_resolved_guard BEFORE UPDATE OR DELETE ON exception
    FOR EACH ROW EXECUTE FUNCTION exception_resolved_guard();

-- What replace path the current transaction is in: set by the functions below for the length of
-- their own work ("action|run_id|date"), read by the deletion counter.
CREATE FUNCTION history_begin(p_action text, r stage_run) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT set_config('pipeline.replace', p_action || '|' || r.run_id || '|' || r.business_date, true);
$$;
CREATE FUNCTION history_end() RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT set_config('pipeline.replace', '', true);
$$;

-- Counts the rows one statement deleted from a history table (cascades included: they fire this
-- on the child table) into history_replace. Set-based: once per statement, from the transition table.
CREATE FUNCTION history_count_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    how text := coalesce(current_setting('pipeline.replace', true), '');
    n bigint;
    run bigint := nullif(split_part(how, '|', 2), '')::bigint;
BEGIN
    SELECT count(*) INTO n FROM gone;
    IF n > 0 THEN
        INSERT INTO history_replace (operator, run_id, business_date, action, table_name, change, rows)
        SELECT (SELECT operator FROM stage_run WHERE run_id = run), run,
               nullif(split_part(how, '|', 3), '')::date, nullif(split_part(how, '|', 1), ''),
               TG_TABLE_NAME, 'DELETE', n;
    END IF;
    RETURN NULL;
END $$;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['stage_run', 'fetched_file', 'file_load', 'statement', 'statement_line',
                             'trustee_register', 'trustee_holding', 'recon_match', 'recon_match_movement',
                             'exception', 'recon_run_config'] LOOP
        EXECUTE format('CREATE TRIGGER history_count_deleted AFTER DELETE ON %I REFERENCING OLD TABLE AS gone'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION history_count_deleted()', t);
    END LOOP;
END $$;

-- The run a replace path acts for: it must exist, be running now and be of the given stage.
CREATE FUNCTION history_run(p_run bigint, p_stage text) RETURNS stage_run
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    r stage_run;
BEGIN
    SELECT * INTO r FROM stage_run WHERE run_id = p_run;
    IF NOT FOUND OR r.state <> 'running' OR r.stage <> p_stage THEN
        RAISE EXCEPTION 'run %: not a running % stage (%)', p_run, p_stage, coalesce(r.stage || ' ' || r.state, 'no such run')
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'a replace path acts only for its own running stage, on its own date';
    END IF;
    RETURN r;
END $$;

-- One audit row for an UPDATE a replace path made (nothing when it changed nothing).
CREATE FUNCTION history_note(r stage_run, p_action text, p_table text, p_rows bigint, p_detail text)
RETURNS void LANGUAGE sql SET search_path = pg_catalog, public, pg_temp AS $$
    INSERT INTO history_replace (operator, run_id, business_date, action, table_name, change, rows, detail)
    SELECT r.operator, r.run_id, r.business_date, p_action, p_table, 'UPDATE', p_rows, p_detail
     WHERE p_rows > 0;
$$;

-- normalize --force: a file of the run's date loses its own load, to be loaded again.
CREATE FUNCTION normalize_replace_file(p_run bigint, p_file bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    r stage_run := history_run(p_run, 'normalize');
BEGIN
    IF NOT EXISTS (SELECT 1 FROM fetched_file WHERE file_id = p_file AND business_date = r.business_date) THEN
        RAISE EXCEPTION 'normalize run %: file % is not one of %''s files', p_run, p_file, r.business_date
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM history_begin('normalize --force: file ' || p_file || ' loaded again', r);
    DELETE FROM recon_match WHERE line_id IN (SELECT l.line_id FROM statement_line l
                                                JOIN statement s USING (statement_id) WHERE s.file_id = p_file);
    DELETE FROM statement WHERE file_id = p_file;
    DELETE FROM trustee_register WHERE file_id = p_file;
    DELETE FROM file_load WHERE file_id = p_file;
    PERFORM history_end();
END $$;

-- normalize: statements the running run itself inserted that are duplicates of earlier ones.
CREATE FUNCTION normalize_drop_statements(p_run bigint, p_ids bigint[]) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    r stage_run := history_run(p_run, 'normalize');
    n bigint;
BEGIN
    PERFORM history_begin('normalize: duplicate statements of this run dropped', r);
    DELETE FROM statement WHERE statement_id = ANY (p_ids) AND run_id = p_run;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM history_end();
    IF n <> cardinality(p_ids) THEN
        RAISE EXCEPTION 'normalize run %: % of the % statements are not this run''s own', p_run,
            cardinality(p_ids) - n, cardinality(p_ids) USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN n;
END $$;

-- normalize: the header of a statement the running run inserted (its gate is set once, by the INSERT).
CREATE FUNCTION normalize_statement_header(p_run bigint, p_id bigint, p_no text, p_seq text,
    p_od date, p_om bigint, p_oi boolean, p_cd date, p_cm bigint, p_ci boolean, p_lines integer,
    p_sha text, p_currency text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    r stage_run := history_run(p_run, 'normalize');
BEGIN
    UPDATE statement SET statement_no = p_no, sequence_no = p_seq, opening_date = p_od, opening_minor = p_om,
           opening_intermediate = p_oi, closing_date = p_cd, closing_minor = p_cm, closing_intermediate = p_ci,
           line_count = p_lines, content_sha256 = p_sha, currency = p_currency
     WHERE statement_id = p_id AND run_id = r.run_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'normalize run %: statement % is not this run''s own', p_run, p_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END $$;

-- reconcile: the run's date loses its matches (redone by this run).
CREATE FUNCTION recon_replace_date(p_run bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    r stage_run := history_run(p_run, 'reconcile');
BEGIN
    PERFORM history_begin('reconcile: the date''s matches made again', r);
    DELETE FROM recon_match WHERE business_date = r.business_date;
    PERFORM history_end();
END $$;

-- A stage redoing its date: what it closed on that date reopens, what it opened on that date goes,
-- except what a person resolved.
CREATE FUNCTION exceptions_replace(p_run bigint, p_stage text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    r stage_run := history_run(p_run, p_stage);
    n bigint;
BEGIN
    UPDATE exception x SET status = 'OPEN', closed_date = NULL, closed_run_id = NULL, closed_by = NULL,
           close_note = NULL
      FROM stage_run c
     WHERE x.status = 'CLOSED' AND x.closed_run_id = c.run_id AND c.stage = p_stage
       AND c.business_date = r.business_date;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM history_note(r, p_stage || ': closed on its date, reopened to be decided again', 'exception', n, NULL);
    PERFORM history_begin(p_stage || ': opened on its date, to be opened again', r);
    DELETE FROM exception WHERE stage = p_stage AND opened_date = r.business_date AND status <> 'RESOLVED';
    PERFORM history_end();
END $$;

-- The engine closes an OPEN exception (a later match, a statement loaded, balances agreeing).
CREATE FUNCTION exception_close_open(p_run bigint, p_type text, p_subject text, p_closed_by text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    r stage_run;
    n bigint;
BEGIN
    SELECT * INTO r FROM stage_run WHERE run_id = p_run;
    r := history_run(p_run, coalesce(r.stage, '?'));
    UPDATE exception SET status = 'CLOSED', closed_date = r.business_date, closed_run_id = r.run_id,
           closed_by = p_closed_by
     WHERE type = p_type AND subject = p_subject AND status = 'OPEN';
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM history_note(r, r.stage || ': exception closed', 'exception', n, p_type || ' ' || p_subject);
END $$;

-- `pipeline resolve`: a person closes an OPEN exception, with a note. Returns false if it was not OPEN.
CREATE FUNCTION exception_resolve_open(p_id bigint, p_by text, p_note text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    UPDATE exception SET status = 'RESOLVED', closed_date = current_date, closed_by = p_by, close_note = p_note
     WHERE exception_id = p_id AND status = 'OPEN';
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO history_replace (operator, action, table_name, change, rows, detail)
    VALUES (p_by, 'resolve: exception resolved by a person', 'exception', 'UPDATE', 1, 'exception ' || p_id);
    RETURN true;
END $$;

-- The runner records its own running stage as done or failed (nothing else of the row changes).
CREATE FUNCTION stage_run_finish(p_run bigint, p_state text, p_in bigint, p_out bigint, p_exc bigint,
    p_code integer, p_error text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF p_state NOT IN ('done', 'failed') THEN
        RAISE EXCEPTION 'stage_run_finish: a run ends done or failed, not %', p_state
            USING ERRCODE = 'check_violation';
    END IF;
    UPDATE stage_run SET state = p_state, finished_at = clock_timestamp(), rows_in = p_in, rows_out = p_out,
           exceptions = p_exc, error_code = p_code, error = p_error
     WHERE run_id = p_run AND state = 'running';
    RETURN FOUND;
END $$;

-- The runner, holding the pipeline lock (so nobody else runs): 'running' rows belong to dead processes.
CREATE FUNCTION stage_run_reap() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
                      AND ((classid::bigint << 32) | objid::bigint) = 1885958245) THEN
        RAISE EXCEPTION 'stage_run_reap: only the holder of the pipeline lock may mark running stages failed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE stage_run SET state = 'failed', finished_at = clock_timestamp(), error_code = 30,
           error = 'the process (pid ' || pid || ' on ' || host || ') ended before the stage finished'
     WHERE state = 'running';
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        INSERT INTO history_replace (action, table_name, change, rows, detail)
        VALUES ('runner: stages of dead processes marked failed', 'stage_run', 'UPDATE', n, NULL);
    END IF;
    RETURN n;
END $$;

-- The runner: a stage redone for p_date makes the latest done run of p_stage stale.
CREATE FUNCTION stage_run_mark_stale(p_run bigint, p_stage text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    r stage_run;
    n bigint;
BEGIN
    SELECT * INTO r FROM stage_run WHERE run_id = p_run;
    IF NOT FOUND OR r.state <> 'done' THEN
        RAISE EXCEPTION 'run %: only a stage just done makes later ones stale', p_run
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE stage_run SET state = 'stale'
     WHERE run_id = (SELECT max(run_id) FROM stage_run WHERE business_date = r.business_date AND stage = p_stage)
       AND state = 'done' AND run_id < p_run;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM history_note(r, r.stage || ' redone: ' || p_stage || ' marked stale', 'stage_run', n, NULL);
END $$;

-- The helpers are not for anyone to call (the replace paths, SECURITY DEFINER, are granted to the
-- nightly role by sql/privileges.sql, which takes them from PUBLIC too).
REVOKE ALL ON FUNCTION history_begin(text, stage_run), history_end(), history_run(bigint, text),
    history_note(stage_run, text, text, bigint, text) FROM PUBLIC;
