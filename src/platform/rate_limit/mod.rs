//! Rate limiting: the original's token bucket (`bucket.rs`) kept in this
//! process (`memory.rs`) or in Redis (`redis.lua`, one atomic script on the
//! server's clock), behind one `RateLimiter`.
//!
//! When Redis cannot be reached the limiter *fails open* (the request is
//! allowed and the failure logged and counted) unless configured to fail
//! closed (`FLINT_RATE_LIMIT_FAILURE=closed`: the request is refused with 503).
//! May use: `platform::{clock, redis, duration}`.

mod bucket;
mod memory;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

pub use bucket::{Bucket, Decision, Limit, decide};
pub use memory::MemoryLimiter;

use crate::platform::clock::Clock;
use crate::platform::redis::{Redis, RedisFailure};

/// What to do when the limiter's store cannot answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureMode {
    /// Allow the request (availability first).
    Open,
    /// Refuse the request with 503 (protection first).
    Closed,
}

#[derive(Clone)]
pub struct RateLimiter(Arc<Inner>);

struct Inner {
    backend: Backend,
    failure_mode: FailureMode,
    last_error_log: AtomicI64,
}

enum Backend {
    Memory { buckets: MemoryLimiter, clock: Clock },
    Redis { redis: Redis, script: redis::Script },
}

/// The outcome of a check once the failure mode is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Decided(Decision),
    /// The store failed and the limiter fails open.
    Unchecked,
    /// The store failed and the limiter fails closed.
    Unavailable,
}

const ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

impl RateLimiter {
    pub fn memory(clock: Clock, max_buckets: usize, failure_mode: FailureMode) -> Self {
        Self::with(Backend::Memory { buckets: MemoryLimiter::new(max_buckets), clock }, failure_mode)
    }

    pub fn redis(redis: Redis, failure_mode: FailureMode) -> Self {
        Self::with(Backend::Redis { redis, script: redis::Script::new(include_str!("redis.lua")) }, failure_mode)
    }

    fn with(backend: Backend, failure_mode: FailureMode) -> Self {
        RateLimiter(Arc::new(Inner { backend, failure_mode, last_error_log: AtomicI64::new(i64::MIN) }))
    }

    pub fn backend_name(&self) -> &'static str {
        match self.0.backend {
            Backend::Memory { .. } => "memory",
            Backend::Redis { .. } => "redis",
        }
    }

    pub fn failure_mode(&self) -> FailureMode {
        self.0.failure_mode
    }

    /// Takes `limit.cost` tokens from the bucket `id`, if it has them.
    pub async fn check(&self, id: &str, limit: Limit) -> Verdict {
        let result = match &self.0.backend {
            Backend::Memory { buckets, clock } => Ok(buckets.check(id, limit, clock.now_ms())),
            Backend::Redis { redis, script } => check_redis(redis, script, id, limit).await,
        };
        match result {
            Ok(decision) => {
                if !decision.allowed {
                    metrics::counter!("rate_limit_denied_total").increment(1);
                }
                Verdict::Decided(decision)
            }
            Err(error) => {
                metrics::counter!("rate_limit_errors_total").increment(1);
                self.log_failure(&error);
                match self.0.failure_mode {
                    FailureMode::Open => Verdict::Unchecked,
                    FailureMode::Closed => Verdict::Unavailable,
                }
            }
        }
    }

    /// Whether the store answers (always true in memory).
    pub async fn ping(&self) -> Result<(), String> {
        match &self.0.backend {
            Backend::Memory { .. } => Ok(()),
            Backend::Redis { redis, .. } => redis.ping().await.map_err(|e| e.to_string()),
        }
    }

    fn log_failure(&self, error: &RedisFailure) {
        let now = jiff::Timestamp::now().as_millisecond();
        let last = self.0.last_error_log.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= ERROR_LOG_INTERVAL.as_millis() as i64
            && self.0.last_error_log.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            let mode = match self.0.failure_mode {
                FailureMode::Open => "allowing requests unchecked",
                FailureMode::Closed => "refusing rate-limited requests",
            };
            tracing::warn!(%error, "rate limiter store failed; {mode}");
        }
    }
}

async fn check_redis(redis: &Redis, script: &redis::Script, id: &str, limit: Limit) -> Result<Decision, RedisFailure> {
    let key = redis.key(&format!("rl:{id}"));
    let interval_ms = u64::try_from(limit.interval.as_millis()).unwrap_or(u64::MAX);
    let (allowed, remaining, retry, reset): (i64, i64, i64, i64) = redis
        .call(|mut connection| {
            let mut invocation = script.key(key);
            invocation.arg(limit.capacity).arg(interval_ms).arg(limit.cost);
            async move { invocation.invoke_async(&mut connection).await }
        })
        .await?;
    Ok(Decision {
        allowed: allowed == 1,
        remaining: u32::try_from(remaining.max(0)).unwrap_or(u32::MAX),
        retry_after_ms: u64::try_from(retry).ok(),
        reset_after_ms: u64::try_from(reset.max(0)).unwrap_or(0),
    })
}

/// A per-route limit: `capacity` requests per `interval` for each client,
/// counted separately for each `key` (default: the route's method and path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub capacity: u32,
    pub interval: Duration,
    pub key: Option<&'static str>,
}

impl RateLimit {
    pub const fn new(capacity: u32, interval: Duration) -> Self {
        RateLimit { capacity, interval, key: None }
    }

    pub const fn keyed(self, key: &'static str) -> Self {
        RateLimit { key: Some(key), ..self }
    }

    pub fn limit(&self) -> Limit {
        Limit::new(self.capacity, self.interval)
    }
}
