//! Revision admin server functions.

use axum::Json;

use crate::platform::auth::Scope;
use crate::platform::http::{AdminCtx, AppError, Endpoint, Routes, ValidJson, ValidQuery};

use super::schema::{
    DeleteRevisionsInput, DeleteRevisionsOutput, PostRevisionsInput, RestoreOutput, RevisionDetail, RevisionInput, RevisionSummary,
};
use super::service;

pub fn routes() -> Routes {
    let read = |endpoint: Endpoint| endpoint.tag("revisions").scope(Scope::PostsRead);
    let write = |endpoint: Endpoint| endpoint.tag("revisions").scope(Scope::PostsWrite);
    Routes::new()
        .route(
            read(Endpoint::query("listPostRevisions"))
                .summary("A post's revisions, newest first")
                .input::<PostRevisionsInput>()
                .output::<Vec<RevisionSummary>>()
                .handler(list),
        )
        .route(
            read(Endpoint::query("getPostRevision"))
                .summary("One revision with its snapshot")
                .input::<RevisionInput>()
                .output::<RevisionDetail>()
                .handler(get),
        )
        .route(
            write(Endpoint::mutation("restorePostRevision"))
                .summary("Put a revision's state back (the replaced state is kept as a backup)")
                .input::<RevisionInput>()
                .output::<RestoreOutput>()
                .handler(restore),
        )
        .route(
            write(Endpoint::mutation("deletePostRevisions"))
                .summary("Delete revisions of a post")
                .input::<DeleteRevisionsInput>()
                .output::<DeleteRevisionsOutput>()
                .handler(delete),
        )
}

async fn list(ctx: AdminCtx, ValidQuery(input): ValidQuery<PostRevisionsInput>) -> Result<Json<Vec<RevisionSummary>>, AppError> {
    Ok(Json(service::list(&ctx, input.post_id).await?))
}

async fn get(ctx: AdminCtx, ValidQuery(input): ValidQuery<RevisionInput>) -> Result<Json<RevisionDetail>, AppError> {
    Ok(Json(service::get(&ctx, input.post_id, input.revision_id).await?))
}

async fn restore(ctx: AdminCtx, ValidJson(input): ValidJson<RevisionInput>) -> Result<Json<RestoreOutput>, AppError> {
    Ok(Json(service::restore(&ctx, input.post_id, input.revision_id).await?))
}

async fn delete(ctx: AdminCtx, ValidJson(input): ValidJson<DeleteRevisionsInput>) -> Result<Json<DeleteRevisionsOutput>, AppError> {
    Ok(Json(service::delete(&ctx, input.post_id, &input.revision_ids).await?))
}
