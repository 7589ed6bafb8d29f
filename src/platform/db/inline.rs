//! SQLite point reads run on the calling thread.
//!
//! sqlx gives every SQLite connection its own worker thread: a statement is
//! sent to it over a channel and its rows come back over another, so each
//! read costs two thread hand-offs. For a read that finds one row by a
//! unique key (microseconds of SQLite work) the hand-offs cost more than the
//! read: under load half the CPU went to the kernel switching threads. These
//! connections are driven by `rusqlite` (the same bundled SQLite sqlx links)
//! directly on the task's thread.
//!
//! Only indexed point reads belong here: the calling thread is a runtime
//! worker and is blocked for the read's duration. Scans and anything that
//! may take milliseconds stay on sqlx's readers. May use: nothing else in
//! flint.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rusqlite::types::ToSql;
use rusqlite::{Connection, OpenFlags, Row};

/// Statements a connection keeps prepared; the point reads are a handful.
const STATEMENT_CACHE: usize = 16;
/// Placeholder names of the shared SQL text (`$1..$N`), bound by name so
/// their order in the text does not matter.
const PLACEHOLDERS: [&str; 8] = ["$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8"];

/// Read-only connections lent to one read at a time. Never more exist than
/// threads read at once: a read holds its connection without yielding, so
/// the runtime's worker (and blocking) threads bound the count.
pub struct InlineReaders {
    path: PathBuf,
    busy_timeout: Duration,
    /// `PRAGMA cache_size` of each connection (negative: KiB).
    cache_size: i64,
    idle: Mutex<Vec<Connection>>,
    closed: AtomicBool,
}

impl std::fmt::Debug for InlineReaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineReaders").field("path", &self.path).field("idle", &self.idle().len()).finish_non_exhaustive()
    }
}

impl InlineReaders {
    /// Opens one connection now, so a bad path or a missing file fails at start.
    pub fn open(path: PathBuf, busy_timeout: Duration, cache_size: i64) -> sqlx::Result<Self> {
        let readers = InlineReaders { path, busy_timeout, cache_size, idle: Mutex::new(Vec::new()), closed: AtomicBool::new(false) };
        let first = readers.connect().map_err(into_sqlx)?;
        readers.idle().push(first);
        Ok(readers)
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        // NO_MUTEX: a connection is only ever used by one thread at a time.
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(&self.path, flags)?;
        connection.busy_timeout(self.busy_timeout)?;
        connection.pragma_update(None, "cache_size", self.cache_size)?;
        connection.pragma_update(None, "temp_store", "memory")?;
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(connection)
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // A panic while holding this lock cannot leave the list inconsistent.
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `sql` with `params` bound to `$1..$N` and maps its first row, if any.
    pub fn optional<T>(
        &self,
        sql: &str,
        params: &[&dyn ToSql],
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> sqlx::Result<Option<T>> {
        if self.closed.load(Ordering::Acquire) {
            return Err(sqlx::Error::PoolClosed);
        }
        let connection = match self.idle().pop() {
            Some(connection) => connection,
            None => self.connect().map_err(into_sqlx)?,
        };
        let result = first_row(&connection, sql, params, map);
        // A connection that failed under its file is dropped, not reused.
        if !matches!(result, Err(rusqlite::Error::SqliteFailure(ref e, _)) if is_fatal(e.code)) && !self.closed.load(Ordering::Acquire) {
            self.idle().push(connection);
        }
        result.map_err(into_sqlx)
    }

    /// Closes the idle connections and refuses further reads (connections
    /// in use close when their read ends).
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.idle().clear();
    }
}

fn first_row<T>(
    connection: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let mut statement = connection.prepare_cached(sql)?;
    if statement.parameter_count() != params.len() || params.len() > PLACEHOLDERS.len() {
        return Err(rusqlite::Error::InvalidParameterCount(params.len(), statement.parameter_count()));
    }
    for (name, value) in PLACEHOLDERS.iter().zip(params) {
        let index = statement.parameter_index(name)?.ok_or_else(|| rusqlite::Error::InvalidParameterName((*name).to_owned()))?;
        statement.raw_bind_parameter(index, value)?;
    }
    let mut rows = statement.raw_query();
    match rows.next()? {
        Some(row) => map(row).map(Some),
        None => Ok(None),
    }
}

fn is_fatal(code: rusqlite::ErrorCode) -> bool {
    use rusqlite::ErrorCode::*;
    matches!(code, SystemIoFailure | DatabaseCorrupt | NotADatabase | CannotOpen | FileLockingProtocolFailed)
}

/// A failed inline read, as the sqlx error every data function returns.
#[derive(Debug)]
struct InlineReadError {
    message: String,
    code: Option<String>,
    source: rusqlite::Error,
}

impl std::fmt::Display for InlineReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InlineReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl sqlx::error::DatabaseError for InlineReadError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        self.code.as_deref().map(Cow::Borrowed)
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        sqlx::error::ErrorKind::Other
    }
}

fn into_sqlx(error: rusqlite::Error) -> sqlx::Error {
    let code = match &error {
        rusqlite::Error::SqliteFailure(e, _) => Some(e.extended_code.to_string()),
        _ => None,
    };
    sqlx::Error::Database(Box::new(InlineReadError { message: format!("SQLite point read: {error}"), code, source: error }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(dir: &tempfile::TempDir) -> PathBuf {
        let path = dir.path().join("inline.db");
        let writer = Connection::open(&path).unwrap();
        writer.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL);").unwrap();
        writer.execute("INSERT INTO t VALUES ('a', 1), ('b', 2)", []).unwrap();
        path
    }

    fn n_of(readers: &InlineReaders, key: &str, min: i64) -> sqlx::Result<Option<i64>> {
        // `$2` before `$1` in the text: binding goes by name, not position.
        readers.optional("SELECT n FROM t WHERE n >= $2 AND k = $1", &[&key, &min], |row| row.get(0))
    }

    #[test]
    fn finds_a_row_or_none_and_binds_by_placeholder_name() {
        let dir = tempfile::tempdir().unwrap();
        let readers = InlineReaders::open(database(&dir), Duration::from_secs(1), -1000).unwrap();
        assert_eq!(n_of(&readers, "b", 0).unwrap(), Some(2));
        assert_eq!(n_of(&readers, "b", 3).unwrap(), None);
        assert_eq!(n_of(&readers, "zz", 0).unwrap(), None);
        assert_eq!(readers.idle().len(), 1, "the one connection is reused");
    }

    #[test]
    fn sees_writes_committed_after_it_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = database(&dir);
        let readers = InlineReaders::open(path.clone(), Duration::from_secs(1), -1000).unwrap();
        assert_eq!(n_of(&readers, "c", 0).unwrap(), None);
        Connection::open(&path).unwrap().execute("INSERT INTO t VALUES ('c', 3)", []).unwrap();
        assert_eq!(n_of(&readers, "c", 0).unwrap(), Some(3));
    }

    #[test]
    fn refuses_writes_and_reports_errors_as_sqlx_database_errors() {
        let dir = tempfile::tempdir().unwrap();
        let readers = InlineReaders::open(database(&dir), Duration::from_secs(1), -1000).unwrap();
        let write = readers.optional("INSERT INTO t VALUES ('d', 4) RETURNING n", &[], |row| row.get::<_, i64>(0));
        let Err(sqlx::Error::Database(error)) = write else { panic!("a read-only connection wrote: {write:?}") };
        assert!(error.message().contains("readonly"), "{}", error.message());
        let wrong_count = readers.optional("SELECT n FROM t WHERE k = $1", &[], |row| row.get::<_, i64>(0));
        assert!(matches!(wrong_count, Err(sqlx::Error::Database(_))), "{wrong_count:?}");
        let bad_type = readers.optional("SELECT k FROM t WHERE k = $1", &[&"a"], |row| row.get::<_, i64>(0));
        assert!(matches!(bad_type, Err(sqlx::Error::Database(_))), "{bad_type:?}");
        assert_eq!(n_of(&readers, "a", 0).unwrap(), Some(1), "a failed statement leaves the connection usable");
    }

    #[test]
    fn close_refuses_further_reads() {
        let dir = tempfile::tempdir().unwrap();
        let readers = InlineReaders::open(database(&dir), Duration::from_secs(1), -1000).unwrap();
        readers.close();
        assert!(matches!(n_of(&readers, "a", 0), Err(sqlx::Error::PoolClosed)));
        assert_eq!(readers.idle().len(), 0);
    }

    #[test]
    fn a_missing_file_fails_at_open() {
        let dir = tempfile::tempdir().unwrap();
        assert!(InlineReaders::open(dir.path().join("absent.db"), Duration::from_secs(1), -1000).is_err());
    }
}
