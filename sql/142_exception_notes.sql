-- 142_exception_notes.sql - owners and comments of exceptions (`pipeline assign ID --to NAME`,
-- `pipeline comment ID --text TEXT --by NAME`, issue 19), with their whole history: rows are added,
-- never changed or removed (the nightly role may only INSERT: sql/privileges.sql; a trigger refuses
-- UPDATE and DELETE to everyone). The owner of an exception is its latest assignment.
--
-- Each row names the exception by id (as the person gave it) and by its type and subject, which
-- stay the same when a rerun of reconcile re-creates the exception with a new id: the workbook and
-- `explain` find the notes of an exception by type and subject, so they survive reruns.
CREATE TABLE exception_assignment (
    assignment_id  bigserial PRIMARY KEY,
    exception_id   bigint NOT NULL,
    type           text NOT NULL,
    subject        text NOT NULL,
    assigned_to    text NOT NULL CHECK (assigned_to <> ''),
    assigned_by    text NOT NULL CHECK (assigned_by <> ''),
    assigned_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX exception_assignment_subject ON exception_assignment (type, subject, assignment_id DESC);

CREATE TABLE exception_comment (
    comment_id     bigserial PRIMARY KEY,
    exception_id   bigint NOT NULL,
    type           text NOT NULL,
    subject        text NOT NULL,
    body           text NOT NULL CHECK (body <> ''),
    written_by     text NOT NULL CHECK (written_by <> ''),
    written_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX exception_comment_subject ON exception_comment (type, subject, comment_id DESC);

CREATE FUNCTION exception_note_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%: an assignment or comment is never changed or removed (add a new one)', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER exception_assignment_frozen BEFORE UPDATE OR DELETE ON exception_assignment
    FOR EACH ROW EXECUTE FUNCTION exception_note_frozen();
CREATE TRIGGER exception_comment_frozen BEFORE UPDATE OR DELETE ON exception_comment
    FOR EACH ROW EXECUTE FUNCTION exception_note_frozen();
