//! Events of the public site (see `platform::events`). Each is emitted in
//! the transaction that changes the public read model and released once
//! publishing has invalidated its own caches, so a subscriber never reads
//! (or tells a CDN to fetch) a page older than the change.

use serde::{Deserialize, Serialize};

use crate::features::posts::schema::PostRow;
use crate::platform::events::DomainEvent;

/// A post's public snapshot was (re)built from `post` (the editable state it
/// was built from, so a revision can record exactly what was published).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostPublished {
    pub post_id: i64,
    pub slug: String,
    /// The slug it was public under before, when that changed.
    pub previous_slug: Option<String>,
    pub post: PostRow,
    pub tag_ids: Vec<i64>,
}

impl DomainEvent for PostPublished {
    const NAME: &'static str = "post.published";
}

/// A post left the public site (it stays as a draft).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostUnpublished {
    pub post_id: i64,
    pub slug: String,
}

impl DomainEvent for PostUnpublished {
    const NAME: &'static str = "post.unpublished";
}

/// A post was deleted; `public_slug` is where readers saw it, if they did.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostDeleted {
    pub post_id: i64,
    pub public_slug: Option<String>,
}

impl DomainEvent for PostDeleted {
    const NAME: &'static str = "post.deleted";
}

/// What readers see of these posts changed: published, unpublished,
/// deleted, appeared at its scheduled time, or a tag on it was renamed or
/// deleted. `slugs` are every public address affected (old and new). The
/// one event search, the site documents and CDN purges need.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicPostsChanged {
    pub post_ids: Vec<i64>,
    pub slugs: Vec<String>,
}

impl DomainEvent for PublicPostsChanged {
    const NAME: &'static str = "public-posts.changed";
}
