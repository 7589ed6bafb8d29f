//! Post Revisions: snapshots of a post's editable state — written on every
//! publish, before every restore (`restore_backup`), and automatically after
//! an editor has been quiet for a while (`auto`, deduplicated, at most one
//! every 2 minutes, the newest 30 kept) — which admins list, inspect,
//! restore and delete.

pub mod api;
mod data;
pub mod schema;
pub mod service;
pub mod workflows;
