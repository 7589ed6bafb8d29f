//! The publish pipeline on the workflow engine.
//!
//! * `post-process`: publish (check the sync hash -> summary -> build the
//!   public snapshot, which also invalidates the caches it changed) or
//!   unpublish (drop the snapshot, invalidate).
//! * `scheduled-publish`: for a post dated in the future, sleeps until
//!   exactly `publishedAt`, then refreshes the caches so the post appears
//!   without anyone having to touch it.
//!
//! Steps call the publishing service, never `data` directly. The tag
//! subscribers are here too: a renamed or deleted tag changes public pages.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::features::tags::events::{TagDeleted, TagRenamed};
use crate::platform::clock::Millis;
use crate::platform::events::Subscriber;
use crate::platform::state::DbCtx;
use crate::platform::workflow::{Backoff, Event, RetryPolicy, Step, Workflow};

use super::service;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostProcessParams {
    pub post_id: i64,
    pub publish: bool,
}

pub struct PostProcess;

impl Workflow for PostProcess {
    const NAME: &'static str = "post-process";
    type Params = PostProcessParams;
    type Output = &'static str;

    async fn run(&self, event: Event<PostProcessParams>, step: Step) -> anyhow::Result<&'static str> {
        let (app, id) = (DbCtx(event.app), event.params.post_id);
        if !event.params.publish {
            step.run("unpublish", RetryPolicy::default(), || service::unpublish(&app, id)).await?;
            return Ok("unpublished");
        }
        if !step.run("check sync status", RetryPolicy::default(), || service::needs_publishing(&app, id)).await? {
            return Ok("unchanged");
        }
        // The spec's retries for summaries (an AI endpoint may be flaky);
        // when they run out, the extractive summary is used instead.
        let summary_retry = RetryPolicy::new(3, Duration::from_secs(5), Backoff::Exponential);
        let summary = match step.run("generate summary", summary_retry, || service::summary_for_publishing(&app, id, true)).await {
            Ok(summary) => summary,
            Err(failed) => {
                tracing::warn!(post_id = id, error = %failed.error, "summary generation failed; using the extractive summary");
                step.run("extractive summary", RetryPolicy::default(), || service::summary_for_publishing(&app, id, false)).await?
            }
        };
        let built =
            step.run("build public snapshot", RetryPolicy::default(), || service::build_public_snapshot(&app, id, &summary)).await?;
        Ok(if built { "published" } else { "not published any more" })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledPublishParams {
    pub post_id: i64,
    /// Epoch ms.
    pub published_at: Millis,
}

pub struct ScheduledPublish;

impl Workflow for ScheduledPublish {
    const NAME: &'static str = "scheduled-publish";
    type Params = ScheduledPublishParams;
    type Output = ();

    async fn run(&self, event: Event<ScheduledPublishParams>, step: Step) -> anyhow::Result<()> {
        step.sleep_until("sleep until publish date", event.params.published_at).await;
        let (app, id) = (DbCtx(event.app), event.params.post_id);
        step.run("refresh public caches", RetryPolicy::default(), || service::refresh_scheduled(&app, id)).await?;
        Ok(())
    }
}

/// A renamed tag: drop the public caches that show its name, then announce
/// the public posts that carry it.
pub struct RefreshAfterTagRename;

impl Subscriber for RefreshAfterTagRename {
    type Event = TagRenamed;
    const NAME: &'static str = "publishing.tag-renamed";

    async fn handle(&self, app: &DbCtx, event: TagRenamed) -> anyhow::Result<()> {
        Ok(service::tag_changed(app, event.tag_id, &[]).await?)
    }
}

/// A deleted tag: the same, for the posts that carried it.
pub struct RefreshAfterTagDelete;

impl Subscriber for RefreshAfterTagDelete {
    type Event = TagDeleted;
    const NAME: &'static str = "publishing.tag-deleted";

    async fn handle(&self, app: &DbCtx, event: TagDeleted) -> anyhow::Result<()> {
        Ok(service::tag_changed(app, event.tag_id, &event.post_ids).await?)
    }
}
