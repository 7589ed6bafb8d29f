//! Cache invalidation that is never lost. A change lists what it makes
//! stale ([`Invalidation`]); [`apply`] removes it at once, and whatever the
//! store refused (Redis timed out, or is being skipped) becomes a
//! `cache.invalidate` run that retries until the store takes it. Before
//! this, a Redis blip during a publish left the old page cached for its
//! whole TTL (7 days). May use: `platform::{cache, state, workflow}`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::platform::cache::{CacheService, Key, KeyAddress, Namespace};
use crate::platform::state::AppState;
use crate::platform::workflow::{Backoff, CreateOptions, Event, RetryPolicy, Step, Workflow};

/// Namespaces to move to their next version and keys to delete.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invalidation {
    pub bump: Vec<String>,
    pub delete: Vec<KeyAddress>,
}

impl Invalidation {
    pub fn bump(mut self, namespace: Namespace) -> Self {
        self.bump.push(namespace.name.to_owned());
        self
    }

    pub fn delete<T>(mut self, key: &Key<T>) -> Self {
        self.delete.push(key.address());
        self
    }

    pub fn is_empty(&self) -> bool {
        self.bump.is_empty() && self.delete.is_empty()
    }

    /// Applies what it can; returns what the store refused.
    async fn apply_now(&self, cache: &CacheService) -> Invalidation {
        let mut left = Invalidation::default();
        // Keys first: a key of a versioned namespace is deleted under the
        // version it was stored with, before a bump moves past it.
        if !self.delete.is_empty() && cache.delete_addresses(&self.delete).await.is_err() {
            left.delete = self.delete.clone();
        }
        for namespace in &self.bump {
            if cache.bump_named(namespace).await.is_err() {
                left.bump.push(namespace.clone());
            }
        }
        left
    }
}

/// Retries of a refused invalidation: every few seconds at first, then
/// each minute, for about a day; then the run fails where admins see it.
const RETRY: RetryPolicy = RetryPolicy::new(1500, Duration::from_secs(1), Backoff::Exponential).with_max_delay(Duration::from_secs(60));

/// Invalidates now; what the store refuses is retried durably. Never fails:
/// if even the retry cannot be recorded, the error is logged (the entries
/// then live out their TTL, which Redis caps at minutes).
pub async fn apply(app: &AppState, invalidation: Invalidation) {
    let left = invalidation.apply_now(&app.cache).await;
    if left.is_empty() {
        return;
    }
    tracing::warn!(?left, "the cache refused an invalidation; retrying it in the background");
    if let Err(error) = app.workflows.create::<CacheInvalidate>(&left, CreateOptions::default()).await {
        tracing::error!(%error, ?left, "could not record a cache invalidation to retry; the entries expire with their TTL");
    }
}

/// `cache.invalidate`: one step, retried until the store takes the invalidation.
pub struct CacheInvalidate;

impl Workflow for CacheInvalidate {
    const NAME: &'static str = "cache.invalidate";
    type Params = Invalidation;
    type Output = ();

    async fn run(&self, event: Event<Invalidation>, step: Step) -> anyhow::Result<()> {
        let (app, invalidation) = (event.app, event.params);
        step.run("invalidate", RETRY, || async {
            let left = invalidation.apply_now(&app.cache).await;
            anyhow::ensure!(left.is_empty(), "the cache store still refuses: {left:?}");
            Ok(())
        })
        .await?;
        Ok(())
    }
}
