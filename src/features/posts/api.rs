//! Post endpoints: the public REST API (same paths as the original), the
//! public server functions, and the admin server functions.

use crate::platform::http::PathParam;
use axum::Json;
use axum::http::Method;
use axum::response::Response;

use crate::features::accounts::schema::Success;
use crate::platform::http::{Access, AdminCtx, AppError, CachePolicy, DbCtx, Endpoint, Route, Routes, ValidJson, ValidQuery, cached_json};

use super::schema::{
    AdminListInput, GenerateSlugInput, IdInput, IdOutput, LimitInput, ListInput, Post, PostListResponse, PostWithSync, PostWithToc,
    PreviewSummaryInput, PublicPostDetail, PublicPostItem, PublishInput, PublishOutput, RelatedInput, SlugInput, SlugOutput, SummaryOutput,
    UpdatePostInput,
};
use super::service;

pub fn routes() -> Routes {
    let public = |endpoint: Endpoint| endpoint.tag("posts").cache(CachePolicy::Public);
    let admin = |endpoint: Endpoint| endpoint.tag("posts").access(Access::Admin);
    let list = |e: Endpoint| -> Route {
        public(e).summary("Listed posts, newest first, by cursor").input::<ListInput>().output::<PostListResponse>().handler(list)
    };
    Routes::new()
        .route(list(Endpoint::query("getPostsCursor")))
        .route(list(Endpoint::rest(Method::GET, "/api/posts", "listPosts")))
        .route(
            public(Endpoint::query("findPostBySlug"))
                .summary("A published post with its HTML and table of contents (404 when not public)")
                .input::<SlugInput>()
                .output::<PublicPostDetail>()
                .handler(detail_by_query),
        )
        .route(
            public(Endpoint::rest(Method::GET, "/api/post/{slug}", "getPost"))
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
        .route(
            public(Endpoint::query("getPopularPosts"))
                .summary("The most read posts (the most recent until page views exist)")
                .input::<LimitInput>()
                .output::<Vec<PublicPostItem>>()
                .handler(popular),
        )
        .route(
            admin(Endpoint::query("generateSlug"))
                .summary("A free slug for a title")
                .input::<GenerateSlugInput>()
                .output::<SlugOutput>()
                .handler(generate_slug),
        )
        .route(admin(Endpoint::mutation("createEmptyPost")).summary("Create an empty draft").output::<IdOutput>().handler(create_empty))
        .route(
            admin(Endpoint::query("getPosts"))
                .summary("Posts for the admin list")
                .input::<AdminListInput>()
                .output::<Vec<Post>>()
                .handler(admin_list),
        )
        .route(
            admin(Endpoint::query("getPostsCount"))
                .summary("How many posts match the admin filters")
                .input::<AdminListInput>()
                .output::<i64>()
                .handler(admin_count),
        )
        .route(
            admin(Endpoint::query("findPostById"))
                .summary("A post, its tags, and whether readers see this state")
                .input::<IdInput>()
                .output::<PostWithSync>()
                .handler(find_by_id),
        )
        .route(
            admin(Endpoint::query("findPostBySlugAdmin"))
                .summary("A post (drafts too) with the TOC of its content")
                .input::<SlugInput>()
                .output::<PostWithToc>()
                .handler(find_by_slug_admin),
        )
        .route(
            admin(Endpoint::mutation("updatePost"))
                .summary("Save edits (readers see them after the next publish); 409 POST_EDIT_CONFLICT on a stale expectedUpdatedAt")
                .input::<UpdatePostInput>()
                .output::<Post>()
                .handler(update),
        )
        .route(admin(Endpoint::mutation("deletePost")).summary("Delete a post").input::<IdInput>().output::<Success>().handler(delete))
        .route(
            admin(Endpoint::mutation("previewSummary"))
                .summary("The summary publishing would generate")
                .input::<PreviewSummaryInput>()
                .output::<SummaryOutput>()
                .handler(preview_summary),
        )
        .route(
            admin(Endpoint::mutation("startPostProcessWorkflow"))
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

async fn popular(ctx: DbCtx, ValidQuery(input): ValidQuery<LimitInput>) -> Result<Json<Vec<PublicPostItem>>, AppError> {
    Ok(Json(service::popular(&ctx, input.limit.unwrap_or(5)).await?))
}

async fn generate_slug(ctx: AdminCtx, ValidQuery(input): ValidQuery<GenerateSlugInput>) -> Result<Json<SlugOutput>, AppError> {
    let slug = service::generate_slug(&ctx.app, input.title.as_deref().unwrap_or_default(), input.exclude_id).await?;
    Ok(Json(SlugOutput { slug }))
}

async fn create_empty(ctx: AdminCtx) -> Result<Json<IdOutput>, AppError> {
    Ok(Json(IdOutput { id: service::create_empty(&ctx).await? }))
}

async fn admin_list(ctx: AdminCtx, ValidQuery(input): ValidQuery<AdminListInput>) -> Result<Json<Vec<Post>>, AppError> {
    Ok(Json(service::admin_list(&ctx, &input).await?))
}

async fn admin_count(ctx: AdminCtx, ValidQuery(input): ValidQuery<AdminListInput>) -> Result<Json<i64>, AppError> {
    Ok(Json(service::admin_count(&ctx, &input).await?))
}

async fn find_by_id(ctx: AdminCtx, ValidQuery(input): ValidQuery<IdInput>) -> Result<Json<PostWithSync>, AppError> {
    Ok(Json(service::find_by_id(&ctx, input.id).await?))
}

async fn find_by_slug_admin(ctx: AdminCtx, ValidQuery(input): ValidQuery<SlugInput>) -> Result<Json<PostWithToc>, AppError> {
    Ok(Json(service::find_by_slug_admin(&ctx, &input.slug).await?))
}

async fn update(ctx: AdminCtx, ValidJson(input): ValidJson<UpdatePostInput>) -> Result<Json<Post>, AppError> {
    Ok(Json(service::update(&ctx, &input).await?))
}

async fn delete(ctx: AdminCtx, ValidJson(input): ValidJson<IdInput>) -> Result<Json<Success>, AppError> {
    service::delete(&ctx, input.id).await?;
    Ok(Json(Success { success: true }))
}

async fn preview_summary(ctx: AdminCtx, ValidJson(input): ValidJson<PreviewSummaryInput>) -> Result<Json<SummaryOutput>, AppError> {
    Ok(Json(SummaryOutput { summary: service::preview_summary(&ctx.app, &input.content).await? }))
}

async fn publish(ctx: AdminCtx, ValidJson(input): ValidJson<PublishInput>) -> Result<Json<PublishOutput>, AppError> {
    Ok(Json(service::start_publish(&ctx, input.id, input.status).await?))
}
