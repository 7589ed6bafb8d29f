//! Workflow admin server functions.

use axum::Json;

use crate::platform::auth::Scope;
use crate::platform::http::{AdminCtx, AppError, Endpoint, Routes, ValidJson, ValidQuery};
use crate::platform::workflow::RunView;

use super::schema::{ListRunsInput, RunIdInput};
use super::service;

pub fn routes() -> Routes {
    Routes::new()
        .route(
            Endpoint::query("listWorkflowRuns")
                .tag("workflows")
                .summary("Workflow runs, newest first, by workflow and status")
                .scope(Scope::PostsRead)
                .input::<ListRunsInput>()
                .output::<Vec<RunView>>()
                .handler(list_runs),
        )
        .route(
            Endpoint::query("getWorkflowRun")
                .tag("workflows")
                .summary("One run with each of its steps")
                .scope(Scope::PostsRead)
                .input::<RunIdInput>()
                .output::<RunView>()
                .handler(get_run),
        )
        .route(
            Endpoint::mutation("cancelWorkflowRun")
                .tag("workflows")
                .summary("Cancel a queued, sleeping or running run")
                .scope(Scope::PostsWrite)
                .input::<RunIdInput>()
                .output::<RunView>()
                .handler(cancel_run),
        )
        .route(
            Endpoint::mutation("retryWorkflowRun")
                .tag("workflows")
                .summary("Run a failed run again; completed steps are not repeated")
                .scope(Scope::PostsWrite)
                .input::<RunIdInput>()
                .output::<RunView>()
                .handler(retry_run),
        )
}

async fn list_runs(ctx: AdminCtx, ValidQuery(input): ValidQuery<ListRunsInput>) -> Result<Json<Vec<RunView>>, AppError> {
    Ok(Json(service::list_runs(&ctx, &input).await?))
}

async fn get_run(ctx: AdminCtx, ValidQuery(input): ValidQuery<RunIdInput>) -> Result<Json<RunView>, AppError> {
    Ok(Json(service::get_run(&ctx, &input.id).await?))
}

async fn cancel_run(ctx: AdminCtx, ValidJson(input): ValidJson<RunIdInput>) -> Result<Json<RunView>, AppError> {
    Ok(Json(service::cancel_run(&ctx, &input.id).await?))
}

async fn retry_run(ctx: AdminCtx, ValidJson(input): ValidJson<RunIdInput>) -> Result<Json<RunView>, AppError> {
    Ok(Json(service::retry_run(&ctx, &input.id).await?))
}
