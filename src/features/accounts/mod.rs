//! Accounts: sign-up and sign-in with email and password, browser sessions,
//! API tokens, profiles and user administration. The REST routes keep the
//! original's better-auth paths (`/api/auth/*`); everything else is a server
//! function. Builds on `platform::auth` for hashing, tokens, sessions and
//! the external sign-in protocols (GitHub, OpenID Connect).
//! Uses settings (the registration policy, whether email is set up),
//! email (verification and reset links go through its queue) and comments
//! (a user's data export).

pub mod api;
mod data;
mod emails;
pub mod pages;
pub mod schema;
pub mod service;
