//! Operations: liveness, readiness, metrics, the OpenAPI document, and the
//! engine self-test workflow.

pub mod api;
pub mod workflows;
