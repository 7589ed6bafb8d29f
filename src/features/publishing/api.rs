//! Publishing endpoints: the public REST API of posts and tags (same paths
//! as the original), the public server functions, and the admin functions
//! that change what readers see (publish, delete) or report on it.

use axum::Json;
use axum::http::Method;
use axum::response::Response;

use crate::features::posts::schema::{IdInput, SlugInput};
use crate::features::tags::schema::TagWithCount;
use crate::platform::auth::Scope;
use crate::platform::http::{
    AdminCtx, AppError, CachePolicy, DbCtx, Endpoint, PathParam, Route, Routes, Success, ValidJson, ValidQuery, cached_json,
};

use super::schema::{
    LimitInput, ListInput, PostListResponse, PostWithSync, PublicPostDetail, PublicPostItem, PublishInput, PublishOutput, RelatedInput,
};
use super::service;

pub fn routes() -> Routes {
    let public = |endpoint: Endpoint| endpoint.tag("posts").cache(CachePolicy::Public);
    // A detail is one exact URL, so a CDN purge can reach it (see `cdn`).
    let detail = |endpoint: Endpoint| endpoint.tag("posts").cache(CachePolicy::UntilPurged);
    let read = |endpoint: Endpoint| endpoint.tag("posts").scope(Scope::PostsRead);
    let write = |endpoint: Endpoint| endpoint.tag("posts").scope(Scope::PostsWrite);
    let list = |e: Endpoint| -> Route {
        public(e).summary("Listed posts, newest first, by cursor").input::<ListInput>().output::<PostListResponse>().handler(list)
    };
    let tag_cloud = |endpoint: Endpoint| {
        endpoint
            .tag("tags")
            .summary("Tags of published posts with their post counts, most used first")
            .cache(CachePolicy::Public)
            .output::<Vec<TagWithCount>>()
            .handler(tag_cloud)
    };
    Routes::new()
        .route(list(Endpoint::query("getPostsCursor")))
        .route(list(Endpoint::rest(Method::GET, "/api/posts", "listPosts")))
        .route(
            detail(Endpoint::query("findPostBySlug"))
                .summary("A published post with its HTML and table of contents (404 when not public)")
                .input::<SlugInput>()
                .output::<PublicPostDetail>()
                .handler(detail_by_query),
        )
        .route(
            detail(Endpoint::rest(Method::GET, "/api/post/{slug}", "getPost"))
                .summary("A published post with its HTML and table of contents (404 when not public)")
                .output::<PublicPostDetail>()
                .handler(detail_by_path),
        )
        .route(
            public(Endpoint::query("getRelatedPosts"))
                .summary("Listed posts sharing the most tags")
                .input::<RelatedInput>()
                .output::<Vec<PublicPostItem>>()
                .handler(related_by_query),
        )
        .route(
            public(Endpoint::rest(Method::GET, "/api/post/{slug}/related", "getRelatedPostsRest"))
                .summary("Listed posts sharing the most tags")
                .input::<LimitInput>()
                .output::<Vec<PublicPostItem>>()
                .handler(related_by_path),
        )
        .route(public(Endpoint::query("getPinnedPosts")).summary("Pinned posts").output::<Vec<PublicPostItem>>().handler(pinned))
        .route(tag_cloud(Endpoint::query("getTags")))
        .route(tag_cloud(Endpoint::rest(Method::GET, "/api/tags", "listTags")))
        .route(
            read(Endpoint::query("findPostById"))
                .summary("A post, its tags, and whether readers see this state")
                .input::<IdInput>()
                .output::<PostWithSync>()
                .handler(find_by_id),
        )
        .route(write(Endpoint::mutation("deletePost")).summary("Delete a post").input::<IdInput>().output::<Success>().handler(delete))
        .route(
            write(Endpoint::mutation("startPostProcessWorkflow"))
                .summary("Publish or unpublish through the pipeline (future dates are scheduled)")
                .input::<PublishInput>()
                .output::<PublishOutput>()
                .handler(publish),
        )
}

/// A cached body as a JSON response with its ETag (the guard answers 304s).
async fn list(ctx: DbCtx, ValidQuery(input): ValidQuery<ListInput>) -> Result<Response, AppError> {
    Ok(cached_json(service::list(&ctx, &input.into()).await?))
}

async fn detail_by_query(ctx: DbCtx, ValidQuery(input): ValidQuery<SlugInput>) -> Result<Response, AppError> {
    Ok(cached_json(service::detail(&ctx, &input.slug).await?))
}

async fn detail_by_path(ctx: DbCtx, PathParam(slug): PathParam) -> Result<Response, AppError> {
    Ok(cached_json(service::detail(&ctx, &slug).await?))
}

async fn related_by_query(ctx: DbCtx, ValidQuery(input): ValidQuery<RelatedInput>) -> Result<Json<Vec<PublicPostItem>>, AppError> {
    Ok(Json(service::related(&ctx, &input.slug, input.limit.unwrap_or(3)).await?))
}

async fn related_by_path(
    ctx: DbCtx,
    PathParam(slug): PathParam,
    ValidQuery(input): ValidQuery<LimitInput>,
) -> Result<Json<Vec<PublicPostItem>>, AppError> {
    Ok(Json(service::related(&ctx, &slug, input.limit.unwrap_or(3)).await?))
}

async fn pinned(ctx: DbCtx) -> Result<Json<Vec<PublicPostItem>>, AppError> {
    Ok(Json(service::pinned(&ctx).await?))
}

async fn tag_cloud(ctx: DbCtx) -> Result<Response, AppError> {
    Ok(cached_json(service::tag_cloud(&ctx).await?))
}

async fn find_by_id(ctx: AdminCtx, ValidQuery(input): ValidQuery<IdInput>) -> Result<Json<PostWithSync>, AppError> {
    Ok(Json(service::find_by_id(&ctx, input.id).await?))
}

async fn delete(ctx: AdminCtx, ValidJson(input): ValidJson<IdInput>) -> Result<Json<Success>, AppError> {
    service::delete_post(&ctx, input.id).await?;
    Ok(Json(Success { success: true }))
}

async fn publish(ctx: AdminCtx, ValidJson(input): ValidJson<PublishInput>) -> Result<Json<PublishOutput>, AppError> {
    Ok(Json(service::start_publish(&ctx, input.id, input.status).await?))
}
