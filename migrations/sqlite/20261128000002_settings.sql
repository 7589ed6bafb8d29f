-- The site's settings: one row, the SystemConfig as JSON (spec §8.8), with a
-- version that grows on every save (caches built from it are keyed by it).
CREATE TABLE system_config (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    config_json TEXT NOT NULL,
    version     BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
