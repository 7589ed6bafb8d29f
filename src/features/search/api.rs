//! Search endpoints: `GET /api/search`, the `search` server function,
//! `getIndexVersion`, and the admin `buildSearchIndex`.

use axum::Json;
use axum::http::Method;
use axum::response::Response;

use crate::platform::auth::Scope;
use crate::platform::http::{AdminCtx, AppError, CachePolicy, DbCtx, Endpoint, Route, Routes, ValidQuery, cached_json};

use super::schema::{IndexVersion, RebuildOutput, SearchInput, SearchResult};
use super::service;

pub fn routes() -> Routes {
    let search = |endpoint: Endpoint| -> Route {
        endpoint
            .tag("search")
            .summary("Public posts matching every word (the last as a prefix), best first, with highlighted snippets")
            .cache(CachePolicy::Public)
            .input::<SearchInput>()
            .output::<Vec<SearchResult>>()
            .handler(search)
    };
    Routes::new()
        .route(search(Endpoint::rest(Method::GET, "/api/search", "searchPosts")))
        .route(search(Endpoint::query("search")))
        .route(
            Endpoint::query("getIndexVersion")
                .tag("search")
                .summary("The search index's version, last change and size")
                .output::<IndexVersion>()
                .handler(version),
        )
        .route(
            Endpoint::mutation("buildSearchIndex")
                .tag("search")
                .summary("Rebuild the search index from the public posts")
                .scope(Scope::PostsWrite)
                .output::<RebuildOutput>()
                .handler(rebuild),
        )
}

async fn search(ctx: DbCtx, ValidQuery(input): ValidQuery<SearchInput>) -> Result<Response, AppError> {
    Ok(cached_json(service::search(&ctx, &input.q, input.limit.unwrap_or(10)).await?))
}

async fn version(ctx: DbCtx) -> Result<Json<IndexVersion>, AppError> {
    Ok(Json(service::version(&ctx).await?))
}

async fn rebuild(ctx: AdminCtx) -> Result<Json<RebuildOutput>, AppError> {
    Ok(Json(RebuildOutput { documents: service::rebuild(&ctx.app).await? }))
}
