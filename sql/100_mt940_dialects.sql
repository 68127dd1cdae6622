-- 100_mt940_dialects.sql - MT940 as banks send it (issue 14).
--
-- file_load.deviations: every departure from the MT940 standard that normalize tolerated in the
-- file, one text a kind, "code (line N[, K times]): what" (formats/mt940.c lists them); empty for a
-- standard file. A source with mt940_strict = yes quarantines such a file instead.
--
-- statement_line.amount_minor may be 0: some banks send zero-amount lines (a recorded deviation).
-- They are loaded so the statement's line count stays what the bank sent; the balances are checked
-- as before.
ALTER TABLE file_load ADD COLUMN deviations text[] NOT NULL DEFAULT '{}';
ALTER TABLE statement_line DROP CONSTRAINT statement_line_amount_minor_check;
