-- Page views (spec §8.17), written a batch at a time. `visitor_hash` is
-- sha256(ip, user agent, the day's salt): the salt lives in
-- `visitor_salts` only for its day and the next, never beside the views,
-- so no raw address and no identifier that outlives a day is kept.
CREATE TABLE page_views (
    id           INTEGER PRIMARY KEY,
    post_id      BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    visitor_hash TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX page_views_post_visitor_created_idx ON page_views (post_id, visitor_hash, created_at);
CREATE INDEX page_views_created_idx ON page_views (created_at);

CREATE TABLE visitor_salts (
    day        TEXT PRIMARY KEY NOT NULL,
    salt       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
