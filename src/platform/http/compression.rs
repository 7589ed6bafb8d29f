//! Response compression (gzip, brotli) for clients that ask for it.
//!
//! `tower_http`'s `Compression` wraps every response body in an encoder enum
//! several kilobytes large, which is moved and boxed on the way out even when
//! the client sent no `Accept-Encoding` and nothing is compressed. Requests
//! that do not ask for an encoding bypass it here.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::future::{BoxFuture, Either};
use tower::{Layer, Service};
use tower_http::compression::Compression;

#[derive(Clone, Copy, Default)]
pub struct CompressionLayer;

impl<S: Clone> Layer<S> for CompressionLayer {
    type Service = CompressWhenAsked<S>;

    fn layer(&self, inner: S) -> CompressWhenAsked<S> {
        CompressWhenAsked { compressed: Compression::new(inner.clone()), plain: inner }
    }
}

#[derive(Clone)]
pub struct CompressWhenAsked<S> {
    plain: S,
    compressed: Compression<S>,
}

impl<S> Service<Request> for CompressWhenAsked<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Both paths wrap the same inner service; `plain` stands for both.
        self.plain.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if !asks_for_encoding(&request) {
            return Either::Left(self.plain.call(request));
        }
        let mut compressed = self.compressed.clone();
        Either::Right(Box::pin(async move {
            // `Compression` is ready whenever its inner service is.
            std::future::poll_fn(|cx| compressed.poll_ready(cx)).await?;
            let response = compressed.call(request).await?;
            Ok(response.into_response())
        }))
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
