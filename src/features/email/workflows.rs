//! The `email` queue: one message per email, retried while the server is
//! unreachable or answers 4xx (10 s, doubling to at most 15 minutes, 9
//! attempts: about an hour), failed at once on a 5xx or a bad address.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::platform::mail::Email;
use crate::platform::state::{AppState, DbCtx};
use crate::platform::workflow::{Backoff, QueueMessage, RetryPolicy};

use super::service::{self, Unsubscribable};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailMessage {
    pub email: Email,
    /// Skipped when this user unsubscribed from this kind meanwhile.
    pub unsubscribable: Option<Unsubscribable>,
}

impl QueueMessage for EmailMessage {
    const QUEUE: &'static str = "email";

    fn retry() -> RetryPolicy {
        RetryPolicy::new(8, Duration::from_secs(10), Backoff::Exponential).with_max_delay(Duration::from_secs(900))
    }

    async fn handle(self, app: AppState) -> anyhow::Result<()> {
        service::deliver(&DbCtx(app), &self).await
    }
}
