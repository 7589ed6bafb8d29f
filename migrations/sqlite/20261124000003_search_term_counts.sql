-- How many indexed posts hold each word, and which words each indexed post
-- holds. bm25 weighs a word by its rarity, and FTS5 counts a word's posts
-- with a pass over the word's whole posting list on every query (2.4 ms at
-- 100,000 posts for a word in most of them); flint keeps the count and hands
-- it to its own ranking function (src/platform/fts5_bm25.rs). A post's words
-- are kept so that re-indexing or removing it takes exactly its own words'
-- counts down; a word no post holds any more leaves search_terms.
ALTER TABLE search_terms ADD COLUMN posts INTEGER NOT NULL DEFAULT 0;

CREATE TABLE search_post_terms (
    post_id INTEGER PRIMARY KEY,
    -- JSON array of the post's distinct words.
    terms TEXT NOT NULL
);

-- Databases indexed before this migration: each post's words from the
-- index itself (fts5vocab skips removed posts), then the counts from those.
CREATE VIRTUAL TABLE temp.search_index_instances USING fts5vocab(main, search_index, instance);
INSERT INTO search_post_terms (post_id, terms)
    SELECT doc, json_group_array(term)
    FROM (SELECT DISTINCT doc, term FROM temp.search_index_instances ORDER BY doc, term)
    GROUP BY doc;
DROP TABLE temp.search_index_instances;

DELETE FROM search_terms;
INSERT INTO search_terms (term, posts)
    SELECT words.value, COUNT(*) FROM search_post_terms, json_each(search_post_terms.terms) AS words GROUP BY words.value;
