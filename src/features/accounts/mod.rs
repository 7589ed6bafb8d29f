//! Accounts: sign-up and sign-in with email and password, browser sessions,
//! API tokens, profiles and user administration. The REST routes keep the
//! original's better-auth paths (`/api/auth/*`); everything else is a server
//! function. Builds on `platform::auth` for hashing, tokens and sessions.

pub mod api;
mod data;
pub mod schema;
pub mod service;
