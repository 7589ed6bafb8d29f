//! Product features, one folder each: `schema.rs` (types), `data.rs` (SQL
//! only), `service.rs` (business rules; the only layer that may touch the
//! cache), `api.rs` (endpoints). Features may use `platform`; `platform`
//! never uses features.

pub mod accounts;
pub mod posts;
pub mod revisions;
pub mod search;
pub mod site;
pub mod system;
pub mod tags;
pub mod workflows;

use crate::platform::http::Routes;
use crate::platform::workflow::Registry;

/// Every feature's endpoints.
pub fn routes() -> Routes {
    Routes::new()
        .merge(system::api::routes())
        .merge(accounts::api::routes())
        .merge(workflows::api::routes())
        .merge(posts::api::routes())
        .merge(tags::api::routes())
        .merge(revisions::api::routes())
        .merge(site::api::routes())
        .merge(search::api::routes())
}

/// Every feature's durable workflows.
pub fn workflows() -> Registry {
    Registry::new()
        .register(system::workflows::SelfTest)
        .register(crate::platform::invalidation::CacheInvalidate)
        .register(posts::workflows::PostProcess)
        .register(posts::workflows::ScheduledPublish)
        .register(revisions::workflows::AutoSnapshot)
}
