//! Tags: non-hierarchical labels on posts. Admins manage them and assign them
//! to posts; readers see the tags of published posts with their post counts
//! (cached). Renaming or deleting a tag changes the public site at once, so
//! those writes invalidate the public post caches too.

pub mod api;
pub mod data;
pub mod schema;
pub mod service;
