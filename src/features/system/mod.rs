//! Operational endpoints: liveness, readiness, metrics and the OpenAPI document.

pub mod api;
