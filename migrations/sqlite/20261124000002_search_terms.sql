-- Every word the search index has held. A query's last word is a prefix;
-- FTS5 answers `"word"*` by merging the whole posting list of every word
-- that begins with it before returning a row (milliseconds per query at
-- 100,000 posts, paid again by bm25), so flint expands the prefix to the
-- words in this table and asks FTS5 for `("word" OR "words" ...)`, which it
-- walks lazily. Words of removed posts stay: they match nothing.
CREATE TABLE search_terms (
    term TEXT PRIMARY KEY
) WITHOUT ROWID;

-- Databases indexed before this table existed: their words, from the index.
CREATE VIRTUAL TABLE temp.search_index_words USING fts5vocab(main, search_index, row);
INSERT INTO search_terms (term) SELECT term FROM temp.search_index_words;
DROP TABLE temp.search_index_words;
