-- 080_ops.sql - ties together the stage runs of one invocation of the program (issue 8: every
-- run, stage and file has an id that ties log lines, database rows and report rows together).
--
-- stage_run.invocation is "<UTC start, YYYYMMDDTHHMMSSZ>-<pid>" of the `pipeline run` (or single
-- stage) process that executed the stage: the same string names that process's log file
-- (data_dir/log/DATE/pipeline-<invocation>.log) and is invocation= on every line it logged. The five
-- stage_run rows of one nightly share it; each row's run_id is run= on the lines of that stage and
-- marks the rows the stage wrote (fetched_file.run_id, statement.run_id, exception.opened_run_id...).
-- NULL for rows written before this migration.
ALTER TABLE stage_run ADD COLUMN invocation text;
CREATE INDEX stage_run_invocation ON stage_run (invocation);
