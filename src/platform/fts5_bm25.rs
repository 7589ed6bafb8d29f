//! `flint_bm25`: FTS5's bm25 ranking with the number of rows holding each
//! phrase, and each row's length, supplied by the caller; and `flint_tokens`,
//! a row's length.
//!
//! bm25 weighs each phrase by its rarity (IDF), and FTS5 finds how many rows
//! hold a phrase by walking the phrase's whole posting list once per query,
//! before ranking the first row: about 2.4 ms at 100,000 posts for a word
//! found in most of them, however few rows the query then ranks. flint keeps
//! those counts in the database (`search_terms.posts`) and passes them in.
//! bm25 also reads each ranked row's length with a statement of its own (15 %
//! of the CPU of an uncached search); flint keeps the lengths in a table the
//! query joins (`search_post_lengths`), which costs a fraction of that.
//!
//! ```sql
//! flint_bm25(search_index, counts, tokens, weight_0, weight_1, ...)
//! flint_tokens(search_index)
//! ```
//!
//! `counts` is the number of rows holding each phrase of the MATCH
//! expression, in the order the phrases appear, as comma-separated integers
//! (`'812,40'`), or NULL to count each phrase as bm25 does. `tokens` is the
//! row's length in tokens (what `flint_tokens` gives), or NULL to read it as
//! bm25 does. The weights are bm25's per-column weights. With exact counts
//! and length the value equals `bm25(search_index, weight_0, ...)`:
//! negative, lower is better. `flint_tokens` works in any query of the
//! table, a MATCH or not.
//!
//! [`register`] makes the functions part of every SQLite connection the
//! process opens afterwards (sqlx's and rusqlite's alike: they link one
//! SQLite). May use: SQLite's C API (through rusqlite's `ffi`) only.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::null_mut;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use rusqlite::ffi;

/// An auxiliary function: its SQL name and what it computes for the current
/// row. Registered with itself as the user data, so that one C entry point
/// ([`auxiliary`]) serves them all.
struct Auxiliary {
    name: &'static CStr,
    compute: unsafe fn(&ffi::Fts5ExtensionApi, *mut ffi::Fts5Context, &[*mut ffi::sqlite3_value]) -> Result<Value, Failure>,
}

static FUNCTIONS: [Auxiliary; 2] = [
    Auxiliary {
        name: c"flint_bm25",
        // SAFETY: FTS5's own arguments, passed on unchanged.
        compute: |api, fts, arguments| unsafe { score(api, fts, arguments) }.map(Value::Real),
    },
    Auxiliary {
        name: c"flint_tokens",
        // SAFETY: FTS5's own arguments, passed on unchanged.
        compute: |api, fts, _| unsafe { length(api, fts) }.map(Value::Integer),
    },
];

const K1: f64 = 1.2;
const B: f64 = 0.75;

/// How long registration on a new connection waits for a lock (milliseconds).
static BUSY_TIMEOUT_MS: AtomicI32 = AtomicI32::new(0);

/// Registers `flint_bm25` and `flint_tokens` for every SQLite connection
/// opened from now on; the first call does it, later calls return its
/// outcome. Registering reads the schema, so on a file another process holds
/// locked (migrating, say) it waits up to `busy_timeout` (the latest given),
/// as any statement would; the connection's own busy timeout is only set
/// after it opens.
pub fn register(busy_timeout: Duration) -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    BUSY_TIMEOUT_MS.store(i32::try_from(busy_timeout.as_millis()).unwrap_or(i32::MAX), Ordering::Relaxed);
    REGISTERED
        .get_or_init(|| {
            // SAFETY: `init` has the signature SQLite calls an automatic
            // extension with, and stays valid for the life of the process.
            let rc = unsafe { ffi::sqlite3_auto_extension(Some(init)) };
            if rc == ffi::SQLITE_OK {
                Ok(())
            } else {
                Err(format!("registering flint_bm25 and flint_tokens with SQLite failed (code {rc})"))
            }
        })
        .clone()
}

/// Runs inside `sqlite3_open` for each new connection (FTS5 is registered
/// before automatic extensions run).
unsafe extern "C" fn init(db: *mut ffi::sqlite3, error: *mut *mut c_char, _routines: *const ffi::sqlite3_api_routines) -> c_int {
    // SAFETY: SQLite passes the connection being opened; whoever opened it
    // sets its own busy timeout afterwards.
    let rc = unsafe {
        ffi::sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS.load(Ordering::Relaxed));
        create_functions(db)
    };
    if rc != ffi::SQLITE_OK && !error.is_null() {
        // SAFETY: SQLite frees the message with sqlite3_free, so it is
        // allocated by SQLite; the format takes the one int passed.
        unsafe { *error = ffi::sqlite3_mprintf(c"could not register flint_bm25 and flint_tokens (code %d)".as_ptr(), rc) };
    }
    rc
}

/// Fetches the connection's `fts5_api` (the documented way: `SELECT fts5(?)`
/// with a pointer bound) and adds the functions to it.
unsafe fn create_functions(db: *mut ffi::sqlite3) -> c_int {
    let mut statement: *mut ffi::sqlite3_stmt = null_mut();
    // SAFETY: `db` is an open connection; the SQL is a C string.
    let rc = unsafe { ffi::sqlite3_prepare_v2(db, c"SELECT fts5(?1)".as_ptr(), -1, &mut statement, null_mut()) };
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    let mut api: *mut ffi::fts5_api = null_mut();
    // SAFETY: FTS5 writes its api pointer through the bound pointer while the
    // statement steps; `api` outlives the statement.
    let rc = unsafe {
        ffi::sqlite3_bind_pointer(statement, 1, (&raw mut api).cast::<c_void>(), c"fts5_api_ptr".as_ptr(), None);
        ffi::sqlite3_step(statement);
        ffi::sqlite3_finalize(statement)
    };
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    if api.is_null() {
        return ffi::SQLITE_ERROR;
    }
    // SAFETY: `api` is the connection's fts5_api.
    let Some(create) = (unsafe { *api }).xCreateFunction else {
        return ffi::SQLITE_ERROR;
    };
    for function in &FUNCTIONS {
        let user_data = (function as *const Auxiliary).cast_mut().cast::<c_void>();
        // SAFETY: `api` is the connection's fts5_api and `create` its own
        // function; the user data is a static, so there is nothing to destroy.
        let rc = unsafe { create(api, function.name.as_ptr(), user_data, Some(auxiliary), None) };
        if rc != ffi::SQLITE_OK {
            return rc;
        }
    }
    ffi::SQLITE_OK
}

/// What a query computes once, with its first row: the IDF of each phrase,
/// the average row length, the weights; and room for a row's frequencies.
struct QueryStats {
    idf: Vec<f64>,
    average_length: f64,
    weights: Vec<f64>,
    frequencies: Vec<f64>,
}

unsafe extern "C" fn drop_stats(stats: *mut c_void) {
    // SAFETY: only ever given a pointer from `Box::into_raw(Box<QueryStats>)`.
    drop(unsafe { Box::from_raw(stats.cast::<QueryStats>()) });
}

enum Failure {
    Code(c_int),
    Message(String),
}

enum Value {
    Real(f64),
    Integer(i64),
}

/// The C entry point of every [`Auxiliary`]: finds which one from the user
/// data, computes it and hands its value or failure to SQLite.
unsafe extern "C" fn auxiliary(
    api: *const ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    context: *mut ffi::sqlite3_context,
    argument_count: c_int,
    arguments: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: FTS5 passes its API, and the user data given at registration:
    // one of FUNCTIONS.
    let (api, function) = unsafe {
        let api = &*api;
        (api, api.xUserData.map(|user_data| &*user_data(fts).cast::<Auxiliary>()))
    };
    let arguments: &[*mut ffi::sqlite3_value] = if argument_count > 0 && !arguments.is_null() {
        // SAFETY: SQLite passes `argument_count` values.
        unsafe { std::slice::from_raw_parts(arguments, argument_count as usize) }
    } else {
        &[]
    };
    let name = function.map_or("flint's FTS5 function".into(), |function| function.name.to_string_lossy());
    // A panic must not cross into SQLite (it would abort the process).
    let outcome = catch_unwind(AssertUnwindSafe(|| match function {
        // SAFETY: `api` and `fts` are valid for this call.
        Some(function) => unsafe { (function.compute)(api, fts, arguments) },
        None => Err(Failure::Message(format!("{name}: this SQLite's FTS5 lacks xUserData"))),
    }))
    .unwrap_or_else(|_| Err(Failure::Message(format!("{name} failed"))));
    // SAFETY: `context` is this call's result context.
    unsafe {
        match outcome {
            Ok(Value::Real(value)) => ffi::sqlite3_result_double(context, value),
            Ok(Value::Integer(value)) => ffi::sqlite3_result_int64(context, value),
            Err(Failure::Code(rc)) => ffi::sqlite3_result_error_code(context, rc),
            Err(Failure::Message(message)) => ffi::sqlite3_result_error(context, message.as_ptr().cast::<c_char>(), message.len() as c_int),
        }
    }
}

/// The current row's length in tokens, all columns together.
unsafe fn length(api: &ffi::Fts5ExtensionApi, fts: *mut ffi::Fts5Context) -> Result<i64, Failure> {
    let column_size = present(api.xColumnSize, "xColumnSize")?;
    let mut tokens: c_int = 0;
    // SAFETY: `fts` is the current row's context; -1 asks for every column.
    check(unsafe { column_size(fts, -1, &mut tokens) })?;
    Ok(i64::from(tokens))
}

/// An FTS5 API function, which every SQLite since 3.9 provides.
fn present<T>(function: Option<T>, name: &str) -> Result<T, Failure> {
    function.ok_or_else(|| Failure::Message(format!("flint_bm25: this SQLite's FTS5 lacks {name}")))
}

fn check(rc: c_int) -> Result<(), Failure> {
    if rc == ffi::SQLITE_OK { Ok(()) } else { Err(Failure::Code(rc)) }
}

/// The bm25 value of the current row (fts5_aux.c's `fts5Bm25Function`, with
/// the counts and the length taken from the arguments).
unsafe fn score(api: &ffi::Fts5ExtensionApi, fts: *mut ffi::Fts5Context, arguments: &[*mut ffi::sqlite3_value]) -> Result<f64, Failure> {
    let get_auxdata = present(api.xGetAuxdata, "xGetAuxdata")?;
    let (phrase_first, phrase_next) = (present(api.xPhraseFirst, "xPhraseFirst")?, present(api.xPhraseNext, "xPhraseNext")?);
    // SAFETY: auxdata of this query is only ever set by `query_stats`.
    let mut stats = unsafe { get_auxdata(fts, 0) }.cast::<QueryStats>();
    if stats.is_null() {
        // SAFETY: as the caller's.
        stats = unsafe { query_stats(api, fts, arguments) }?;
    }
    // SAFETY: FTS5 keeps the auxdata until the query ends; one row is ranked
    // at a time, so nothing else holds a reference.
    let stats = unsafe { &mut *stats };
    // Each phrase's instances are walked on their own: bm25's xInst would
    // first merge every phrase's instances into one array per row.
    for (phrase, frequency) in stats.frequencies.iter_mut().enumerate() {
        *frequency = 0.0;
        let mut instances = ffi::Fts5PhraseIter { a: std::ptr::null(), b: std::ptr::null() };
        let (mut column, mut offset): (c_int, c_int) = (0, 0);
        // SAFETY: `phrase` is below the phrase count; the iterator and the
        // outputs live through the walk, which ends with a negative column.
        check(unsafe { phrase_first(fts, phrase as c_int, &mut instances, &mut column, &mut offset) })?;
        while column >= 0 {
            *frequency += stats.weights.get(column as usize).copied().unwrap_or(1.0);
            // SAFETY: as for `phrase_first`.
            unsafe { phrase_next(fts, &mut instances, &mut column, &mut offset) };
        }
    }
    let tokens = match arguments.get(1) {
        // SAFETY: a value passed to this call.
        Some(&value) if unsafe { ffi::sqlite3_value_type(value) } != ffi::SQLITE_NULL => unsafe { ffi::sqlite3_value_int64(value) },
        // SAFETY: as the caller's.
        _ => unsafe { length(api, fts) }?,
    };
    let length_norm = K1 * (1.0 - B + B * tokens as f64 / stats.average_length);
    let score: f64 = stats.idf.iter().zip(&stats.frequencies).map(|(idf, f)| idf * (f * (K1 + 1.0)) / (f + length_norm)).sum();
    Ok(-score)
}

/// Computes the query's statistics and hands them to FTS5 to keep (and drop)
/// with the query.
unsafe fn query_stats(
    api: &ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    arguments: &[*mut ffi::sqlite3_value],
) -> Result<*mut QueryStats, Failure> {
    let (phrase_count, row_count) = (present(api.xPhraseCount, "xPhraseCount")?, present(api.xRowCount, "xRowCount")?);
    let total_size = present(api.xColumnTotalSize, "xColumnTotalSize")?;
    let set_auxdata = present(api.xSetAuxdata, "xSetAuxdata")?;
    // SAFETY: `fts` is the query's context.
    let phrases = usize::try_from(unsafe { phrase_count(fts) }).unwrap_or(0);
    let (mut rows, mut tokens): (i64, i64) = (0, 0);
    // SAFETY: `fts` is the query's context; `rows` outlives the call.
    check(unsafe { row_count(fts, &mut rows) })?;
    // SAFETY: `fts` is the query's context; `tokens` outlives the call.
    check(unsafe { total_size(fts, -1, &mut tokens) })?;
    // A row is being ranked, so the table has one at least.
    let rows = rows.max(1);
    let counts = match arguments.first() {
        // SAFETY: FTS5 passes valid values for the function's arguments.
        Some(&value) if unsafe { ffi::sqlite3_value_type(value) } != ffi::SQLITE_NULL => {
            // SAFETY: a non-NULL value's text is valid until the value changes.
            let text = unsafe { CStr::from_ptr(ffi::sqlite3_value_text(value).cast::<c_char>()) };
            let counts = parse_counts(&text.to_string_lossy())?;
            if counts.len() != phrases {
                return Err(Failure::Message(format!("flint_bm25: {} counts for {phrases} phrases", counts.len())));
            }
            counts
        }
        // SAFETY: `fts` is the query's context and each phrase index is below its phrase count.
        _ => (0..phrases).map(|phrase| unsafe { count_rows(api, fts, phrase as c_int) }).collect::<Result<_, _>>()?,
    };
    let idf = counts.iter().map(|&hits| idf(rows, hits)).collect();
    // SAFETY: the weights are the arguments after the counts and the length.
    let weights = arguments.iter().skip(2).map(|&value| unsafe { ffi::sqlite3_value_double(value) }).collect();
    let stats =
        Box::into_raw(Box::new(QueryStats { idf, average_length: tokens as f64 / rows as f64, weights, frequencies: vec![0.0; phrases] }));
    // SAFETY: on failure FTS5 calls `drop_stats` on the pointer itself.
    check(unsafe { set_auxdata(fts, stats.cast::<c_void>(), Some(drop_stats)) })?;
    Ok(stats)
}

fn parse_counts(text: &str) -> Result<Vec<i64>, Failure> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|count| count.trim().parse::<i64>().ok().filter(|n| *n >= 0))
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| Failure::Message(format!("flint_bm25: counts must be non-negative integers separated by commas, not {text:?}")))
}

/// bm25's IDF: rare phrases weigh more; a phrase in more than half the rows
/// gets a floor of 1e-6 rather than a negative weight. A count above the
/// number of rows is taken as every row.
fn idf(rows: i64, hits: i64) -> f64 {
    let hits = hits.min(rows) as f64;
    let idf = ((rows as f64 - hits + 0.5) / (hits + 0.5)).ln();
    if idf <= 0.0 { 1e-6 } else { idf }
}

/// Rows holding `phrase`, counted as bm25 counts them: a pass over its posting list.
unsafe fn count_rows(api: &ffi::Fts5ExtensionApi, fts: *mut ffi::Fts5Context, phrase: c_int) -> Result<i64, Failure> {
    unsafe extern "C" fn one_more(_api: *const ffi::Fts5ExtensionApi, _fts: *mut ffi::Fts5Context, hits: *mut c_void) -> c_int {
        // SAFETY: `hits` is the counter passed below.
        unsafe { *hits.cast::<i64>() += 1 };
        ffi::SQLITE_OK
    }
    let query_phrase = present(api.xQueryPhrase, "xQueryPhrase")?;
    let mut hits: i64 = 0;
    // SAFETY: the counter outlives the call, which runs the callback per row.
    check(unsafe { query_phrase(fts, phrase, (&raw mut hits).cast::<c_void>(), Some(one_more)) })?;
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection() -> rusqlite::Connection {
        register(Duration::from_secs(5)).expect("registered");
        let db = rusqlite::Connection::open_in_memory().expect("in-memory database");
        db.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5(title, content, content = '', contentless_delete = 1);
             INSERT INTO t (rowid, title, content) VALUES
               (1, 'cache basics', 'a cache keeps copies; cache hits are cheap'),
               (2, 'rust', 'ownership and borrowing in rust with a small cache'),
               (3, 'caching in rust', 'cached pages and a cache key per page'),
               (4, 'notes', 'nothing about it here at all, only words and more words'),
               (5, 'rust cache', 'rust rust rust cache'),
               (6, 'deleted', 'cache rust cached');
             DELETE FROM t WHERE rowid = 6;",
        )
        .expect("schema and rows");
        db
    }

    /// How the ranked rows' lengths are passed to flint_bm25.
    #[derive(Clone, Copy)]
    enum Lengths {
        /// `flint_tokens(t)` of the row, as a table of lengths would hold.
        Kept,
        /// NULL: flint_bm25 reads them.
        Read,
        /// One more than the row's length.
        Wrong,
    }

    /// `(rowid, flint_bm25, bm25)` for every match of `expression`.
    fn ranked(db: &rusqlite::Connection, expression: &str, counts: Option<&str>, lengths: Lengths) -> Vec<(i64, f64, f64)> {
        let tokens = match lengths {
            Lengths::Kept => "lengths.tokens",
            Lengths::Read => "NULL",
            Lengths::Wrong => "lengths.tokens + 1",
        };
        let mut statement = db
            .prepare(&format!(
                "WITH lengths (id, tokens) AS MATERIALIZED (SELECT rowid, flint_tokens(t) FROM t)
                 SELECT rowid, flint_bm25(t, ?2, {tokens}, 10.0, 1.0), bm25(t, 10.0, 1.0)
                 FROM t CROSS JOIN lengths ON lengths.id = t.rowid WHERE t MATCH ?1 ORDER BY rowid"
            ))
            .expect("prepared");
        statement
            .query_map(rusqlite::params![expression, counts], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    fn both(db: &rusqlite::Connection, expression: &str, counts: Option<&str>) -> Vec<(i64, f64, f64)> {
        let rows = ranked(db, expression, counts, Lengths::Kept);
        assert_eq!(
            rows.iter().map(|(rowid, ours, _)| (*rowid, ours.to_bits())).collect::<Vec<_>>(),
            ranked(db, expression, counts, Lengths::Read).iter().map(|(rowid, ours, _)| (*rowid, ours.to_bits())).collect::<Vec<_>>(),
            "a kept length ranks as the length read"
        );
        rows
    }

    fn assert_equal(rows: &[(i64, f64, f64)]) {
        assert!(!rows.is_empty(), "the expression matches rows");
        for (rowid, ours, sqlite) in rows {
            assert!((ours - sqlite).abs() <= 1e-12 * sqlite.abs().max(1.0), "row {rowid}: flint_bm25 {ours} != bm25 {sqlite}");
        }
    }

    #[test]
    fn with_exact_counts_it_equals_bm25() {
        let db = connection();
        // Rows holding each word (row 6 is deleted): cache 1,2,3,5; rust 2,3,5;
        // cached 3; caching 3.
        assert_equal(&both(&db, "\"cache\"", Some("4")));
        assert_equal(&both(&db, "\"rust\" AND (\"cache\" OR \"cached\" OR \"caching\")", Some("3,4,1,1")));
        assert_equal(&both(&db, "\"cache\" AND \"rust\"", Some("4,3")));
    }

    #[test]
    fn without_counts_it_counts_as_bm25_does() {
        let db = connection();
        assert_equal(&both(&db, "\"rust\" AND \"cach\"*", None));
        assert_equal(&both(&db, "\"words\"", None));
    }

    #[test]
    fn the_counts_decide_the_weights() {
        let db = connection();
        // Told that "cache" is in one row only, it weighs more than bm25 gives it.
        let rows = both(&db, "\"cache\"", Some("1"));
        assert!(rows.iter().all(|(_, ours, sqlite)| ours < sqlite), "{rows:?}");
    }

    #[test]
    fn the_length_decides_the_normalisation() {
        let db = connection();
        let rows = ranked(&db, "\"cache\"", Some("4"), Lengths::Wrong);
        assert!(rows.iter().all(|(_, ours, sqlite)| ours > sqlite), "a longer row scores lower: {rows:?}");
    }

    #[test]
    fn flint_tokens_counts_every_column_of_a_row() {
        let db = connection();
        let length = |rowid: i64| db.query_row("SELECT flint_tokens(t) FROM t WHERE rowid = ?1", [rowid], |row| row.get::<_, i64>(0));
        assert_eq!(length(4).expect("row 4"), 1 + 11);
        assert_eq!(length(5).expect("row 5"), 2 + 4);
    }

    #[test]
    fn bad_counts_are_an_error() {
        let db = connection();
        let query = |counts: &str| {
            db.query_row("SELECT flint_bm25(t, ?1, NULL) FROM t WHERE t MATCH 'cache AND rust'", [counts], |row| row.get::<_, f64>(0))
        };
        let error = query("4").expect_err("one count for two phrases").to_string();
        assert!(error.contains("1 counts for 2 phrases"), "{error}");
        let error = query("4,x").expect_err("not a number").to_string();
        assert!(error.contains("non-negative integers"), "{error}");
        assert!(query("4,3").is_ok());
    }

    #[test]
    fn idf_has_bm25s_floor_and_caps_the_count() {
        assert!((idf(100, 1) - (99.5f64 / 1.5).ln()).abs() < 1e-12);
        assert_eq!(idf(100, 60), 1e-6);
        assert_eq!(idf(100, 500), idf(100, 100));
    }
}
