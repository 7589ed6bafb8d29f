//! SQL for tags and post-tag links. SQL only.

use crate::platform::clock::Millis;
use crate::platform::db::{Db, Tx};
use crate::{execute_tx, on_read, on_tx, on_write};

use super::schema::{SortDir, Tag, TagRef, TagSort, TagWithCount};

/// Publishing's visibility rule (`publishing::schema::LISTED`), for the
/// admin's public-only counts: tags may not use publishing, and the rule is
/// one line. Bind now as `$1`, alias the snapshot `pp`.
const LISTED: &str = "pp.visibility = 'public' AND pp.published_at <= $1";

pub async fn insert(db: &Db, name: &str, now: Millis) -> sqlx::Result<Tag> {
    on_write!(db, |pool| sqlx::query_as::<_, Tag>("INSERT INTO tags (name, created_at) VALUES ($1, $2) RETURNING id, name, created_at")
        .bind(name)
        .bind(now)
        .fetch_one(pool))
}

pub async fn find(db: &Db, id: i64) -> sqlx::Result<Option<Tag>> {
    on_read!(db, |pool| sqlx::query_as::<_, Tag>("SELECT id, name, created_at FROM tags WHERE id = $1").bind(id).fetch_optional(pool))
}

pub async fn find_by_name(db: &Db, name: &str) -> sqlx::Result<Option<Tag>> {
    on_read!(db, |pool| sqlx::query_as::<_, Tag>("SELECT id, name, created_at FROM tags WHERE name = $1").bind(name).fetch_optional(pool))
}

pub async fn rename(tx: &mut Tx, id: i64, name: &str) -> sqlx::Result<Option<Tag>> {
    on_tx!(tx, |conn| sqlx::query_as::<_, Tag>("UPDATE tags SET name = $2 WHERE id = $1 RETURNING id, name, created_at")
        .bind(id)
        .bind(name)
        .fetch_optional(conn))
}

pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<bool> {
    Ok(execute_tx!(tx, sqlx::query("DELETE FROM tags WHERE id = $1").bind(id))? > 0)
}

/// Posts linked to a tag, editable or published (the public links are
/// publishing's table; a delete cascades through both, so they are read here,
/// in the deleting transaction, for the event).
pub async fn posts_with_tag(tx: &mut Tx, tag_id: i64) -> sqlx::Result<Vec<i64>> {
    on_tx!(tx, |conn| sqlx::query_scalar::<_, i64>(
        "SELECT post_id FROM post_tags WHERE tag_id = $1 UNION SELECT post_id FROM public_post_tags WHERE tag_id = $1 ORDER BY 1"
    )
    .bind(tag_id)
    .fetch_all(conn))
}

/// Every tag with the number of its posts (only public ones when asked).
pub async fn list_with_counts(db: &Db, public_only: bool, now: Millis, sort: TagSort, dir: SortDir) -> sqlx::Result<Vec<TagWithCount>> {
    let order = match (sort, dir) {
        (TagSort::Name, SortDir::Asc) => "t.name ASC",
        (TagSort::Name, SortDir::Desc) => "t.name DESC",
        (TagSort::CreatedAt, SortDir::Asc) => "t.created_at ASC, t.id ASC",
        (TagSort::CreatedAt, SortDir::Desc) => "t.created_at DESC, t.id DESC",
        (TagSort::PostCount, SortDir::Asc) => "post_count ASC, t.name ASC",
        (TagSort::PostCount, SortDir::Desc) => "post_count DESC, t.name ASC",
    };
    let count = if public_only {
        format!(
            "(SELECT COUNT(*) FROM public_post_tags ppt JOIN public_posts pp ON pp.post_id = ppt.post_id WHERE ppt.tag_id = t.id AND {LISTED})"
        )
    } else {
        "(SELECT COUNT(*) FROM post_tags pt WHERE pt.tag_id = t.id)".to_owned()
    };
    let sql = format!("SELECT t.id, t.name, t.created_at, {count} AS post_count FROM tags t ORDER BY {order}");
    on_read!(db, |pool| {
        let query = sqlx::query_as::<_, TagWithCount>(sqlx::AssertSqlSafe(sql.clone()));
        let query = if public_only { query.bind(now) } else { query };
        query.fetch_all(pool)
    })
}

pub async fn of_post(db: &Db, post_id: i64) -> sqlx::Result<Vec<Tag>> {
    on_read!(db, |pool| sqlx::query_as::<_, Tag>(
        "SELECT t.id, t.name, t.created_at FROM tags t JOIN post_tags pt ON pt.tag_id = t.id WHERE pt.post_id = $1 ORDER BY t.name"
    )
    .bind(post_id)
    .fetch_all(pool))
}

/// `(post_id, tag)` for the given posts' editable tags.
pub async fn of_posts(db: &Db, post_ids: &[i64]) -> sqlx::Result<Vec<(i64, TagRef)>> {
    links(db, "post_tags", post_ids).await
}

async fn links(db: &Db, table: &'static str, post_ids: &[i64]) -> sqlx::Result<Vec<(i64, TagRef)>> {
    if post_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = crate::platform::db::placeholders(1, post_ids.len());
    let sql = format!(
        "SELECT l.post_id, t.id, t.name FROM {table} l JOIN tags t ON t.id = l.tag_id WHERE l.post_id IN ({}) ORDER BY t.name",
        placeholders
    );
    let rows: Vec<(i64, i64, String)> = on_read!(db, |pool| {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
        for id in post_ids {
            query = query.bind(*id);
        }
        query.fetch_all(pool)
    })?;
    Ok(rows.into_iter().map(|(post_id, id, name)| (post_id, TagRef { id, name })).collect())
}

/// Replaces a post's tags (unknown tag ids are ignored) and touches the post.
pub async fn set_post_tags(db: &Db, post_id: i64, tag_ids: &[i64], now: Millis) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let touched = execute_tx!(&mut tx, sqlx::query("UPDATE posts SET updated_at = $2 WHERE id = $1").bind(post_id).bind(now))?;
    if touched == 0 {
        return Ok(false);
    }
    replace_links(&mut tx, post_id, tag_ids).await?;
    tx.commit().await?;
    Ok(true)
}

/// Inside a transaction: makes `tag_ids` (those that exist) the post's tags.
pub async fn replace_links(tx: &mut Tx, post_id: i64, tag_ids: &[i64]) -> sqlx::Result<()> {
    execute_tx!(tx, sqlx::query("DELETE FROM post_tags WHERE post_id = $1").bind(post_id))?;
    for tag_id in tag_ids {
        execute_tx!(
            tx,
            sqlx::query("INSERT INTO post_tags (post_id, tag_id) SELECT $1, id FROM tags WHERE id = $2 ON CONFLICT DO NOTHING")
                .bind(post_id)
                .bind(*tag_id)
        )?;
    }
    Ok(())
}
