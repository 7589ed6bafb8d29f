-- Standalone pages (About, Now): a post whose kind is 'page' is served at
-- /{slug}, never listed, searched or put in feeds.
ALTER TABLE posts ADD COLUMN kind TEXT NOT NULL DEFAULT 'post' CHECK (kind IN ('post', 'page'));
ALTER TABLE public_posts ADD COLUMN kind TEXT NOT NULL DEFAULT 'post';
