//! `post-auto-snapshot`: waits until the editor has been quiet for the
//! window (re-reading the post's `updated_at` after each wait), then takes
//! an automatic revision.

use std::time::Duration;

use serde::{Deserialize, Serialize};

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
        let (app, id) = (event.app, event.params.post_id);
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
