-- Readers' comments (spec §8.6): a root comment and its flat replies.
-- `content` is the author's Markdown; `content_html` its sanitised
-- rendering. A deleted comment keeps both for admins; readers see a marker.
CREATE TABLE comments (
    id                  INTEGER PRIMARY KEY,
    post_id             BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id             TEXT REFERENCES users (id) ON DELETE SET NULL,
    root_id             BIGINT REFERENCES comments (id) ON DELETE CASCADE,
    reply_to_comment_id BIGINT REFERENCES comments (id) ON DELETE SET NULL,
    content             TEXT NOT NULL,
    content_html        TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'verifying' CHECK (status IN ('verifying', 'pending', 'published', 'deleted')),
    ai_reason           TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX comments_post_root_created_idx ON comments (post_id, root_id, created_at);
CREATE INDEX comments_root_created_idx ON comments (root_id, created_at);
CREATE INDEX comments_user_created_idx ON comments (user_id, created_at);
CREATE INDEX comments_status_created_idx ON comments (status, created_at);
CREATE INDEX comments_created_idx ON comments (created_at);
