-- The search index: one row per public post (rowid = post id), holding the
-- tokens flint's own tokeniser produced, separated by spaces.
CREATE VIRTUAL TABLE search_index USING fts5(
    title, summary, tags, content,
    tokenize = 'unicode61 remove_diacritics 0',
    content = '',
    contentless_delete = 1
);

-- The index version: bumped on every change, reported by getIndexVersion.
CREATE TABLE search_meta (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO search_meta (id, version, updated_at) VALUES (1, 0, 0);
