//! Tag endpoints for admins (the public tag list is `publishing`'s).

use axum::Json;

use crate::platform::auth::Scope;
use crate::platform::http::{AdminCtx, AppError, Endpoint, Routes, Success, ValidJson, ValidQuery};

use super::schema::{CreateTagInput, PostIdInput, Tag, TagIdInput, TagWithCount, TagsAdminInput, UpdateTagInput};
use super::service;

pub fn routes() -> Routes {
    Routes::new()
        .route(
            Endpoint::query("getTagsAdmin")
                .tag("tags")
                .summary("Every tag (counts included), sorted")
                .scope(Scope::PostsRead)
                .input::<TagsAdminInput>()
                .output::<Vec<TagWithCount>>()
                .handler(tags_admin),
        )
        .route(
            Endpoint::query("getTagsWithCountAdmin")
                .tag("tags")
                .summary("Every tag with its post count (all posts, or public ones with publicOnly)")
                .scope(Scope::PostsRead)
                .input::<TagsAdminInput>()
                .output::<Vec<TagWithCount>>()
                .handler(tags_admin),
        )
        .route(
            Endpoint::mutation("createTag")
                .tag("tags")
                .summary("Create a tag")
                .scope(Scope::PostsWrite)
                .input::<CreateTagInput>()
                .output::<Tag>()
                .handler(create),
        )
        .route(
            Endpoint::mutation("updateTag")
                .tag("tags")
                .summary("Rename a tag")
                .scope(Scope::PostsWrite)
                .input::<UpdateTagInput>()
                .output::<Tag>()
                .handler(update),
        )
        .route(
            Endpoint::mutation("deleteTag")
                .tag("tags")
                .summary("Delete a tag")
                .scope(Scope::PostsWrite)
                .input::<TagIdInput>()
                .output::<Success>()
                .handler(delete),
        )
        .route(
            Endpoint::query("getTagsByPostId")
                .tag("tags")
                .summary("A post's tags, by name")
                .scope(Scope::PostsRead)
                .input::<PostIdInput>()
                .output::<Vec<Tag>>()
                .handler(tags_of_post),
        )
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

async fn tags_of_post(ctx: AdminCtx, ValidQuery(input): ValidQuery<PostIdInput>) -> Result<Json<Vec<Tag>>, AppError> {
    Ok(Json(service::tags_of_post(&ctx.app, input.post_id).await?))
}
