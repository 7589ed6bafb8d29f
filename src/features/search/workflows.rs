//! The search subscriber: keeps the index in line with the public read model.

use crate::features::publishing::events::PublicPostsChanged;
use crate::platform::events::Subscriber;
use crate::platform::state::DbCtx;

use super::service;

/// Reindexes the posts whose public snapshot changed (a removed one leaves
/// the index), then drops cached results.
pub struct IndexPublicPosts;

impl Subscriber for IndexPublicPosts {
    type Event = PublicPostsChanged;
    const NAME: &'static str = "search.index";

    async fn handle(&self, app: &DbCtx, event: PublicPostsChanged) -> anyhow::Result<()> {
        Ok(service::reindex(app, &event.post_ids).await?)
    }
}
