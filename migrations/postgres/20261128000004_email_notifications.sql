-- Who asked not to get which emails (spec §8.11), and every notification
-- fanned out (so a retried fan-out queues its deliveries once).
CREATE TABLE user_unsubscriptions (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, type)
);

CREATE TABLE notifications (
    id         TEXT PRIMARY KEY NOT NULL,
    type       TEXT NOT NULL,
    deliveries INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX notifications_created_idx ON notifications (created_at);
