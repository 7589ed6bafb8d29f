//! `AppState`: the services every request can reach (the `DbCtx` of the
//! context chain). Cheap to clone.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::task::TaskTracker;

use crate::platform::ai::AiClient;
use crate::platform::auth::{PasswordHasher, secret::ServerSecret};
use crate::platform::batch::Batches;
use crate::platform::cache::CacheService;
use crate::platform::clock::Clock;
use crate::platform::config::Config;
use crate::platform::db::Db;
use crate::platform::events::EventBus;
use crate::platform::images::ImageWorkers;
use crate::platform::rate_limit::RateLimiter;
use crate::platform::storage::Storage;
use crate::platform::workflow::WorkflowEngine;

#[derive(Clone)]
pub struct AppState(Arc<AppServices>);

pub struct AppServices {
    pub config: Config,
    pub db: Db,
    /// Only service layers use the cache.
    pub cache: CacheService,
    pub limiter: RateLimiter,
    /// Media objects: a folder or an S3-compatible bucket (`STORAGE_URL`).
    pub storage: Storage,
    /// Image resizes (bounded, one per variant at a time) and recent variants.
    pub images: ImageWorkers,
    /// Summaries from an OpenAI-compatible endpoint, when configured.
    pub ai: Option<AiClient>,
    /// Durable workflows: create and manage runs (workers execute them).
    pub workflows: WorkflowEngine,
    /// Domain events: emitted with the change, delivered to each subscriber as its own run.
    pub events: EventBus,
    /// Items (page views) collected in memory and queued a batch at a time.
    pub batches: Batches,
    pub clock: Clock,
    pub passwords: PasswordHasher,
    /// The page templates: the embedded theme and `FLINT_THEME_DIR`'s overrides.
    pub theme: crate::platform::web::Theme,
    /// Sign-in with GitHub and OpenID Connect, as configured.
    pub logins: crate::platform::auth::external::LoginProviders,
    pub secret: ServerSecret,
    /// Background work that shutdown waits for.
    pub tasks: TaskTracker,
    pub metrics: PrometheusHandle,
    /// The OpenAPI document, built once from the declared endpoints.
    pub openapi: Arc<serde_json::Value>,
}

impl AppState {
    pub fn new(services: AppServices) -> Self {
        Self(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppServices;

    fn deref(&self) -> &AppServices {
        &self.0
    }
}

/// The first context of the chain (`DbCtx -> SessionCtx -> AuthCtx ->
/// AdminCtx`): the app's services (database, cache, config, clock, ...),
/// for service functions that act for nobody in particular — public reads,
/// and whatever workflows and subscribers call. Never fails to extract.
#[derive(Clone)]
pub struct DbCtx(pub AppState);

impl std::ops::Deref for DbCtx {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.0
    }
}
