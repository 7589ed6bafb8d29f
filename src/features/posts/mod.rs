//! Posts: writing (admin CRUD on the editable post), publishing (the
//! `post-process` and `scheduled-publish` workflows build the Public Content
//! Snapshot in `public_posts`), and reading (public list, detail, related,
//! pinned, popular — cached as ready-to-send bytes). Editing never changes
//! what readers see; only the publish pipeline does.
//!
//! Walk it as `api.rs` -> `service.rs` (rules, cache) -> `data.rs` (SQL),
//! with `workflows.rs` for the pipeline and `schema.rs` for every type.

pub mod api;
pub mod data;
pub mod schema;
pub mod seed;
pub mod service;
pub mod workflows;
