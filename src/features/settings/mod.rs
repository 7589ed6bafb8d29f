//! Settings: the site's configuration admins change without a restart
//! (spec §8.8) — SMTP, notification channels, webhooks, and what pages show
//! of the site. A leaf: features that show or use settings read them
//! through this service; a site change is announced as `SiteSettingsChanged`.

pub mod api;
mod data;
pub mod events;
pub mod schema;
pub mod service;
