-- Every attempt to deliver a webhook (the newest 50 per endpoint are kept).
CREATE TABLE webhook_deliveries (
    id          INTEGER PRIMARY KEY,
    endpoint_id TEXT NOT NULL,
    -- The delivery's `webhook-id`: the same on every attempt.
    delivery_id TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    -- The receiver's HTTP status, when it answered.
    status      INTEGER,
    ok          BOOLEAN NOT NULL,
    duration_ms BIGINT NOT NULL,
    error       TEXT,
    test        BOOLEAN NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id);
