//! The page view queue's consumer: one batch, one statement.

use crate::platform::batch::BatchItem;
use crate::platform::state::{AppState, DbCtx};

use super::schema::PageView;
use super::service;

impl BatchItem for PageView {
    const QUEUE: &'static str = "page-views";

    /// A visitor's repeats of one post within a batch are one item.
    fn key(&self) -> Option<u64> {
        Some(xxhash_rust::xxh3::xxh3_64(format!("{}\u{0}{}", self.post_id, self.visitor_hash).as_bytes()))
    }

    async fn handle(items: Vec<Self>, app: AppState) -> anyhow::Result<()> {
        service::write_batch(&DbCtx(app), items).await?;
        Ok(())
    }
}
