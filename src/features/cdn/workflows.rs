//! The CDN purge subscriber.

use std::time::Duration;

use crate::features::publishing::events::PublicPostsChanged;
use crate::features::settings::events::SiteSettingsChanged;
use crate::platform::events::Subscriber;
use crate::platform::state::DbCtx;
use crate::platform::workflow::{Backoff, RetryPolicy};

use super::service;

/// Purges the changed posts' URLs at the edge (after publishing dropped its
/// own caches, so the edge fetches the new page).
pub struct PurgeChangedPosts;

/// An unreachable API is retried for about an hour (pages stay stale at
/// the edge meanwhile, and the run shows why).
fn purge_retry() -> RetryPolicy {
    RetryPolicy::new(8, Duration::from_secs(15), Backoff::Exponential).with_max_delay(Duration::from_secs(900))
}

impl Subscriber for PurgeChangedPosts {
    type Event = PublicPostsChanged;
    const NAME: &'static str = "cdn.purge";

    fn retry(&self) -> RetryPolicy {
        purge_retry()
    }

    async fn handle(&self, app: &DbCtx, event: PublicPostsChanged) -> anyhow::Result<()> {
        let purged = service::purge_posts(app, &event.slugs).await?;
        if purged > 0 {
            tracing::info!(urls = purged, "CDN purged");
        }
        Ok(())
    }
}

/// Purges the whole site at the edge when what every page shows changed
/// (title, icons, theme: the spec's rule).
pub struct PurgeSiteAfterSettings;

impl Subscriber for PurgeSiteAfterSettings {
    type Event = SiteSettingsChanged;
    const NAME: &'static str = "cdn.purge-site";

    fn retry(&self) -> RetryPolicy {
        purge_retry()
    }

    async fn handle(&self, app: &DbCtx, _: SiteSettingsChanged) -> anyhow::Result<()> {
        if service::purge_everything(app).await? {
            tracing::info!("CDN purged: the site's settings changed");
        }
        Ok(())
    }
}
