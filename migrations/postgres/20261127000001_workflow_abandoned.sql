-- How many times a run was claimed again because the worker executing it
-- stopped without a word (killed, crashed, or its lease ran out). A run
-- that keeps killing its worker is failed after a few, not retried forever.
ALTER TABLE workflow_runs ADD COLUMN abandoned INTEGER NOT NULL DEFAULT 0;
