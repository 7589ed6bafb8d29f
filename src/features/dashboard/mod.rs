//! The admin dashboard (spec §8.9): counts, the latest activity and
//! traffic. Reads the other features through their services only (posts,
//! publishing, comments, media, accounts, page views); owns no table.

pub mod api;
pub mod schema;
pub mod service;
