//! In-process batching in front of the durable queue: items (page views)
//! are collected in memory and handed to the queue as one message per
//! batch, so a request never waits for a write, and the consumer writes a
//! whole batch at once. A batch leaves when it is full or its first item
//! is [`BatchItem::MAX_DELAY`] old; shutdown waits for pending batches (they
//! are tracked tasks), so only a crash can lose what was not yet queued: at
//! most one delay's worth of items. Uses the workflow engine only.

use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::platform::state::AppState;
use crate::platform::workflow::QueueMessage;

/// Something collected into batches, and what its consumer does with one.
pub trait BatchItem: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The queue's name (one per item type).
    const QUEUE: &'static str;
    /// A batch leaves at once when it has this many items.
    const MAX_ITEMS: usize = 1000;
    /// ... or when its first item has waited this long.
    const MAX_DELAY: Duration = Duration::from_secs(1);

    /// Items with the same key in one open batch are one item (the first
    /// is kept): a burst of repeats costs no queue space.
    fn key(&self) -> Option<u64> {
        None
    }

    /// Handles one batch (retried as a whole on error).
    fn handle(items: Vec<Self>, app: AppState) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// The queue message carrying one batch.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Batch<I: BatchItem> {
    pub items: Vec<I>,
}

impl<I: BatchItem> QueueMessage for Batch<I> {
    const QUEUE: &'static str = I::QUEUE;

    fn handle(self, app: AppState) -> impl Future<Output = anyhow::Result<()>> + Send {
        I::handle(self.items, app)
    }
}

/// An open batch: its items, and the keys of those that have one.
struct Open<I> {
    items: Vec<I>,
    keys: HashSet<u64>,
}

/// The open batch of each item type.
#[derive(Default)]
pub struct Batches {
    open: Mutex<HashMap<TypeId, Box<dyn Any + Send>>>,
}

impl Batches {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<TypeId, Box<dyn Any + Send>>> {
        self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes the open batch of `I` (empty if none).
    fn take<I: BatchItem>(&self) -> Vec<I> {
        let mut open = self.lock();
        match open.get_mut(&TypeId::of::<I>()).and_then(|b| b.downcast_mut::<Open<I>>()) {
            Some(batch) => {
                batch.keys.clear();
                std::mem::take(&mut batch.items)
            }
            None => Vec::new(),
        }
    }

    /// Adds `item` to the open batch of its type; never waits for I/O.
    pub fn push<I: BatchItem>(&self, app: &AppState, item: I) {
        let (full, first) = {
            let mut open = self.lock();
            let batch = open.entry(TypeId::of::<I>()).or_insert_with(|| Box::new(Open::<I> { items: Vec::new(), keys: HashSet::new() }));
            let Some(batch) = batch.downcast_mut::<Open<I>>() else { unreachable!("batches are stored by their item's type") };
            if let Some(key) = item.key()
                && !batch.keys.insert(key)
            {
                return;
            }
            batch.items.push(item);
            if batch.items.len() >= I::MAX_ITEMS {
                batch.keys.clear();
                (Some(std::mem::take(&mut batch.items)), false)
            } else {
                (None, batch.items.len() == 1)
            }
        };
        if let Some(items) = full {
            let app = app.clone();
            app.tasks.clone().spawn(async move { send(&app, items).await });
        } else if first {
            let app = app.clone();
            app.tasks.clone().spawn(async move {
                tokio::time::sleep(I::MAX_DELAY).await;
                let items = app.batches.take::<I>();
                send(&app, items).await;
            });
        }
    }

    /// Queues the open batch of `I` now (tests, and callers that must not wait).
    pub async fn flush<I: BatchItem>(&self, app: &AppState) {
        let items = self.take::<I>();
        send(app, items).await;
    }
}

async fn send<I: BatchItem>(app: &AppState, items: Vec<I>) {
    if items.is_empty() {
        return;
    }
    let count = items.len();
    if let Err(error) = app.workflows.send(&Batch { items }).await {
        // The database refused the batch: these items are lost, and said so.
        metrics::counter!("flint_batch_items_dropped_total", "queue" => I::QUEUE).increment(count as u64);
        tracing::error!(queue = I::QUEUE, items = count, %error, "could not queue a batch; its items are dropped");
    }
}
