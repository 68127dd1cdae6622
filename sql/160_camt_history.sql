-- 160_camt_history.sql - camt's two history tables (sql/110: statement_pending, the pending entries
-- of a camt statement; recon_match_notification, which notification line covered which entry) count
-- what a replace path deletes into history_replace, as every history table does (sql/130). 110 came
-- before 130's history_count_deleted() existed, hence a migration of its own.
CREATE TRIGGER history_count_deleted AFTER DELETE ON statement_pending REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION history_count_deleted();
CREATE TRIGGER history_count_deleted AFTER DELETE ON recon_match_notification REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION history_count_deleted();
