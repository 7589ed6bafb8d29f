//! The public blog: server-rendered pages readers see at `/` (the home page
//! and posts so far), and the theme's stylesheet. A rendered page is cached
//! as ready bytes with its ETag, keyed by the theme and by the versions of
//! the namespaces it was built from, so a publish or a settings change shows
//! on the next request. Uses publishing (posts) and settings (the site).

pub mod api;
pub mod icons;
pub mod service;
