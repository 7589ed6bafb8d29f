//! `/healthz` (the process answers), `/readyz` (its database answers),
//! `/metrics` (Prometheus text) and `/api/openapi.json`.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;

use crate::platform::http::{CachePolicy, DbCtx, Endpoint, Routes};

#[derive(Serialize, JsonSchema)]
pub struct Health {
    pub status: &'static str,
}

#[derive(Serialize, JsonSchema)]
pub struct Readiness {
    /// `ok` when every dependency answered, else `unavailable`.
    pub status: &'static str,
    pub database: Dependency,
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
                .summary("Readiness: the database answers (503 otherwise)")
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
    let ping = tokio::time::timeout(std::time::Duration::from_secs(2), ctx.db.ping()).await;
    let error = match ping {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some("timed out after 2s".to_owned()),
    };
    if let Some(error) = &error {
        tracing::warn!(%error, "readiness check failed");
    }
    let ok = error.is_none();
    let body =
        Readiness { status: if ok { "ok" } else { "unavailable" }, database: Dependency { backend: ctx.db.backend_name(), ok, error } };
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let mut response = (status, Json(body)).into_response();
    // A failed probe must reach the prober, never a CDN's 10-second 5xx cache.
    CachePolicy::Private.apply(response.headers_mut());
    response
}

async fn metrics(ctx: DbCtx) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], ctx.metrics.render()).into_response()
}

async fn openapi(ctx: DbCtx) -> Json<serde_json::Value> {
    Json((*ctx.openapi).clone())
}
