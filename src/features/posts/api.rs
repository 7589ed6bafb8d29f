//! Post endpoints for editors: drafts, edits, slugs, tags and summaries.
//! What readers see, publishing and deleting are `publishing`'s endpoints.

use axum::Json;

use crate::features::tags::schema::{SetPostTagsInput, Tag};
use crate::platform::auth::Scope;
use crate::platform::http::{AdminCtx, AppError, Endpoint, Routes, ValidJson, ValidQuery};

use super::schema::{
    AdminListInput, GenerateSlugInput, IdOutput, Post, PostWithToc, PreviewSummaryInput, SlugInput, SlugOutput, SummaryOutput,
    UpdatePostInput,
};
use super::service;

pub fn routes() -> Routes {
    let read = |endpoint: Endpoint| endpoint.tag("posts").scope(Scope::PostsRead);
    let write = |endpoint: Endpoint| endpoint.tag("posts").scope(Scope::PostsWrite);
    Routes::new()
        .route(
            read(Endpoint::query("generateSlug"))
                .summary("A free slug for a title")
                .input::<GenerateSlugInput>()
                .output::<SlugOutput>()
                .handler(generate_slug),
        )
        .route(write(Endpoint::mutation("createEmptyPost")).summary("Create an empty draft").output::<IdOutput>().handler(create_empty))
        .route(
            read(Endpoint::query("getPosts"))
                .summary("Posts for the admin list")
                .input::<AdminListInput>()
                .output::<Vec<Post>>()
                .handler(admin_list),
        )
        .route(
            read(Endpoint::query("getPostsCount"))
                .summary("How many posts match the admin filters")
                .input::<AdminListInput>()
                .output::<i64>()
                .handler(admin_count),
        )
        .route(
            read(Endpoint::query("findPostBySlugAdmin"))
                .summary("A post (drafts too) with the TOC of its content")
                .input::<SlugInput>()
                .output::<PostWithToc>()
                .handler(find_by_slug_admin),
        )
        .route(
            write(Endpoint::mutation("updatePost"))
                .summary("Save edits (readers see them after the next publish); 409 POST_EDIT_CONFLICT on a stale expectedUpdatedAt")
                .input::<UpdatePostInput>()
                .output::<Post>()
                .handler(update),
        )
        .route(
            write(Endpoint::mutation("setPostTags"))
                .tag("tags")
                .summary("Replace a post's tags (public after the next publish)")
                .input::<SetPostTagsInput>()
                .output::<Vec<Tag>>()
                .handler(set_post_tags),
        )
        .route(
            write(Endpoint::mutation("previewSummary"))
                .summary("The summary publishing would generate")
                .input::<PreviewSummaryInput>()
                .output::<SummaryOutput>()
                .handler(preview_summary),
        )
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

async fn find_by_slug_admin(ctx: AdminCtx, ValidQuery(input): ValidQuery<SlugInput>) -> Result<Json<PostWithToc>, AppError> {
    Ok(Json(service::find_by_slug_admin(&ctx, &input.slug).await?))
}

async fn update(ctx: AdminCtx, ValidJson(input): ValidJson<UpdatePostInput>) -> Result<Json<Post>, AppError> {
    Ok(Json(service::update(&ctx, &input).await?))
}

async fn set_post_tags(ctx: AdminCtx, ValidJson(input): ValidJson<SetPostTagsInput>) -> Result<Json<Vec<Tag>>, AppError> {
    Ok(Json(service::set_tags(&ctx, input.post_id, &input.tag_ids).await?))
}

async fn preview_summary(ctx: AdminCtx, ValidJson(input): ValidJson<PreviewSummaryInput>) -> Result<Json<SummaryOutput>, AppError> {
    Ok(Json(SummaryOutput { summary: service::preview_summary(&ctx.app, &input.content).await? }))
}
