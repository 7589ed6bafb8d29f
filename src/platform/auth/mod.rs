//! Authentication: password hashing, random tokens, API-token scopes, the
//! server secret, sessions (browser cookies and bearer API tokens), and
//! the protocols of signing in with GitHub or OpenID Connect.
//!
//! Owns the `sessions`, `api_tokens` and `server_secrets` tables (`data.rs`)
//! and reads `users` only to resolve who a session belongs to.
//! May use: `platform::{db, clock, config}`.

pub mod data;
pub mod external;
pub mod password;
pub mod scope;
pub mod secret;
pub mod session;
pub mod token;

pub use password::PasswordHasher;
pub use scope::Scope;
pub use session::{Credential, Role, Session, User};
