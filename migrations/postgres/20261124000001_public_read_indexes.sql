-- A snapshot row holds a post's whole HTML and plain text, so reading one
-- only to test whether the post is listed touches a page or more per post.
-- These indexes answer the public reads that scale with the number of posts
-- without the rows: search hits, tag counts and related posts look a post up
-- by id and test visibility and date; the sitemap reads slug and date of
-- every listed post in date order (it replaces public_posts_list_idx, whose
-- columns it starts with).
CREATE INDEX public_posts_listed_by_id_idx ON public_posts (post_id, visibility, published_at);
CREATE INDEX public_posts_listed_idx ON public_posts (visibility, published_at, post_id, slug, updated_at);
DROP INDEX public_posts_list_idx;
