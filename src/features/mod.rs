//! Product features, one folder each: `schema.rs` (types), `data.rs` (SQL
//! only), `service.rs` (business rules; the only layer that may touch the
//! cache), `api.rs` (endpoints). Features may use `platform`; `platform`
//! never uses features.

pub mod accounts;
pub mod system;
pub mod workflows;

use crate::platform::http::Routes;
use crate::platform::workflow::Registry;

/// Every feature's endpoints.
pub fn routes() -> Routes {
    Routes::new().merge(system::api::routes()).merge(accounts::api::routes()).merge(workflows::api::routes())
}

/// Every feature's durable workflows.
pub fn workflows() -> Registry {
    Registry::new().register(system::workflows::SelfTest)
}
