//! Shared machinery used by every feature. Nothing here imports `crate::features`.

pub mod ai;
pub mod auth;
pub mod batch;
pub mod cache;
pub mod clock;
pub mod config;
pub mod content;
pub mod db;
pub mod duration;
pub mod events;
// SQLite's C extension API: the one module of the library allowed `unsafe`.
#[allow(unsafe_code)]
pub mod fts5_bm25;
pub mod http;
// libwebp's encoder (images/webp.rs) is the one other place allowed `unsafe`.
#[allow(unsafe_code)]
pub mod images;
pub mod invalidation;
pub mod json_string;
pub mod mail;
pub mod rate_limit;
pub mod redis;
pub mod search_text;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod turnstile;
pub mod web;
pub mod workflow;
