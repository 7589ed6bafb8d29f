//! `media-remove-objects`: after an image's row is deleted, removes its
//! object and then its variants, each step retried for about an hour, so a
//! storage outage delays the removal instead of losing it.
//!
//! And the subscribers that keep `post_media` in step with what posts link:
//! an edit, a publish, an unpublish and a delete each rebuild the post's
//! links from its current state (so the order they arrive in does not matter).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::features::posts::events::PostEdited;
use crate::features::publishing::events::{PostDeleted, PostPublished, PostUnpublished};
use crate::platform::events::Subscriber;
use crate::platform::state::DbCtx;
use crate::platform::workflow::{Backoff, Event, RetryPolicy, Step, Workflow};

use super::service;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoveObjectsParams {
    pub key: String,
}

/// 10 s, doubling to at most 15 min: 8 retries span about an hour.
const STORAGE_RETRY: RetryPolicy = RetryPolicy {
    limit: 8,
    delay: Duration::from_secs(10),
    backoff: Backoff::Exponential,
    max_delay: Some(Duration::from_secs(900)),
    timeout: None,
};

pub struct RemoveObjects;

impl Workflow for RemoveObjects {
    const NAME: &'static str = "media-remove-objects";
    type Params = RemoveObjectsParams;
    /// Variants removed.
    type Output = u64;

    async fn run(&self, event: Event<RemoveObjectsParams>, step: Step) -> anyhow::Result<u64> {
        let (app, key) = (DbCtx(event.app), event.params.key);
        step.run("remove original", STORAGE_RETRY, || service::remove_original(&app, &key)).await?;
        Ok(step.run("remove variants", STORAGE_RETRY, || service::remove_variants(&app, &key)).await?)
    }
}

macro_rules! relink_on {
    ($name:ident, $event:ty, $subscriber:literal) => {
        pub struct $name;

        impl Subscriber for $name {
            type Event = $event;
            const NAME: &'static str = $subscriber;

            async fn handle(&self, app: &DbCtx, event: $event) -> anyhow::Result<()> {
                Ok(service::relink_post(app, event.post_id).await?)
            }
        }
    };
}

relink_on!(LinkAfterEdit, PostEdited, "media.link-edited");
relink_on!(LinkAfterPublish, PostPublished, "media.link-published");
relink_on!(LinkAfterUnpublish, PostUnpublished, "media.link-unpublished");
relink_on!(UnlinkAfterDelete, PostDeleted, "media.unlink-deleted");
