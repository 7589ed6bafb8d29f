//! Micro-benchmark: the cost of a cache hit and of a rate-limiter decision,
//! in process memory and in Redis. Not a test; run it with
//!
//!     cargo bench --bench platform                 # Redis at redis://127.0.0.1:6379 if it answers
//!     FLINT_BENCH_REDIS_URL=redis://host:6379 cargo bench --bench platform
//!
//! Each case runs single-task (latency per operation) and with 16 concurrent
//! tasks (throughput), after a warm-up, and prints a Markdown table.

use std::sync::Arc;
use std::time::{Duration, Instant};

use flint::platform::cache::{CacheService, Key, Namespace};
use flint::platform::clock::Clock;
use flint::platform::rate_limit::{FailureMode, Limit, RateLimiter, Verdict};
use flint::platform::redis::Redis;
use serde::{Deserialize, Serialize};
use tokio_util::task::TaskTracker;

const POSTS: Namespace = Namespace::versioned("bench:posts");

/// About the size of a post list item in the original.
#[derive(Clone, Serialize, Deserialize)]
struct Item {
    id: u64,
    slug: String,
    title: String,
    summary: String,
    tags: Vec<String>,
    published_at: String,
}

fn item() -> Item {
    Item {
        id: 42,
        slug: "a-reasonably-long-post-slug".into(),
        title: "A reasonably long post title for a benchmark".into(),
        summary: "x".repeat(200),
        tags: vec!["rust".into(), "performance".into(), "cms".into()],
        published_at: "2026-11-23T10:00:00Z".into(),
    }
}

struct Row {
    case: String,
    concurrency: usize,
    ops: u64,
    elapsed: Duration,
}

async fn measure<F, Fut>(case: &str, concurrency: usize, duration: Duration, op: F) -> Row
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    // Warm-up.
    for i in 0..200 {
        op(i).await;
    }
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let op = op.clone();
        workers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while started.elapsed() < duration {
                op(w as u64 * 1_000_000 + n).await;
                n += 1;
            }
            n
        }));
    }
    let mut ops = 0;
    for worker in workers {
        ops += worker.await.expect("worker");
    }
    Row { case: case.to_owned(), concurrency, ops, elapsed: started.elapsed() }
}

async fn cache_hit(cache: CacheService, name: &str, rows: &mut Vec<Row>) {
    let key: Key<Item> = Key::json(POSTS, Duration::from_secs(600)).part(10u32).part("rust");
    cache.set(&key, &item()).await.expect("seed the cache");
    for concurrency in [1, 16] {
        let (cache, key) = (cache.clone(), key.clone());
        rows.push(
            measure(&format!("cache hit ({name})"), concurrency, Duration::from_secs(2), move |_| {
                let (cache, key) = (cache.clone(), key.clone());
                async move {
                    let hit = cache.get(&key, || async { Err::<Option<Item>, &str>("miss") }).await;
                    assert!(hit.is_ok());
                }
            })
            .await,
        );
    }
}

async fn limiter_decision(limiter: RateLimiter, name: &str, rows: &mut Vec<Row>) {
    let limit = Limit::per(1_000_000_000, "1h").expect("limit");
    for concurrency in [1, 16] {
        let limiter = limiter.clone();
        rows.push(
            measure(&format!("limiter decision ({name})"), concurrency, Duration::from_secs(2), move |n| {
                let limiter = limiter.clone();
                async move {
                    // A few hundred distinct clients, as on a busy site.
                    let verdict = limiter.check(&format!("bench-client-{}", n % 512), limit).await;
                    assert!(matches!(verdict, Verdict::Decided(d) if d.allowed));
                }
            })
            .await,
        );
    }
}

#[tokio::main]
async fn main() {
    let mut rows = Vec::new();
    cache_hit(CacheService::memory(64 << 20, TaskTracker::new()), "memory", &mut rows).await;
    limiter_decision(RateLimiter::memory(Clock::system(), 100_000, FailureMode::Open), "memory", &mut rows).await;

    let url = std::env::var("FLINT_BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("flint-bench-{}:", uuid::Uuid::now_v7().simple());
    match Redis::connect(&url, &prefix, Duration::from_secs(1)) {
        Ok(redis) if redis.ping().await.is_ok() => {
            cache_hit(CacheService::redis(redis.clone(), 64 << 20, TaskTracker::new()), "redis", &mut rows).await;
            limiter_decision(RateLimiter::redis(redis, FailureMode::Open), "redis", &mut rows).await;
        }
        _ => eprintln!("Redis at {url} does not answer: memory cases only"),
    }

    println!("| case | tasks | ops/s | mean µs/op per task |");
    println!("|---|---:|---:|---:|");
    for row in &rows {
        let per_second = row.ops as f64 / row.elapsed.as_secs_f64();
        let mean_us = row.elapsed.as_secs_f64() * 1e6 * row.concurrency as f64 / row.ops as f64;
        println!("| {} | {} | {:.0} | {:.2} |", row.case, row.concurrency, per_second, mean_us);
    }
}
