//! The front door: what happens to every request before routing, in one
//! service wrapped around the router (so it is built once per connection, not
//! cloned into every route):
//!
//! * the request id (`X-Request-Id`, made when absent or unusable, echoed on
//!   the response and in every error envelope) and one tracing span;
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
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tower::{Layer, Service};
use tracing::Instrument;

use super::cache_policy::CachePolicy;
use super::error::{ClientError, code_for_status, internal_error_response};
use super::router::{Routed, Router};

pub static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// What the front door knows of the request being handled on this task.
struct RequestScope {
    id: HeaderValue,
    /// The connection's peer (absent for requests not read from a socket).
    peer: Option<SocketAddr>,
    /// Set by the endpoint that answers (see [`name_route`]).
    route: Cell<Option<Arc<RouteLabel>>>,
}

tokio::task_local! {
    static REQUEST: RequestScope;
}

/// The id of the request being handled on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST.try_with(|request| request.id.to_str().ok().map(str::to_owned)).ok().flatten()
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
pub fn name_route(route: &Arc<RouteLabel>) {
    let _ = REQUEST.try_with(|request| request.route.set(Some(route.clone())));
}

/// A route's pattern and method as the metrics label them, with the metric
/// handles of its usual outcome (its own method, 200) made on first use.
pub struct RouteLabel {
    pattern: Arc<str>,
    method: Method,
    ok: OnceLock<(metrics::Counter, metrics::Histogram)>,
}

impl RouteLabel {
    pub fn new(pattern: &str, method: Method) -> Arc<Self> {
        Arc::new(RouteLabel { pattern: Arc::from(pattern), method, ok: OnceLock::new() })
    }
}

/// A client-supplied id is kept when it is short printable ASCII, so ids can
/// be correlated across a proxy; anything else is replaced by a new UUIDv7.
fn request_id_of(request: &Request, now: Instant) -> HeaderValue {
    if let Some(given) = request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.as_bytes().iter().all(u8::is_ascii_graphic))
    {
        return given.clone();
    }
    let mut buffer = uuid::Uuid::encode_buffer();
    let text = new_request_uuid(now).hyphenated().encode_lower(&mut buffer);
    HeaderValue::from_str(text).expect("a UUID is a valid header value")
}

/// A UUIDv7 for a request id, from the clock reading the request already
/// took and a per-thread generator. `Uuid::now_v7` reads the wall clock again
/// and takes a process-wide lock for strictly increasing ids, which request
/// ids do not need: time order to the millisecond and 74 random bits do.
fn new_request_uuid(now: Instant) -> uuid::Uuid {
    static ANCHOR: std::sync::LazyLock<(Instant, u64)> = std::sync::LazyLock::new(|| {
        let unix_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        (Instant::now(), unix_ms)
    });
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let mut seed = [0u8; 8];
            getrandom::fill(&mut seed).expect("the OS random source works");
            u64::from_le_bytes(seed) | 1
        });
    }
    let (anchor, anchor_unix_ms) = *ANCHOR;
    let unix_ms = anchor_unix_ms + now.saturating_duration_since(anchor).as_millis() as u64;
    let random = STATE.with(|state| {
        let next = || {
            // splitmix64: cheap, and well mixed enough for ids (they are not secrets).
            let value = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
            state.set(value);
            let mut z = value;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let (a, b) = (next(), next());
        let mut bytes = [0u8; 10];
        bytes[..8].copy_from_slice(&a.to_le_bytes());
        bytes[8..].copy_from_slice(&b.to_le_bytes()[..2]);
        bytes
    });
    uuid::Builder::from_unix_timestamp_millis(unix_ms, &random).into_uuid()
}

/// Wraps the router in the [`Front`] service.
#[derive(Clone, Copy)]
pub struct FrontLayer {
    pub timeout: Duration,
    /// The peer of the connection this service answers.
    pub peer: Option<SocketAddr>,
}

impl Layer<Arc<Router>> for FrontLayer {
    type Service = Front;

    fn layer(&self, router: Arc<Router>) -> Front {
        Front { router, settings: *self }
    }
}

/// See the module docs. One hand-written service instead of a stack of
/// tower layers: each layer is another future to poll and move, and this
/// runs on every request.
#[derive(Clone)]
pub struct Front {
    router: Arc<Router>,
    settings: FrontLayer,
}

impl Service<Request> for Front {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        self.answer(request)
    }
}

impl Front {
    /// Answers one request (the service's `call`, without `&mut`).
    pub fn answer(&self, request: Request) -> BoxFuture<'static, Result<Response, Infallible>> {
        Box::pin(front(self.router.clone(), self.settings, request))
    }
}

async fn front(router: Arc<Router>, settings: FrontLayer, request: Request) -> Result<Response, Infallible> {
    let started = Instant::now();
    let request_id = request_id_of(&request, started);
    let method = request.method().clone();
    let span = tracing::info_span!("request", %method, path = %request.uri().path(), request_id = request_id.to_str().unwrap_or_default());

    let wants_page = router.has_error_pages() && wants_html_page(&request);
    let cors_origin = super::cors::allowed_origin(router.config(), request.headers());
    if let Some(origin) = &cors_origin
        && let Some(mut answer) = super::cors::preflight(request.method(), request.headers(), origin)
    {
        answer.headers_mut().insert(REQUEST_ID_HEADER.clone(), request_id);
        return Ok(answer);
    }
    let scope = RequestScope { id: request_id.clone(), peer: settings.peer, route: Cell::new(None) };
    let routes: &Router = &router;
    let answer = REQUEST.scope(scope, async move {
        let response = handle(routes, settings, request, started).await;
        (response, REQUEST.with(|request| request.route.take()))
    });
    let (mut response, route) = answer.instrument(span.clone()).await;
    if wants_page && is_json_error(&response) {
        let id = request_id.to_str().unwrap_or_default().to_owned();
        if let Some(page) = router.error_page(response.status(), id) {
            response = page.instrument(span.clone()).await;
        }
    }

    response.headers_mut().insert(REQUEST_ID_HEADER.clone(), request_id);
    if let Some(origin) = cors_origin {
        super::cors::allow(&mut response, origin);
    } else if !router.config().cors_origins.is_empty() {
        // Shared caches must not hand a response without CORS headers to a
        // front-end that needs them.
        response.headers_mut().append(header::VARY, HeaderValue::from_static("origin"));
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
    record(route.as_deref(), &method, status, elapsed.as_secs_f64());
    span.in_scope(|| tracing::info!(status, latency_ms = elapsed.as_secs_f64() * 1000.0, "request finished"));
    Ok(response)
}

/// Timeout and panics around the router (inside the request's
/// id scope and span, so their error envelopes carry the id).
async fn handle(router: &Router, settings: FrontLayer, request: Request, started: Instant) -> Response {
    let call = AssertUnwindSafe(async move {
        match router.route(request) {
            Routed::Endpoint(answer) => answer.await,
            Routed::Refused(refusal) => refusal,
        }
    })
    .catch_unwind();
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
        Ok(Ok(response)) => normalise_error(response),
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
fn record(route: Option<&RouteLabel>, method: &Method, status: u16, seconds: f64) {
    if let Some(label) = route
        && status == 200
        && *method == label.method
    {
        let (counter, histogram) = label.ok.get_or_init(|| metric_handles(&label.pattern, Some(method), status));
        counter.increment(1);
        histogram.record(seconds);
        return;
    }
    let route = route.map_or("unmatched", |label| &label.pattern);
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
                let (counter, histogram) = metric_handles(route, method.as_ref(), status);
                handles.push((method, status, counter, histogram));
                handles.len() - 1
            }
        };
        let (_, _, counter, histogram) = &handles[index];
        counter.increment(1);
        histogram.record(seconds);
    });
}

/// The request counter of a route, method and status, and the duration
/// histogram of the route and method.
fn metric_handles(route: &str, method: Option<&Method>, status: u16) -> (metrics::Counter, metrics::Histogram) {
    let method_label = method.map_or_else(|| "other".to_owned(), Method::to_string);
    let labels = [("route", route.to_owned()), ("method", method_label), ("status", status.to_string())];
    (metrics::counter!("http_requests_total", &labels), metrics::histogram!("http_request_duration_seconds", &labels[..2]))
}

/// A browser's GET of a page (not of the API, whose clients read JSON).
fn wants_html_page(request: &Request) -> bool {
    let path = request.uri().path();
    matches!(*request.method(), Method::GET | Method::HEAD)
        && !path.starts_with("/api/")
        && !path.starts_with("/_fn/")
        && request.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"))
}

/// A 404 or 5xx answered with the JSON envelope (not by a page of its own).
fn is_json_error(response: &Response) -> bool {
    let status = response.status();
    (status == StatusCode::NOT_FOUND || status.is_server_error())
        && response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"))
}

/// Rewrites an error response that is not already our JSON envelope (axum's
/// 404/405/413 texts, a timeout's empty 503) into the envelope, keeping its
/// status and headers such as `Allow`. A page's own error (HTML saying what
/// went wrong beside its form) stays as it is.
fn normalise_error(response: Response) -> Response {
    let status = response.status();
    if status.as_u16() < 400 {
        return response;
    }
    let ours = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if ours {
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
