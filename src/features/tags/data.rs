//! SQL for tags and post-tag links. SQL only.

use crate::platform::clock::Millis;
use crate::platform::db::{Db, Tx};
use crate::{execute, execute_tx, on_read, on_write};

use super::schema::{SortDir, Tag, TagRef, TagSort, TagWithCount};
use crate::features::posts::data::LISTED;

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

pub async fn rename(db: &Db, id: i64, name: &str) -> sqlx::Result<Option<Tag>> {
    on_write!(db, |pool| sqlx::query_as::<_, Tag>("UPDATE tags SET name = $2 WHERE id = $1 RETURNING id, name, created_at")
        .bind(id)
        .bind(name)
        .fetch_optional(pool))
}

pub async fn delete(db: &Db, id: i64) -> sqlx::Result<bool> {
    Ok(execute!(db, sqlx::query("DELETE FROM tags WHERE id = $1").bind(id))? > 0)
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

/// Tags of listed posts, most used first (the public tag cloud).
pub async fn list_public(db: &Db, now: Millis) -> sqlx::Result<Vec<TagWithCount>> {
    on_read!(db, |pool| sqlx::query_as::<_, TagWithCount>(sqlx::AssertSqlSafe(format!(
        "SELECT t.id, t.name, t.created_at, COUNT(*) AS post_count
         FROM tags t
         JOIN public_post_tags ppt ON ppt.tag_id = t.id
         JOIN public_posts pp ON pp.post_id = ppt.post_id
         WHERE {LISTED}
         GROUP BY t.id, t.name, t.created_at
         ORDER BY post_count DESC, t.name ASC"
    )))
    .bind(now)
    .fetch_all(pool))
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

/// `(post_id, tag)` for the given posts' published tags.
pub async fn of_public_posts(db: &Db, post_ids: &[i64]) -> sqlx::Result<Vec<(i64, TagRef)>> {
    links(db, "public_post_tags", post_ids).await
}

async fn links(db: &Db, table: &'static str, post_ids: &[i64]) -> sqlx::Result<Vec<(i64, TagRef)>> {
    if post_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=post_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT l.post_id, t.id, t.name FROM {table} l JOIN tags t ON t.id = l.tag_id WHERE l.post_id IN ({}) ORDER BY t.name",
        placeholders.join(", ")
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
