//! One shared, lazily connected, auto-reconnecting Redis connection for the
//! cache and the rate limiter, with every call bounded by a short timeout.
//!
//! Connecting lazily means flint starts (and serves, from the database) while
//! Redis is down; each call then fails fast and its caller degrades.
//!
//! A circuit breaker keeps a dead or frozen Redis from costing every request
//! its timeout: after [`TRIP_AFTER`] failures in a row, calls fail at once
//! while a background task pings Redis (after 0.5 s, doubling to 10 s) and
//! closes the breaker when it answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Failures in a row (timeouts, lost connections) that open the breaker.
pub const TRIP_AFTER: u32 = 3;
const FIRST_PROBE: Duration = Duration::from_millis(500);
const LONGEST_PROBE_WAIT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Redis {
    connection: ConnectionManager,
    prefix: Arc<str>,
    timeout: Duration,
    breaker: Arc<Breaker>,
}

#[derive(Default)]
struct Breaker {
    failures_in_a_row: AtomicU32,
    open: AtomicBool,
}

#[derive(Debug, thiserror::Error)]
pub enum RedisFailure {
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("redis error: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis is skipped for now: it failed {TRIP_AFTER} times in a row and is being probed in the background")]
    CircuitOpen,
}

impl RedisFailure {
    /// Whether the failure says Redis is unreachable (rather than that one command was wrong).
    fn is_outage(&self) -> bool {
        match self {
            RedisFailure::Timeout(_) | RedisFailure::CircuitOpen => true,
            RedisFailure::Redis(e) => e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal(),
        }
    }
}

impl Redis {
    /// Prepares the connection (nothing is sent until the first call).
    pub fn connect(url: &str, prefix: &str, timeout: Duration) -> anyhow::Result<Redis> {
        let client = redis::Client::open(url).map_err(|e| anyhow::anyhow!("REDIS_URL: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let connection = ConnectionManager::new_lazy_with_config(client, config).map_err(|e| anyhow::anyhow!("REDIS_URL: {e}"))?;
        Ok(Redis { connection, prefix: prefix.into(), timeout, breaker: Arc::default() })
    }

    /// `suffix` under this deployment's key prefix.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    /// Runs one command (or script) on the shared connection, bounded by the
    /// timeout; fails at once while the breaker is open.
    pub async fn call<T, F, Fut>(&self, command: F) -> Result<T, RedisFailure>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if self.breaker.open.load(Ordering::Acquire) {
            return Err(RedisFailure::CircuitOpen);
        }
        let result = self.call_unguarded(command).await;
        match &result {
            Ok(_) => self.breaker.failures_in_a_row.store(0, Ordering::Release),
            Err(failure) if failure.is_outage() => self.failed(),
            Err(_) => {}
        }
        result
    }

    async fn call_unguarded<T, F, Fut>(&self, command: F) -> Result<T, RedisFailure>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        match tokio::time::timeout(self.timeout, command(self.connection.clone())).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(RedisFailure::Timeout(self.timeout)),
        }
    }

    /// Counts an outage; the one call that trips the breaker starts the prober.
    fn failed(&self) {
        let failures = self.breaker.failures_in_a_row.fetch_add(1, Ordering::AcqRel) + 1;
        if failures < TRIP_AFTER || self.breaker.open.swap(true, Ordering::AcqRel) {
            return;
        }
        tracing::warn!(failures, "redis keeps failing: skipping it until it answers again");
        let redis = self.clone();
        tokio::spawn(async move {
            let mut wait = FIRST_PROBE;
            loop {
                tokio::time::sleep(wait).await;
                match redis.call_unguarded(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await }).await {
                    Ok(_) => break,
                    Err(error) => {
                        tracing::debug!(%error, "redis still does not answer");
                        wait = (wait * 2).min(LONGEST_PROBE_WAIT);
                    }
                }
            }
            redis.breaker.failures_in_a_row.store(0, Ordering::Release);
            redis.breaker.open.store(false, Ordering::Release);
            tracing::info!("redis answers again");
        });
    }

    pub async fn ping(&self) -> Result<(), RedisFailure> {
        self.call(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await }).await.map(|_| ())
    }
}
