//! Response compression (gzip, brotli) for clients that ask for it.
//!
//! `tower_http`'s `Compression` wraps every response body in an encoder enum
//! several kilobytes large, which is moved and boxed on the way out even when
//! the client sent no `Accept-Encoding` and nothing is compressed. Requests
//! that do not ask for an encoding bypass it here.

use std::convert::Infallible;

use axum::extract::Request;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use tower::Service;
use tower_http::compression::Compression;

use super::front::Front;

/// The front door, behind `tower_http`'s `Compression` only for requests
/// that ask for an encoding.
#[derive(Clone)]
pub struct CompressWhenAsked {
    plain: Front,
    compressed: Compression<Front>,
}

impl CompressWhenAsked {
    pub fn new(front: Front) -> Self {
        CompressWhenAsked { compressed: Compression::new(front.clone()), plain: front }
    }

    /// Answers one request.
    pub fn answer(&self, request: Request) -> BoxFuture<'static, Result<Response, Infallible>> {
        if !asks_for_encoding(&request) {
            return self.plain.answer(request);
        }
        let mut compressed = self.compressed.clone();
        Box::pin(async move {
            // `Compression` is ready whenever the front door is (always).
            std::future::poll_fn(|cx| compressed.poll_ready(cx)).await?;
            let response = compressed.call(request).await?;
            Ok(response.into_response())
        })
    }
}

fn asks_for_encoding(request: &Request) -> bool {
    request.headers().get_all(header::ACCEPT_ENCODING).iter().any(|value| {
        value.to_str().is_ok_and(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("gzip") || v.contains("br") || v.contains('*')
        })
    })
}
