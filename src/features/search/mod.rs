//! Full-text search over public posts. The index lives in the database
//! (FTS5 on SQLite, `tsvector` + GIN on PostgreSQL), so every process sees
//! the same index and writes are transactional; both are fed by the same
//! tokeniser (`platform::search_text`). It subscribes to
//! `PublicPostsChanged`; `flint reindex` and `buildSearchIndex` rebuild it.

pub mod api;
mod data;
pub mod schema;
pub mod service;
pub mod workflows;
