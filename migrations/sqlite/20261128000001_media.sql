-- Uploaded images and which posts use them. Times are epoch ms.

CREATE TABLE media (
    id            INTEGER PRIMARY KEY,
    -- The object's key in storage: a fresh UUID and the sniffed type's extension.
    key           TEXT NOT NULL UNIQUE,
    url           TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    mime_type     TEXT NOT NULL,
    size_in_bytes BIGINT NOT NULL,
    -- As displayed (EXIF orientation applied).
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX media_created_idx ON media (created_at);

-- A post uses an image when its Markdown, or what readers see of it, links
-- /images/<key>. Kept in step by the media feature's subscriber to post events.
CREATE TABLE post_media (
    post_id  BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    media_id BIGINT NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, media_id)
);
CREATE INDEX post_media_media_idx ON post_media (media_id);
