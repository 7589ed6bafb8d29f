//! Tag endpoints: the public tag list (server function and `GET /api/tags`)
//! and the admin functions.

use axum::Json;
use axum::http::Method;
use axum::response::Response;

use crate::platform::http::{Access, AdminCtx, AppError, CachePolicy, DbCtx, Endpoint, Routes, ValidJson, ValidQuery, cached_json};

use super::schema::{CreateTagInput, PostIdInput, SetPostTagsInput, Tag, TagIdInput, TagWithCount, TagsAdminInput, UpdateTagInput};
use super::service;
use crate::features::accounts::schema::Success;

pub fn routes() -> Routes {
    let public_tags = |endpoint: Endpoint| {
        endpoint
            .tag("tags")
            .summary("Tags of published posts with their post counts, most used first")
            .cache(CachePolicy::Public)
            .output::<Vec<TagWithCount>>()
            .handler(public_tags)
    };
    Routes::new()
        .route(public_tags(Endpoint::query("getTags")))
        .route(public_tags(Endpoint::rest(Method::GET, "/api/tags", "listTags")))
        .route(
            Endpoint::query("getTagsAdmin")
                .tag("tags")
                .summary("Every tag (counts included), sorted")
                .access(Access::Admin)
                .input::<TagsAdminInput>()
                .output::<Vec<TagWithCount>>()
                .handler(tags_admin),
        )
        .route(
            Endpoint::query("getTagsWithCountAdmin")
                .tag("tags")
                .summary("Every tag with its post count (all posts, or public ones with publicOnly)")
                .access(Access::Admin)
                .input::<TagsAdminInput>()
                .output::<Vec<TagWithCount>>()
                .handler(tags_admin),
        )
        .route(
            Endpoint::mutation("createTag")
                .tag("tags")
                .summary("Create a tag")
                .access(Access::Admin)
                .input::<CreateTagInput>()
                .output::<Tag>()
                .handler(create),
        )
        .route(
            Endpoint::mutation("updateTag")
                .tag("tags")
                .summary("Rename a tag")
                .access(Access::Admin)
                .input::<UpdateTagInput>()
                .output::<Tag>()
                .handler(update),
        )
        .route(
            Endpoint::mutation("deleteTag")
                .tag("tags")
                .summary("Delete a tag")
                .access(Access::Admin)
                .input::<TagIdInput>()
                .output::<Success>()
                .handler(delete),
        )
        .route(
            Endpoint::mutation("setPostTags")
                .tag("tags")
                .summary("Replace a post's tags (public after the next publish)")
                .access(Access::Admin)
                .input::<SetPostTagsInput>()
                .output::<Vec<Tag>>()
                .handler(set_post_tags),
        )
        .route(
            Endpoint::query("getTagsByPostId")
                .tag("tags")
                .summary("A post's tags, by name")
                .access(Access::Admin)
                .input::<PostIdInput>()
                .output::<Vec<Tag>>()
                .handler(tags_of_post),
        )
}

async fn public_tags(ctx: DbCtx) -> Result<Response, AppError> {
    Ok(cached_json(service::public_tags(&ctx).await?))
}

async fn tags_admin(ctx: AdminCtx, ValidQuery(input): ValidQuery<TagsAdminInput>) -> Result<Json<Vec<TagWithCount>>, AppError> {
    Ok(Json(service::tags_admin(&ctx, &input).await?))
}

async fn create(ctx: AdminCtx, ValidJson(input): ValidJson<CreateTagInput>) -> Result<Json<Tag>, AppError> {
    Ok(Json(service::create(&ctx, &input).await?))
}

async fn update(ctx: AdminCtx, ValidJson(input): ValidJson<UpdateTagInput>) -> Result<Json<Tag>, AppError> {
    Ok(Json(service::update(&ctx, &input).await?))
}

async fn delete(ctx: AdminCtx, ValidJson(input): ValidJson<TagIdInput>) -> Result<Json<Success>, AppError> {
    service::delete(&ctx, input.id).await?;
    Ok(Json(Success { success: true }))
}

async fn set_post_tags(ctx: AdminCtx, ValidJson(input): ValidJson<SetPostTagsInput>) -> Result<Json<Vec<Tag>>, AppError> {
    Ok(Json(service::set_post_tags(&ctx, &input).await?))
}

async fn tags_of_post(ctx: AdminCtx, ValidQuery(input): ValidQuery<PostIdInput>) -> Result<Json<Vec<Tag>>, AppError> {
    Ok(Json(service::tags_of_post(&ctx.app, input.post_id).await?))
}
