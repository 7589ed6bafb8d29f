//! The public pages' routes and the theme's stylesheet.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use garde::Validate;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::platform::http::{AppError, CachePolicy, DbCtx, Endpoint, PathParam, Routes, ValidQuery, cached_response};

use super::service::{self, BlogError, Listing};

pub fn routes() -> Routes {
    Routes::new()
        .route(
            Endpoint::page(Method::GET, "/", "homePage")
                .tag("pages")
                .summary("The home page: pinned posts, then the newest, by cursor")
                .cache(CachePolicy::Public)
                .input::<HomeQuery>()
                .handler(home),
        )
        .route(
            Endpoint::page(Method::GET, "/post/{slug}", "postPage")
                .tag("pages")
                .summary("A post's page")
                .cache(CachePolicy::UntilPurged)
                .handler(post),
        )
        .route(
            Endpoint::page(Method::GET, "/posts", "postsPage")
                .tag("pages")
                .summary("Every listed post, newest first, by cursor")
                .cache(CachePolicy::Public)
                .input::<HomeQuery>()
                .handler(all_posts),
        )
        .route(
            Endpoint::page(Method::GET, "/tag/{name}", "tagPage")
                .tag("pages")
                .summary("The listed posts with a tag, newest first, by cursor")
                .cache(CachePolicy::Public)
                .input::<HomeQuery>()
                .handler(tag),
        )
        .route(
            Endpoint::page(Method::GET, "/category/{name}", "categoryPage")
                .tag("pages")
                .summary("The listed posts of a category, newest first, by cursor")
                .cache(CachePolicy::Public)
                .input::<HomeQuery>()
                .handler(category),
        )
        .route(
            Endpoint::rest(Method::GET, "/assets/{file}", "themeAsset")
                .tag("pages")
                .summary("The theme's stylesheet, named by its hash (cached for good)")
                .cache(CachePolicy::Immutable)
                .handler(asset),
        )
}

/// Other parameters (`utm_source`, a sign-in's `error`, ...) are ignored:
/// links from elsewhere carry them.
#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HomeQuery {
    /// From the previous page's "Older posts" link.
    #[garde(range(min = 1))]
    #[schemars(range(min = 1))]
    pub cursor: Option<i64>,
}

fn html(body: crate::platform::cache::CachedBody) -> Response {
    cached_response(HeaderValue::from_static("text/html; charset=utf-8"), body)
}

/// A missing post is the styled 404 page.
async fn page_or_not_found(ctx: &DbCtx, result: Result<crate::platform::cache::CachedBody, BlogError>) -> Result<Response, AppError> {
    match result {
        Ok(body) => Ok(html(body)),
        Err(BlogError::NotFound) => Ok(not_found(ctx).await),
        Err(error) => Err(error.into()),
    }
}

/// The styled 404 page.
pub async fn not_found(ctx: &DbCtx) -> Response {
    let mut response = ctx.theme.page(StatusCode::NOT_FOUND, "not-found.html", service::not_found_fields(ctx).await);
    response.headers_mut().remove(header::CACHE_CONTROL);
    response
}

async fn home(ctx: DbCtx, ValidQuery(query): ValidQuery<HomeQuery>) -> Result<Response, AppError> {
    let result = service::home(&ctx, query.cursor).await;
    page_or_not_found(&ctx, result).await
}

async fn post(ctx: DbCtx, PathParam(slug): PathParam) -> Result<Response, AppError> {
    let result = service::post(&ctx, &slug).await;
    page_or_not_found(&ctx, result).await
}

async fn all_posts(ctx: DbCtx, ValidQuery(query): ValidQuery<HomeQuery>) -> Result<Response, AppError> {
    let result = service::list(&ctx, &Listing::All, query.cursor).await;
    page_or_not_found(&ctx, result).await
}

async fn tag(ctx: DbCtx, PathParam(name): PathParam, ValidQuery(query): ValidQuery<HomeQuery>) -> Result<Response, AppError> {
    let result = service::list(&ctx, &Listing::Tag(name), query.cursor).await;
    page_or_not_found(&ctx, result).await
}

async fn category(ctx: DbCtx, PathParam(name): PathParam, ValidQuery(query): ValidQuery<HomeQuery>) -> Result<Response, AppError> {
    let result = service::list(&ctx, &Listing::Category(name), query.cursor).await;
    page_or_not_found(&ctx, result).await
}

async fn asset(ctx: DbCtx, PathParam(file): PathParam) -> Result<Response, AppError> {
    let stylesheet = &ctx.theme.stylesheet;
    if stylesheet.path.strip_prefix("/assets/") != Some(file.as_str()) {
        return Err(AppError::not_found("ASSET_NOT_FOUND", "The theme has no such file"));
    }
    let mut response = stylesheet.body.clone().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    Ok(response)
}
