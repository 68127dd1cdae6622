-- 090_roles.sql - what the two database roles need from the schema (issue 9, security checklist).
--
-- Since this migration, `pipeline db init` runs every migration as the owner role ([database]
-- owner_role, default pipeline_owner), which owns every object of the schema, and every other
-- command runs as the nightly role (nightly_role, default pipeline_nightly), which holds only the
-- privileges written in sql/privileges.sql: it may add journal entries, transfers and issuance
-- records, never UPDATE or DELETE them (beyond the forward status columns), nor change the schema.

-- Which role wrote a stage_run row: the audit trail shows that the nightly ran unprivileged. Rows
-- written before this migration are NULL (unknown), not the role that ran the migration.
ALTER TABLE stage_run ADD COLUMN db_role text;
ALTER TABLE stage_run ALTER COLUMN db_role SET DEFAULT current_user;

-- Statistics after a bulk load. ANALYZE needs the table's owner, and the nightly role is not: this
-- function runs as the owner (SECURITY DEFINER) and analyses only tables of this schema, by name.
-- The search_path is pinned, as a SECURITY DEFINER function must.
CREATE FUNCTION pipeline_analyze(VARIADIC tables text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY tables LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename = t) THEN
            RAISE EXCEPTION 'pipeline_analyze: % is not a table of the pipeline', t
                USING ERRCODE = 'undefined_table';
        END IF;
        EXECUTE format('ANALYZE public.%I', t);
    END LOOP;
END $$;
REVOKE ALL ON FUNCTION pipeline_analyze(text[]) FROM PUBLIC;
