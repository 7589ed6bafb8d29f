//! Webhooks: notifications delivered to the endpoints in the settings,
//! signed (Standard Webhooks, and the original's `X-Flare-*`), retried
//! through the `webhook` queue, every attempt logged. Uses settings (the
//! endpoints); notifications queue the deliveries.

pub mod api;
mod data;
pub mod schema;
pub mod service;
pub mod workflows;
