//! Where cached bytes live: in this process (moka, bounded by bytes, per-entry
//! TTL) or in Redis (shared by every process). Versions of namespaces are
//! kept apart from entries: the memory store never evicts them, and in Redis
//! they have no TTL, so an invalidation can never be undone by eviction.

use std::collections::HashMap;
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
    /// it in one round trip.
    Redis(Redis, redis::Script),
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
    /// one round trip (two dependent GETs would be two with Redis).
    pub async fn get_versioned(&self, namespace: &str, parts: &str) -> StoreResult<(String, Option<Bytes>)> {
        match self {
            Store::Redis(redis, read_versioned) => {
                let version_key = redis.key(&format!("ver:{namespace}"));
                let name_prefix = redis.key(&format!("{namespace}:v"));
                let (version, value): (u64, Option<Vec<u8>>) = redis
                    .call(|mut connection| {
                        let mut invocation = read_versioned.key(version_key);
                        invocation.arg(name_prefix).arg(parts);
                        async move { invocation.invoke_async(&mut connection).await }
                    })
                    .await?;
                Ok((render_name(namespace, Some(version), parts), value.map(Bytes::from)))
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
            Store::Redis(redis, _) => {
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
            Store::Redis(redis, _) => {
                let key = redis.key(key);
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
            Store::Redis(redis, _) => {
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
            Store::Redis(redis, _) => {
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
            Store::Redis(redis, _) => {
                let key = redis.key(&format!("ver:{namespace}"));
                redis.call(|mut c| async move { c.incr(key, 1u64).await }).await
            }
            Store::Disabled => Ok(0),
        }
    }

    pub async fn ping(&self) -> StoreResult<()> {
        match self {
            Store::Memory(_) | Store::Disabled => Ok(()),
            Store::Redis(redis, _) => redis.ping().await,
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
