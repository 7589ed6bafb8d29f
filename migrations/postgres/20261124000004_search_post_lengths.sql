-- SQLite only (post lengths for its ranking function); kept so both
-- backends carry the same migration versions.
SELECT 1;
