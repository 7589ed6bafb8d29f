//! Posts: editorial writes on the editable post — drafts, edits, slugs,
//! tags by name, summaries — and the writes the publish pipeline and
//! revisions build on (status, restore, delete), each inside the caller's
//! transaction. Every edit emits `PostEdited`. Editing never changes what
//! readers see; `publishing` does.
//!
//! Walk it as `api.rs` -> `service.rs` (rules) -> `data.rs` (SQL), with
//! `schema.rs` for every type and `events.rs` for what it announces.

pub mod api;
mod data;
pub mod events;
pub mod schema;
pub mod service;
