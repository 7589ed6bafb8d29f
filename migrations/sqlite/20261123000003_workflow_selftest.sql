-- Side effects of the built-in `flint.selftest` workflow (`flint workflow selftest`):
-- one row per step, and how many times the step's work ran.
CREATE TABLE workflow_selftest (
    run_id     TEXT NOT NULL,
    step       TEXT NOT NULL,
    executions INTEGER NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (run_id, step)
);
