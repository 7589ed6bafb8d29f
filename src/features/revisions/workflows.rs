//! `post-auto-snapshot`: waits until the editor has been quiet for the
//! window (re-reading the post's `updated_at` after each wait), then takes
//! an automatic revision. And the subscribers that start it (`PostEdited`)
//! and record what was published (`PostPublished`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::features::posts::events::PostEdited;
use crate::features::publishing::events::PostPublished;
use crate::platform::events::Subscriber;
use crate::platform::state::DbCtx;
use crate::platform::workflow::{Event, RetryPolicy, Step, Workflow};

use super::schema::RevisionReason;
use super::service::{self, Taken};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoSnapshotParams {
    pub post_id: i64,
    pub quiet_window_seconds: u64,
}

/// A post edited without pause for this many windows gets its snapshot anyway.
const MAX_WAITS: u32 = 100;

pub struct AutoSnapshot;

impl Workflow for AutoSnapshot {
    const NAME: &'static str = "post-auto-snapshot";
    type Params = AutoSnapshotParams;
    type Output = Option<Taken>;

    async fn run(&self, event: Event<AutoSnapshotParams>, step: Step) -> anyhow::Result<Option<Taken>> {
        let (app, id) = (DbCtx(event.app), event.params.post_id);
        let quiet = Duration::from_secs(event.params.quiet_window_seconds.max(5));
        step.sleep("wait for editor quiet window", quiet).await;
        for wait in 0..MAX_WAITS {
            let remaining = step
                .run(&format!("read latest post update time {wait}"), RetryPolicy::default(), || service::remaining_quiet(&app, id, quiet))
                .await?;
            match remaining {
                Some(ms) => step.sleep(&format!("wait for additional quiet time {wait}"), Duration::from_millis(ms)).await,
                None => break,
            }
        }
        let taken = step
            .run("create auto snapshot revision", RetryPolicy::default(), || async {
                match service::take(&app, id, RevisionReason::Auto).await {
                    Ok(taken) => Ok(Some(taken)),
                    Err(service::RevisionError::PostNotFound) => Ok(None),
                    Err(error) => Err(error),
                }
            })
            .await?;
        Ok(taken)
    }
}

/// After an edit: an automatic revision once the editor goes quiet.
pub struct SnapshotAfterEdit;

impl Subscriber for SnapshotAfterEdit {
    type Event = PostEdited;
    const NAME: &'static str = "revisions.auto-snapshot";

    async fn handle(&self, app: &DbCtx, event: PostEdited) -> anyhow::Result<()> {
        Ok(service::schedule_auto_snapshot(app, event.post_id).await?)
    }
}

/// After a publish: the revision of exactly what was published.
pub struct RecordPublished;

impl Subscriber for RecordPublished {
    type Event = PostPublished;
    const NAME: &'static str = "revisions.publish";

    async fn handle(&self, app: &DbCtx, event: PostPublished) -> anyhow::Result<()> {
        service::take_published(app, &event.post, &event.tag_ids).await?;
        Ok(())
    }
}
