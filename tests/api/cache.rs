//! The cache behaviour suite: the same tests against the in-process store
//! and (when `FLINT_TEST_REDIS_URL` is set) against Redis.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use flint::platform::cache::{CacheService, CachedBody, Key, Namespace, NearCounts};
use flint::platform::redis::Redis;
use tokio_util::task::TaskTracker;

use crate::helpers::{DEAD_REDIS, test_redis_url, unique_prefix};

const ITEMS: Namespace = Namespace::versioned("items");
const PLAIN: Namespace = Namespace::plain("plain");

enum Store {
    Memory,
    Redis(String),
}

struct Cache {
    cache: CacheService,
    tasks: TaskTracker,
}

impl Cache {
    fn new(store: Store) -> Cache {
        let tasks = TaskTracker::new();
        let cache = match store {
            Store::Memory => CacheService::memory(8 * 1024 * 1024, tasks.clone()),
            Store::Redis(url) => CacheService::redis(
                Redis::connect(&url, &unique_prefix(), Duration::from_millis(500)).unwrap(),
                8 * 1024 * 1024,
                tasks.clone(),
            ),
        };
        Cache { cache, tasks }
    }

    /// Waits for the background writes made so far.
    async fn settle(&self) {
        self.tasks.close();
        self.tasks.wait().await;
        self.tasks.reopen();
    }
}

macro_rules! cache_suite {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Cache::new(super::Store::Memory)).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(url) = $crate::helpers::test_redis_url() {
                        super::$name(super::Cache::new(super::Store::Redis(url))).await;
                    }
                }
            )*
        }
    };
}

cache_suite!(
    miss_then_hit,
    a_value_that_does_not_decode_is_a_miss_and_is_replaced,
    none_is_never_cached,
    loader_errors_are_returned_and_not_cached,
    the_first_bump_invalidates,
    concurrent_misses_run_the_loader_once,
    set_delete_and_ttl,
    response_bodies_round_trip,
);

fn item(id: u32) -> Key<String> {
    Key::json(ITEMS, Duration::from_secs(60)).part(id)
}

/// A loader that counts its calls and answers `value`.
fn counting(calls: &Arc<AtomicUsize>, value: &str) -> impl Future<Output = Result<Option<String>, String>> + use<> {
    let calls = calls.clone();
    let value = value.to_owned();
    async move {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok(Some(value))
    }
}

async fn miss_then_hit(c: Cache) {
    let calls = Arc::new(AtomicUsize::new(0));
    let first = c.cache.get(&item(1), || counting(&calls, "one")).await.unwrap();
    assert_eq!(first.as_deref(), Some("one"));
    c.settle().await;
    let second = c.cache.get(&item(1), || counting(&calls, "changed")).await.unwrap();
    assert_eq!(second.as_deref(), Some("one"), "served from the cache");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let other = c.cache.get(&item(2), || counting(&calls, "two")).await.unwrap();
    assert_eq!(other.as_deref(), Some("two"));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

async fn a_value_that_does_not_decode_is_a_miss_and_is_replaced(c: Cache) {
    // The same stored key read as another type: what a deploy that changed a
    // value's shape meets.
    let as_text: Key<String> = Key::json(ITEMS, Duration::from_secs(60)).part("x");
    let as_number: Key<u64> = Key::json(ITEMS, Duration::from_secs(60)).part("x");
    c.cache.set(&as_text, &"not a number".to_owned()).await.unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let load = |value: u64| {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, String>(Some(value))
        }
    };
    assert_eq!(c.cache.get(&as_number, || load(7)).await.unwrap(), Some(7));
    c.settle().await;
    assert_eq!(c.cache.get(&as_number, || load(8)).await.unwrap(), Some(7), "the bad value was overwritten");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

async fn none_is_never_cached(c: Cache) {
    let calls = Arc::new(AtomicUsize::new(0));
    for _ in 0..2 {
        let calls = calls.clone();
        let value = c
            .cache
            .get(&item(9), || async move {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok::<Option<String>, String>(None)
            })
            .await
            .unwrap();
        assert_eq!(value, None);
        c.settle().await;
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

async fn loader_errors_are_returned_and_not_cached(c: Cache) {
    let failed = c.cache.get(&item(3), || async { Err::<Option<String>, _>("database down") }).await;
    assert_eq!(failed, Err("database down"));
    c.settle().await;
    let calls = Arc::new(AtomicUsize::new(0));
    assert_eq!(c.cache.get(&item(3), || counting(&calls, "recovered")).await.unwrap().as_deref(), Some("recovered"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

async fn the_first_bump_invalidates(c: Cache) {
    assert_eq!(c.cache.version(ITEMS).await.unwrap(), 0);
    let calls = Arc::new(AtomicUsize::new(0));
    c.cache.get(&item(1), || counting(&calls, "old")).await.unwrap();
    c.settle().await;
    assert_eq!(c.cache.bump_version(ITEMS).await.unwrap(), 1);
    let fresh = c.cache.get(&item(1), || counting(&calls, "new")).await.unwrap();
    assert_eq!(fresh.as_deref(), Some("new"), "the very first bump invalidates");
    c.settle().await;
    assert_eq!(c.cache.get(&item(1), || counting(&calls, "newer")).await.unwrap().as_deref(), Some("new"));
    assert_eq!(c.cache.bump_version(ITEMS).await.unwrap(), 2);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

async fn concurrent_misses_run_the_loader_once(c: Cache) {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    for _ in 0..100 {
        let cache = c.cache.clone();
        let calls = calls.clone();
        readers.push(tokio::spawn(async move {
            cache
                .get(&item(42), || async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok::<_, String>(Some("shared".to_owned()))
                })
                .await
        }));
    }
    for reader in readers {
        assert_eq!(reader.await.unwrap().unwrap().as_deref(), Some("shared"));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "one load for 100 concurrent misses");
}

async fn set_delete_and_ttl(c: Cache) {
    let calls = Arc::new(AtomicUsize::new(0));
    let key: Key<String> = Key::json(PLAIN, Duration::from_secs(60)).part("a");
    c.cache.set(&key, &"stored".to_owned()).await.unwrap();
    assert_eq!(c.cache.get(&key, || counting(&calls, "loaded")).await.unwrap().as_deref(), Some("stored"));
    c.cache.delete(std::slice::from_ref(&key)).await.unwrap();
    assert_eq!(c.cache.get(&key, || counting(&calls, "loaded")).await.unwrap().as_deref(), Some("loaded"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let short: Key<String> = Key::json(PLAIN, Duration::from_millis(100)).part("short");
    c.cache.set(&short, &"brief".to_owned()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(c.cache.get(&short, || counting(&calls, "expired")).await.unwrap().as_deref(), Some("expired"));
}

async fn response_bodies_round_trip(c: Cache) {
    let key = Key::body(PLAIN, Duration::from_secs(60)).part("post").part("hello");
    let body = CachedBody { etag: axum::http::HeaderValue::from_static("W/\"1\""), body: Bytes::from_static(b"{\"title\":\"Hello\"}\n") };
    let loaded = body.clone();
    c.cache.get(&key, || async move { Ok::<_, String>(Some(loaded)) }).await.unwrap();
    c.settle().await;
    let hit = c.cache.get(&key, || async { Err::<Option<CachedBody>, _>("must not load") }).await.unwrap();
    assert_eq!(hit, Some(body));
}

#[tokio::test]
async fn a_store_that_is_down_is_a_miss() {
    let tasks = TaskTracker::new();
    let cache = CacheService::redis(Redis::connect(DEAD_REDIS, "down:", Duration::from_millis(200)).unwrap(), 1 << 20, tasks.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    for _ in 0..2 {
        let value = cache.get(&item(1), || counting(&calls, "from the database")).await.unwrap();
        assert_eq!(value.as_deref(), Some("from the database"));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(cache.bump_version(ITEMS).await.is_err(), "a failed invalidation is reported to the caller");
    assert!(cache.ping().await.is_err());
    tasks.close();
    tasks.wait().await;
}

#[tokio::test]
async fn memory_cache_is_bounded_by_bytes() {
    let tasks = TaskTracker::new();
    let cache = CacheService::memory(64 * 1024, tasks.clone());
    let big = "x".repeat(4 * 1024);
    for i in 0..200u32 {
        cache.set(&item(i), &big).await.unwrap();
    }
    let held = cache.memory_entries().await;
    assert!(held < 20, "64 KiB holds about 15 entries of 4 KiB, not {held}");
}

#[tokio::test]
async fn two_processes_share_redis_versions_and_values() {
    let Some(url) = test_redis_url() else { return };
    let prefix = unique_prefix();
    let one = CacheService::redis(Redis::connect(&url, &prefix, Duration::from_millis(500)).unwrap(), 1 << 20, TaskTracker::new());
    let two = CacheService::redis(Redis::connect(&url, &prefix, Duration::from_millis(500)).unwrap(), 1 << 20, TaskTracker::new());
    one.set(&item(1), &"from one".to_owned()).await.unwrap();
    let seen = two.get(&item(1), || async { Err::<Option<String>, _>("must not load") }).await.unwrap();
    assert_eq!(seen.as_deref(), Some("from one"));
    one.bump_version(ITEMS).await.unwrap();
    assert_eq!(two.version(ITEMS).await.unwrap(), 1, "a bump on one is seen by the other");
    let calls = Arc::new(AtomicUsize::new(0));
    assert_eq!(two.get(&item(1), || counting(&calls, "reloaded")).await.unwrap().as_deref(), Some("reloaded"));
}

/// Another process's view of a large body goes through its own copy:
/// re-validated on every read, replaced when the body changes, gone when
/// the entry is.
#[tokio::test]
async fn large_bodies_are_kept_near_and_revalidated_against_redis() {
    let Some(url) = test_redis_url() else { return };
    let prefix = unique_prefix();
    let writer = CacheService::redis(Redis::connect(&url, &prefix, Duration::from_millis(500)).unwrap(), 1 << 20, TaskTracker::new());
    let reader = CacheService::redis(Redis::connect(&url, &prefix, Duration::from_millis(500)).unwrap(), 1 << 20, TaskTracker::new());
    let key = || Key::body(ITEMS, Duration::from_secs(60)).part("feed");
    let read = || async { reader.get(&key(), || async { Ok::<_, String>(None::<CachedBody>) }).await.unwrap().map(|b| b.body) };
    let first = CachedBody::tagged("a".repeat(64 * 1024));
    let second = CachedBody::tagged("b".repeat(64 * 1024));

    writer.set(&key(), &first).await.unwrap();
    assert_eq!(read().await, Some(first.body.clone()));
    assert_eq!(reader.near_counts().await, NearCounts { copies: 1, served: 0 }, "fetched once and kept");
    assert_eq!(read().await, Some(first.body.clone()));
    assert_eq!(reader.near_counts().await, NearCounts { copies: 1, served: 1 }, "Redis said the copy is current");

    writer.set(&key(), &second).await.unwrap();
    assert_eq!(read().await, Some(second.body.clone()), "a changed body is fetched, not served from the copy");
    writer.bump_version(ITEMS).await.unwrap();
    assert_eq!(read().await, None, "a bump leaves no entry under the new version");
    assert_eq!(reader.near_counts().await.copies, 0, "and the copy is dropped");
    writer.set(&key(), &first).await.unwrap();
    assert_eq!(read().await, Some(first.body.clone()));
    assert_eq!(read().await, Some(first.body.clone()));
    assert_eq!(reader.near_counts().await, NearCounts { copies: 1, served: 2 });

    // A hand-made tag that is not the body's hash never identifies content.
    let forged = CachedBody { etag: axum::http::HeaderValue::from_static("W/\"1\""), body: Bytes::from("c".repeat(64 * 1024)) };
    let other = || Key::body(ITEMS, Duration::from_secs(60)).part("forged");
    writer.set(&other(), &forged).await.unwrap();
    let seen = reader.get(&other(), || async { Err::<Option<CachedBody>, _>("must not load") }).await.unwrap();
    assert_eq!(seen, Some(forged));
    assert_eq!(reader.near_counts().await.copies, 1, "not kept");
    // Small bodies are not worth a copy.
    writer.set(&Key::body(ITEMS, Duration::from_secs(60)).part("small"), &CachedBody::tagged("tiny")).await.unwrap();
    reader
        .get(&Key::body(ITEMS, Duration::from_secs(60)).part("small"), || async { Err::<Option<CachedBody>, _>("must not load") })
        .await
        .unwrap();
    assert_eq!(reader.near_counts().await.copies, 1);
}

#[tokio::test]
async fn hits_misses_errors_and_loader_time_are_counted() {
    let metrics = flint::platform::telemetry::metrics_handle();
    const COUNTED: Namespace = Namespace::versioned("counted");
    let key: Key<String> = Key::json(COUNTED, Duration::from_secs(60)).part(1u32);
    let tasks = TaskTracker::new();
    let cache = CacheService::memory(1 << 20, tasks.clone());
    cache.get(&key, || async { Ok::<_, String>(Some("v".to_owned())) }).await.unwrap();
    tasks.close();
    tasks.wait().await;
    cache.get(&key, || async { Ok::<_, String>(Some("v".to_owned())) }).await.unwrap();
    let down = CacheService::redis(Redis::connect(DEAD_REDIS, "m:", Duration::from_millis(100)).unwrap(), 1 << 20, TaskTracker::new());
    down.get(&key, || async { Ok::<_, String>(Some("v".to_owned())) }).await.unwrap();

    let text = metrics.render();
    for needle in [
        "cache_requests_total{namespace=\"counted\",result=\"hit\"}",
        "cache_requests_total{namespace=\"counted\",result=\"miss\"}",
        "cache_errors_total{namespace=\"counted\",operation=\"get\"}",
        "cache_loader_seconds_count{namespace=\"counted\"}",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}
