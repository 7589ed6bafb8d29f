//! The `webhook` queue: one message per (notification, endpoint), retried
//! with backoff for about an hour; its `webhook-id` never changes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::platform::state::{AppState, DbCtx};
use crate::platform::workflow::{Backoff, QueueMessage, RetryPolicy};

use super::schema::WebhookBody;
use super::service;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookMessage {
    pub endpoint_id: String,
    pub body: WebhookBody,
}

impl QueueMessage for WebhookMessage {
    const QUEUE: &'static str = "webhook";

    /// 8 attempts: 30 s, then doubling to at most 30 minutes between them
    /// (about 1 h 1 min from the first to the last).
    fn retry() -> RetryPolicy {
        RetryPolicy::new(7, Duration::from_secs(30), Backoff::Exponential).with_max_delay(Duration::from_secs(1800))
    }

    async fn handle(mut self, app: AppState) -> anyhow::Result<()> {
        Ok(service::deliver(&DbCtx(app), &self.endpoint_id, &mut self.body).await?)
    }
}
