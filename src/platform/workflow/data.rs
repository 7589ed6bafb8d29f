//! SQL for workflow runs and steps. Every write made on behalf of a running
//! run is fenced: it only applies while `lease_owner` is the writer and the
//! run is still `running`, so a worker that lost its lease (it stalled, or the
//! run was cancelled) cannot overwrite anybody's state.

use sqlx::FromRow;

use crate::platform::clock::Millis;
use crate::platform::db::{Db, Tx};
use crate::{execute, execute_tx, on_read, on_tx, on_write};

const RUN_COLUMNS: &str = "id, name, params, status, idempotency_key, wake_at, attempts, abandoned, lease_owner, lease_until, output, error, created_at, updated_at, finished_at";

#[derive(Clone, Debug, FromRow)]
pub struct RunRow {
    pub id: String,
    pub name: String,
    pub params: String,
    pub status: String,
    pub idempotency_key: Option<String>,
    pub wake_at: Millis,
    pub attempts: i32,
    /// Claims of this run after its worker stopped without finishing it.
    pub abandoned: i32,
    pub lease_owner: Option<String>,
    pub lease_until: Option<Millis>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub finished_at: Option<Millis>,
}

#[derive(Clone, Debug, FromRow)]
pub struct StepRow {
    pub name: String,
    pub status: String,
    pub attempts: i32,
    pub output: Option<String>,
    pub error: Option<String>,
    pub wake_at: Option<Millis>,
    pub duration_ms: Option<Millis>,
    pub started_at: Millis,
    pub finished_at: Option<Millis>,
}

pub struct NewRun<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub params: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub wake_at: Millis,
    pub now: Millis,
}

const INSERT_RUN: &str = "INSERT INTO workflow_runs (id, name, params, status, idempotency_key, wake_at, created_at, updated_at)
     VALUES ($1, $2, $3, 'queued', $4, $5, $6, $6)";

pub async fn insert_run(db: &Db, run: &NewRun<'_>) -> sqlx::Result<()> {
    execute!(
        db,
        sqlx::query(INSERT_RUN).bind(run.id).bind(run.name).bind(run.params).bind(run.idempotency_key).bind(run.wake_at).bind(run.now)
    )?;
    Ok(())
}

/// [`insert_run`] inside the caller's transaction: the run exists exactly
/// when the change that asked for it is committed.
pub async fn insert_run_tx(tx: &mut Tx, run: &NewRun<'_>) -> sqlx::Result<()> {
    execute_tx!(
        tx,
        sqlx::query(INSERT_RUN).bind(run.id).bind(run.name).bind(run.params).bind(run.idempotency_key).bind(run.wake_at).bind(run.now)
    )?;
    Ok(())
}

pub async fn find_run(db: &Db, id: &str) -> sqlx::Result<Option<RunRow>> {
    on_read!(db, |pool| sqlx::query_as::<_, RunRow>(sqlx::AssertSqlSafe(format!("SELECT {RUN_COLUMNS} FROM workflow_runs WHERE id = $1")))
        .bind(id)
        .fetch_optional(pool))
}

const LIVE_BY_KEY: &str = "WHERE idempotency_key = $1 AND status IN ('queued', 'running', 'sleeping')";

/// The live run holding an idempotency key (read on the writer: right after a
/// conflicting insert it must see the winner).
pub async fn find_live_by_key(db: &Db, key: &str) -> sqlx::Result<Option<RunRow>> {
    on_write!(db, |pool| sqlx::query_as::<_, RunRow>(sqlx::AssertSqlSafe(format!("SELECT {RUN_COLUMNS} FROM workflow_runs {LIVE_BY_KEY}")))
        .bind(key)
        .fetch_optional(pool))
}

/// [`find_live_by_key`] inside the caller's transaction.
pub async fn find_live_by_key_tx(tx: &mut Tx, key: &str) -> sqlx::Result<Option<RunRow>> {
    on_tx!(tx, |conn| sqlx::query_as::<_, RunRow>(sqlx::AssertSqlSafe(format!("SELECT {RUN_COLUMNS} FROM workflow_runs {LIVE_BY_KEY}")))
        .bind(key)
        .fetch_optional(conn))
}

pub async fn list_steps(db: &Db, run_id: &str) -> sqlx::Result<Vec<StepRow>> {
    on_read!(db, |pool| sqlx::query_as::<_, StepRow>(
        "SELECT name, status, attempts, output, error, wake_at, duration_ms, started_at, finished_at
         FROM workflow_steps WHERE run_id = $1 ORDER BY started_at, name"
    )
    .bind(run_id)
    .fetch_all(pool))
}

pub struct RunFilter<'a> {
    pub name: Option<&'a str>,
    pub status: Option<&'a str>,
    /// Only runs created before this one (the cursor: the last id of a page).
    pub before_id: Option<&'a str>,
    pub limit: i64,
}

pub async fn list_runs(db: &Db, filter: &RunFilter<'_>) -> sqlx::Result<Vec<RunRow>> {
    let limit = crate::platform::db::limit(filter.limit);
    on_read!(db, |pool| sqlx::query_as::<_, RunRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM workflow_runs
         WHERE ($1 IS NULL OR name = $1) AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR id < $3)
         ORDER BY id DESC {limit}"
    )))
    .bind(filter.name)
    .bind(filter.status)
    .bind(filter.before_id)
    .fetch_all(pool))
}

const CANCEL_RUN: &str =
    "UPDATE workflow_runs SET status = 'cancelled', lease_owner = NULL, lease_until = NULL, updated_at = $2, finished_at = $2
     WHERE id = $1 AND status IN ('queued', 'running', 'sleeping')";

pub async fn cancel_run(db: &Db, id: &str, now: Millis) -> sqlx::Result<u64> {
    execute!(db, sqlx::query(CANCEL_RUN).bind(id).bind(now))
}

/// [`cancel_run`] inside the caller's transaction.
pub async fn cancel_run_tx(tx: &mut Tx, id: &str, now: Millis) -> sqlx::Result<u64> {
    execute_tx!(tx, sqlx::query(CANCEL_RUN).bind(id).bind(now))
}

/// Queues a failed run again; its failed steps are forgotten so they run
/// afresh, while completed steps stay memoised.
pub async fn retry_run(db: &Db, id: &str, now: Millis) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let updated = execute_tx!(
        &mut tx,
        sqlx::query(
            "UPDATE workflow_runs SET status = 'queued', wake_at = $2, error = NULL, finished_at = NULL, updated_at = $2,
                 attempts = 0, abandoned = 0
             WHERE id = $1 AND status = 'failed'"
        )
        .bind(id)
        .bind(now)
    )?;
    if updated == 0 {
        return Ok(false);
    }
    execute_tx!(&mut tx, sqlx::query("DELETE FROM workflow_steps WHERE run_id = $1 AND status <> 'completed'").bind(id))?;
    tx.commit().await?;
    Ok(true)
}

/// Claims up to `limit` due runs (queued or sleeping and due, or running with
/// an expired lease) for `owner`. PostgreSQL skips rows other workers are
/// claiming; SQLite serialises claims on its single writer.
pub async fn claim(db: &Db, owner: &str, now: Millis, lease_until: Millis, limit: i64) -> sqlx::Result<Vec<RunRow>> {
    let lock = match db {
        Db::Sqlite(_) => "",
        Db::Postgres(_) => "FOR UPDATE SKIP LOCKED",
    };
    let limit = crate::platform::db::limit(limit);
    let sql = format!(
        "UPDATE workflow_runs
         SET status = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3,
             abandoned = abandoned + CASE WHEN status = 'running' THEN 1 ELSE 0 END
         WHERE id IN (
             SELECT id FROM workflow_runs
             WHERE (status IN ('queued', 'sleeping') AND wake_at <= $3) OR (status = 'running' AND lease_until < $3)
             ORDER BY wake_at {limit} {lock}
         )
         RETURNING {RUN_COLUMNS}"
    );
    on_write!(db, |pool| sqlx::query_as::<_, RunRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .fetch_all(pool))
}

/// The earliest time a run becomes claimable (due or lease expiry).
pub async fn next_due(db: &Db) -> sqlx::Result<Option<Millis>> {
    on_read!(db, |pool| sqlx::query_scalar::<_, Option<i64>>(
        "SELECT MIN(t) FROM (
             SELECT MIN(wake_at) AS t FROM workflow_runs WHERE status IN ('queued', 'sleeping')
             UNION ALL
             SELECT MIN(lease_until) AS t FROM workflow_runs WHERE status = 'running'
         ) due"
    )
    .fetch_one(pool))
}

/// Extends a lease; 0 rows means the lease is lost (expired and taken, or cancelled).
pub async fn heartbeat(db: &Db, id: &str, owner: &str, lease_until: Millis) -> sqlx::Result<u64> {
    execute!(
        db,
        sqlx::query("UPDATE workflow_runs SET lease_until = $3 WHERE id = $1 AND lease_owner = $2 AND status = 'running'")
            .bind(id)
            .bind(owner)
            .bind(lease_until)
    )
}

pub struct StepWrite<'a> {
    pub name: &'a str,
    pub status: &'a str,
    pub attempts: i32,
    pub output: Option<&'a str>,
    pub error: Option<&'a str>,
    pub wake_at: Option<Millis>,
    pub duration_ms: Option<Millis>,
    pub started_at: Millis,
    pub finished_at: Option<Millis>,
}

/// Records a step's state while `owner` still holds the run; false when it does not.
pub async fn save_step(db: &Db, run_id: &str, owner: &str, step: &StepWrite<'_>, now: Millis) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    if !fence(&mut tx, run_id, owner, now).await? {
        return Ok(false);
    }
    execute_tx!(
        &mut tx,
        sqlx::query(
            "INSERT INTO workflow_steps (run_id, name, status, attempts, output, error, wake_at, duration_ms, started_at, finished_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (run_id, name) DO UPDATE SET
                 status = excluded.status, attempts = excluded.attempts, output = excluded.output, error = excluded.error,
                 wake_at = excluded.wake_at, duration_ms = excluded.duration_ms, finished_at = excluded.finished_at"
        )
        .bind(run_id)
        .bind(step.name)
        .bind(step.status)
        .bind(step.attempts)
        .bind(step.output)
        .bind(step.error)
        .bind(step.wake_at)
        .bind(step.duration_ms)
        .bind(step.started_at)
        .bind(step.finished_at)
    )?;
    tx.commit().await?;
    Ok(true)
}

async fn fence(tx: &mut Tx, run_id: &str, owner: &str, now: Millis) -> sqlx::Result<bool> {
    let touched = execute_tx!(
        tx,
        sqlx::query("UPDATE workflow_runs SET updated_at = $3 WHERE id = $1 AND lease_owner = $2 AND status = 'running'")
            .bind(run_id)
            .bind(owner)
            .bind(now)
    )?;
    Ok(touched == 1)
}

/// Ends a run (completed or failed), fenced by the lease.
pub async fn finish_run(
    db: &Db,
    id: &str,
    owner: &str,
    status: &str,
    output: Option<&str>,
    error: Option<&str>,
    now: Millis,
) -> sqlx::Result<bool> {
    let done = execute!(
        db,
        sqlx::query(
            "UPDATE workflow_runs SET status = $3, output = $4, error = $5, lease_owner = NULL, lease_until = NULL,
                 updated_at = $6, finished_at = $6
             WHERE id = $1 AND lease_owner = $2 AND status = 'running'"
        )
        .bind(id)
        .bind(owner)
        .bind(status)
        .bind(output)
        .bind(error)
        .bind(now)
    )?;
    Ok(done == 1)
}

/// Puts a run to sleep until `wake_at`, releasing its lease (it holds no worker).
pub async fn suspend_run(db: &Db, id: &str, owner: &str, wake_at: Millis, now: Millis) -> sqlx::Result<bool> {
    let done = execute!(
        db,
        sqlx::query(
            "UPDATE workflow_runs SET status = 'sleeping', wake_at = $3, lease_owner = NULL, lease_until = NULL, updated_at = $4
             WHERE id = $1 AND lease_owner = $2 AND status = 'running'"
        )
        .bind(id)
        .bind(owner)
        .bind(wake_at)
        .bind(now)
    )?;
    Ok(done == 1)
}

/// Queued runs among `ids` that are not due yet become due at `now`.
pub async fn make_due(db: &Db, ids: &[String], now: Millis) -> sqlx::Result<u64> {
    let mut made = 0;
    for id in ids {
        made += execute!(
            db,
            sqlx::query("UPDATE workflow_runs SET wake_at = $2, updated_at = $2 WHERE id = $1 AND status = 'queued' AND wake_at > $2")
                .bind(id)
                .bind(now)
        )?;
    }
    Ok(made)
}

/// Deletes completed and cancelled runs that finished before `before`.
pub async fn prune(db: &Db, before: Millis) -> sqlx::Result<u64> {
    execute!(db, sqlx::query("DELETE FROM workflow_runs WHERE status IN ('completed', 'cancelled') AND finished_at < $1").bind(before))
}

/// Wakes PostgreSQL listeners after a run was queued (no-op on SQLite).
pub async fn notify_listeners(db: &Db) -> sqlx::Result<()> {
    if let Db::Postgres(pg) = db {
        sqlx::query("SELECT pg_notify('flint_workflows', '')").execute(pg).await?;
    }
    Ok(())
}

/// Runs per status.
pub async fn count_by_status(db: &Db) -> sqlx::Result<Vec<(String, i64)>> {
    on_read!(db, |pool| sqlx::query_as::<_, (String, i64)>("SELECT status, COUNT(*) FROM workflow_runs GROUP BY status ORDER BY status")
        .fetch_all(pool))
}
