//! Friend links (spec §8.12): other blogs the owner links to, asked for by
//! readers and decided by admins. A leaf: submissions and decisions are
//! announced as events, which notifications turns into emails and webhooks.

pub mod api;
mod data;
pub mod events;
pub mod schema;
pub mod service;
