//! CDN purges: when what readers see of a post changes, the edge copies of
//! its exact URLs are purged (Cloudflare's purge-by-URL API, with
//! `FLINT_CDN_PURGE=cloudflare`), so post details can be kept at the edge
//! until they change. Lists cannot be purged by URL (every query string is
//! its own URL), so they keep a short edge lifetime instead. Without a
//! purge configured, nothing is kept at the edge longer than a minute.

pub mod service;
pub mod workflows;
