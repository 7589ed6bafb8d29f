//! The CDN purge subscriber.

use std::time::Duration;

use crate::features::publishing::events::PublicPostsChanged;
use crate::platform::events::Subscriber;
use crate::platform::state::DbCtx;
use crate::platform::workflow::{Backoff, RetryPolicy};

use super::service;

/// Purges the changed posts' URLs at the edge (after publishing dropped its
/// own caches, so the edge fetches the new page).
pub struct PurgeChangedPosts;

impl Subscriber for PurgeChangedPosts {
    type Event = PublicPostsChanged;
    const NAME: &'static str = "cdn.purge";

    /// An unreachable API is retried for about an hour (the detail stays
    /// stale at the edge meanwhile, and the run shows why).
    fn retry(&self) -> RetryPolicy {
        RetryPolicy::new(8, Duration::from_secs(15), Backoff::Exponential).with_max_delay(Duration::from_secs(900))
    }

    async fn handle(&self, app: &DbCtx, event: PublicPostsChanged) -> anyhow::Result<()> {
        let purged = service::purge_posts(app, &event.slugs).await?;
        if purged > 0 {
            tracing::info!(urls = purged, "CDN purged");
        }
        Ok(())
    }
}
