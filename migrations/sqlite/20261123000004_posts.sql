-- Posts, tags, revisions, and the public read model the publish pipeline writes.
-- Times are epoch ms. Domain ids are 64-bit integers.

CREATE TABLE tags (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- The editable post (what the admin edits).
CREATE TABLE posts (
    id                   INTEGER PRIMARY KEY,
    title                TEXT NOT NULL DEFAULT '',
    slug                 TEXT NOT NULL UNIQUE,
    summary              TEXT,
    content              TEXT,
    category             TEXT,
    visibility           TEXT NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'unlisted')),
    status               TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    read_time_in_minutes INTEGER NOT NULL DEFAULT 1,
    published_at         BIGINT,
    pinned_at            BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX posts_published_idx ON posts (published_at, status);
CREATE INDEX posts_created_idx ON posts (created_at);
CREATE INDEX posts_updated_idx ON posts (updated_at);

CREATE TABLE post_tags (
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    tag_id  BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, tag_id)
);
CREATE INDEX post_tags_tag_idx ON post_tags (tag_id);

CREATE TABLE post_revisions (
    id                        INTEGER PRIMARY KEY,
    post_id                   BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    reason                    TEXT NOT NULL DEFAULT 'auto' CHECK (reason IN ('auto', 'publish', 'restore_backup')),
    snapshot_json             TEXT NOT NULL,
    snapshot_hash             TEXT NOT NULL,
    restored_from_revision_id BIGINT,
    created_at                BIGINT NOT NULL
);
CREATE INDEX post_revisions_post_created_idx ON post_revisions (post_id, created_at);
CREATE INDEX post_revisions_post_hash_idx ON post_revisions (post_id, snapshot_hash);

-- The Public Content Snapshot: what readers see, written only by the publish
-- pipeline (so editing a post never changes the public site by itself).
CREATE TABLE public_posts (
    post_id              BIGINT PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    slug                 TEXT NOT NULL UNIQUE,
    title                TEXT NOT NULL,
    summary              TEXT NOT NULL,
    category             TEXT,
    visibility           TEXT NOT NULL,
    read_time_in_minutes INTEGER NOT NULL,
    published_at         BIGINT NOT NULL,
    pinned_at            BIGINT,
    content_html         TEXT NOT NULL,
    toc_json             TEXT NOT NULL,
    plain_text           TEXT NOT NULL,
    sync_hash            TEXT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX public_posts_list_idx ON public_posts (visibility, published_at, post_id);
CREATE INDEX public_posts_pinned_idx ON public_posts (pinned_at);
CREATE INDEX public_posts_category_idx ON public_posts (category, published_at);

CREATE TABLE public_post_tags (
    post_id BIGINT NOT NULL REFERENCES public_posts (post_id) ON DELETE CASCADE,
    tag_id  BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, tag_id)
);
CREATE INDEX public_post_tags_tag_idx ON public_post_tags (tag_id);
