-- 105_file_acceptance.sql - a corrected file re-sent under the same name (`pipeline accept`).
--
-- fetch keeps a re-sent file with other content beside the first as a CONFLICT copy and never
-- loads it. A person who has checked it makes it the file of record for its date with
-- `pipeline accept FILE_ID --by NAME --note TEXT`: one row here, which is never changed or
-- removed (the trigger below refuses UPDATE and DELETE to everyone; the nightly role has SELECT
-- and INSERT only; TRUNCATE, a whole test database reset, stays possible for the owner, as for
-- history_replace in sql/130). The first
-- copy stays in fetched_file and in the inbox, superseded; the next normalize of the date removes
-- what it had loaded and loads the accepted copy.
CREATE TABLE file_acceptance (
    acceptance_id      bigserial PRIMARY KEY,
    file_id            bigint NOT NULL REFERENCES fetched_file,  -- the copy made the file of record
    superseded_file_id bigint NOT NULL REFERENCES fetched_file,  -- the file of record until then (kept)
    business_date      date NOT NULL,
    source             text NOT NULL,
    remote_name        text NOT NULL,
    accepted_by        text NOT NULL CHECK (btrim(accepted_by) <> ''),
    note               text NOT NULL CHECK (btrim(note) <> ''),
    accepted_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (file_id <> superseded_file_id)
);
CREATE INDEX file_acceptance_name ON file_acceptance (source, business_date, remote_name, acceptance_id);

CREATE TRIGGER file_acceptance_append_only BEFORE UPDATE OR DELETE ON file_acceptance
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Which copy of each fetched file is the file of record: the latest accepted copy of its source,
-- date and name, else the first copy (status NEW). `ever_record`: it was the file of record once
-- (a copy no longer of record is superseded). acceptance_*: the latest acceptance of that name.
CREATE VIEW file_choice AS
SELECT f.file_id,
       CASE WHEN a.file_id IS NOT NULL THEN a.file_id = f.file_id ELSE f.status = 'NEW' END AS of_record,
       (f.status = 'NEW' OR EXISTS (SELECT 1 FROM file_acceptance y WHERE y.file_id = f.file_id)) AS ever_record,
       a.acceptance_id, a.file_id AS accepted_file_id, a.superseded_file_id, a.accepted_by, a.note, a.accepted_at
  FROM fetched_file f
  LEFT JOIN LATERAL (SELECT * FROM file_acceptance x
                      WHERE x.source = f.source AND x.business_date = f.business_date
                        AND x.remote_name = f.remote_name
                      ORDER BY x.acceptance_id DESC LIMIT 1) a ON true;
