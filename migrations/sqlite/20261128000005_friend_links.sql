-- Other blogs the owner links to (spec §8.12): submitted by readers, or
-- added by an admin.
CREATE TABLE friend_links (
    id               INTEGER PRIMARY KEY,
    site_name        TEXT NOT NULL,
    site_url         TEXT NOT NULL,
    description      TEXT,
    logo_url         TEXT,
    -- Never shown publicly.
    contact_email    TEXT,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    rejection_reason TEXT,
    user_id          TEXT REFERENCES users (id) ON DELETE CASCADE,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX friend_links_status_created_idx ON friend_links (status, created_at);
CREATE INDEX friend_links_user_idx ON friend_links (user_id);
