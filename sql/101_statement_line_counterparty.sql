-- 101_statement_line_counterparty.sql - the counterparty of a statement line, from a structured
-- MT940 :86: (German ?32/?33 name and ?31 IBAN; Dutch /NAME/, /IBAN/, /CNTP/): shown by `pipeline
-- explain` and the report's Matched sheet. Empty when the bank did not send one (CSV, plain :86:).
ALTER TABLE statement_line ADD COLUMN counterparty text NOT NULL DEFAULT '';
ALTER TABLE statement_line ADD COLUMN counterparty_account text NOT NULL DEFAULT '';
