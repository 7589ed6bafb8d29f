-- Each indexed post's length in tokens, as FTS5 counts it. bm25 weighs a
-- word's hits against the length of the post they are in, and reads that
-- length with a statement of its own for every ranked post (15 % of the CPU
-- of an uncached search); flint's ranking function takes it from this
-- table, joined in the same query (src/platform/fts5_bm25.rs).
CREATE TABLE search_post_lengths (
    post_id INTEGER PRIMARY KEY,
    tokens  INTEGER NOT NULL
);

-- Databases indexed before this migration: every indexed post's length
-- from the index (flint_tokens reads what bm25 would).
INSERT INTO search_post_lengths (post_id, tokens) SELECT rowid, flint_tokens(search_index) FROM search_index;
