//! flint — a self-hostable blog CMS backend.
//!
//! `platform` holds the shared machinery (configuration, database, HTTP
//! plumbing, authentication) and never imports from `features`; each
//! `features/<name>` module is one product feature in three layers
//! (data -> service -> api). `app` wires both into a router.

pub mod app;
pub mod cli;
pub mod features;
pub mod platform;
