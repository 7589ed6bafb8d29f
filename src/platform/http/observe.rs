//! Per-request observation: the request id (`X-Request-Id`, made when absent
//! or unusable, echoed on the response and in every error envelope), one
//! tracing span, request metrics by route and status, and the guarantee that
//! every error leaves as the JSON envelope with cache headers.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::cache_policy::CachePolicy;
use super::error::{ClientError, code_for_status, internal_error_response};

pub static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// A client-supplied id is kept when it is short printable ASCII, so ids can
/// be correlated across a proxy; anything else is replaced.
fn request_id_of(request: &Request) -> String {
    request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

pub async fn observe(request: Request, next: Next) -> Response {
    let request_id = request_id_of(&request);
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".to_owned());
    let span = tracing::info_span!("request", %method, path = %request.uri().path(), request_id = %request_id);
    let started = Instant::now();

    let mut response =
        REQUEST_ID.scope(request_id.clone(), async move { normalise_error(next.run(request).await) }).instrument(span.clone()).await;

    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER.clone(), value);
    }
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        CachePolicy::for_error_status(response.status()).apply(response.headers_mut());
    }

    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let labels = [("route", route), ("method", method.to_string()), ("status", status.to_string())];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels[..2]).record(elapsed.as_secs_f64());
    span.in_scope(|| tracing::info!(status, latency_ms = elapsed.as_secs_f64() * 1000.0, "request finished"));
    response
}

/// Rewrites an error response that is not already our JSON envelope (axum's
/// 404/405/413 texts, a timeout's empty 503) into the envelope, keeping its
/// status and headers such as `Allow`.
fn normalise_error(response: Response) -> Response {
    let status = response.status();
    let is_json =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"));
    if status.as_u16() < 400 || is_json {
        return response;
    }
    let (code, message) = code_for_status(status);
    let mut envelope =
        ClientError { status, code: code.into(), message: message.into(), fields: None, retry_after_ms: None }.into_response();
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            envelope.headers_mut().insert(name.clone(), value.clone());
        }
    }
    envelope
}

/// Turns a panic inside a handler into the opaque 500, logging it once.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    tracing::error!(panic = %message, "handler panicked");
    let mut response = internal_error_response();
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}
