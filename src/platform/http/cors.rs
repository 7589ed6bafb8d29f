//! CORS for headless front-ends: the origins of `FLINT_CORS_ORIGINS` may
//! read (and, with a token or anonymously, call) the API from a browser.
//! Credentials are never allowed: a page elsewhere never acts with a
//! reader's cookie. With no origins configured nothing here applies.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::platform::config::Config;

/// How long a browser may keep a preflight's answer.
const PREFLIGHT_MAX_AGE: HeaderValue = HeaderValue::from_static("600");
const ALLOWED_METHODS: HeaderValue = HeaderValue::from_static("GET, HEAD, POST");
const ALLOWED_HEADERS: HeaderValue =
    HeaderValue::from_static("authorization, content-type, if-none-match, x-request-id, x-turnstile-token");
const EXPOSED_HEADERS: HeaderValue =
    HeaderValue::from_static("etag, x-request-id, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset");

/// The `Access-Control-Allow-Origin` value for this request's `Origin`,
/// when the configuration allows it.
pub fn allowed_origin(config: &Config, headers: &HeaderMap) -> Option<HeaderValue> {
    if config.cors_origins.is_empty() {
        return None;
    }
    let origin = headers.get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    config.cors_origins.iter().any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(text)).then(|| origin.clone())
}

/// The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`)
/// from an allowed origin.
pub fn preflight(method: &Method, headers: &HeaderMap, origin: &HeaderValue) -> Option<Response> {
    if *method != Method::OPTIONS || !headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
        return None;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let out = response.headers_mut();
    out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS);
    out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS);
    out.insert(header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE);
    out.append(header::VARY, HeaderValue::from_static("origin"));
    Some(response)
}

/// Lets the allowed origin read `response`.
pub fn allow(response: &mut Response, origin: HeaderValue) {
    let out = response.headers_mut();
    out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    out.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSED_HEADERS);
    out.append(header::VARY, HeaderValue::from_static("origin"));
}
