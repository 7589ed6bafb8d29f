//! Site document routes: GET (and HEAD, answered by the GET handlers
//! without a body) with the original's content types and cache headers.

use crate::platform::http::PathParam;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};

use crate::platform::cache::CachedBody;
use crate::platform::http::{AppError, CachePolicy, DbCtx, Endpoint, Routes, cached_response};

use super::service::{self, Feed};

pub fn routes() -> Routes {
    let document = |path: &str, name: &'static str, summary: &'static str| {
        Endpoint::rest(Method::GET, path, name).tag("site").summary(summary).cache(CachePolicy::Hourly)
    };
    Routes::new()
        .route(document("/rss.xml", "rssFeed", "RSS 2.0 feed of the newest public posts").handler(rss))
        .route(document("/atom.xml", "atomFeed", "Atom 1.0 feed of the newest public posts").handler(atom))
        .route(document("/feed.json", "jsonFeed", "JSON Feed 1.1 of the newest public posts").handler(json_feed))
        .route(document("/sitemap.xml", "sitemap", "Sitemap of every public page (an index of parts beyond 50,000 URLs)").handler(sitemap))
        .route(document("/sitemap/{part}", "sitemapPart", "Part n of a sitemap index, as /sitemap/<n>.xml").handler(sitemap_part))
        .route(document("/robots.txt", "robots", "Crawler rules").cache(CachePolicy::Daily).handler(robots))
        .route(document("/site.webmanifest", "webManifest", "Web app manifest").handler(manifest))
}

// Cache headers come from each route's `CachePolicy` (hourly; robots.txt daily).
fn send(content_type: &'static str, body: CachedBody) -> Response {
    cached_response(HeaderValue::from_static(content_type), body)
}

fn text(content_type: &'static str, text: String) -> Response {
    ([(header::CONTENT_TYPE, content_type)], text).into_response()
}

async fn rss(ctx: DbCtx) -> Result<Response, AppError> {
    Ok(send("application/rss+xml; charset=utf-8", service::feed(&ctx, Feed::Rss).await?))
}

async fn atom(ctx: DbCtx) -> Result<Response, AppError> {
    Ok(send("application/atom+xml; charset=utf-8", service::feed(&ctx, Feed::Atom).await?))
}

async fn json_feed(ctx: DbCtx) -> Result<Response, AppError> {
    Ok(send("application/feed+json; charset=utf-8", service::feed(&ctx, Feed::Json).await?))
}

async fn sitemap(ctx: DbCtx) -> Result<Response, AppError> {
    Ok(send("application/xml; charset=utf-8", service::sitemap(&ctx).await?))
}

async fn sitemap_part(ctx: DbCtx, PathParam(part): PathParam) -> Result<Response, AppError> {
    let number = part.strip_suffix(".xml").and_then(|n| n.parse::<u64>().ok());
    let document = match number {
        Some(n) => service::sitemap_part(&ctx, n).await?,
        None => None,
    };
    document
        .map(|body| send("application/xml; charset=utf-8", body))
        .ok_or_else(|| AppError::not_found("NOT_FOUND", "There is no such sitemap part"))
}

async fn robots(ctx: DbCtx) -> Response {
    text("text/plain; charset=utf-8", service::robots(&ctx))
}

async fn manifest(ctx: DbCtx) -> Result<Response, AppError> {
    Ok(text("application/manifest+json; charset=utf-8", service::manifest(&ctx).await?))
}
