-- 030_reconcile.sql - what the reconcile stage records beside its matches, and the queries the
-- report and the export read: the matching configuration of every run, the business-day calendar,
-- pending movements, aged open exceptions, and indexes the stage's queries need.
--
-- Definitions (the same as stages/reconcile.c, which says more):
--   business_days_between(a, b) = business days d with a < d <= b (0 if b <= a); weekends and the
--     rows of business_holiday are not business days. Same as calendar_business_days_between().
--   Window W (recon_run_config.window_days): a line and a movement may match when the business days
--     between value date and expected date are <= W, either way round.
--   A movement is PENDING on date D when it is not matched as of D, not named by an open
--     AMOUNT_MISMATCH, and business_days_between(expected_date, D) <= W (its window is still open;
--     movements expected up to W business days after D are listed too: they may arrive early).
--     Once business_days_between(expected_date, D) > W it is an UNMATCHED_LEDGER exception.
--   The age of an exception on date D is business_days_between(opened_date, D).

-- The configuration a reconcile run used (the stage_run row has the digest of the whole file).
CREATE TABLE recon_run_config (
    run_id         bigint PRIMARY KEY REFERENCES stage_run,
    business_date  date NOT NULL,
    window_days    integer NOT NULL CHECK (window_days >= 0),
    rules          text[] NOT NULL,
    cutoff_date    date NOT NULL,      -- movements expected on or before it were candidates
    holidays       date[] NOT NULL,
    config_digest  text NOT NULL,
    lines_in       bigint NOT NULL DEFAULT 0,
    movements_in   bigint NOT NULL DEFAULT 0,
    matches        bigint NOT NULL DEFAULT 0,
    params         jsonb NOT NULL
);
CREATE INDEX recon_run_config_date ON recon_run_config (business_date, run_id DESC);

-- The holiday calendar from pipeline.conf [calendar], refreshed by every reconcile run, so SQL can
-- count business days exactly like the C code.
CREATE TABLE business_holiday (
    holiday  date PRIMARY KEY
);

CREATE FUNCTION business_days_between(d_from date, d_to date) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT count(*)::integer
      FROM generate_series(1, d_to - d_from) AS g(i)
     WHERE extract(isodow FROM d_from + g.i) < 6
       AND NOT EXISTS (SELECT 1 FROM business_holiday h WHERE h.holiday = d_from + g.i)
$$;

-- d moved forward by n >= 0 business days (n = 0: d itself).
CREATE FUNCTION business_days_add(d date, n integer) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN n <= 0 THEN d ELSE (
        SELECT d + g.i
          FROM generate_series(1, 7 * n + 400) AS g(i)
         WHERE extract(isodow FROM d + g.i) < 6
           AND NOT EXISTS (SELECT 1 FROM business_holiday h WHERE h.holiday = d + g.i)
         ORDER BY g.i OFFSET n - 1 LIMIT 1) END
$$;

-- The window of the latest reconcile run for a date (else of the latest run, else 3).
CREATE FUNCTION recon_window_days(d date) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT window_days FROM recon_run_config WHERE business_date = d ORDER BY run_id DESC LIMIT 1),
        (SELECT window_days FROM recon_run_config ORDER BY run_id DESC LIMIT 1),
        3)
$$;

-- Expected movements still inside their window on date d (see the definition at the top).
-- window_end: the last date on which it is still pending; days_left: business days until then.
CREATE FUNCTION pending_movements(d date)
RETURNS TABLE (movement_id text, account_no text, direction text, amount_minor bigint, currency char(3),
               expected_date date, reference text, kind text, investor_id text, batch_id text,
               origin text, window_end date, days_left integer)
LANGUAGE sql STABLE AS $$
    WITH w AS (SELECT recon_window_days(d) AS n),
    b AS (SELECT business_days_add(d, (SELECT n FROM w)) AS hi,
                 (SELECT min(d - g.i) FROM generate_series(0, 7 * (SELECT n FROM w) + 400) AS g(i)
                   WHERE business_days_between(d - g.i, d) <= (SELECT n FROM w)) AS lo)
    SELECT c.movement_id, c.account_no, c.direction, c.amount_minor, c.currency, c.expected_date,
           c.reference, c.kind, c.investor_id, c.batch_id, c.origin,
           business_days_add(c.expected_date, (SELECT n FROM w)),
           (SELECT n FROM w) - business_days_between(c.expected_date, d)
      FROM cash_movement c, b
     WHERE c.expected_date BETWEEN b.lo AND b.hi
       AND NOT EXISTS (SELECT 1 FROM recon_match_movement mm JOIN recon_match m ON m.match_id = mm.match_id
                        WHERE mm.movement_id = c.movement_id AND m.business_date <= d)
       AND NOT EXISTS (SELECT 1 FROM exception x
                        WHERE x.type = 'AMOUNT_MISMATCH' AND x.opened_date <= d
                          AND (x.status = 'OPEN' OR x.closed_date > d)
                          AND (x.ledger_id = c.movement_id OR x.ledger_id = c.batch_id))
$$;

-- The movements pending on the latest date reconcile has run for.
CREATE VIEW pending_movement AS
    SELECT p.*
      FROM pending_movements((SELECT max(business_date) FROM recon_run_config)) p;

-- Exceptions open on date d (opened on or before d, not closed by then), with their age.
CREATE FUNCTION open_exceptions_as_of(d date)
RETURNS TABLE (exception_id bigint, type text, severity text, stage text, subject text, account_no text,
               item_date date, amount_minor bigint, currency char(3), reference text, statement_ref text,
               ledger_id text, detail text, opened_date date, age_days integer)
LANGUAGE sql STABLE AS $$
    SELECT x.exception_id, x.type, x.severity, x.stage, x.subject, x.account_no, x.item_date,
           x.amount_minor, x.currency, x.reference, x.statement_ref, x.ledger_id, x.detail,
           x.opened_date, business_days_between(x.opened_date, d)
      FROM exception x
     WHERE x.opened_date <= d AND (x.status = 'OPEN' OR x.closed_date > d)
$$;

-- Open exceptions aged on the latest date reconcile has run for.
CREATE VIEW open_exception_aged AS
    SELECT o.*
      FROM open_exceptions_as_of((SELECT max(business_date) FROM recon_run_config)) o;

-- exception_open() asks "is one of this type open or resolved for this subject?": without this
-- index that question scans the whole table once per exception.
CREATE INDEX exception_type_subject ON exception (type, subject);
-- Duplicate detection: has a matched line of this account the same bank reference?
CREATE INDEX statement_line_bank_ref ON statement_line (account_no, bank_ref) WHERE bank_ref <> '';
CREATE INDEX exception_ledger_id ON exception (ledger_id) WHERE type = 'AMOUNT_MISMATCH';
