-- SQLite keeps a table of indexed words here (its FTS5 prefix queries merge
-- whole posting lists); PostgreSQL's GIN index answers `word:*` from its
-- sorted entry tree and needs nothing. This file keeps the two migration
-- histories in step.
SELECT 1;
