-- The delivery ledger of domain events: one row per (event, subscriber)
-- once the subscriber handled the event. `executions` above 1 means the
-- process died while the subscriber ran and it ran again.
CREATE TABLE event_deliveries (
    event_id     TEXT NOT NULL,
    subscriber   TEXT NOT NULL,
    executions   INTEGER NOT NULL DEFAULT 1,
    delivered_at BIGINT NOT NULL,
    PRIMARY KEY (event_id, subscriber)
);
CREATE INDEX event_deliveries_delivered_idx ON event_deliveries (delivered_at);
