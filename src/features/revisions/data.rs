//! SQL for post revisions. SQL only.

use crate::platform::clock::Millis;
use crate::platform::db::{Db, Tx};
use crate::{execute, execute_tx, on_read, on_tx, on_write};

use super::schema::{RevisionReason, RevisionRow};

const COLUMNS: &str = "id, post_id, reason, snapshot_json, snapshot_hash, restored_from_revision_id, created_at";

fn sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

const INSERT: &str = "INSERT INTO post_revisions (post_id, reason, snapshot_json, snapshot_hash, restored_from_revision_id, created_at)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";

pub async fn insert(
    db: &Db,
    post_id: i64,
    reason: RevisionReason,
    json: &str,
    hash: &str,
    restored_from: Option<i64>,
    now: Millis,
) -> sqlx::Result<i64> {
    on_write!(db, |pool| sqlx::query_scalar::<_, i64>(INSERT)
        .bind(post_id)
        .bind(reason.as_str())
        .bind(json)
        .bind(hash)
        .bind(restored_from)
        .bind(now)
        .fetch_one(pool))
}

/// [`insert`] inside the caller's transaction (a restore's backup).
pub async fn insert_tx(
    tx: &mut Tx,
    post_id: i64,
    reason: RevisionReason,
    (json, hash): (&str, &str),
    restored_from: Option<i64>,
    now: Millis,
) -> sqlx::Result<i64> {
    on_tx!(tx, |conn| sqlx::query_scalar::<_, i64>(INSERT)
        .bind(post_id)
        .bind(reason.as_str())
        .bind(json)
        .bind(hash)
        .bind(restored_from)
        .bind(now)
        .fetch_one(conn))
}

/// A post's revisions, newest first.
pub async fn list(db: &Db, post_id: i64) -> sqlx::Result<Vec<RevisionRow>> {
    on_read!(db, |pool| sqlx::query_as::<_, RevisionRow>(sql(format!(
        "SELECT {COLUMNS} FROM post_revisions WHERE post_id = $1 ORDER BY created_at DESC, id DESC"
    )))
    .bind(post_id)
    .fetch_all(pool))
}

pub async fn get(db: &Db, post_id: i64, id: i64) -> sqlx::Result<Option<RevisionRow>> {
    on_read!(db, |pool| sqlx::query_as::<_, RevisionRow>(sql(format!(
        "SELECT {COLUMNS} FROM post_revisions WHERE post_id = $1 AND id = $2"
    )))
    .bind(post_id)
    .bind(id)
    .fetch_optional(pool))
}

/// The newest revision of a post (of one reason, when given).
pub async fn latest(db: &Db, post_id: i64, reason: Option<RevisionReason>) -> sqlx::Result<Option<RevisionRow>> {
    on_write!(db, |pool| sqlx::query_as::<_, RevisionRow>(sql(format!(
        "SELECT {COLUMNS} FROM post_revisions WHERE post_id = $1 AND ($2 IS NULL OR reason = $2)
         ORDER BY created_at DESC, id DESC LIMIT 1"
    )))
    .bind(post_id)
    .bind(reason.map(RevisionReason::as_str))
    .fetch_optional(pool))
}

/// Keeps only the newest `keep` automatic revisions of a post.
pub async fn trim_auto(db: &Db, post_id: i64, keep: i64) -> sqlx::Result<u64> {
    let keep = crate::platform::db::limit(keep);
    execute!(
        db,
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM post_revisions WHERE post_id = $1 AND reason = 'auto' AND id NOT IN (
                 SELECT id FROM post_revisions WHERE post_id = $1 AND reason = 'auto' ORDER BY created_at DESC, id DESC {keep})"
        )))
        .bind(post_id)
    )
}

/// Deletes the given revisions of one post; returns the ids deleted.
pub async fn delete_many(db: &Db, post_id: i64, ids: &[i64]) -> sqlx::Result<Vec<i64>> {
    let mut deleted = Vec::new();
    let mut tx = db.begin().await?;
    for id in ids {
        if execute_tx!(&mut tx, sqlx::query("DELETE FROM post_revisions WHERE post_id = $1 AND id = $2").bind(post_id).bind(*id))? > 0 {
            deleted.push(*id);
        }
    }
    tx.commit().await?;
    Ok(deleted)
}

/// When a post was last edited.
pub async fn post_updated_at(db: &Db, post_id: i64) -> sqlx::Result<Option<Millis>> {
    on_write!(db, |pool| sqlx::query_scalar::<_, i64>("SELECT updated_at FROM posts WHERE id = $1").bind(post_id).fetch_optional(pool))
}
