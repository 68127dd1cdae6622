-- 106_accept_paths.sql - the two doors `pipeline accept` needs under the history rule of
-- sql/privileges.sql (the nightly role has no UPDATE or DELETE on history; a change goes through a
-- checked SECURITY DEFINER function that records it in history_replace, sql/130). The bodies are
-- resolved when called, so these may be created before sql/130 on a new database.
--
--   file_accept                  `pipeline accept`: a person, holding the pipeline lock, makes a
--                                copy the file of record (a file_acceptance row), resolves the
--                                conflict with the note and marks the date's normalize stale
--   normalize_unload_superseded  normalize: a superseded copy loses what it had loaded, in the
--                                transaction that loads the accepted copy (its own running run's date)

CREATE FUNCTION file_accept(p_file bigint, p_by text, p_note text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    f fetched_file;
    cur bigint;
    acc bigint;
    x bigint;
    n bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
                      AND ((classid::bigint << 32) | objid::bigint) = 1885958245) THEN
        RAISE EXCEPTION 'file_accept: only the holder of the pipeline lock may choose a file of record'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT * INTO f FROM fetched_file WHERE file_id = p_file;
    IF NOT FOUND OR f.status = 'DUPLICATE' OR (SELECT of_record FROM file_choice WHERE file_id = p_file) THEN
        RAISE EXCEPTION 'file_accept: file % cannot be accepted (unknown, a duplicate, or already the file of record)', p_file
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT c.file_id INTO cur FROM fetched_file o JOIN file_choice c USING (file_id)
     WHERE o.source = f.source AND o.business_date = f.business_date AND o.remote_name = f.remote_name AND c.of_record;
    IF cur IS NULL THEN
        RAISE EXCEPTION 'file_accept: % of % (source %) has no file of record', f.remote_name, f.business_date, f.source
            USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO file_acceptance (file_id, superseded_file_id, business_date, source, remote_name, accepted_by, note)
    VALUES (p_file, cur, f.business_date, f.source, f.remote_name, p_by, p_note) RETURNING acceptance_id INTO acc;
    -- the conflict is decided: the copy's FILE_CONFLICT, and a FILE_QUARANTINED of the copy it replaces
    FOR x IN SELECT exception_id FROM exception
              WHERE status = 'OPEN' AND ((type = 'FILE_CONFLICT' AND subject = 'file:' || p_file)
                                      OR (type = 'FILE_QUARANTINED' AND subject = 'file:' || cur)) LOOP
        PERFORM exception_resolve_open(x, p_by,
            'accepted as the file of record (acceptance ' || acc || '): ' || p_note);
    END LOOP;
    -- the date's normalize runs again (and, being redone, makes the later stages stale)
    UPDATE stage_run SET state = 'stale'
     WHERE run_id = (SELECT max(run_id) FROM stage_run WHERE business_date = f.business_date AND stage = 'normalize')
       AND state = 'done';
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        INSERT INTO history_replace (operator, business_date, action, table_name, change, rows, detail)
        VALUES (p_by, f.business_date, 'accept: normalize marked stale', 'stage_run', 'UPDATE', n,
                'acceptance ' || acc || ': file ' || p_file || ' supersedes file ' || cur);
    END IF;
    RETURN acc;
END $$;

CREATE FUNCTION normalize_unload_superseded(p_run bigint, p_file bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    r stage_run := history_run(p_run, 'normalize');
BEGIN
    IF NOT EXISTS (SELECT 1 FROM fetched_file f JOIN file_choice c USING (file_id)
                    WHERE f.file_id = p_file AND f.business_date = r.business_date
                      AND c.acceptance_id IS NOT NULL AND NOT c.of_record) THEN
        RAISE EXCEPTION 'normalize run %: file % is not a superseded copy of %', p_run, p_file, r.business_date
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM history_begin('normalize: superseded copy ' || p_file || ' unloaded (an accepted copy replaces it)', r);
    DELETE FROM recon_match WHERE line_id IN (SELECT l.line_id FROM statement_line l
                                                JOIN statement s USING (statement_id) WHERE s.file_id = p_file);
    DELETE FROM statement WHERE file_id = p_file;
    DELETE FROM trustee_register WHERE file_id = p_file;
    DELETE FROM file_load WHERE file_id = p_file;
    PERFORM history_end();
END $$;
