//! Product features, one folder each: `schema.rs` (types), `data.rs` (SQL
//! only), `service.rs` (business rules; the only layer that may touch the
//! cache), `api.rs` (endpoints). Features may use `platform`; `platform`
//! never uses features.

pub mod accounts;
pub mod system;

use crate::platform::http::Routes;

/// Every feature's endpoints.
pub fn routes() -> Routes {
    Routes::new().merge(system::api::routes()).merge(accounts::api::routes())
}
