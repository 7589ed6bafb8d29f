//! SQL for editable posts. SQL only; private to `posts`.

use crate::platform::clock::Millis;
use crate::platform::db::{Db, Tx};
use crate::{execute, execute_tx, on_read, on_tx, on_write};

use super::schema::{PostKind, PostRow, PostStatus, RestoredPost, Visibility};

const POST_COLUMNS: &str = "id, title, slug, summary, content, category, visibility, status, read_time_in_minutes, published_at, pinned_at, created_at, updated_at, kind";
fn sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

pub async fn insert_empty(db: &Db, slug: &str, now: Millis) -> sqlx::Result<i64> {
    on_write!(db, |pool| sqlx::query_scalar::<_, i64>(
        "INSERT INTO posts (title, slug, summary, status, created_at, updated_at) VALUES ('', $1, '', 'draft', $2, $2) RETURNING id"
    )
    .bind(slug)
    .bind(now)
    .fetch_one(pool))
}

pub async fn find(db: &Db, id: i64) -> sqlx::Result<Option<PostRow>> {
    on_read!(db, |pool| sqlx::query_as::<_, PostRow>(sql(format!("SELECT {POST_COLUMNS} FROM posts WHERE id = $1")))
        .bind(id)
        .fetch_optional(pool))
}

pub async fn find_by_slug(db: &Db, slug: &str) -> sqlx::Result<Option<PostRow>> {
    on_read!(db, |pool| sqlx::query_as::<_, PostRow>(sql(format!("SELECT {POST_COLUMNS} FROM posts WHERE slug = $1")))
        .bind(slug)
        .fetch_optional(pool))
}

/// Slugs equal to `base` or starting with `base-` (for collision suffixes), except `exclude_id`'s.
pub async fn slugs_like(db: &Db, base: &str, exclude_id: Option<i64>) -> sqlx::Result<Vec<String>> {
    let pattern = format!("{}-%", base.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    on_read!(db, |pool| sqlx::query_scalar::<_, String>(
        "SELECT slug FROM posts WHERE (slug = $1 OR slug LIKE $2 ESCAPE '\\') AND ($3 IS NULL OR id <> $3)"
    )
    .bind(base)
    .bind(&pattern)
    .bind(exclude_id)
    .fetch_all(pool))
}

/// The fields an update sets (`Some`) or leaves alone (`None`).
#[derive(Default)]
pub struct PostChanges<'a> {
    pub title: Option<&'a str>,
    pub slug: Option<&'a str>,
    pub summary: Option<Option<&'a str>>,
    pub content: Option<Option<&'a str>>,
    pub category: Option<Option<&'a str>>,
    pub visibility: Option<Visibility>,
    pub status: Option<PostStatus>,
    pub published_at: Option<Option<Millis>>,
    pub pinned_at: Option<Option<Millis>>,
    pub kind: Option<PostKind>,
}

pub enum UpdateOutcome {
    Updated(PostRow),
    /// No post with that id.
    Missing,
    /// `expected_updated_at` did not match.
    Stale,
}

/// Applies `changes`, only if the post's `updated_at` still equals
/// `expected_updated_at` (when given): two editors cannot silently overwrite
/// each other.
pub async fn update(
    tx: &mut Tx,
    id: i64,
    changes: &PostChanges<'_>,
    expected_updated_at: Option<Millis>,
    now: Millis,
) -> sqlx::Result<UpdateOutcome> {
    let c = changes;
    let row = on_tx!(&mut *tx, |conn| sqlx::query_as::<_, PostRow>(sql(format!(
        "UPDATE posts SET
             title = CASE WHEN $2 THEN $3 ELSE title END,
             slug = CASE WHEN $4 THEN $5 ELSE slug END,
             summary = CASE WHEN $6 THEN $7 ELSE summary END,
             content = CASE WHEN $8 THEN $9 ELSE content END,
             category = CASE WHEN $10 THEN $11 ELSE category END,
             visibility = CASE WHEN $12 THEN $13 ELSE visibility END,
             status = CASE WHEN $14 THEN $15 ELSE status END,
             published_at = CASE WHEN $16 THEN $17 ELSE published_at END,
             pinned_at = CASE WHEN $18 THEN $19 ELSE pinned_at END,
             kind = CASE WHEN $22 THEN $23 ELSE kind END,
             updated_at = $20
         WHERE id = $1 AND ($21 IS NULL OR updated_at = $21)
         RETURNING {POST_COLUMNS}"
    )))
    .bind(id)
    .bind(c.title.is_some())
    .bind(c.title.unwrap_or_default())
    .bind(c.slug.is_some())
    .bind(c.slug.unwrap_or_default())
    .bind(c.summary.is_some())
    .bind(c.summary.flatten())
    .bind(c.content.is_some())
    .bind(c.content.flatten())
    .bind(c.category.is_some())
    .bind(c.category.flatten())
    .bind(c.visibility.is_some())
    .bind(c.visibility.map_or("public", Visibility::as_str))
    .bind(c.status.is_some())
    .bind(c.status.map_or("draft", PostStatus::as_str))
    .bind(c.published_at.is_some())
    .bind(c.published_at.flatten())
    .bind(c.pinned_at.is_some())
    .bind(c.pinned_at.flatten())
    .bind(now)
    .bind(expected_updated_at)
    .bind(c.kind.is_some())
    .bind(c.kind.map_or("post", PostKind::as_str))
    .fetch_optional(conn))?;
    Ok(match row {
        Some(row) => UpdateOutcome::Updated(row),
        None if exists_tx(tx, id).await? => UpdateOutcome::Stale,
        None => UpdateOutcome::Missing,
    })
}

async fn exists_tx(tx: &mut Tx, id: i64) -> sqlx::Result<bool> {
    let found = on_tx!(tx, |conn| sqlx::query_scalar::<_, i64>("SELECT id FROM posts WHERE id = $1").bind(id).fetch_optional(conn))?;
    Ok(found.is_some())
}

/// Marks a post edited (its tags changed) in the caller's transaction;
/// false when there is no such post.
pub async fn touch(tx: &mut Tx, id: i64, now: Millis) -> sqlx::Result<bool> {
    Ok(execute_tx!(tx, sqlx::query("UPDATE posts SET updated_at = $2 WHERE id = $1").bind(id).bind(now))? == 1)
}

/// Puts a revision's fields back, in the caller's transaction.
pub async fn restore(tx: &mut Tx, id: i64, f: &RestoredPost<'_>, now: Millis) -> sqlx::Result<bool> {
    let done = execute_tx!(
        tx,
        sqlx::query(
            "UPDATE posts SET title = $2, summary = $3, slug = $4, status = $5, published_at = $6, read_time_in_minutes = $7,
                 content = $8, category = $9, visibility = $10, updated_at = $11
             WHERE id = $1"
        )
        .bind(id)
        .bind(f.title)
        .bind(f.summary)
        .bind(f.slug)
        .bind(f.status.as_str())
        .bind(f.published_at)
        .bind(f.read_time_in_minutes)
        .bind(f.content)
        .bind(f.category)
        .bind(f.visibility.as_str())
        .bind(now)
    )?;
    Ok(done == 1)
}

/// Sets a post's status and `published_at` inside the publishing
/// transaction; `None` when there is no such post.
pub async fn set_status_tx(
    tx: &mut Tx,
    id: i64,
    status: PostStatus,
    published_at: Option<Millis>,
    now: Millis,
) -> sqlx::Result<Option<PostRow>> {
    on_tx!(tx, |conn| sqlx::query_as::<_, PostRow>(sql(format!(
        "UPDATE posts SET status = $2, published_at = $3, updated_at = $4 WHERE id = $1 RETURNING {POST_COLUMNS}"
    )))
    .bind(id)
    .bind(status.as_str())
    .bind(published_at)
    .bind(now)
    .fetch_optional(conn))
}

/// Sets the summary without touching `updated_at` (the pipeline's own write).
pub async fn set_generated_summary(db: &Db, id: i64, summary: &str) -> sqlx::Result<()> {
    execute!(db, sqlx::query("UPDATE posts SET summary = $2 WHERE id = $1").bind(id).bind(summary))?;
    Ok(())
}

/// Sets the reading time computed from the content (the pipeline's own write).
pub async fn set_read_time(db: &Db, id: i64, minutes: i32) -> sqlx::Result<()> {
    execute!(db, sqlx::query("UPDATE posts SET read_time_in_minutes = $2 WHERE id = $1").bind(id).bind(minutes))?;
    Ok(())
}

/// Deletes a post (its links, revisions and public snapshot go with it) in
/// the caller's transaction; false when there was none.
pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<bool> {
    Ok(execute_tx!(tx, sqlx::query("DELETE FROM posts WHERE id = $1").bind(id))? == 1)
}

pub struct AdminFilter<'a> {
    pub status: Option<PostStatus>,
    /// Visible to readers at `now`.
    pub public_only: bool,
    pub now: Millis,
    /// Lowercase LIKE pattern, escaped.
    pub title_pattern: Option<&'a str>,
    /// The exact category.
    pub category: Option<&'a str>,
    /// A tag's name, in any case.
    pub tag: Option<&'a str>,
}

const ADMIN_WHERE: &str = "WHERE ($1 IS NULL OR p.status = $1)
      AND ($2 = FALSE OR EXISTS (SELECT 1 FROM public_posts pp WHERE pp.post_id = p.id AND pp.visibility = 'public' AND pp.published_at <= $3))
      AND ($4 IS NULL OR lower(p.title) LIKE $4 ESCAPE '\\')
      AND ($5 IS NULL OR p.category = $5)
      AND ($6 IS NULL OR EXISTS (SELECT 1 FROM post_tags pt JOIN tags t ON t.id = pt.tag_id
                                 WHERE pt.post_id = p.id AND lower(t.name) = lower($6)))";

pub async fn list_admin(db: &Db, filter: &AdminFilter<'_>, order: &'static str, limit: i64, offset: i64) -> sqlx::Result<Vec<PostRow>> {
    let columns = POST_COLUMNS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ");
    let limit = crate::platform::db::limit(limit);
    on_read!(db, |pool| sqlx::query_as::<_, PostRow>(sql(format!(
        "SELECT {columns} FROM posts p {ADMIN_WHERE} ORDER BY {order} {limit} OFFSET $7"
    )))
    .bind(filter.status.map(PostStatus::as_str))
    .bind(filter.public_only)
    .bind(filter.now)
    .bind(filter.title_pattern)
    .bind(filter.category)
    .bind(filter.tag)
    .bind(offset)
    .fetch_all(pool))
}

pub async fn count_admin(db: &Db, filter: &AdminFilter<'_>) -> sqlx::Result<i64> {
    on_read!(db, |pool| sqlx::query_scalar::<_, i64>(sql(format!("SELECT COUNT(*) FROM posts p {ADMIN_WHERE}")))
        .bind(filter.status.map(PostStatus::as_str))
        .bind(filter.public_only)
        .bind(filter.now)
        .bind(filter.title_pattern)
        .bind(filter.category)
        .bind(filter.tag)
        .fetch_one(pool))
}
