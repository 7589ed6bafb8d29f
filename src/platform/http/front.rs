//! The front door: what happens to every request before routing, in one
//! service wrapped around the router (so it is built once per connection, not
//! cloned into every route):
//!
//! * the request id (`X-Request-Id`, made when absent or unusable, echoed on
//!   the response and in every error envelope) and one tracing span;
//! * a body over `FLINT_BODY_LIMIT` refused from its `Content-Length` before
//!   it is read (413), and bounded while it is read when the length is unknown;
//! * `FLINT_REQUEST_TIMEOUT` (503) and panics (the opaque 500, logged once);
//! * request metrics by route, method and status;
//! * every error leaves as the JSON envelope with cache headers.
//!
//! Endpoints name their route for the metrics with [`name_route`] (the
//! guard does).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tower::{Layer, Service};
use tracing::Instrument;

use super::cache_policy::CachePolicy;
use super::error::{ClientError, code_for_status, internal_error_response};

pub static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// What the front door knows of the request being handled on this task.
struct RequestScope {
    id: String,
    /// The connection's peer (absent for requests not read from a socket).
    peer: Option<SocketAddr>,
    /// Set by the endpoint that answers (see [`name_route`]).
    route: Cell<Option<Arc<str>>>,
}

tokio::task_local! {
    static REQUEST: RequestScope;
}

/// The id of the request being handled on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST.try_with(|request| request.id.clone()).ok()
}

/// The address of the peer that sent the current request (the direct
/// peer: a proxy's address when behind one; see `client_ip`). Kept here
/// rather than as a request extension, which cost a map insert and growth on
/// every request.
pub fn current_peer() -> Option<SocketAddr> {
    REQUEST.try_with(|request| request.peer).ok().flatten()
}

/// Names the route pattern answering the current request, for the metrics
/// (requests nobody names, such as unknown paths, count as "unmatched").
pub fn name_route(route: &Arc<str>) {
    let _ = REQUEST.try_with(|request| request.route.set(Some(route.clone())));
}

/// A client-supplied id is kept when it is short printable ASCII, so ids can
/// be correlated across a proxy; anything else is replaced.
fn request_id_of(request: &Request) -> String {
    if let Some(given) = request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
    {
        return given.to_owned();
    }
    let mut buffer = uuid::Uuid::encode_buffer();
    uuid::Uuid::now_v7().hyphenated().encode_lower(&mut buffer).to_owned()
}

/// Wraps the router in the [`Front`] service.
#[derive(Clone, Copy)]
pub struct FrontLayer {
    pub body_limit: usize,
    pub timeout: Duration,
    /// The peer of the connection this service answers.
    pub peer: Option<SocketAddr>,
}

impl<S> Layer<S> for FrontLayer {
    type Service = Front<S>;

    fn layer(&self, inner: S) -> Front<S> {
        Front { inner, settings: *self }
    }
}

/// See the module docs. One hand-written service instead of a stack of
/// tower layers: each layer is another future to poll and move, and this
/// runs on every request.
#[derive(Clone)]
pub struct Front<S> {
    inner: S,
    settings: FrontLayer,
}

impl<S> Service<Request> for Front<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone that was driven to readiness serves this request.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(front(inner, self.settings, request))
    }
}

async fn front<S>(inner: S, settings: FrontLayer, request: Request) -> Result<Response, Infallible>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let request_id = request_id_of(&request);
    let header_value = HeaderValue::from_str(&request_id).ok();
    let method = request.method().clone();
    let span = tracing::info_span!("request", %method, path = %request.uri().path(), request_id = %request_id);
    let started = Instant::now();

    let scope = RequestScope { id: request_id, peer: settings.peer, route: Cell::new(None) };
    let answer = REQUEST.scope(scope, async move {
        let response = handle(inner, settings, request, started).await;
        (response, REQUEST.with(|request| request.route.take()))
    });
    let (mut response, route) = answer.instrument(span.clone()).await;

    if let Some(value) = header_value {
        response.headers_mut().insert(REQUEST_ID_HEADER.clone(), value);
    }
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        CachePolicy::for_error_status(response.status()).apply(response.headers_mut());
    }
    // Whether this client got it compressed or not, another may: shared
    // caches must keep the variants apart (see `compression`).
    let varies = |v: &HeaderValue| v.as_bytes().windows(15).any(|w| w.eq_ignore_ascii_case(b"accept-encoding"));
    if !response.headers().get_all(header::VARY).iter().any(varies) {
        response.headers_mut().append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }

    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    record(route.as_deref().unwrap_or("unmatched"), &method, status, elapsed.as_secs_f64());
    span.in_scope(|| tracing::info!(status, latency_ms = elapsed.as_secs_f64() * 1000.0, "request finished"));
    Ok(response)
}

/// Body limit, timeout and panics around the router (inside the request's
/// id scope and span, so their error envelopes carry the id).
async fn handle<S>(mut inner: S, settings: FrontLayer, request: Request, started: Instant) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let declared_length = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > settings.body_limit as u64) {
        return normalise_error(StatusCode::PAYLOAD_TOO_LARGE.into_response());
    }
    let request = if declared_length == Some(0) || request.method() == Method::GET || request.method() == Method::HEAD {
        request
    } else {
        request.map(|body| Body::new(http_body_util::Limited::new(body, settings.body_limit)))
    };

    let call = AssertUnwindSafe(async move { inner.call(request).await }).catch_unwind();
    let mut call = std::pin::pin!(call);
    // The timer is armed only when the answer is not ready at once: most
    // (cache hits) are, and a timer costs a registration per request.
    let outcome = match std::future::poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx))).await {
        Poll::Ready(outcome) => Ok(outcome),
        Poll::Pending => {
            let deadline = tokio::time::Instant::from_std(started + settings.timeout);
            // Boxed so the timer's room is not part of every request's future.
            Box::pin(tokio::time::timeout_at(deadline, call)).await
        }
    };
    match outcome {
        Ok(Ok(Ok(response))) => normalise_error(response),
        Ok(Err(panic)) => panic_response(panic),
        Err(_elapsed) => normalise_error(StatusCode::SERVICE_UNAVAILABLE.into_response()),
    }
}

/// The metric handles of one route, by method and status.
/// `None` stands for any non-standard method.
type RouteMetrics = Vec<(Option<Method>, u16, metrics::Counter, metrics::Histogram)>;

thread_local! {
    /// Handles resolved once per thread: the `metrics` macros build, hash and
    /// look up their key (allocating the labels) on every call.
    /// foldhash rather than SipHash: the keys are our own route patterns.
    static HTTP_METRICS: RefCell<HashMap<String, RouteMetrics, foldhash::fast::RandomState>> = RefCell::new(HashMap::default());
}

/// Counts the request and records its duration, labelled by route pattern,
/// method (standard ones only, so clients cannot mint label values) and status.
fn record(route: &str, method: &Method, status: u16, seconds: f64) {
    let method = match *method {
        Method::GET | Method::HEAD | Method::POST | Method::PUT | Method::PATCH | Method::DELETE | Method::OPTIONS => Some(method.clone()),
        _ => None,
    };
    HTTP_METRICS.with_borrow_mut(|by_route| {
        if by_route.get(route).is_none() {
            by_route.insert(route.to_owned(), Vec::new());
        }
        let Some(handles) = by_route.get_mut(route) else { return };
        let index = match handles.iter().position(|(m, s, ..)| *m == method && *s == status) {
            Some(index) => index,
            None => {
                let method_label = method.as_ref().map_or_else(|| "other".to_owned(), Method::to_string);
                let labels = [("route", route.to_owned()), ("method", method_label), ("status", status.to_string())];
                let counter = metrics::counter!("http_requests_total", &labels);
                let histogram = metrics::histogram!("http_request_duration_seconds", &labels[..2]);
                handles.push((method, status, counter, histogram));
                handles.len() - 1
            }
        };
        let (_, _, counter, histogram) = &handles[index];
        counter.increment(1);
        histogram.record(seconds);
    });
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
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
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
