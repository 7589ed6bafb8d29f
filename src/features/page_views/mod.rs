//! Page views (spec §8.17, issue 20): counted without keeping who read —
//! a visitor is a hash of address, user agent and a salt that changes
//! daily and is never stored with the views — without known bots, once per
//! visitor and post in 30 minutes, and written a batch at a time through
//! the durable queue. Uses publishing (popular posts are public posts).

pub mod api;
mod data;
pub mod schema;
pub mod service;
pub mod workflows;
