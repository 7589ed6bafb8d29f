//! Request routing: finds the endpoint declared for a path and method and
//! calls it, or answers 404 / 405 (with `Allow`).
//!
//! Our own table on `matchit` (the matcher axum uses) instead of
//! `axum::Router`: every route here is an [`Endpoint`](super::Endpoint)
//! whose guard runs inside its handler, so axum's per-route machinery (the
//! route's boxed service cloned and driven as a oneshot on every call, the
//! original-URI and path-parameter extensions, the response mapping) was
//! paid on every request for nothing we used. axum still runs each handler
//! and its extractors.
//!
//! A request body is bounded here, once its endpoint is known: by the
//! endpoint's own limit (uploads) or `FLINT_BODY_LIMIT`. A declared
//! `Content-Length` over it is refused (413) before a byte is read; a body
//! of unknown length is cut off when it passes the limit.
//!
//! A route's path parameter reaches handlers through [`PathParam`].
//! `HEAD` is answered by the `GET` handler (hyper sends no body for it).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;

use crate::platform::config::Config;
use crate::platform::state::AppState;

use super::error::AppError;

/// An endpoint's guard and handler, with the handler's types erased.
pub(crate) type BoxedHandler = Arc<dyn Fn(Request, AppState) -> BoxFuture<'static, Response> + Send + Sync>;

/// Renders the page a browser gets for an error no page answered (an
/// unknown address, a failure): the status and the request id.
pub type ErrorPages = Arc<dyn Fn(AppState, StatusCode, String) -> BoxFuture<'static, Response> + Send + Sync>;

/// A route's body limit from the configuration (see `Endpoint::body_limit`).
pub(crate) type BodyLimit = fn(&Config) -> usize;

/// One method's handler at a path, with its body limit in bytes.
type MethodRoute = (Method, BoxedHandler, usize);

/// The handlers of one path pattern, by method.
struct PathRoutes {
    methods: Vec<MethodRoute>,
    /// The `Allow` header of a 405 here.
    allow: HeaderValue,
}

/// The app's routing table (built once at start from every feature's routes).
pub struct Router {
    state: AppState,
    paths: matchit::Router<usize>,
    routes: Vec<PathRoutes>,
    error_pages: Option<ErrorPages>,
}

impl Router {
    /// Builds the table. Panics on a path declared twice with one method or
    /// on patterns `matchit` cannot tell apart: both are programming errors
    /// found at start.
    pub(crate) fn new(
        state: AppState,
        routes: Vec<(String, Method, BoxedHandler, Option<BodyLimit>)>,
        error_pages: Option<ErrorPages>,
    ) -> Self {
        let mut by_path: Vec<(String, Vec<MethodRoute>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (path, method, handler, limit) in routes {
            let limit = limit.map_or(state.config.body_limit, |limit| limit(&state.config));
            let at = *index.entry(path.clone()).or_insert_with(|| {
                by_path.push((path.clone(), Vec::new()));
                by_path.len() - 1
            });
            let methods = &mut by_path[at].1;
            assert!(!methods.iter().any(|(m, _, _)| *m == method), "{method} {path} is declared twice");
            methods.push((method, handler, limit));
        }
        let mut paths = matchit::Router::new();
        let mut table = Vec::with_capacity(by_path.len());
        for (path, methods) in by_path {
            paths.insert(path.as_str(), table.len()).unwrap_or_else(|error| panic!("route {path}: {error}"));
            let mut allowed: Vec<&str> = methods.iter().map(|(m, _, _)| m.as_str()).collect();
            if allowed.contains(&"GET") && !allowed.contains(&"HEAD") {
                allowed.push("HEAD");
            }
            let allow = HeaderValue::from_str(&allowed.join(",")).expect("method names are valid header text");
            table.push(PathRoutes { methods, allow });
        }
        Router { state, paths, routes: table, error_pages }
    }

    /// The styled page for `status`, when a feature registered one.
    pub(crate) fn error_page(&self, status: StatusCode, request_id: String) -> Option<BoxFuture<'static, Response>> {
        self.error_pages.as_ref().map(|render| render(self.state.clone(), status, request_id))
    }

    pub(crate) fn config(&self) -> &Config {
        &self.state.config
    }

    pub(crate) fn has_error_pages(&self) -> bool {
        self.error_pages.is_some()
    }

    /// Routes the request to its endpoint, or answers it when none takes it.
    pub fn route(&self, mut request: Request) -> Routed {
        let Ok(matched) = self.paths.at(request.uri().path()) else {
            return Routed::Refused(AppError::not_found("NOT_FOUND", "There is nothing at this address").into_response());
        };
        let routes = &self.routes[*matched.value];
        let path = request.uri().path();
        let param = matched.params.iter().next().map(|(_, raw)| {
            // `raw` is a slice of `path`: keep its place, not a copy.
            let start = raw.as_ptr() as usize - path.as_ptr() as usize;
            start..start + raw.len()
        });
        let wanted = if request.method() == Method::HEAD { &Method::GET } else { request.method() };
        let route = routes
            .methods
            .iter()
            .find(|(method, _, _)| method == request.method())
            .or_else(|| routes.methods.iter().find(|(method, _, _)| method == wanted));
        let Some((_, handler, body_limit)) = route else {
            return Routed::Refused(([(header::ALLOW, routes.allow.clone())], StatusCode::METHOD_NOT_ALLOWED).into_response());
        };
        // GET and HEAD bodies are never read (hyper discards them).
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            match declared {
                Some(length) if length > *body_limit as u64 => return Routed::Refused(StatusCode::PAYLOAD_TOO_LARGE.into_response()),
                Some(0) => {}
                _ => request = request.map(|body| Body::new(http_body_util::Limited::new(body, *body_limit))),
            }
        }
        if let Some(range) = param {
            request.extensions_mut().insert(RawPathParam(range));
        }
        Routed::Endpoint(handler(request, self.state.clone()))
    }
}

/// What routing made of a request.
pub enum Routed {
    /// The endpoint's answer, to await.
    Endpoint(BoxFuture<'static, Response>),
    /// No endpoint takes it: 404, or 405 with `Allow`.
    Refused(Response),
}

/// Where the route's path parameter sits in the request path (decoded only
/// when a handler asks for it).
#[derive(Clone)]
struct RawPathParam(std::ops::Range<usize>);

/// The path parameter of the route (`/api/post/{slug}` -> the slug),
/// percent-decoded. Routes declare at most one parameter. A parameter that is
/// not UTF-8 once decoded is a 400; one holding a NUL (which PostgreSQL
/// cannot store or compare, so no slug ever has one) names nothing: 404.
pub struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let range = parts
            .extensions
            .get::<RawPathParam>()
            .map(|raw| raw.0.clone())
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("PathParam used on a route without a path parameter")))?;
        let raw = parts.uri.path().get(range).unwrap_or_default();
        let decoded = percent_decoded(raw).ok_or_else(|| AppError::bad_request("The address is not valid UTF-8 once decoded"))?;
        if decoded.contains('\0') {
            return Err(AppError::not_found("NOT_FOUND", "There is nothing at this address"));
        }
        Ok(PathParam(decoded))
    }
}

/// `raw` with its `%XX` escapes decoded, when the result is UTF-8. A `%` not
/// followed by two hex digits stays as it is (as browsers and axum do).
fn percent_decoded(raw: &str) -> Option<String> {
    if !raw.contains('%') {
        return Some(raw.to_owned());
    }
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(high) = bytes.get(i + 1).copied().and_then(hex)
            && let Some(low) = bytes.get(i + 2).copied().and_then(hex)
        {
            out.push(high << 4 | low);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::percent_decoded;

    #[test]
    fn path_parameters_are_percent_decoded() {
        assert_eq!(percent_decoded("plain-slug").as_deref(), Some("plain-slug"));
        assert_eq!(percent_decoded("%E6%80%A7%E8%83%BD-1").as_deref(), Some("性能-1"));
        assert_eq!(percent_decoded("a%20b%2fc").as_deref(), Some("a b/c"));
        assert_eq!(percent_decoded("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decoded("%zz%4").as_deref(), Some("%zz%4"));
        assert_eq!(percent_decoded("%FF%FE"), None);
    }
}
