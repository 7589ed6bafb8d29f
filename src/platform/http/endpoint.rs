//! Endpoint declarations: every server function (`/_fn/<name>`) and REST
//! route is declared once, with its auth level, whether API tokens may call
//! it (and with which scope), its cache policy and its input/output types.
//! The declaration both mounts the handler behind the guard below and feeds
//! the OpenAPI document, so the two cannot drift apart.
//!
//! The guard, per request: refuses cross-origin browser writes (CSRF),
//! applies the endpoint's rate limits (429), resolves the session where the
//! level needs one (401/403) — all before the body is read — then stamps the cache policy (auth routes are always private),
//! answers `If-None-Match` on cacheable GETs, and re-sends a session cookie
//! whose expiry slid forward.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodFilter;
use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::platform::auth::Scope;
use crate::platform::cache::weak_etag;
use crate::platform::config::Config;
use crate::platform::rate_limit::{Decision, RateLimit, Verdict};
use crate::platform::state::AppState;

use super::cache_policy::CachePolicy;
use super::client_ip::{client_ip, rate_limit_identity};
use super::context::{CookieRefresh, has_bearer, resolve_session};
use super::error::AppError;
use super::front;
use super::router::{BodyLimit, BoxedHandler, ErrorPages, Router};

/// Who may call an endpoint (the original's middleware levels), from the
/// most open to the strictest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Anyone; the session is not looked up.
    Public,
    /// Anyone; the session is looked up when present.
    Session,
    /// A signed-in user (401 `UNAUTHENTICATED`).
    Auth,
    /// An admin (403 `PERMISSION_DENIED`).
    Admin,
}

/// Whether a bearer API token may stand in for a browser session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenAccess {
    /// Browser sessions only (account and token management).
    Never,
    /// Any valid token.
    Any,
    /// Tokens carrying this scope.
    Scope(Scope),
}

impl Access {
    /// The stricter of two levels (usable in constants).
    pub const fn stricter(self, other: Access) -> Access {
        if (self as u8) >= (other as u8) { self } else { other }
    }
}

/// The access level an extractor's type implies: a handler that takes an
/// `AdminCtx` can only run for an admin, one that takes only a `DbCtx` for
/// anyone. An endpoint's access is derived from its handler's extractors,
/// so the two cannot disagree.
pub trait RequiresAccess {
    const ACCESS: Access;
}

macro_rules! requires {
    ($level:ident: $($t:ty),* $(,)?) => { $(impl RequiresAccess for $t { const ACCESS: Access = Access::$level; })* };
}
requires!(Public: super::context::DbCtx, super::router::PathParam, crate::platform::auth::session::ClientInfo, Request, axum::http::HeaderMap);
requires!(Session: super::context::SessionCtx);
requires!(Auth: super::context::AuthCtx);
requires!(Admin: super::context::AdminCtx);
impl<T> RequiresAccess for super::extract::ValidJson<T> {
    const ACCESS: Access = Access::Public;
}
impl<T> RequiresAccess for super::extract::ValidQuery<T> {
    const ACCESS: Access = Access::Public;
}
impl<T> RequiresAccess for super::extract::PageForm<T> {
    const ACCESS: Access = Access::Public;
}

/// The access a handler's extractors add up to (axum's `Handler<T>`
/// argument tuples: a marker, then the extractors).
pub trait HandlerAccess {
    const ACCESS: Access;
}

impl HandlerAccess for ((),) {
    const ACCESS: Access = Access::Public;
}

macro_rules! handler_access {
    ($($t:ident),+) => {
        impl<M, $($t: RequiresAccess),+> HandlerAccess for (M, $($t,)+) {
            const ACCESS: Access = Access::Public$(.stricter($t::ACCESS))+;
        }
    };
}
handler_access!(T1);
handler_access!(T1, T2);
handler_access!(T1, T2, T3);
handler_access!(T1, T2, T3, T4);
handler_access!(T1, T2, T3, T4, T5);

/// The policies of one endpoint, visible to extractors through the request.
#[derive(Clone, Debug)]
pub struct EndpointMeta {
    pub access: Access,
    pub token: TokenAccess,
    pub cache: CachePolicy,
    /// Every limit must allow the request (checked in order).
    pub rate_limits: Vec<RateLimit>,
    /// `METHOD:/path`, the default bucket key of the limits.
    pub route_key: String,
    /// Needs a Turnstile token when `FLINT_TURNSTILE_SECRET` is set.
    pub turnstile: bool,
    /// A session-level endpoint whose anonymous answers are the same for
    /// everyone: those get `cache`; a signed-in caller's are private.
    pub shared_when_anonymous: bool,
}

type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// One declared endpoint (see the module docs).
#[derive(Clone)]
pub struct Endpoint {
    pub method: Method,
    pub path: String,
    pub name: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    pub meta: EndpointMeta,
    /// `access(..)` as written, checked against the handler's extractors.
    declared_access: Option<Access>,
    /// Whether `tokens(..)` was called (every non-public endpoint must say).
    tokens_declared: bool,
    pub input: Option<SchemaFn>,
    /// The body's media type (`application/json`, or `multipart/form-data`).
    pub input_type: &'static str,
    /// The input is the query string, whatever the method (RFC 8058's
    /// one-click POST carries its data in the URL).
    pub input_in_query: bool,
    pub output: Option<SchemaFn>,
    /// An HTML page (answers `text/html`, errors too) rather than JSON.
    pub page: bool,
    /// The largest body this endpoint reads (default `FLINT_BODY_LIMIT`).
    body_limit: Option<BodyLimit>,
}

impl Endpoint {
    /// A read server function: `GET /_fn/<name>`, input in the query string.
    pub fn query(name: &'static str) -> Self {
        Self::rest(Method::GET, &format!("/_fn/{name}"), name)
    }

    /// A server function with side effects: `POST /_fn/<name>`, JSON body.
    pub fn mutation(name: &'static str) -> Self {
        Self::rest(Method::POST, &format!("/_fn/{name}"), name)
    }

    /// A REST route at a fixed path.
    pub fn rest(method: Method, path: &str, name: &'static str) -> Self {
        let route_key = format!("{method}:{path}");
        Endpoint {
            method,
            path: path.to_owned(),
            name,
            summary: "",
            tag: "",
            meta: EndpointMeta {
                access: Access::Public,
                token: TokenAccess::Never,
                cache: CachePolicy::Private,
                rate_limits: Vec::new(),
                route_key,
                turnstile: false,
                shared_when_anonymous: false,
            },
            declared_access: None,
            tokens_declared: false,
            input: None,
            input_type: "application/json",
            input_in_query: false,
            output: None,
            page: false,
            body_limit: None,
        }
    }

    /// An HTML page at a fixed path: it answers `text/html` (its errors
    /// too), and a POST reads an `application/x-www-form-urlencoded` form.
    pub fn page(method: Method, path: &str, name: &'static str) -> Self {
        let mut endpoint = Self::rest(method, path, name);
        endpoint.page = true;
        endpoint.input_type = "application/x-www-form-urlencoded";
        endpoint
    }

    pub fn summary(mut self, summary: &'static str) -> Self {
        self.summary = summary;
        self
    }

    pub fn tag(mut self, tag: &'static str) -> Self {
        self.tag = tag;
        self
    }

    /// States the access level; it must be the one the handler's
    /// extractors imply (else the route is refused). Optional: the level is
    /// derived from the handler either way.
    pub fn access(mut self, access: Access) -> Self {
        self.declared_access = Some(access);
        self
    }

    /// Whether API tokens may call this endpoint. Every endpoint that looks
    /// at the caller must say (else the route is refused): a scope, any
    /// token, or [`TokenAccess::Never`] for browser sessions only.
    pub fn tokens(mut self, token: TokenAccess) -> Self {
        self.meta.token = token;
        self.tokens_declared = true;
        self
    }

    /// Tokens holding `scope` may call this endpoint.
    pub fn scope(self, scope: Scope) -> Self {
        self.tokens(TokenAccess::Scope(scope))
    }

    /// Limits each client to `capacity` calls per `interval` (several limits
    /// may be stacked, e.g. per minute and per hour).
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.meta.rate_limits.push(limit);
        self
    }

    /// With `FLINT_TURNSTILE_SECRET` set, callers must send an
    /// `X-Turnstile-Token` header (checked before the rate limits).
    pub fn turnstile(mut self) -> Self {
        self.meta.turnstile = true;
        self
    }

    /// The cache policy of successful responses (errors get theirs by status).
    pub fn cache(mut self, cache: CachePolicy) -> Self {
        self.meta.cache = cache;
        self
    }

    /// For a session-level endpoint (a public page that shows a signed-in
    /// reader their own forms): anonymous callers' answers get the
    /// [`Endpoint::cache`] policy, a signed-in caller's are private.
    pub fn shared_when_anonymous(mut self) -> Self {
        self.meta.shared_when_anonymous = true;
        self
    }

    /// This endpoint's own body limit, from the configuration (uploads),
    /// instead of `FLINT_BODY_LIMIT`.
    pub fn body_limit(mut self, limit: BodyLimit) -> Self {
        self.body_limit = Some(limit);
        self
    }

    pub fn input<T: JsonSchema>(mut self) -> Self {
        self.input = Some(|g| g.subschema_for::<T>());
        self
    }

    /// A `multipart/form-data` body whose parts `T` describes (files as
    /// strings of format `binary`).
    pub fn multipart_input<T: JsonSchema>(mut self) -> Self {
        self.input = Some(|g| g.subschema_for::<T>());
        self.input_type = "multipart/form-data";
        self
    }

    /// Input from the query string on a method with a body.
    pub fn query_input<T: JsonSchema>(mut self) -> Self {
        self.input = Some(|g| g.subschema_for::<T>());
        self.input_in_query = true;
        self
    }

    pub fn output<T: JsonSchema>(mut self) -> Self {
        self.output = Some(|g| g.subschema_for::<T>());
        self
    }

    /// The path as OpenAPI writes it: a trailing `{*name}` (which may hold
    /// `/`) is `{name}`.
    pub fn openapi_path(&self) -> String {
        self.path.replace("{*", "{")
    }

    /// The cache policy actually applied to a successful response.
    pub fn effective_cache(&self) -> CachePolicy {
        if self.meta.access == Access::Public || (self.meta.access == Access::Session && self.meta.shared_when_anonymous) {
            self.meta.cache
        } else {
            CachePolicy::Private
        }
    }

    /// Mounts `handler` for this endpoint behind the guard. The endpoint's
    /// access is what the handler's extractors require.
    ///
    /// Panics (the router is refused at start) when a declared access
    /// disagrees with the handler's, or when an endpoint that looks at the
    /// caller does not say whether API tokens may call it.
    pub fn handler<H, T>(mut self, handler: H) -> Route
    where
        H: Handler<T, AppState>,
        T: HandlerAccess + 'static,
    {
        assert!(MethodFilter::try_from(self.method.clone()).is_ok(), "endpoints use standard methods");
        let derived = T::ACCESS;
        if let Some(declared) = self.declared_access {
            assert!(
                declared == derived,
                "endpoint {} is declared {declared:?}, but its handler's extractors require {derived:?}: declare what the handler takes",
                self.name
            );
        }
        self.meta.access = derived;
        assert!(
            derived == Access::Public || self.tokens_declared,
            "endpoint {} ({derived:?}) does not say whether API tokens may call it: add .scope(..) or .tokens(..)",
            self.name
        );
        let meta = Arc::new(EndpointMeta { cache: self.effective_cache(), ..self.meta.clone() });
        let route = front::RouteLabel::new(&self.path, self.method.clone());
        let call: BoxedHandler = Arc::new(move |request: Request, state: AppState| {
            front::name_route(&route);
            let (meta, handler) = (meta.clone(), handler.clone());
            Box::pin(async move { guard(&meta, &state, request, |request| handler.call(request, state.clone())).await })
        });
        Route { endpoint: self, call }
    }
}

/// An endpoint with its guarded handler.
pub struct Route {
    endpoint: Endpoint,
    call: BoxedHandler,
}

/// A feature's (or the whole app's) endpoints.
#[derive(Default)]
pub struct Routes {
    routes: Vec<Route>,
    error_pages: Option<ErrorPages>,
}

impl Routes {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn route(mut self, route: Route) -> Self {
        self.routes.push(route);
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.routes.extend(other.routes);
        self.error_pages = self.error_pages.or(other.error_pages);
        self
    }

    /// What a browser (`Accept: text/html`) gets instead of the JSON
    /// envelope when a GET outside `/api/` and `/_fn/` ends in a 404 or a
    /// 5xx that no page answered (the public site registers its pages).
    pub fn error_pages<F, Fut>(mut self, render: F) -> Self
    where
        F: Fn(AppState, StatusCode, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        self.error_pages = Some(Arc::new(move |state, status, id| Box::pin(render(state, status, id))));
        self
    }

    pub fn endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        self.routes.iter().map(|route| &route.endpoint)
    }

    /// The routing table of these endpoints.
    pub fn into_router(self, state: AppState) -> Router {
        Router::new(
            state,
            self.routes
                .into_iter()
                .map(|route| (route.endpoint.path, route.endpoint.method, route.call, route.endpoint.body_limit))
                .collect(),
            self.error_pages,
        )
    }
}

async fn guard<F, Fut>(meta: &Arc<EndpointMeta>, state: &AppState, request: Request, handler: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let (mut parts, body) = request.into_parts();
    // Session resolution reads the token policy from here (absent = no
    // tokens, so endpoints without one skip the insert).
    if meta.token != TokenAccess::Never {
        parts.extensions.insert(meta.clone());
    }

    if is_cross_origin_browser_write(&parts, &state.config) {
        return AppError::new(StatusCode::FORBIDDEN, "CROSS_ORIGIN_REQUEST", "Cross-origin requests may not change anything here")
            .into_response();
    }

    if meta.turnstile
        && let Some(turnstile) = &state.config.turnstile
    {
        let token = parts.headers.get(crate::platform::turnstile::HEADER).and_then(|v| v.to_str().ok());
        if let Err(error) = Box::pin(crate::platform::turnstile::check(turnstile, token)).await {
            return error.into_response();
        }
    }

    let mut limit_headers = None;
    if !meta.rate_limits.is_empty() {
        // Boxed, as is the session below: a future holds room for every
        // future it awaits, and this one is moved (copied) whole on each
        // request, also by the endpoints that never check either.
        match Box::pin(check_rate_limits(meta, &mut parts, state)).await {
            Ok(headers) => limit_headers = headers,
            Err(response) => return *response,
        }
    }

    let mut refreshed_cookie = None;
    let mut cache = meta.cache;
    if meta.access != Access::Public {
        let session = match Box::pin(resolve_session(&mut parts, state)).await {
            Ok(session) => session,
            Err(error) => return error.into_response(),
        };
        match (meta.access, &session) {
            (Access::Auth | Access::Admin, None) => return AppError::unauthenticated().into_response(),
            (Access::Admin, Some(s)) if !s.is_admin() => {
                return AppError::permission_denied("Only an admin may do this").into_response();
            }
            _ => {}
        }
        if session.is_some() {
            cache = CachePolicy::Private;
        }
        refreshed_cookie = parts.extensions.remove::<CookieRefresh>();
    }

    let conditional_get = matches!(parts.method, Method::GET | Method::HEAD) && cache.is_public();
    let if_none_match = parts.headers.get(header::IF_NONE_MATCH).cloned();

    let mut response = handler(Request::from_parts(parts, body)).await;

    if let Some((limit, decision)) = limit_headers {
        set_rate_limit_headers(response.headers_mut(), limit, &decision, decision.reset_after_ms);
    }
    let status = response.status();
    if (status.is_success() || status.is_redirection()) && !response.headers().contains_key(header::CACHE_CONTROL) {
        cache.on_site(state.config.cdn_purge.is_some()).apply(response.headers_mut());
    }
    if conditional_get && status == StatusCode::OK {
        if !response.headers().contains_key(header::ETAG) {
            response = Box::pin(with_etag(response, if_none_match)).await;
        } else if if_none_match.is_some() {
            response = not_modified_if_matching(response, if_none_match);
        }
    }
    if let Some(CookieRefresh(cookie)) = refreshed_cookie
        && !sets_session_cookie(&response, state.config.is_https())
        && let Ok(value) = HeaderValue::from_str(&cookie)
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Checks the endpoint's limits for this client: its IP (proxy headers only
/// from trusted proxies), else its user id. Returns the tightest decision for
/// the response headers, or the refusal to send.
async fn check_rate_limits(
    meta: &EndpointMeta,
    parts: &mut axum::http::request::Parts,
    state: &AppState,
) -> Result<Option<(RateLimit, Decision)>, Box<Response>> {
    let identity = match client_ip(parts, &state.config.trusted_proxies) {
        Some(ip) => rate_limit_identity(ip),
        None => match resolve_session(parts, state).await {
            Ok(Some(session)) => format!("user:{}", session.user.id),
            _ => "unknown".to_owned(),
        },
    };
    let mut tightest: Option<(RateLimit, Decision)> = None;
    for limit in &meta.rate_limits {
        let key = limit.key.unwrap_or(&meta.route_key);
        let id = format!("{identity}:{key}:{}/{}ms", limit.capacity, limit.interval.as_millis());
        match state.limiter.check(&id, limit.limit()).await {
            Verdict::Decided(decision) if !decision.allowed => return Err(Box::new(rate_limited(*limit, &decision))),
            Verdict::Decided(decision) => {
                if tightest.is_none_or(|(_, t)| decision.remaining < t.remaining) {
                    tightest = Some((*limit, decision));
                }
            }
            Verdict::Unchecked => {}
            Verdict::Unavailable => {
                return Err(Box::new(
                    AppError::new(StatusCode::SERVICE_UNAVAILABLE, "RATE_LIMITER_UNAVAILABLE", "Try again shortly").into_response(),
                ));
            }
        }
    }
    Ok(tightest)
}

/// 429 with `Retry-After` (whole seconds, rounded up), the `RateLimit-*`
/// headers and `retryAfterMs` in the envelope.
fn rate_limited(limit: RateLimit, decision: &Decision) -> Response {
    let error = match decision.retry_after_ms {
        Some(ms) => {
            let seconds = ms.div_ceil(1000).max(1);
            let mut error =
                AppError::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", format!("Too many requests; try again in {seconds} s"));
            if let AppError::Client(client) = &mut error {
                client.retry_after_ms = Some(ms);
            }
            error
        }
        None => AppError::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", "This request is larger than the limit allows"),
    };
    let mut response = error.into_response();
    let reset = decision.retry_after_ms.unwrap_or(decision.reset_after_ms);
    set_rate_limit_headers(response.headers_mut(), limit, decision, reset);
    response
}

fn set_rate_limit_headers(headers: &mut axum::http::HeaderMap, limit: RateLimit, decision: &Decision, reset_ms: u64) {
    headers.insert("ratelimit-limit", HeaderValue::from(limit.capacity));
    headers.insert("ratelimit-remaining", HeaderValue::from(decision.remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(reset_ms.div_ceil(1000)));
}

/// The CSRF rule (as Go's CrossOriginProtection): an unsafe request from a
/// browser is refused when the browser says it came from another site
/// (`Sec-Fetch-Site`), or its `Origin` is neither the configured public
/// origin nor the host it was sent to. Requests without those headers come
/// from non-browser clients, and bearer-token requests cannot be forged by a
/// browser, so both pass.
fn is_cross_origin_browser_write(parts: &axum::http::request::Parts, config: &Config) -> bool {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) || has_bearer(parts) {
        return false;
    }
    let header_text = |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
    // A front-end the admin named in FLINT_CORS_ORIGINS may write (its
    // requests carry no cookies of this site: CORS here never allows them).
    if let Some(origin) = header_text(header::ORIGIN)
        && config.cors_origins.iter().any(|allowed| allowed != "*" && allowed.eq_ignore_ascii_case(origin))
    {
        return false;
    }
    if let Some(site) = header_text(header::HeaderName::from_static("sec-fetch-site")) {
        return !matches!(site, "same-origin" | "none");
    }
    let Some(origin) = header_text(header::ORIGIN) else { return false };
    if origin.eq_ignore_ascii_case(&config.origin()) {
        return false;
    }
    // The request's own host counts only with the site's scheme: an http
    // site must not take `https://host:port` (another origin) for itself.
    let config_origin = config.origin();
    let site_scheme = config_origin.split_once("://").map(|(scheme, _)| scheme);
    let Some((scheme, origin_host)) = origin.split_once("://") else { return true };
    let host = header_text(header::HOST);
    let same_scheme = site_scheme.is_some_and(|s| s.eq_ignore_ascii_case(scheme));
    !(same_scheme && host.is_some_and(|h| h.eq_ignore_ascii_case(origin_host)))
}

/// Adds a weak ETag (hash of the body) and answers 304 when the client has it.
async fn with_etag(response: Response, if_none_match: Option<HeaderValue>) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => return AppError::internal(anyhow::anyhow!("buffering response body: {error}")).into_response(),
    };
    parts.headers.insert(header::ETAG, weak_etag(&bytes));
    not_modified_if_matching(Response::from_parts(parts, Body::from(bytes)), if_none_match)
}

fn not_modified_if_matching(response: Response, if_none_match: Option<HeaderValue>) -> Response {
    let Some(etag) = response.headers().get(header::ETAG).and_then(|v| v.to_str().ok()) else { return response };
    let matches = if_none_match
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .is_some_and(|candidates| candidates.split(',').map(str::trim).any(|c| c == "*" || weak_eq(c, etag)));
    if !matches {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    parts.status = StatusCode::NOT_MODIFIED;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    Response::from_parts(parts, Body::empty())
}

fn weak_eq(a: &str, b: &str) -> bool {
    a.trim_start_matches("W/") == b.trim_start_matches("W/")
}

fn sets_session_cookie(response: &Response, https: bool) -> bool {
    let prefix = format!("{}=", crate::platform::auth::session::cookie_name(https));
    response.headers().get_all(header::SET_COOKIE).iter().any(|v| v.to_str().is_ok_and(|v| v.starts_with(&prefix)))
}
