//! Where cached bytes live: in this process (moka, bounded by bytes, per-entry
//! TTL) or in Redis (shared by every process). Versions of namespaces are
//! kept apart from entries: the memory store never evicts them, and in Redis
//! they have no TTL, so an invalidation can never be undone by eviction.
//!
//! With Redis, each process also keeps copies of large content-addressed
//! values (response bodies whose first line is their hash): a read sends the
//! copy's first line, and Redis answers "still current" instead of sending
//! the bytes again. A feed of 500 KB read from Redis on every request kept
//! Redis's one thread busy copying; now it moves a few dozen bytes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use moka::Expiry;
use redis::AsyncCommands;

use super::key::render_name;
use crate::platform::redis::{Redis, RedisFailure};

#[derive(Clone)]
pub enum Store {
    Memory(MemoryStore),
    /// With the script that reads a namespace's version and the entry under
    /// it in one round trip, and this process's copies of large values.
    Redis(Redis, redis::Script, NearCopies),
    /// Holds nothing: every read is a miss.
    Disabled,
}

#[derive(Clone)]
pub struct MemoryStore {
    /// foldhash (seeded per process) instead of SipHash, which cost about
    /// as much as the rest of the lookup for these short keys.
    entries: moka::future::Cache<String, Entry, foldhash::fast::RandomState>,
    versions: Arc<Mutex<HashMap<String, u64>>>,
}

#[derive(Clone)]
struct Entry {
    bytes: Bytes,
    ttl: Duration,
}

struct EntryTtl;

impl Expiry<String, Entry> for EntryTtl {
    fn expire_after_create(&self, _: &String, entry: &Entry, _: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }

    fn expire_after_update(&self, _: &String, entry: &Entry, _: Instant, _: Option<Duration>) -> Option<Duration> {
        Some(entry.ttl)
    }
}

/// Rough per-entry bookkeeping cost added to the key and value sizes.
const ENTRY_OVERHEAD: u32 = 96;

impl MemoryStore {
    pub fn new(max_bytes: u64) -> Self {
        let entries = moka::future::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &String, entry: &Entry| {
                u32::try_from(key.len() + entry.bytes.len()).unwrap_or(u32::MAX).saturating_add(ENTRY_OVERHEAD)
            })
            .expire_after(EntryTtl)
            .build_with_hasher(foldhash::fast::RandomState::default());
        MemoryStore { entries, versions: Arc::new(Mutex::new(HashMap::new())) }
    }

    fn versions(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.versions.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Values at least this large are kept near (smaller ones cost Redis about
/// as much to send as to compare).
const NEAR_MIN_BYTES: usize = 2048;
/// A copy is dropped this long after it was fetched, so memory held for
/// values no longer read is returned (re-validation keeps the rest exact).
const NEAR_TTL: Duration = Duration::from_secs(300);

/// This process's copies of large content-addressed values, by the entry's
/// name without its version (a namespace bump that leaves a body unchanged
/// keeps the copy usable), bounded by bytes.
#[derive(Clone)]
pub struct NearCopies {
    copies: moka::future::Cache<String, Bytes, foldhash::fast::RandomState>,
    /// Reads Redis answered with "your copy is current".
    served: Arc<AtomicU64>,
}

impl NearCopies {
    pub fn new(max_bytes: u64) -> Self {
        let copies = moka::future::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &String, bytes: &Bytes| {
                u32::try_from(key.len() + bytes.len()).unwrap_or(u32::MAX).saturating_add(ENTRY_OVERHEAD)
            })
            .time_to_live(NEAR_TTL)
            .build_with_hasher(foldhash::fast::RandomState::default());
        NearCopies { copies, served: Arc::new(AtomicU64::new(0)) }
    }

    fn id(namespace: &str, parts: &str) -> String {
        let mut id = String::with_capacity(namespace.len() + parts.len());
        id.push_str(namespace);
        id.push_str(parts);
        id
    }

    /// The copy under `id` and its first line (hash and newline).
    async fn get(&self, id: &str) -> Option<(Bytes, Bytes)> {
        let bytes = self.copies.get(id).await?;
        let line = first_line(&bytes)?;
        Some((bytes.slice(..line), bytes))
    }

    /// Keeps `bytes` if large and truly content-addressed: its first line
    /// must be the ETag of the rest (a value built by hand with another
    /// tag is never trusted to identify its content).
    async fn keep(&self, id: String, bytes: &Bytes) {
        if bytes.len() < NEAR_MIN_BYTES {
            return;
        }
        let Some(line) = first_line(bytes) else { return };
        if super::key::weak_etag(&bytes[line..]).as_bytes() == &bytes[..line - 1] {
            self.copies.insert(id, bytes.clone()).await;
        }
    }

    async fn forget(&self, id: &str) {
        self.copies.invalidate(id).await;
    }

    async fn counts(&self) -> NearCounts {
        self.copies.run_pending_tasks().await;
        NearCounts { copies: self.copies.entry_count(), served: self.served.load(Ordering::Relaxed) }
    }
}

/// What a process holds near and how often Redis answered "current" (for tests and metrics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NearCounts {
    pub copies: u64,
    pub served: u64,
}

/// The length of the first line with its newline, if it is short enough to be a hash.
/// The longest any entry is kept in Redis, whatever its key's TTL.
pub const REDIS_MAX_TTL: Duration = Duration::from_secs(10 * 60);

fn first_line(bytes: &[u8]) -> Option<usize> {
    bytes.iter().take(128).position(|b| *b == b'\n').map(|i| i + 1)
}

pub type StoreResult<T> = Result<T, RedisFailure>;

impl Store {
    pub fn backend_name(&self) -> &'static str {
        match self {
            Store::Memory(_) => "memory",
            Store::Redis(..) => "redis",
            Store::Disabled => "disabled",
        }
    }

    /// The current stored name of a versioned key and the bytes under it, in
    /// one round trip (two dependent GETs would be two with Redis). With
    /// `content_addressed` (the value's first line is its hash) Redis may
    /// answer from this process's copy.
    pub async fn get_versioned(&self, namespace: &str, parts: &str, content_addressed: bool) -> StoreResult<(String, Option<Bytes>)> {
        match self {
            Store::Redis(redis, read_versioned, near) => {
                let version_key = redis.key(&format!("ver:{namespace}"));
                let name_prefix = redis.key(&format!("{namespace}:v"));
                let id = content_addressed.then(|| NearCopies::id(namespace, parts));
                let copy = match id.as_deref() {
                    Some(id) => near.get(id).await,
                    None => None,
                };
                let known = copy.as_ref().map(|(line, _)| line.clone()).unwrap_or_default();
                let (version, value, current): (u64, Option<Vec<u8>>, u8) = redis
                    .call(|mut connection| {
                        let mut invocation = read_versioned.key(version_key);
                        invocation.arg(name_prefix).arg(parts).arg(known.as_ref());
                        async move { invocation.invoke_async(&mut connection).await }
                    })
                    .await?;
                let name = render_name(namespace, Some(version), parts);
                if current == 1
                    && let Some((_, bytes)) = copy
                {
                    near.served.fetch_add(1, Ordering::Relaxed);
                    return Ok((name, Some(bytes)));
                }
                let value = value.map(Bytes::from);
                if let Some(id) = id {
                    match &value {
                        Some(bytes) => near.keep(id, bytes).await,
                        None => near.forget(&id).await,
                    }
                }
                Ok((name, value))
            }
            _ => {
                let name = render_name(namespace, Some(self.version(namespace).await?), parts);
                let value = self.get(&name).await?;
                Ok((name, value))
            }
        }
    }

    pub async fn get(&self, key: &str) -> StoreResult<Option<Bytes>> {
        match self {
            Store::Memory(memory) => Ok(memory.entries.get(key).await.map(|e| e.bytes)),
            Store::Redis(redis, ..) => {
                let key = redis.key(key);
                let value: Option<Vec<u8>> = redis.call(|mut c| async move { c.get(key).await }).await?;
                Ok(value.map(Bytes::from))
            }
            Store::Disabled => Ok(None),
        }
    }

    pub async fn set(&self, key: &str, bytes: Bytes, ttl: Duration) -> StoreResult<()> {
        match self {
            Store::Memory(memory) => {
                memory.entries.insert(key.to_owned(), Entry { bytes, ttl }).await;
                Ok(())
            }
            Store::Redis(redis, ..) => {
                let key = redis.key(key);
                // Shared entries outlive a process's view of them: an
                // invalidation Redis refused is retried durably, and this
                // bounds the damage if even that cannot be recorded.
                let ttl = ttl.min(REDIS_MAX_TTL);
                let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
                redis.call(|mut c| async move { c.pset_ex::<_, _, ()>(key, bytes.as_ref(), millis).await }).await
            }
            Store::Disabled => Ok(()),
        }
    }

    pub async fn delete(&self, keys: &[String]) -> StoreResult<()> {
        match self {
            Store::Memory(memory) => {
                for key in keys {
                    memory.entries.invalidate(key).await;
                }
                Ok(())
            }
            Store::Redis(redis, ..) => {
                if keys.is_empty() {
                    return Ok(());
                }
                let keys: Vec<String> = keys.iter().map(|k| redis.key(k)).collect();
                redis.call(|mut c| async move { c.del::<_, ()>(keys).await }).await
            }
            Store::Disabled => Ok(()),
        }
    }

    pub async fn version(&self, namespace: &str) -> StoreResult<u64> {
        match self {
            Store::Memory(memory) => Ok(memory.versions().get(namespace).copied().unwrap_or(0)),
            Store::Redis(redis, ..) => {
                let key = redis.key(&format!("ver:{namespace}"));
                let value: Option<u64> = redis.call(|mut c| async move { c.get(key).await }).await?;
                Ok(value.unwrap_or(0))
            }
            Store::Disabled => Ok(0),
        }
    }

    /// Atomically moves a namespace to its next version and returns it. A
    /// namespace starts at version 0, so the first bump already invalidates.
    pub async fn bump_version(&self, namespace: &str) -> StoreResult<u64> {
        match self {
            Store::Memory(memory) => {
                let mut versions = memory.versions();
                let version = versions.entry(namespace.to_owned()).or_insert(0);
                *version += 1;
                Ok(*version)
            }
            Store::Redis(redis, ..) => {
                let key = redis.key(&format!("ver:{namespace}"));
                redis.call(|mut c| async move { c.incr(key, 1u64).await }).await
            }
            Store::Disabled => Ok(0),
        }
    }

    pub async fn ping(&self) -> StoreResult<()> {
        match self {
            Store::Memory(_) | Store::Disabled => Ok(()),
            Store::Redis(redis, ..) => redis.ping().await,
        }
    }

    /// Copies of large values kept beside Redis, and reads they answered.
    pub async fn near_counts(&self) -> NearCounts {
        match self {
            Store::Redis(_, _, near) => near.counts().await,
            Store::Memory(_) | Store::Disabled => NearCounts::default(),
        }
    }

    /// Entries currently held in process memory (0 for Redis); for tests and metrics.
    pub async fn memory_entries(&self) -> u64 {
        match self {
            Store::Memory(memory) => {
                memory.entries.run_pending_tasks().await;
                memory.entries.entry_count()
            }
            Store::Redis(..) | Store::Disabled => 0,
        }
    }
}
