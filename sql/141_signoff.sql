-- 141_signoff.sql - who prepared and who reviewed the bank reconciliation of a business date
-- (`pipeline signoff --date D --by NAME --role prepared|reviewed`, issue 19). Added, never changed or
-- removed: the nightly role may only INSERT (sql/privileges.sql grants nothing more), and a trigger
-- refuses UPDATE and DELETE to everyone. The workbook's Bank Reconciliation sheet and `pipeline
-- status` show the latest sign-off of each role; a later one of the same role is a re-sign (say,
-- after a rerun), the earlier ones stay as history.
CREATE TABLE recon_signoff (
    signoff_id     bigserial PRIMARY KEY,
    business_date  date NOT NULL,
    role           text NOT NULL CHECK (role IN ('prepared', 'reviewed')),
    signed_by      text NOT NULL CHECK (signed_by <> ''),
    signed_at      timestamptz NOT NULL DEFAULT now(),
    reconcile_run  bigint NOT NULL REFERENCES stage_run    -- the reconcile run whose statements were signed
);
CREATE INDEX recon_signoff_date ON recon_signoff (business_date, role, signoff_id DESC);

CREATE FUNCTION recon_signoff_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'recon_signoff: a sign-off is never changed or removed' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER recon_signoff_frozen BEFORE UPDATE OR DELETE ON recon_signoff
    FOR EACH ROW EXECUTE FUNCTION recon_signoff_frozen();
