//! SQLite's read-only connections, handed out without sqlx's pool.
//!
//! sqlx's pool returns every connection through a spawned task that pings it
//! first. On SQLite the ping is one more round trip to the connection's
//! worker thread, which doubled the cost of a point read. Read-only
//! connections never hold a transaction, so there is nothing to flush or
//! roll back when they come back. A connection whose worker died or whose
//! file failed under it is dropped rather than returned, and the next
//! acquire opens a fresh one. May use: nothing else in flint.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{Semaphore, SemaphorePermit};

pub struct SqliteReaders {
    options: SqliteConnectOptions,
    idle: Mutex<Vec<SqliteConnection>>,
    /// One permit per connection that may exist.
    permits: Semaphore,
    acquire_timeout: Duration,
}

impl std::fmt::Debug for SqliteReaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReaders").field("available", &self.permits.available_permits()).finish_non_exhaustive()
    }
}

/// A connection lent out until dropped.
pub struct Reader<'a> {
    connection: Option<SqliteConnection>,
    readers: &'a SqliteReaders,
    _permit: SemaphorePermit<'a>,
}

impl SqliteReaders {
    /// Opens one connection now (so a bad path fails at start), up to `max` later on demand.
    pub async fn open(options: SqliteConnectOptions, max: u32, acquire_timeout: Duration) -> sqlx::Result<Self> {
        let first = options.connect().await?;
        Ok(SqliteReaders { options, idle: Mutex::new(vec![first]), permits: Semaphore::new(max as usize), acquire_timeout })
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<SqliteConnection>> {
        // A panic while holding this lock cannot leave the list inconsistent.
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An idle connection, or a new one while fewer than `max` exist; waits
    /// at most the acquire timeout for one to come back.
    pub async fn acquire(&self) -> sqlx::Result<Reader<'_>> {
        let permit = match tokio::time::timeout(self.acquire_timeout, self.permits.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_closed)) => return Err(sqlx::Error::PoolClosed),
            Err(_elapsed) => return Err(sqlx::Error::PoolTimedOut),
        };
        let idle = self.idle().pop();
        let connection = match idle {
            Some(connection) => connection,
            None => self.options.connect().await?,
        };
        Ok(Reader { connection: Some(connection), readers: self, _permit: permit })
    }

    /// Closes the idle connections and refuses new acquires.
    pub async fn close(&self) {
        self.permits.close();
        let idle: Vec<SqliteConnection> = std::mem::take(&mut *self.idle());
        for connection in idle {
            let _ = connection.close().await;
        }
    }
}

impl Reader<'_> {
    /// Keeps the connection unless `result` says it is unusable.
    pub fn check<T>(&mut self, result: &sqlx::Result<T>) {
        if let Err(sqlx::Error::WorkerCrashed | sqlx::Error::Io(_) | sqlx::Error::Protocol(_)) = result {
            tracing::warn!(error = %result.as_ref().err().map(ToString::to_string).unwrap_or_default(), "dropping a broken SQLite reader");
            self.connection = None;
        }
    }
}

impl Deref for Reader<'_> {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.connection.as_ref().expect("a reader holds its connection until dropped")
    }
}

impl DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.connection.as_mut().expect("a reader holds its connection until dropped")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        // A query cancelled mid-way is harmless here: the worker finishes it
        // before the next command, and a read-only connection has no
        // transaction to leave open.
        if let Some(connection) = self.connection.take()
            && !self.readers.permits.is_closed()
        {
            self.readers.idle().push(connection);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    async fn readers(dir: &tempfile::TempDir, max: u32) -> SqliteReaders {
        let path = dir.path().join("readers.db");
        let writer = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display())).unwrap().create_if_missing(true);
        let mut connection = writer.connect().await.unwrap();
        sqlx::query("CREATE TABLE t (n INTEGER)").execute(&mut connection).await.unwrap();
        sqlx::query("INSERT INTO t VALUES (7)").execute(&mut connection).await.unwrap();
        connection.close().await.unwrap();
        SqliteReaders::open(writer.read_only(true), max, Duration::from_millis(50)).await.unwrap()
    }

    async fn read(reader: &mut Reader<'_>) -> sqlx::Result<i64> {
        let result = sqlx::query_scalar::<_, i64>("SELECT n FROM t").fetch_one(&mut **reader).await;
        reader.check(&result);
        result
    }

    #[tokio::test]
    async fn connections_are_reused_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let readers = readers(&dir, 2).await;
        {
            let mut first = readers.acquire().await.unwrap();
            let mut second = readers.acquire().await.unwrap();
            assert_eq!(read(&mut first).await.unwrap(), 7);
            assert_eq!(read(&mut second).await.unwrap(), 7);
            assert!(matches!(readers.acquire().await, Err(sqlx::Error::PoolTimedOut)), "a third waits, then times out");
        }
        assert_eq!(readers.idle().len(), 2, "both came back");
        let mut again = readers.acquire().await.unwrap();
        assert_eq!(read(&mut again).await.unwrap(), 7);
        assert_eq!(readers.idle().len(), 1, "an idle one was taken, none opened");
    }

    #[tokio::test]
    async fn a_failed_statement_keeps_the_connection_and_close_refuses_acquires() {
        let dir = tempfile::tempdir().unwrap();
        let readers = readers(&dir, 1).await;
        {
            let mut reader = readers.acquire().await.unwrap();
            let result = sqlx::query("INSERT INTO t VALUES (1)").execute(&mut *reader).await;
            assert!(result.is_err(), "read-only");
            reader.check(&result);
        }
        assert_eq!(readers.idle().len(), 1, "an SQL error does not break the connection");
        readers.close().await;
        assert!(matches!(readers.acquire().await, Err(sqlx::Error::PoolClosed)));
    }

    #[tokio::test]
    async fn a_broken_connection_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let readers = readers(&dir, 1).await;
        {
            let mut reader = readers.acquire().await.unwrap();
            reader.check::<()>(&Err(sqlx::Error::WorkerCrashed));
        }
        assert!(readers.idle().is_empty());
        let mut fresh = readers.acquire().await.unwrap();
        assert_eq!(read(&mut fresh).await.unwrap(), 7, "a new connection is opened in its place");
    }
}
