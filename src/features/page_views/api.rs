//! Page view endpoints: counting a view, view counts, popular posts.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::HeaderMap;

use crate::features::publishing::schema::PublicPostItem;
use crate::platform::auth::session::ClientInfo;
use crate::platform::http::{AppError, CachePolicy, DbCtx, Endpoint, Routes, Success, ValidJson, ValidQuery};

use super::schema::{PopularInput, RecordInput, ViewCountsInput};
use super::service;

pub fn routes() -> Routes {
    Routes::new()
        .route(
            Endpoint::mutation("recordPageView")
                .tag("page-views")
                .summary("Count a view of a post (bots and prefetches are not counted; written with the next batch)")
                .input::<RecordInput>()
                .output::<Success>()
                .handler(record),
        )
        .route(
            Endpoint::query("getViewCounts")
                .tag("page-views")
                .summary("All-time views of up to 50 posts, by slug")
                .cache(CachePolicy::Public)
                .input::<ViewCountsInput>()
                .output::<BTreeMap<String, i64>>()
                .handler(counts),
        )
        .route(
            Endpoint::query("getPopularPosts")
                .tag("page-views")
                .summary("The most read posts of the last 30 days (the newest fill in)")
                .cache(CachePolicy::Public)
                .input::<PopularInput>()
                .output::<Vec<PublicPostItem>>()
                .handler(popular),
        )
}

/// `Sec-Purpose: prefetch` (or the older `Purpose`): a browser guessing, not a reader.
fn is_prefetch(headers: &HeaderMap) -> bool {
    ["sec-purpose", "purpose"]
        .iter()
        .any(|name| headers.get(*name).and_then(|v| v.to_str().ok()).is_some_and(|v| v.to_ascii_lowercase().contains("prefetch")))
}

async fn record(
    ctx: DbCtx,
    client: ClientInfo,
    headers: HeaderMap,
    ValidJson(input): ValidJson<RecordInput>,
) -> Result<Json<Success>, AppError> {
    service::record(&ctx, &client, is_prefetch(&headers), input.post_id).await.map_err(AppError::Internal)?;
    Ok(Json(Success { success: true }))
}

async fn counts(ctx: DbCtx, ValidQuery(input): ValidQuery<ViewCountsInput>) -> Result<Json<BTreeMap<String, i64>>, AppError> {
    Ok(Json(service::counts(&ctx, &input.slugs).await.map_err(AppError::Internal)?))
}

async fn popular(ctx: DbCtx, ValidQuery(input): ValidQuery<PopularInput>) -> Result<Json<Vec<PublicPostItem>>, AppError> {
    Ok(Json(service::popular(&ctx, input.limit.unwrap_or(5)).await.map_err(AppError::Internal)?))
}
