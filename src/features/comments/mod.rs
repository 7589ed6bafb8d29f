//! Comments (spec §8.6, issue 20): two-level threads on public posts, in a
//! small sanitised Markdown subset, moderated as the settings say (`ai`,
//! `manual` or `open`, with a rule check before anything is published).
//! Uses publishing (a comment needs a post readers can open) and settings;
//! what happens to comments is announced as events, which notifications
//! turns into emails and webhooks.

pub mod api;
mod data;
pub mod events;
pub mod schema;
pub mod service;
pub mod workflows;
