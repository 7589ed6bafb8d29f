//! Workflow administration: admins list, inspect, cancel and retry runs of
//! the durable workflow engine (`platform::workflow`). There is no `data.rs`:
//! the engine owns its tables.

pub mod api;
pub mod schema;
pub mod service;
