//! Sending a cached, ready-to-send JSON body: no serialising and no ETag
//! hashing per request (the guard sees the ETag and only compares it).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use crate::platform::cache::CachedBody;

/// `200 OK` with the body as `application/json` and its ETag.
pub fn cached_json(body: CachedBody) -> Response {
    cached_response(HeaderValue::from_static("application/json"), body)
}

/// `200 OK` with the body as `content_type` and its ETag.
pub fn cached_response(content_type: HeaderValue, body: CachedBody) -> Response {
    // Sized once for what the way out adds (cache policy, request id, vary,
    // length): growing the map, or starting from `Bytes::into_response`'s
    // one-entry map, cost more than the rest of building the response.
    let mut headers = HeaderMap::with_capacity(12);
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::ETAG, body.etag);
    let mut response = Response::new(Body::from(body.body));
    *response.headers_mut() = headers;
    response
}
