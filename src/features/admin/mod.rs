//! The admin in the browser (`/admin`): server-rendered screens over the
//! other features' services, for the blog's admins. Uses dashboard (its
//! figures), posts (the list) and settings (the site's name). Every screen is private (`no-store`); a browser that is not
//! signed in as an admin is sent to the sign-in page.

pub mod api;
pub mod service;
