//! `/healthz` (the process answers), `/readyz` (its database answers),
//! `/metrics` (Prometheus text) and `/api/openapi.json`.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;

use crate::platform::http::{CachePolicy, DbCtx, Endpoint, Routes};
use crate::platform::rate_limit::FailureMode;

#[derive(Serialize, JsonSchema)]
pub struct Health {
    pub status: &'static str,
}

#[derive(Serialize, JsonSchema)]
pub struct Readiness {
    /// `ok` when everything answered; `degraded` when only the cache or the
    /// limiter store failed (flint still serves: cache misses, and the
    /// limiter's failure mode); `unavailable` (503) when the database failed.
    pub status: &'static str,
    pub database: Dependency,
    pub cache: Dependency,
    #[serde(rename = "rateLimiter")]
    pub rate_limiter: LimiterDependency,
}

#[derive(Serialize, JsonSchema)]
pub struct LimiterDependency {
    #[serde(flatten)]
    pub store: Dependency,
    /// `open` (allow when the store fails) or `closed` (refuse).
    #[serde(rename = "failureMode")]
    pub failure_mode: &'static str,
}

#[derive(Serialize, JsonSchema)]
pub struct Dependency {
    pub backend: &'static str,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub fn routes() -> Routes {
    Routes::new()
        .route(
            Endpoint::rest(axum::http::Method::GET, "/healthz", "healthz")
                .tag("system")
                .summary("Liveness: the process answers")
                .output::<Health>()
                .handler(healthz),
        )
        .route(
            Endpoint::rest(axum::http::Method::GET, "/readyz", "readyz")
                .tag("system")
                .summary("Readiness: database (503 when down), cache and rate-limiter stores")
                .output::<Readiness>()
                .handler(readyz),
        )
        .route(
            Endpoint::rest(axum::http::Method::GET, "/metrics", "metrics")
                .tag("system")
                .summary("Prometheus metrics (text format)")
                .handler(metrics),
        )
        .route(
            Endpoint::rest(axum::http::Method::GET, "/api/openapi.json", "openapi")
                .tag("system")
                .summary("This API as an OpenAPI 3.1 document")
                .cache(CachePolicy::Public)
                .handler(openapi),
        )
}

async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

async fn readyz(ctx: DbCtx) -> Response {
    let probe = std::time::Duration::from_secs(2);
    let (database, cache, limiter) = tokio::join!(
        bounded(probe, async { ctx.db.ping().await.map_err(|e| e.to_string()) }),
        bounded(probe, ctx.cache.ping()),
        bounded(probe, ctx.limiter.ping()),
    );
    let database = Dependency::from(ctx.db.backend_name(), database);
    let cache = Dependency::from(ctx.cache.backend_name(), cache);
    let limiter = Dependency::from(ctx.limiter.backend_name(), limiter);
    for (name, dependency) in [("database", &database), ("cache", &cache), ("rate limiter", &limiter)] {
        if let Some(error) = &dependency.error {
            tracing::warn!(dependency = name, %error, "readiness check failed");
        }
    }
    let (status, code) = if !database.ok {
        ("unavailable", StatusCode::SERVICE_UNAVAILABLE)
    } else if !cache.ok || !limiter.ok {
        ("degraded", StatusCode::OK)
    } else {
        ("ok", StatusCode::OK)
    };
    let failure_mode = match ctx.limiter.failure_mode() {
        FailureMode::Open => "open",
        FailureMode::Closed => "closed",
    };
    let body = Readiness { status, database, cache, rate_limiter: LimiterDependency { store: limiter, failure_mode } };
    let mut response = (code, Json(body)).into_response();
    // A failed probe must reach the prober, never a CDN's 10-second 5xx cache.
    CachePolicy::Private.apply(response.headers_mut());
    response
}

async fn bounded(limit: std::time::Duration, check: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::time::timeout(limit, check).await.unwrap_or_else(|_| Err(format!("timed out after {limit:?}")))
}

impl Dependency {
    fn from(backend: &'static str, result: Result<(), String>) -> Self {
        Dependency { backend, ok: result.is_ok(), error: result.err() }
    }
}

async fn metrics(ctx: DbCtx) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], ctx.metrics.render()).into_response()
}

async fn openapi(ctx: DbCtx) -> Json<serde_json::Value> {
    Json((*ctx.openapi).clone())
}
