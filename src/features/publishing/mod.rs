//! Publishing: the public read model (`public_posts`, `public_post_tags`),
//! the publish pipeline that builds it from the editable post
//! (`post-process`, `scheduled-publish`), and every public read of posts —
//! list, detail, related, pinned, the tag cloud, and the inputs of
//! feeds, the sitemap and search — cached as ready-to-send bytes.
//!
//! Each change of the read model is one transaction with its events
//! (`PostPublished`, `PostUnpublished`, `PostDeleted`, and
//! `PublicPostsChanged` for search, the site documents and CDN purges),
//! which are released once the pipeline step has invalidated the caches.
//!
//! Walk it as `api.rs` -> `service.rs` (rules, cache) -> `data.rs` (SQL),
//! with `workflows.rs` for the pipeline and the tag subscribers.

pub mod api;
mod data;
pub mod events;
pub mod schema;
pub mod seed;
pub mod service;
pub mod workflows;
