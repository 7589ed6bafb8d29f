-- The search index: one row per public post, a tsvector built directly from
-- the tokens flint's own tokeniser produced (array_to_tsvector: no text
-- parser, so no dependence on the server's locale), weighted title A,
-- summary and tags B, content C.
CREATE TABLE search_index (
    post_id  BIGINT PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    document TSVECTOR NOT NULL
);
CREATE INDEX search_index_document_idx ON search_index USING GIN (document);

-- The index version: bumped on every change, reported by getIndexVersion.
CREATE TABLE search_meta (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO search_meta (id, version, updated_at) VALUES (1, 0, 0);
