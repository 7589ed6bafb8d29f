//! `CacheService`: the versioned read-through cache (the original's KV
//! CacheService, with its bugs fixed).
//!
//! * Typed keys (`Key<T>`) name their value type, namespace and TTL.
//! * Versioned namespaces: the version is part of every key; `bump_version`
//!   is atomic and the very first bump already invalidates.
//! * `get(key, loader)`: a hit returns the value; a value that fails to decode
//!   is a miss (and is overwritten); concurrent misses of one key in this
//!   process run the loader once; `None` is never stored; the write happens on
//!   a tracked background task that shutdown waits for.
//! * A store that fails or is slow is a miss: the read falls through to the
//!   loader, the failure is logged (at most every few seconds) and counted.
//!
//! Only service layers call this. May use: `platform::{redis, telemetry}`.

mod key;
mod store;

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;
use tokio_util::task::TaskTracker;

pub use key::{CachedBody, Key, KeyAddress, KeyPart, Namespace, weak_etag};
pub use store::{MemoryStore, NearCounts};
use store::{NearCopies, Store};

use crate::platform::redis::{Redis, RedisFailure};

#[derive(Clone)]
pub struct CacheService(Arc<Inner>);

struct Inner {
    store: Store,
    tasks: TaskTracker,
    /// In-flight loads by rendered key; the cell holds an `Option<T>`.
    flights: Mutex<HashMap<String, Arc<dyn Any + Send + Sync>>>,
    last_error_log: AtomicI64,
}

/// The metrics label of invalidations applied by namespace name.
const DURABLE: Namespace = Namespace::plain("invalidation");

/// How often a failing store is reported in the log (every failure is counted).
const ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

impl CacheService {
    /// An in-process cache holding at most `max_bytes` of entries.
    pub fn memory(max_bytes: u64, tasks: TaskTracker) -> Self {
        Self::with_store(Store::Memory(MemoryStore::new(max_bytes)), tasks)
    }

    /// No cache: every `get` runs its loader (`FLINT_CACHE=off`).
    pub fn disabled(tasks: TaskTracker) -> Self {
        Self::with_store(Store::Disabled, tasks)
    }

    /// A cache shared by every process through Redis; each process keeps
    /// copies of large bodies, up to `near_max_bytes` (see `store.rs`).
    pub fn redis(redis: Redis, near_max_bytes: u64, tasks: TaskTracker) -> Self {
        let read_versioned = redis::Script::new(include_str!("read_versioned.lua"));
        Self::with_store(Store::Redis(redis, read_versioned, NearCopies::new(near_max_bytes)), tasks)
    }

    fn with_store(store: Store, tasks: TaskTracker) -> Self {
        CacheService(Arc::new(Inner { store, tasks, flights: Mutex::new(HashMap::new()), last_error_log: AtomicI64::new(i64::MIN) }))
    }

    pub fn backend_name(&self) -> &'static str {
        self.0.store.backend_name()
    }

    /// Whether the store answers (always true in memory).
    pub async fn ping(&self) -> Result<(), String> {
        self.0.store.ping().await.map_err(|e| e.to_string())
    }

    /// The current version of a namespace (0 until first bumped).
    pub async fn version(&self, namespace: Namespace) -> Result<u64, CacheError> {
        self.0.store.version(namespace.name).await.map_err(|e| self.failed(namespace, "version", e))
    }

    /// Invalidates every key of a versioned namespace at once.
    pub async fn bump_version(&self, namespace: Namespace) -> Result<u64, CacheError> {
        let version = self.0.store.bump_version(namespace.name).await.map_err(|e| self.failed(namespace, "bump", e))?;
        tracing::debug!(namespace = namespace.name, version, "cache namespace bumped");
        Ok(version)
    }

    /// Read-through: the cached value, or the loader's (stored in the background).
    pub async fn get<T, E, F, Fut>(&self, key: &Key<T>, loader: F) -> Result<Option<T>, E>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<T>, E>>,
    {
        let namespace = key.namespace;
        let lookup = if namespace.versioned {
            self.0.store.get_versioned(namespace.name, &key.parts, key.content_addressed).await
        } else {
            let name = key.render(None);
            self.0.store.get(&name).await.map(|value| (name, value))
        };
        let (name, value) = match lookup {
            Ok(found) => found,
            Err(error) => {
                // Without the version the right key is unknown: serve fresh, store nothing.
                self.failed(namespace, "get", error);
                count(namespace, "miss");
                return loader().await;
            }
        };
        if let Some(bytes) = value {
            if let Some(value) = (key.decode)(&bytes) {
                count(namespace, "hit");
                return Ok(Some(value));
            }
            tracing::warn!(key = %name, "cached value does not decode; reloading it");
            count(namespace, "decode_failure");
        }
        count(namespace, "miss");

        let flight = self.flight::<T>(&name);
        let result = flight
            .get_or_try_init(|| async {
                let started = Instant::now();
                let value = loader().await?;
                metrics::histogram!("cache_loader_seconds", "namespace" => namespace.name).record(started.elapsed().as_secs_f64());
                if let Some(value) = &value {
                    self.store_in_background(key, name.clone(), value);
                }
                Ok(value)
            })
            .await
            .cloned();
        self.land(&name, &flight);
        result
    }

    /// Read-through for a loader that always produces a value (a list, a
    /// document): `get` without the `Option` on either side.
    pub async fn get_or_load<T, E, F, Fut>(&self, key: &Key<T>, loader: F) -> Result<T, E>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let value = self.get(key, || async { loader().await.map(Some) }).await?;
        Ok(value.expect("the loader produced a value, and None is never stored"))
    }

    /// Stores a value now (awaiting the write).
    pub async fn set<T>(&self, key: &Key<T>, value: &T) -> Result<(), CacheError> {
        let name = self.stored_name(key).await.ok_or(CacheError::Unavailable)?;
        let bytes = (key.encode)(value).map_err(CacheError::Encode)?;
        self.0.store.set(&name, bytes, key.ttl).await.map_err(|e| self.failed(key.namespace, "set", e))
    }

    /// Deletes keys (of the current version, for versioned namespaces).
    pub async fn delete<T>(&self, keys: &[Key<T>]) -> Result<(), CacheError> {
        let mut names = Vec::with_capacity(keys.len());
        for key in keys {
            names.push(self.stored_name(key).await.ok_or(CacheError::Unavailable)?);
        }
        let namespace = keys.first().map(|k| k.namespace).unwrap_or(Namespace::plain("none"));
        self.0.store.delete(&names).await.map_err(|e| self.failed(namespace, "delete", e))
    }

    /// [`CacheService::bump_version`] by the namespace's name (durable invalidation).
    pub async fn bump_named(&self, namespace: &str) -> Result<u64, CacheError> {
        self.0.store.bump_version(namespace).await.map_err(|e| self.failed(DURABLE, "bump", e))
    }

    /// [`CacheService::delete`] by key addresses (durable invalidation).
    pub async fn delete_addresses(&self, keys: &[KeyAddress]) -> Result<(), CacheError> {
        let mut names = Vec::with_capacity(keys.len());
        for key in keys {
            let version = match key.versioned {
                true => Some(self.0.store.version(&key.namespace).await.map_err(|e| self.failed(DURABLE, "version", e))?),
                false => None,
            };
            names.push(key::render_name(&key.namespace, version, &key.parts));
        }
        self.0.store.delete(&names).await.map_err(|e| self.failed(DURABLE, "delete", e))
    }

    /// With Redis: the copies of large bodies this process keeps, and the
    /// reads Redis answered with "your copy is current".
    pub async fn near_counts(&self) -> NearCounts {
        self.0.store.near_counts().await
    }

    /// Entries held in process memory (0 with Redis).
    pub async fn memory_entries(&self) -> u64 {
        self.0.store.memory_entries().await
    }

    async fn stored_name<T>(&self, key: &Key<T>) -> Option<String> {
        if !key.namespace.versioned {
            return Some(key.render(None));
        }
        self.version(key.namespace).await.ok().map(|v| key.render(Some(v)))
    }

    fn store_in_background<T>(&self, key: &Key<T>, name: String, value: &T) {
        if let Store::Disabled = self.0.store {
            return; // nothing to encode, no task to spawn
        }
        let bytes = match (key.encode)(value) {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::error!(key = %name, %error, "cannot encode value for the cache");
                return;
            }
        };
        let cache = self.clone();
        let (namespace, ttl) = (key.namespace, key.ttl);
        self.0.tasks.spawn(async move {
            if let Err(error) = cache.0.store.set(&name, bytes, ttl).await {
                cache.failed(namespace, "set", error);
            }
        });
    }

    fn flights(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<dyn Any + Send + Sync>>> {
        self.0.flights.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Joins the in-flight load of `name`, or starts one.
    fn flight<T: Send + Sync + 'static>(&self, name: &str) -> Arc<OnceCell<Option<T>>> {
        let mut flights = self.flights();
        if let Some(existing) = flights.get(name)
            && let Ok(cell) = Arc::clone(existing).downcast::<OnceCell<Option<T>>>()
        {
            return cell;
        }
        let cell = Arc::new(OnceCell::new());
        flights.insert(name.to_owned(), cell.clone() as Arc<dyn Any + Send + Sync>);
        cell
    }

    /// Forgets a finished load (unless a newer one replaced it).
    fn land<T: Send + Sync + 'static>(&self, name: &str, flight: &Arc<OnceCell<Option<T>>>) {
        if !flight.initialized() {
            return; // the loader failed; a waiting caller may still be running its own
        }
        let mut flights = self.flights();
        if let Some(current) = flights.get(name)
            && let Ok(cell) = Arc::clone(current).downcast::<OnceCell<Option<T>>>()
            && Arc::ptr_eq(&cell, flight)
        {
            flights.remove(name);
        }
    }

    fn failed(&self, namespace: Namespace, operation: &'static str, error: RedisFailure) -> CacheError {
        metrics::counter!("cache_errors_total", "namespace" => namespace.name, "operation" => operation).increment(1);
        let now = jiff::Timestamp::now().as_millisecond();
        let last = self.0.last_error_log.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= ERROR_LOG_INTERVAL.as_millis() as i64
            && self.0.last_error_log.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            tracing::warn!(namespace = namespace.name, operation, %error, "cache store failed; serving without it");
        }
        CacheError::Store(error)
    }
}

thread_local! {
    /// Counter handles resolved once per thread (by the addresses of the
    /// static label values): the `metrics` macros build and hash their key on
    /// every call, and this runs on every cache read.
    static REQUEST_COUNTERS: std::cell::RefCell<HashMap<(usize, usize), metrics::Counter, foldhash::fast::RandomState>> =
        std::cell::RefCell::new(HashMap::default());
}

fn count(namespace: Namespace, result: &'static str) {
    REQUEST_COUNTERS.with_borrow_mut(|counters| {
        counters
            .entry((namespace.name.as_ptr() as usize, result.as_ptr() as usize))
            .or_insert_with(|| metrics::counter!("cache_requests_total", "namespace" => namespace.name, "result" => result))
            .increment(1);
    });
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache store failed: {0}")]
    Store(#[from] RedisFailure),
    #[error("cache store unavailable")]
    Unavailable,
    #[error("cannot encode the value: {0}")]
    Encode(String),
}
