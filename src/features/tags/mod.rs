//! Tags: non-hierarchical labels on posts, and the links between posts and
//! tags. Admins manage them; renames and deletes emit `TagRenamed` /
//! `TagDeleted`, on which `publishing` refreshes what readers see.

pub mod api;
mod data;
pub mod events;
pub mod schema;
pub mod service;
