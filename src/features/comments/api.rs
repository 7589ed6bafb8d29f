//! Comment endpoints: threads for readers, writing for the signed-in,
//! moderation for admins (spec §8.6).

use std::time::Duration;

use axum::Json;
use schemars::JsonSchema;
use serde::Serialize;

use crate::platform::auth::Scope;
use crate::platform::http::{AdminCtx, AppError, AuthCtx, Endpoint, Routes, SessionCtx, Success, ValidJson, ValidQuery};
use crate::platform::rate_limit::RateLimit;

use super::schema::{
    AdminCommentPage, AdminListInput, Comment, CreateInput, IdInput, MineInput, ModerateInput, RepliesInput, RootsInput, ThreadPage,
    UserStats, UserStatsInput,
};
use super::service;

/// The spec's limits: 10 a minute per client, for writing and for deleting.
pub const CREATE_PER_MINUTE: RateLimit = RateLimit::new(10, Duration::from_secs(60)).keyed("comments:create");
const DELETE_PER_MINUTE: RateLimit = RateLimit::new(10, Duration::from_secs(60)).keyed("comments:delete");

#[derive(Debug, Serialize, JsonSchema)]
pub struct CommentPage {
    pub items: Vec<Comment>,
    pub total: i64,
}

pub fn routes() -> Routes {
    let admin = |endpoint: Endpoint, summary: &'static str, scope: Scope| endpoint.tag("comments").summary(summary).scope(scope);
    Routes::new()
        .route(
            Endpoint::query("getRootCommentsByPostId")
                .tag("comments")
                .scope(Scope::CommentsRead)
                .summary("A public post's root comments, newest first, with reply counts")
                .input::<RootsInput>()
                .output::<ThreadPage>()
                .handler(roots),
        )
        .route(
            Endpoint::query("getRepliesByRootId")
                .tag("comments")
                .scope(Scope::CommentsRead)
                .summary("A thread's replies, oldest first, each with whom it answers")
                .input::<RepliesInput>()
                .output::<ThreadPage>()
                .handler(replies),
        )
        .route(
            Endpoint::mutation("createComment")
                .tag("comments")
                .summary("Comment on a public post, or reply in a thread (moderated as the settings say)")
                .scope(Scope::CommentsWrite)
                .rate_limit(CREATE_PER_MINUTE)
                .input::<CreateInput>()
                .output::<Comment>()
                .handler(create),
        )
        .route(
            Endpoint::mutation("deleteComment")
                .tag("comments")
                .summary("Delete one's own comment (readers then see a marker)")
                .scope(Scope::CommentsWrite)
                .rate_limit(DELETE_PER_MINUTE)
                .input::<IdInput>()
                .output::<Success>()
                .handler(delete_own),
        )
        .route(
            Endpoint::query("getMyComments")
                .tag("comments")
                .summary("The caller's comments, newest first")
                .scope(Scope::CommentsRead)
                .input::<MineInput>()
                .output::<CommentPage>()
                .handler(mine),
        )
        .route(
            admin(Endpoint::query("getAllComments"), "Every comment, filtered, newest first", Scope::CommentsRead)
                .input::<AdminListInput>()
                .output::<AdminCommentPage>()
                .handler(all),
        )
        .route(
            admin(Endpoint::mutation("moderateComment"), "Publish, hold or delete a comment", Scope::CommentsWrite)
                .input::<ModerateInput>()
                .output::<Comment>()
                .handler(moderate),
        )
        .route(
            admin(Endpoint::mutation("adminDeleteComment"), "Remove a comment and its replies for good", Scope::CommentsWrite)
                .input::<IdInput>()
                .output::<Success>()
                .handler(admin_delete),
        )
        .route(
            admin(Endpoint::query("getUserStats"), "A user's comment counts", Scope::CommentsRead)
                .input::<UserStatsInput>()
                .output::<UserStats>()
                .handler(user_stats),
        )
}

async fn roots(ctx: SessionCtx, ValidQuery(input): ValidQuery<RootsInput>) -> Result<Json<ThreadPage>, AppError> {
    Ok(Json(service::roots(&ctx, &input).await?))
}

async fn replies(ctx: SessionCtx, ValidQuery(input): ValidQuery<RepliesInput>) -> Result<Json<ThreadPage>, AppError> {
    Ok(Json(service::replies(&ctx, &input).await?))
}

async fn create(ctx: AuthCtx, ValidJson(input): ValidJson<CreateInput>) -> Result<Json<Comment>, AppError> {
    Ok(Json(service::create(&ctx, &input).await?))
}

async fn delete_own(ctx: AuthCtx, ValidJson(input): ValidJson<IdInput>) -> Result<Json<Success>, AppError> {
    service::delete_own(&ctx, input.id).await?;
    Ok(Json(Success { success: true }))
}

async fn mine(ctx: AuthCtx, ValidQuery(input): ValidQuery<MineInput>) -> Result<Json<CommentPage>, AppError> {
    let (items, total) = service::mine(&ctx, &input).await?;
    Ok(Json(CommentPage { items, total }))
}

async fn all(ctx: AdminCtx, ValidQuery(input): ValidQuery<AdminListInput>) -> Result<Json<AdminCommentPage>, AppError> {
    Ok(Json(service::all(&ctx, &input).await?))
}

async fn moderate(ctx: AdminCtx, ValidJson(input): ValidJson<ModerateInput>) -> Result<Json<Comment>, AppError> {
    Ok(Json(service::moderate(&ctx, &input).await?))
}

async fn admin_delete(ctx: AdminCtx, ValidJson(input): ValidJson<IdInput>) -> Result<Json<Success>, AppError> {
    service::admin_delete(&ctx, input.id).await?;
    Ok(Json(Success { success: true }))
}

async fn user_stats(ctx: AdminCtx, ValidQuery(input): ValidQuery<UserStatsInput>) -> Result<Json<UserStats>, AppError> {
    Ok(Json(service::user_stats(&ctx, &input.user_id).await?))
}
