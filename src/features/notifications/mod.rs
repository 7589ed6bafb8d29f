//! Notifications: what happened (a comment, a friend link, a publish)
//! fanned out to email and webhooks as the settings say (spec §8.10), each
//! delivery queued once and retried on its own. Uses settings, email,
//! webhooks and publishing (it subscribes to `PostPublished`).

mod data;
pub mod schema;
pub mod service;
pub mod templates;
pub mod workflows;
