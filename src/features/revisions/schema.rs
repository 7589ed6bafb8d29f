//! Revision types and inputs.

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::features::posts::schema::{Post, PostStatus, Visibility};
use crate::platform::clock::{Millis, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RevisionReason {
    Auto,
    Publish,
    RestoreBackup,
}

impl RevisionReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RevisionReason::Auto => "auto",
            RevisionReason::Publish => "publish",
            RevisionReason::RestoreBackup => "restore_backup",
        }
    }
}

impl TryFrom<String> for RevisionReason {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        match value.as_str() {
            "auto" => Ok(RevisionReason::Auto),
            "publish" => Ok(RevisionReason::Publish),
            "restore_backup" => Ok(RevisionReason::RestoreBackup),
            other => Err(format!("unknown revision reason {other:?}")),
        }
    }
}

/// A post's editable state (not `pinnedAt`, which is not content).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionSnapshot {
    pub title: String,
    pub summary: Option<String>,
    pub slug: String,
    pub status: PostStatus,
    pub published_at: Option<Timestamp>,
    pub read_time_in_minutes: i32,
    pub content: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default = "public_visibility")]
    pub visibility: Visibility,
    /// Ascending, without duplicates.
    pub tag_ids: Vec<i64>,
}

fn public_visibility() -> Visibility {
    Visibility::Public
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RevisionRow {
    pub id: i64,
    pub post_id: i64,
    #[sqlx(try_from = "String")]
    pub reason: RevisionReason,
    pub snapshot_json: String,
    pub snapshot_hash: String,
    pub restored_from_revision_id: Option<i64>,
    pub created_at: Millis,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionSummary {
    pub id: i64,
    pub post_id: i64,
    pub reason: RevisionReason,
    pub snapshot_hash: String,
    pub restored_from_revision_id: Option<i64>,
    pub created_at: Timestamp,
    pub title: Option<String>,
    pub summary: Option<String>,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionDetail {
    pub id: i64,
    pub post_id: i64,
    pub reason: RevisionReason,
    pub snapshot_hash: String,
    pub restored_from_revision_id: Option<i64>,
    pub created_at: Timestamp,
    /// Null when the stored snapshot no longer reads as one.
    pub snapshot: Option<RevisionSnapshot>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostRevisionsInput {
    #[garde(range(min = 1))]
    pub post_id: i64,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevisionInput {
    #[garde(range(min = 1))]
    pub post_id: i64,
    #[garde(range(min = 1))]
    pub revision_id: i64,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteRevisionsInput {
    #[garde(range(min = 1))]
    pub post_id: i64,
    #[garde(length(min = 1, max = 200), inner(range(min = 1)))]
    pub revision_ids: Vec<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreOutput {
    pub post: Post,
    /// False when the post already had exactly this state (nothing written).
    pub restored: bool,
    pub revision_id: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeleteRevisionsOutput {
    pub deleted_ids: Vec<i64>,
    pub deleted_count: usize,
}
