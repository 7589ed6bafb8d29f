//! The site documents' subscriber: feeds and sitemaps list public posts.

use crate::features::publishing::events::PublicPostsChanged;
use crate::platform::events::Subscriber;
use crate::platform::state::DbCtx;

use super::service;

/// Drops the cached feeds and sitemaps when what readers see changed.
pub struct RefreshSiteDocuments;

impl Subscriber for RefreshSiteDocuments {
    type Event = PublicPostsChanged;
    const NAME: &'static str = "site.refresh";

    async fn handle(&self, app: &DbCtx, _: PublicPostsChanged) -> anyhow::Result<()> {
        service::invalidate(app).await;
        Ok(())
    }
}
