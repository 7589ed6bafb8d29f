//! Inputs of the workflow admin functions.

use garde::Validate;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Queued,
    Running,
    Sleeping,
    Completed,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Sleeping => "sleeping",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListRunsInput {
    /// Only runs of this workflow.
    #[garde(length(chars, min = 1, max = 100))]
    pub name: Option<String>,
    #[garde(skip)]
    pub status: Option<RunStatus>,
    /// Runs created before this run id (the last id of the previous page).
    #[garde(length(chars, min = 1, max = 64))]
    pub before: Option<String>,
    /// 1-200, default 50.
    #[garde(range(min = 1, max = 200))]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunIdInput {
    #[garde(length(chars, min = 1, max = 64))]
    pub id: String,
}
