//! The database handle: SQLite (embedded default) or PostgreSQL (scale-out).
//!
//! SQL is shared text with `$1..$N` placeholders; the `on_read!`, `on_write!`
//! and `on_tx!` macros expand one query expression for both backends so data
//! modules stay free of backend branches. SQLite has a single writer
//! connection (writes are serialised and transactions use `BEGIN IMMEDIATE`,
//! so they never fail with SQLITE_BUSY on a lock upgrade) plus a read-only
//! pool. May use: `platform::config`.

mod inline;
mod readers;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use crate::platform::config::{Config, DatabaseKind};
pub use inline::InlineReaders;
pub use readers::{Reader, SqliteReaders};

pub static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
pub static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// A cheap-to-clone handle on the configured database.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqliteDb),
    Postgres(PgPool),
}

#[derive(Clone, Debug)]
pub struct SqliteDb {
    /// Read-only connections (sqlx); used for every plain read.
    pub read: Arc<SqliteReaders>,
    /// Read-only connections driven on the calling thread, for the hot
    /// point reads (a post by slug, a session by id); see `db/inline.rs`.
    pub inline: Arc<InlineReaders>,
    /// The one connection that writes.
    pub write: SqlitePool,
    /// The database file's path, for the migration lock beside it.
    pub path: std::path::PathBuf,
}

/// A transaction on either backend; commit it or it rolls back on drop.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs a query expression on the read side: `on_read!(db, |pool| sqlx::query(..).fetch_one(pool))`.
/// On SQLite `pool` is a `&mut SqliteConnection` lent by [`SqliteReaders`].
#[macro_export]
macro_rules! on_read {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::platform::db::Db::Sqlite(sqlite) => match sqlite.read.acquire().await {
                Ok(mut reader) => {
                    let $pool = &mut *reader;
                    let result = $body.await;
                    reader.check(&result);
                    result
                }
                Err(error) => Err(error),
            },
            $crate::platform::db::Db::Postgres(pg) => {
                let $pool = pg;
                $body.await
            }
        }
    };
}

/// Runs a statement on the writer and returns the number of rows it changed:
/// `execute!(db, sqlx::query("UPDATE ...").bind(x))`.
#[macro_export]
macro_rules! execute {
    ($db:expr, $query:expr) => {
        match $db {
            $crate::platform::db::Db::Sqlite(sqlite) => $query.execute(&sqlite.write).await.map(|done| done.rows_affected()),
            $crate::platform::db::Db::Postgres(pg) => $query.execute(pg).await.map(|done| done.rows_affected()),
        }
    };
}

/// `execute!` inside a transaction.
#[macro_export]
macro_rules! execute_tx {
    ($tx:expr, $query:expr) => {
        match $tx {
            $crate::platform::db::Tx::Sqlite(tx) => $query.execute(&mut **tx).await.map(|done| done.rows_affected()),
            $crate::platform::db::Tx::Postgres(tx) => $query.execute(&mut **tx).await.map(|done| done.rows_affected()),
        }
    };
}

/// Runs a single-statement write that returns rows (`RETURNING`).
///
/// On SQLite the statement runs in a transaction of its own whose COMMIT is
/// checked. In autocommit, a `RETURNING` statement read with
/// `fetch_optional`/`fetch_one` hands back its row before the statement
/// finishes; the implicit commit then happens when the statement is reset,
/// where a failure (`SQLITE_FULL` on a full disk) is never seen, and the
/// caller answers 200 for a change that is gone.
#[macro_export]
macro_rules! on_write {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::platform::db::Db::Sqlite(sqlite) => {
                async {
                    let mut tx = sqlite.write.begin_with("BEGIN IMMEDIATE").await?;
                    let $pool = &mut *tx;
                    let result = $body.await?;
                    tx.commit().await?;
                    Ok::<_, sqlx::Error>(result)
                }
                .await
            }
            $crate::platform::db::Db::Postgres(pg) => {
                let $pool = pg;
                $body.await
            }
        }
    };
}

/// Runs a query expression inside a transaction: `on_tx!(tx, |conn| q.execute(conn))`.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::platform::db::Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body.await
            }
            $crate::platform::db::Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body.await
            }
        }
    };
}

impl Db {
    /// Opens the database named by the configuration (creating a SQLite file and
    /// its folder when needed). Does not run migrations.
    pub async fn connect(config: &Config) -> anyhow::Result<Db> {
        match &config.database {
            DatabaseKind::Sqlite { path } => Self::connect_sqlite(path, config).await,
            DatabaseKind::Postgres => Self::connect_postgres(config).await,
        }
    }

    async fn connect_sqlite(path: &str, config: &Config) -> anyhow::Result<Db> {
        // Search ranks with it (see fts5_bm25.rs); every connection opened
        // from here on has it.
        crate::platform::fts5_bm25::register(config.sqlite_busy_timeout).map_err(anyhow::Error::msg)?;
        if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating database folder {}", dir.display()))?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .with_context(|| format!("DATABASE_URL: bad SQLite path {path}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(config.sqlite_busy_timeout)
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            // 4 MB of pages per connection (five with the default readers):
            // the OS keeps the file cached anyway, and 16 MB each let peak RSS
            // pass 64 MB with 10,000 posts.
            .pragma("cache_size", "-4000");
        // The writer opens first: it creates the file and switches it to WAL,
        // holding the setup lock, as two processes doing that at once on a
        // new file can fail with "database is locked" before any busy
        // timeout applies. No ping before handing out a connection: there is
        // no peer that can hang up on a local file, and each ping is a round
        // trip to the connection's worker thread (it doubled the cost of a
        // point read).
        let setup = setup_lock(Path::new(path)).await?;
        let write = SqlitePoolOptions::new()
            .test_before_acquire(false)
            // A COMMIT that failed (SQLITE_FULL on a full disk) can leave sqlx
            // counting a transaction that SQLite already rolled back; the
            // rollback sqlx queues then fails too, and every later BEGIN on
            // the one writer would be refused. The ping lets any queued
            // rollback run first; a connection still in a transaction after
            // it is closed and replaced.
            .before_acquire(|conn, _| {
                Box::pin(async move {
                    use sqlx::Connection;
                    conn.ping().await?;
                    Ok(!conn.is_in_transaction())
                })
            })
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(config.db_acquire_timeout)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("opening SQLite database {path}"))?;
        drop(setup);
        let read = SqliteReaders::open(options.read_only(true), config.sqlite_readers, config.db_acquire_timeout)
            .await
            .with_context(|| format!("opening SQLite readers for {path}"))?;
        // A point read touches a few index pages and the row's overflow
        // pages: 2 MB of page cache is plenty and keeps peak RSS down.
        let inline = InlineReaders::open(path.into(), config.sqlite_busy_timeout, -2000)
            .with_context(|| format!("opening SQLite point readers for {path}"))?;
        Ok(Db::Sqlite(SqliteDb { read: Arc::new(read), inline: Arc::new(inline), write, path: path.into() }))
    }

    async fn connect_postgres(config: &Config) -> anyhow::Result<Db> {
        let statement_timeout = config.db_statement_timeout.as_millis().to_string();
        let options = PgConnectOptions::from_str(&config.database_url)
            .context("DATABASE_URL: not a valid PostgreSQL URL")?
            .application_name("flint")
            .options([("statement_timeout", statement_timeout.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(config.db_max_connections)
            .min_connections(1)
            .acquire_timeout(config.db_acquire_timeout)
            .idle_timeout(std::time::Duration::from_secs(600))
            .max_lifetime(std::time::Duration::from_secs(1800))
            .connect_with(options)
            .await
            .context("connecting to PostgreSQL")?;
        Ok(Db::Postgres(pool))
    }

    /// Applies every pending migration of this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(sqlite) => {
                // sqlx takes no lock on SQLite (it does on PostgreSQL), so two
                // processes starting on one file (`serve` and `worker`) would
                // both apply a new migration and one would fail half-way.
                let lock = setup_lock(&sqlite.path).await?;
                let result = SQLITE_MIGRATIONS.run(&sqlite.write).await;
                drop(lock);
                result
            }
            Db::Postgres(pg) => POSTGRES_MIGRATIONS.run(pg).await,
        }
        .context("applying database migrations")
    }

    /// Starts a transaction (`BEGIN IMMEDIATE` on SQLite: take the write lock up front).
    pub async fn begin(&self) -> sqlx::Result<Tx> {
        match self {
            Db::Sqlite(sqlite) => Ok(Tx::Sqlite(sqlite.write.begin_with("BEGIN IMMEDIATE").await?)),
            Db::Postgres(pg) => Ok(Tx::Postgres(pg.begin().await?)),
        }
    }

    /// A round trip to the database (readiness probe).
    pub async fn ping(&self) -> sqlx::Result<()> {
        on_read!(self, |pool| sqlx::query_scalar::<_, i64>("SELECT CAST(1 AS BIGINT)").fetch_one(pool)).map(|_| ())
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection (SQLite checkpoints its WAL on close).
    pub async fn close(&self) {
        match self {
            Db::Sqlite(sqlite) => {
                sqlite.read.close().await;
                sqlite.inline.close();
                sqlite.write.close().await;
            }
            Db::Postgres(pg) => pg.close().await,
        }
    }
}

impl Tx {
    pub async fn commit(self) -> sqlx::Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }
}

/// Takes the setup lock of the SQLite file at `path`: a file lock beside the
/// database that lets one process at a time create it or migrate it. Held
/// until the file is dropped.
async fn setup_lock(path: &Path) -> anyhow::Result<std::fs::File> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push("-migrate-lock"); // beside SQLite's own -wal and -shm
    tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path)?;
        file.lock()?;
        Ok(file)
    })
    .await
    .context("waiting for the setup lock beside the database")?
    .context("taking the setup lock beside the database")
}

/// `LIMIT n` with the number written into the SQL, for a statement to use in
/// place of a bound `LIMIT $n`. SQLite plans a bound LIMIT by its value, so
/// binding one (even to the same value) makes the next run parse and plan
/// the statement again; with the number in the text, each limit a statement
/// is run with is one prepared statement in the connection's cache.
pub fn limit(n: i64) -> String {
    format!("LIMIT {n}")
}

/// `$first, $first+1, ...`: `count` placeholders for an `IN (...)` list.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// `Ann_` -> `%ann\_%`: a lowercase substring pattern for
/// `lower(column) LIKE $n ESCAPE '\'`, with the wildcards `%` and `_` (and
/// the escape itself) taken literally.
pub fn like_substring(query: &str) -> String {
    let mut pattern = String::from("%");
    for c in query.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// True when the error is a unique-constraint violation (portable across backends).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// True when the error is a foreign-key violation (the row referred to is gone).
pub fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::ForeignKeyViolation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_substring("Ann"), "%ann%");
        assert_eq!(like_substring("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn placeholders_are_numbered_from_first() {
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
        assert_eq!(placeholders(1, 0), "");
    }

    /// Why [`limit`] exists: runs of a statement that binds its LIMIT are
    /// prepared again each time; with the number in the text they are not.
    #[test]
    fn a_bound_limit_is_prepared_again_on_every_run_and_a_literal_one_is_not() {
        let db = rusqlite::Connection::open_in_memory().expect("in-memory database");
        let reprepares = |sql: &str, bind: bool| {
            let mut statement = db.prepare(sql).expect("prepared");
            for n in [2_i64, 2, 3] {
                let rows: Vec<i64> = if bind {
                    statement.query_map([n], |row| row.get(0)).expect("query").collect::<Result<_, _>>().expect("rows")
                } else {
                    statement.query_map([], |row| row.get(0)).expect("query").collect::<Result<_, _>>().expect("rows")
                };
                assert!(!rows.is_empty());
            }
            statement.get_status(rusqlite::StatementStatus::RePrepare)
        };
        assert!(reprepares("SELECT value FROM json_each('[1,2,3,4]') ORDER BY value LIMIT ?1", true) >= 2);
        assert_eq!(reprepares(&format!("SELECT value FROM json_each('[1,2,3,4]') ORDER BY value {}", limit(2)), false), 0);
    }

    fn versions(migrator: &Migrator) -> Vec<(i64, String)> {
        migrator.iter().map(|m| (m.version, m.description.to_string())).collect()
    }

    #[test]
    fn migration_directories_are_in_step() {
        let sqlite = versions(&SQLITE_MIGRATIONS);
        let postgres = versions(&POSTGRES_MIGRATIONS);
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, postgres, "migrations/sqlite and migrations/postgres must hold the same versions");
    }
}
