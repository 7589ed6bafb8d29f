//! Rules of workflow administration: what may be cancelled or retried.

use crate::platform::http::{AdminCtx, AppError};
use crate::platform::workflow::{EngineError, ListFilter, RunView};

use super::schema::ListRunsInput;

#[derive(Debug, thiserror::Error)]
pub enum WorkflowAdminError {
    #[error("no such workflow run")]
    NotFound,
    #[error("the run has already finished")]
    AlreadyFinished,
    #[error("only a failed run can be retried")]
    NotFailed,
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<WorkflowAdminError> for AppError {
    fn from(error: WorkflowAdminError) -> Self {
        let message = error.to_string();
        match error {
            WorkflowAdminError::NotFound => AppError::not_found("WORKFLOW_RUN_NOT_FOUND", message),
            WorkflowAdminError::AlreadyFinished => AppError::conflict("WORKFLOW_RUN_FINISHED", message),
            WorkflowAdminError::NotFailed => AppError::conflict("WORKFLOW_RUN_NOT_FAILED", message),
            WorkflowAdminError::Engine(error) => AppError::internal(error),
        }
    }
}

type Result<T> = std::result::Result<T, WorkflowAdminError>;

pub async fn list_runs(ctx: &AdminCtx, input: &ListRunsInput) -> Result<Vec<RunView>> {
    let filter = ListFilter {
        name: input.name.clone(),
        status: input.status.map(|s| s.as_str().to_owned()),
        before_id: input.before.clone(),
        limit: input.limit.unwrap_or(50),
    };
    Ok(ctx.app.workflows.list(&filter).await?)
}

pub async fn get_run(ctx: &AdminCtx, id: &str) -> Result<RunView> {
    ctx.app.workflows.get(id).await?.ok_or(WorkflowAdminError::NotFound)
}

pub async fn cancel_run(ctx: &AdminCtx, id: &str) -> Result<RunView> {
    if !ctx.app.workflows.cancel(id).await? {
        get_run(ctx, id).await?;
        return Err(WorkflowAdminError::AlreadyFinished);
    }
    tracing::info!(run_id = id, admin = %ctx.session.user.id, "workflow run cancelled");
    get_run(ctx, id).await
}

pub async fn retry_run(ctx: &AdminCtx, id: &str) -> Result<RunView> {
    if !ctx.app.workflows.retry(id).await? {
        get_run(ctx, id).await?;
        return Err(WorkflowAdminError::NotFailed);
    }
    tracing::info!(run_id = id, admin = %ctx.session.user.id, "workflow run retried");
    get_run(ctx, id).await
}
