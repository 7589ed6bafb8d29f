//! Revision rules: what a snapshot holds, when automatic snapshots are taken
//! (after a quiet window, never twice for the same state, at most one every
//! 2 minutes, the newest 30 kept) and how a restore keeps a backup.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::features::posts::schema::PostRow;
use crate::features::posts::schema::RestoredPost;
use crate::features::posts::service as posts;
use crate::platform::clock::{Millis, Timestamp};
use crate::platform::db::is_foreign_key_violation;
use crate::platform::http::{AdminCtx, AppError};
use crate::platform::state::DbCtx;
use crate::platform::workflow::{CreateOptions, EngineError};

use super::data;
use super::schema::{DeleteRevisionsOutput, RestoreOutput, RevisionDetail, RevisionReason, RevisionRow, RevisionSnapshot, RevisionSummary};
use super::workflows::{AutoSnapshot, AutoSnapshotParams};

/// Automatic revisions kept per post.
pub const KEEP_AUTO: i64 = 30;
/// The shortest time between two automatic revisions of a post.
pub const AUTO_MIN_INTERVAL: Duration = Duration::from_secs(120);
/// How long an editor must be quiet before an automatic revision is taken.
pub const QUIET_WINDOW: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum RevisionError {
    #[error("no such post")]
    PostNotFound,
    #[error("no such revision of this post")]
    RevisionNotFound,
    #[error("the revision's snapshot cannot be restored: {0}")]
    InvalidSnapshot(String),
    #[error("another post now uses the revision's slug")]
    SlugTaken,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for RevisionError {
    fn from(error: sqlx::Error) -> Self {
        RevisionError::Internal(anyhow::Error::new(error).context("revisions database error"))
    }
}

impl From<posts::PostError> for RevisionError {
    fn from(error: posts::PostError) -> Self {
        match error {
            posts::PostError::NotFound => RevisionError::PostNotFound,
            posts::PostError::SlugTaken => RevisionError::SlugTaken,
            other => RevisionError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<RevisionError> for AppError {
    fn from(error: RevisionError) -> Self {
        let message = error.to_string();
        match error {
            RevisionError::PostNotFound => AppError::not_found("POST_NOT_FOUND", message),
            RevisionError::RevisionNotFound => AppError::not_found("POST_REVISION_NOT_FOUND", message),
            RevisionError::InvalidSnapshot(_) => {
                AppError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "POST_REVISION_INVALID_SNAPSHOT", message)
            }
            RevisionError::SlugTaken => AppError::conflict("POST_SLUG_TAKEN", message),
            RevisionError::Internal(error) => AppError::Internal(error),
        }
    }
}

type Result<T> = std::result::Result<T, RevisionError>;

pub fn snapshot_of(post: &PostRow, tag_ids: &[i64]) -> RevisionSnapshot {
    let mut tag_ids = tag_ids.to_vec();
    tag_ids.sort_unstable();
    tag_ids.dedup();
    RevisionSnapshot {
        title: post.title.clone(),
        summary: post.summary.clone(),
        slug: post.slug.clone(),
        status: post.status,
        published_at: post.published_at.map(Timestamp),
        read_time_in_minutes: post.read_time_in_minutes,
        content: post.content.clone(),
        category: post.category.clone(),
        visibility: post.visibility,
        tag_ids,
    }
}

/// The stored JSON of a snapshot and its SHA-256 (field order is fixed by the type).
fn encode(snapshot: &RevisionSnapshot) -> Result<(String, String)> {
    let json = serde_json::to_string(snapshot).map_err(anyhow::Error::from)?;
    let hash = hex::encode(Sha256::digest(json.as_bytes()));
    Ok((json, hash))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Taken {
    Created(i64),
    /// The latest revision already holds this state.
    Unchanged,
    /// An automatic revision was taken less than 2 minutes ago.
    TooSoon,
}

/// Records the post's current state. Automatic revisions are deduplicated,
/// spaced and trimmed; publish revisions are always written.
pub async fn take(app: &DbCtx, post_id: i64, reason: RevisionReason) -> Result<Taken> {
    let (post, tag_ids) = posts::editable_state(app, post_id).await?.ok_or(RevisionError::PostNotFound)?;
    let (json, hash) = encode(&snapshot_of(&post, &tag_ids))?;
    let now = app.clock.now_ms();
    if reason == RevisionReason::Auto {
        if data::latest(&app.db, post_id, None).await?.is_some_and(|r| r.snapshot_hash == hash) {
            return Ok(Taken::Unchanged);
        }
        if data::latest(&app.db, post_id, Some(RevisionReason::Auto))
            .await?
            .is_some_and(|r| now - r.created_at < AUTO_MIN_INTERVAL.as_millis() as Millis)
        {
            return Ok(Taken::TooSoon);
        }
    }
    let id = data::insert(&app.db, post_id, reason, &json, &hash, None, now).await?;
    if reason == RevisionReason::Auto {
        data::trim_auto(&app.db, post_id, KEEP_AUTO).await?;
    }
    Ok(Taken::Created(id))
}

/// The revision of a publish: exactly the state the pipeline built the
/// public snapshot from (carried by `PostPublished`). Delivered at least
/// once, so a publish revision already holding this state is not repeated.
pub async fn take_published(app: &DbCtx, post: &PostRow, tag_ids: &[i64]) -> Result<Taken> {
    let (json, hash) = encode(&snapshot_of(post, tag_ids))?;
    if data::latest(&app.db, post.id, None).await?.is_some_and(|r| r.snapshot_hash == hash && r.reason == RevisionReason::Publish) {
        return Ok(Taken::Unchanged);
    }
    match data::insert(&app.db, post.id, RevisionReason::Publish, &json, &hash, None, app.clock.now_ms()).await {
        Ok(id) => Ok(Taken::Created(id)),
        // The post was deleted before the revision could be written.
        Err(error) if is_foreign_key_violation(&error) => Ok(Taken::Unchanged),
        Err(error) => Err(error.into()),
    }
}

/// After an edit: an automatic revision once the editor has been quiet for
/// the window. Edits while a snapshot run waits join that run.
pub async fn schedule_auto_snapshot(app: &DbCtx, post_id: i64) -> std::result::Result<(), EngineError> {
    let params = AutoSnapshotParams { post_id, quiet_window_seconds: QUIET_WINDOW.as_secs() };
    let options = CreateOptions { key: Some(format!("post-{post_id}-auto-snapshot")), ..Default::default() };
    app.workflows.create::<AutoSnapshot>(&params, options).await.map(|_| ())
}

/// How much longer to wait for the editor to be quiet (`None`: quiet enough,
/// or the post is gone).
pub async fn remaining_quiet(app: &DbCtx, post_id: i64, quiet: Duration) -> Result<Option<u64>> {
    let Some(updated_at) = data::post_updated_at(&app.db, post_id).await? else { return Ok(None) };
    let waited = app.clock.now_ms() - updated_at;
    let quiet = quiet.as_millis() as Millis;
    Ok((waited < quiet).then(|| (quiet - waited) as u64))
}

fn summary(row: RevisionRow) -> RevisionSummary {
    let snapshot: Option<RevisionSnapshot> = serde_json::from_str(&row.snapshot_json).ok();
    RevisionSummary {
        id: row.id,
        post_id: row.post_id,
        reason: row.reason,
        snapshot_hash: row.snapshot_hash,
        restored_from_revision_id: row.restored_from_revision_id,
        created_at: Timestamp(row.created_at),
        title: snapshot.as_ref().map(|s| s.title.clone()),
        summary: snapshot.and_then(|s| s.summary),
    }
}

pub async fn list(ctx: &AdminCtx, post_id: i64) -> Result<Vec<RevisionSummary>> {
    Ok(data::list(&ctx.app.db, post_id).await?.into_iter().map(summary).collect())
}

pub async fn get(ctx: &AdminCtx, post_id: i64, revision_id: i64) -> Result<RevisionDetail> {
    let row = data::get(&ctx.app.db, post_id, revision_id).await?.ok_or(RevisionError::RevisionNotFound)?;
    Ok(RevisionDetail {
        snapshot: serde_json::from_str(&row.snapshot_json).ok(),
        id: row.id,
        post_id: row.post_id,
        reason: row.reason,
        snapshot_hash: row.snapshot_hash,
        restored_from_revision_id: row.restored_from_revision_id,
        created_at: Timestamp(row.created_at),
    })
}

/// Puts a revision's state back (readers see it after the next publish).
/// The state it replaces is kept as a `restore_backup` revision.
pub async fn restore(ctx: &AdminCtx, post_id: i64, revision_id: i64) -> Result<RestoreOutput> {
    let app = &ctx.app;
    let row = data::get(&app.db, post_id, revision_id).await?.ok_or(RevisionError::RevisionNotFound)?;
    let target: RevisionSnapshot = serde_json::from_str(&row.snapshot_json).map_err(|e| RevisionError::InvalidSnapshot(e.to_string()))?;
    if target.read_time_in_minutes < 1 || target.slug.is_empty() {
        return Err(RevisionError::InvalidSnapshot("readTimeInMinutes must be at least 1 and the slug not empty".into()));
    }
    let (post, tag_ids) = posts::editable_state(app, post_id).await?.ok_or(RevisionError::PostNotFound)?;
    let (current_json, current_hash) = encode(&snapshot_of(&post, &tag_ids))?;
    let (_, target_hash) = encode(&target)?;
    if current_hash == target_hash {
        return Ok(RestoreOutput { post: posts::post(app, post_id).await?, restored: false, revision_id });
    }
    let now = app.clock.now_ms();
    let restored = RestoredPost {
        title: &target.title,
        summary: target.summary.as_deref(),
        slug: &target.slug,
        status: target.status,
        published_at: target.published_at.map(|t| t.millis()),
        read_time_in_minutes: target.read_time_in_minutes,
        content: target.content.as_deref(),
        category: target.category.as_deref(),
        visibility: target.visibility,
    };
    let mut tx = app.db.begin().await?;
    let backup = (current_json.as_str(), current_hash.as_str());
    data::insert_tx(&mut tx, post_id, RevisionReason::RestoreBackup, backup, Some(revision_id), now).await?;
    let emitted = posts::restore_in(app, &mut tx, post_id, &restored, &target.tag_ids).await?;
    tx.commit().await?;
    app.events.release(emitted).await;
    Ok(RestoreOutput { post: posts::post(app, post_id).await?, restored: true, revision_id })
}

pub async fn delete(ctx: &AdminCtx, post_id: i64, ids: &[i64]) -> Result<DeleteRevisionsOutput> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let deleted_ids = data::delete_many(&ctx.app.db, post_id, &ids).await?;
    Ok(DeleteRevisionsOutput { deleted_count: deleted_ids.len(), deleted_ids })
}
