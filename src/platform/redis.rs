//! One shared, lazily connected, auto-reconnecting Redis connection for the
//! cache and the rate limiter, with every call bounded by a short timeout.
//!
//! Connecting lazily means flint starts (and serves, from the database) while
//! Redis is down; each call then fails fast and its caller degrades.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

#[derive(Clone)]
pub struct Redis {
    connection: ConnectionManager,
    prefix: Arc<str>,
    timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum RedisFailure {
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("redis error: {0}")]
    Redis(#[from] redis::RedisError),
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
        Ok(Redis { connection, prefix: prefix.into(), timeout })
    }

    /// `suffix` under this deployment's key prefix.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    /// Runs one command (or script) on the shared connection, bounded by the timeout.
    pub async fn call<T, F, Fut>(&self, command: F) -> Result<T, RedisFailure>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        match tokio::time::timeout(self.timeout, command(self.connection.clone())).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(RedisFailure::Timeout(self.timeout)),
        }
    }

    pub async fn ping(&self) -> Result<(), RedisFailure> {
        self.call(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await }).await.map(|_| ())
    }
}
