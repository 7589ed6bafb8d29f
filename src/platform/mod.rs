//! Shared machinery used by every feature. Nothing here imports `crate::features`.

pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod duration;
pub mod http;
pub mod state;
pub mod telemetry;
