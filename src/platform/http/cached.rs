//! Sending a cached, ready-to-send JSON body: no serialising and no ETag
//! hashing per request (the guard sees the ETag and only compares it).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::platform::cache::CachedBody;

/// `200 OK` with the body as `application/json` and its ETag.
pub fn cached_json(body: CachedBody) -> Response {
    let mut response = body.body.into_response();
    let headers = response.headers_mut();
    // Room for what the way out adds (cache policy, request id, vary), so
    // the map is not regrown on every request.
    headers.reserve(8);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::ETAG, body.etag);
    response
}
