//! Where resizes run: at most N at once (N = `FLINT_MEDIA_RESIZE_WORKERS`,
//! the cores by default) on blocking threads, each distinct variant made by
//! one caller while the others wait for it, and the variants served lately
//! kept in memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{OnceCell, Semaphore};

pub struct ImageWorkers {
    permits: Semaphore,
    /// The variants being made, by name: latecomers wait on the same cell.
    in_flight: Mutex<HashMap<String, Arc<OnceCell<Bytes>>>>,
    resizes: AtomicU64,
    /// Variants served lately (a variant's bytes never change under its name).
    recent: moka::future::Cache<String, Bytes>,
}

impl ImageWorkers {
    /// `resizes` at once; `memory` bytes of recent variants.
    pub fn new(resizes: usize, memory: u64) -> Self {
        let recent = moka::future::Cache::builder()
            .max_capacity(memory)
            .weigher(|key: &String, value: &Bytes| u32::try_from(key.len() + value.len()).unwrap_or(u32::MAX))
            // Another process may delete or replace an image: its variants
            // leave this one's memory within minutes.
            .time_to_live(std::time::Duration::from_secs(600))
            .support_invalidation_closures()
            .build();
        ImageWorkers { permits: Semaphore::new(resizes.max(1)), in_flight: Mutex::new(HashMap::new()), resizes: AtomicU64::new(0), recent }
    }

    /// The bytes named `name`, made by `make` once however many callers ask
    /// at the same time (a failure is returned to its caller, and the next
    /// waiter tries again).
    pub async fn once<E, F, Fut>(&self, name: &str, make: F) -> Result<Bytes, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, E>>,
    {
        let cell = self.in_flight.lock().expect("in-flight map poisoned").entry(name.to_owned()).or_default().clone();
        let result = cell.get_or_try_init(make).await.cloned();
        let mut in_flight = self.in_flight.lock().expect("in-flight map poisoned");
        if in_flight.get(name).is_some_and(|current| Arc::ptr_eq(current, &cell)) && (cell.initialized() || Arc::strong_count(&cell) <= 2) {
            in_flight.remove(name);
        }
        result
    }

    /// Runs `job` on a blocking thread once a resize slot is free.
    pub async fn resize<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> T {
        let _permit = self.permits.acquire().await.expect("the resize semaphore is never closed");
        self.resizes.fetch_add(1, Ordering::Relaxed);
        match tokio::task::spawn_blocking(job).await {
            Ok(output) => output,
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }

    /// Resizes run by this process so far.
    pub fn resizes_run(&self) -> u64 {
        self.resizes.load(Ordering::Relaxed)
    }

    pub async fn recent(&self, name: &str) -> Option<Bytes> {
        self.recent.get(name).await
    }

    pub async fn remember(&self, name: String, bytes: Bytes) {
        self.recent.insert(name, bytes).await;
    }

    /// Forgets the recent variants whose names start with `prefix`.
    pub fn forget_prefix(&self, prefix: &str) {
        let prefix = prefix.to_owned();
        // Only fails when invalidation closures are disabled (they are not).
        let _ = self.recent.invalidate_entries_if(move |name, _| name.starts_with(&prefix));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_one_computation() {
        let workers = Arc::new(ImageWorkers::new(2, 1 << 20));
        let made = Arc::new(AtomicU64::new(0));
        let calls = (0..20).map(|_| {
            let (workers, made) = (workers.clone(), made.clone());
            tokio::spawn(async move {
                workers
                    .once("a", || async {
                        made.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        Ok::<_, ()>(Bytes::from_static(b"variant"))
                    })
                    .await
            })
        });
        for call in futures_util::future::join_all(calls).await {
            assert_eq!(call.unwrap().unwrap(), Bytes::from_static(b"variant"));
        }
        assert_eq!(made.load(Ordering::SeqCst), 1);
        assert!(workers.in_flight.lock().unwrap().is_empty(), "finished work is not kept");
    }
}
