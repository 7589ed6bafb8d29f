//! Email: the durable `email` queue (sent with the SMTP settings of the
//! moment through `platform::mail`), the admin's connection test, and
//! unsubscribing (signed links, RFC 8058 one-click, account toggles).
//! Uses settings; notifications queue emails here.

pub mod api;
mod data;
pub mod schema;
pub mod service;
pub mod workflows;
