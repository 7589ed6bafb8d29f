//! SQL for media and the posts that use it. SQL only.

use crate::platform::clock::Millis;
use crate::platform::db::{Db, Tx, placeholders};
use crate::{execute, execute_tx, on_read, on_tx, on_write};

use super::schema::MediaRow;

const COLUMNS: &str = "id, key, url, file_name, mime_type, size_in_bytes, width, height, created_at";

fn sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

pub struct NewMedia<'a> {
    pub key: &'a str,
    pub url: &'a str,
    pub file_name: &'a str,
    pub mime_type: &'a str,
    pub size_in_bytes: i64,
    pub width: i32,
    pub height: i32,
    pub created_at: Millis,
}

pub async fn insert(db: &Db, new: &NewMedia<'_>) -> sqlx::Result<MediaRow> {
    let text = format!(
        "INSERT INTO media (key, url, file_name, mime_type, size_in_bytes, width, height, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
    );
    on_write!(db, |pool| sqlx::query_as::<_, MediaRow>(sql(text.clone()))
        .bind(new.key)
        .bind(new.url)
        .bind(new.file_name)
        .bind(new.mime_type)
        .bind(new.size_in_bytes)
        .bind(new.width)
        .bind(new.height)
        .bind(new.created_at)
        .fetch_one(pool))
}

/// Locks the row for the delete (PostgreSQL; SQLite's writer is one).
pub async fn find_for_delete(tx: &mut Tx, key: &str) -> sqlx::Result<Option<i64>> {
    match tx {
        Tx::Sqlite(tx) => sqlx::query_scalar::<_, i64>("SELECT id FROM media WHERE key = $1").bind(key).fetch_optional(&mut **tx).await,
        Tx::Postgres(tx) => {
            sqlx::query_scalar::<_, i64>("SELECT id FROM media WHERE key = $1 FOR UPDATE").bind(key).fetch_optional(&mut **tx).await
        }
    }
}

pub async fn is_used(tx: &mut Tx, media_id: i64) -> sqlx::Result<bool> {
    on_tx!(tx, |conn| sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM post_media WHERE media_id = $1)")
        .bind(media_id)
        .fetch_one(conn))
}

pub async fn delete(tx: &mut Tx, media_id: i64) -> sqlx::Result<bool> {
    Ok(execute_tx!(tx, sqlx::query("DELETE FROM media WHERE id = $1").bind(media_id))? > 0)
}

/// One page, newest first: ids below `cursor`, file names matching
/// `pattern` (an escaped LIKE pattern), unused ones only when asked.
pub async fn list(db: &Db, cursor: Option<i64>, limit: i64, pattern: Option<&str>, unused_only: bool) -> sqlx::Result<Vec<MediaRow>> {
    let text = format!(
        "SELECT {COLUMNS} FROM media m
         WHERE ($1 IS NULL OR m.id < $1)
           AND ($2 IS NULL OR lower(m.file_name) LIKE $2 ESCAPE '\\')
           AND ($3 = FALSE OR NOT EXISTS (SELECT 1 FROM post_media pm WHERE pm.media_id = m.id))
         ORDER BY m.id DESC {}",
        crate::platform::db::limit(limit)
    );
    on_read!(db, |pool| sqlx::query_as::<_, MediaRow>(sql(text.clone())).bind(cursor).bind(pattern).bind(unused_only).fetch_all(pool))
}

/// Posts that use the image at `key`, by id.
pub async fn posts_using(db: &Db, key: &str) -> sqlx::Result<Vec<i64>> {
    on_read!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT pm.post_id FROM post_media pm JOIN media m ON m.id = pm.media_id WHERE m.key = $1 ORDER BY pm.post_id"
    )
    .bind(key)
    .fetch_all(pool))
}

/// Which of `keys` some post uses.
pub async fn used_keys(db: &Db, keys: &[&str]) -> sqlx::Result<Vec<String>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let text = format!(
        "SELECT m.key FROM media m WHERE m.key IN ({}) AND EXISTS (SELECT 1 FROM post_media pm WHERE pm.media_id = m.id) ORDER BY m.key",
        placeholders(1, keys.len())
    );
    on_read!(db, |pool| {
        let mut query = sqlx::query_scalar::<_, String>(sql(text.clone()));
        for key in keys {
            query = query.bind(*key);
        }
        query.fetch_all(pool)
    })
}

pub async fn total_size(db: &Db) -> sqlx::Result<i64> {
    on_read!(db, |pool| sqlx::query_scalar::<_, i64>("SELECT CAST(COALESCE(SUM(size_in_bytes), 0) AS BIGINT) FROM media").fetch_one(pool))
}

pub async fn rename(db: &Db, key: &str, name: &str) -> sqlx::Result<bool> {
    Ok(execute!(db, sqlx::query("UPDATE media SET file_name = $2 WHERE key = $1").bind(key).bind(name))? > 0)
}

/// Replaces the images `post_id` uses with those of `keys` that exist.
pub async fn relink(tx: &mut Tx, post_id: i64, keys: &[String]) -> sqlx::Result<()> {
    execute_tx!(tx, sqlx::query("DELETE FROM post_media WHERE post_id = $1").bind(post_id))?;
    if keys.is_empty() {
        return Ok(());
    }
    let text = format!(
        "INSERT INTO post_media (post_id, media_id) SELECT $1, id FROM media WHERE key IN ({}) ON CONFLICT DO NOTHING",
        placeholders(2, keys.len())
    );
    execute_tx!(tx, keys.iter().fold(sqlx::query(sql(text.clone())).bind(post_id), |query, key| query.bind(key.as_str())))?;
    Ok(())
}
