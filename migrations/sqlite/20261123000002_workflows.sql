-- Durable workflow runs and their memoised steps. Times are epoch ms.

CREATE TABLE workflow_runs (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    params          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'sleeping', 'completed', 'failed', 'cancelled')),
    idempotency_key TEXT,
    wake_at         BIGINT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    lease_owner     TEXT,
    lease_until     BIGINT,
    output          TEXT,
    error           TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    finished_at     BIGINT
);
-- One live run per idempotency key; finished runs leave the index.
CREATE UNIQUE INDEX workflow_runs_live_key_idx ON workflow_runs (idempotency_key)
    WHERE status IN ('queued', 'running', 'sleeping');
CREATE INDEX workflow_runs_due_idx ON workflow_runs (status, wake_at);
CREATE INDEX workflow_runs_created_idx ON workflow_runs (created_at, id);

CREATE TABLE workflow_steps (
    run_id      TEXT NOT NULL REFERENCES workflow_runs (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('completed', 'failed', 'retrying', 'sleeping')),
    attempts    INTEGER NOT NULL,
    output      TEXT,
    error       TEXT,
    wake_at     BIGINT,
    duration_ms BIGINT,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    PRIMARY KEY (run_id, name)
);
