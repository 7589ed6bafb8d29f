//! Friend link endpoints: the public list, readers' requests, admins' decisions.

use std::time::Duration;

use axum::Json;

use crate::platform::auth::Scope;
use crate::platform::http::{AdminCtx, AppError, AuthCtx, CachePolicy, DbCtx, Endpoint, Routes, Success, ValidJson, ValidQuery};
use crate::platform::rate_limit::RateLimit;

use super::schema::{CreateInput, FriendLink, IdInput, LinkPage, ListInput, PublicFriendLink, RejectInput, SubmitInput, UpdateInput};
use super::service;

/// The spec's limit: 3 requests an hour per client.
pub const SUBMIT_PER_HOUR: RateLimit = RateLimit::new(3, Duration::from_secs(3600)).keyed("friend-links:submit");

pub fn routes() -> Routes {
    let admin = |name: &'static str, summary: &'static str, scope: Scope| {
        let endpoint = if matches!(scope, Scope::FriendLinksRead) { Endpoint::query(name) } else { Endpoint::mutation(name) };
        endpoint.tag("friend-links").summary(summary).scope(scope)
    };
    Routes::new()
        .route(
            Endpoint::query("getApprovedFriendLinks")
                .tag("friend-links")
                .summary("The approved friend links, newest first")
                .cache(CachePolicy::Public)
                .output::<Vec<PublicFriendLink>>()
                .handler(approved),
        )
        .route(
            Endpoint::mutation("submitFriendLink")
                .tag("friend-links")
                .summary("Ask to be linked (reviewed by an admin)")
                .scope(Scope::FriendLinksWrite)
                .rate_limit(SUBMIT_PER_HOUR)
                .input::<SubmitInput>()
                .output::<FriendLink>()
                .handler(submit),
        )
        .route(
            Endpoint::query("getMyFriendLinks")
                .tag("friend-links")
                .summary("The caller's requests")
                .scope(Scope::FriendLinksRead)
                .output::<Vec<FriendLink>>()
                .handler(mine),
        )
        .route(
            admin("getAllFriendLinks", "Every friend link, a page at a time", Scope::FriendLinksRead)
                .input::<ListInput>()
                .output::<LinkPage>()
                .handler(all),
        )
        .route(
            admin("createFriendLink", "Add a link (approved at once)", Scope::FriendLinksWrite)
                .input::<CreateInput>()
                .output::<FriendLink>()
                .handler(create),
        )
        .route(
            admin("updateFriendLink", "Edit a link's fields", Scope::FriendLinksWrite)
                .input::<UpdateInput>()
                .output::<FriendLink>()
                .handler(update),
        )
        .route(
            admin("approveFriendLink", "Approve a link (its submitter is told)", Scope::FriendLinksWrite)
                .input::<IdInput>()
                .output::<FriendLink>()
                .handler(approve),
        )
        .route(
            admin("rejectFriendLink", "Reject a link, with a reason (its submitter is told)", Scope::FriendLinksWrite)
                .input::<RejectInput>()
                .output::<FriendLink>()
                .handler(reject),
        )
        .route(admin("deleteFriendLink", "Delete a link", Scope::FriendLinksWrite).input::<IdInput>().output::<Success>().handler(delete))
}

async fn approved(ctx: DbCtx) -> Result<Json<Vec<PublicFriendLink>>, AppError> {
    Ok(Json(service::approved(&ctx).await?))
}

async fn submit(ctx: AuthCtx, ValidJson(input): ValidJson<SubmitInput>) -> Result<Json<FriendLink>, AppError> {
    Ok(Json(service::submit(&ctx, &input).await?))
}

async fn mine(ctx: AuthCtx) -> Result<Json<Vec<FriendLink>>, AppError> {
    Ok(Json(service::mine(&ctx).await?))
}

async fn all(ctx: AdminCtx, ValidQuery(input): ValidQuery<ListInput>) -> Result<Json<LinkPage>, AppError> {
    Ok(Json(service::all(&ctx, &input).await?))
}

async fn create(ctx: AdminCtx, ValidJson(input): ValidJson<CreateInput>) -> Result<Json<FriendLink>, AppError> {
    Ok(Json(service::create(&ctx, &input).await?))
}

async fn update(ctx: AdminCtx, ValidJson(input): ValidJson<UpdateInput>) -> Result<Json<FriendLink>, AppError> {
    Ok(Json(service::update(&ctx, &input).await?))
}

async fn approve(ctx: AdminCtx, ValidJson(input): ValidJson<IdInput>) -> Result<Json<FriendLink>, AppError> {
    Ok(Json(service::approve(&ctx, input.id).await?))
}

async fn reject(ctx: AdminCtx, ValidJson(input): ValidJson<RejectInput>) -> Result<Json<FriendLink>, AppError> {
    Ok(Json(service::reject(&ctx, &input).await?))
}

async fn delete(ctx: AdminCtx, ValidJson(input): ValidJson<IdInput>) -> Result<Json<Success>, AppError> {
    service::delete(&ctx, input.id).await?;
    Ok(Json(Success { success: true }))
}
