//! SQL for posts and their public read model. SQL only.

use std::sync::LazyLock;

use crate::platform::clock::Millis;
use crate::platform::db::{Db, Tx};
use crate::{execute, execute_tx, on_read, on_tx, on_write};

use super::schema::{PostRow, PostStatus, PublicDetailRow, PublicPostRow, Visibility};

const POST_COLUMNS: &str = "id, title, slug, summary, content, category, visibility, status, read_time_in_minutes, published_at, pinned_at, created_at, updated_at";
const PUBLIC_COLUMNS: &str =
    "pp.post_id AS id, pp.slug, pp.title, pp.summary, pp.category, pp.read_time_in_minutes, pp.published_at, pp.pinned_at, pp.updated_at";

/// The visibility rule, the one definition every public read uses (lists,
/// related, pinned, tag counts; later feeds, search, sitemap): a post is
/// listed when its snapshot (which exists only for published posts) is
/// `public` and dated no later than now. Bind now as `$1`, alias the
/// snapshot `pp`.
pub const LISTED: &str = "pp.visibility = 'public' AND pp.published_at <= $1";
/// Readers may open a post by slug (listed or unlisted) from its date on.
pub const REACHABLE: &str = "pp.published_at <= $1";

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
    db: &Db,
    id: i64,
    changes: &PostChanges<'_>,
    expected_updated_at: Option<Millis>,
    now: Millis,
) -> sqlx::Result<UpdateOutcome> {
    let c = changes;
    let row = on_write!(db, |pool| sqlx::query_as::<_, PostRow>(sql(format!(
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
    .fetch_optional(pool))?;
    Ok(match row {
        Some(row) => UpdateOutcome::Updated(row),
        None if find(db, id).await?.is_some() => UpdateOutcome::Stale,
        None => UpdateOutcome::Missing,
    })
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

pub async fn delete(db: &Db, id: i64) -> sqlx::Result<Option<PostRow>> {
    on_write!(db, |pool| sqlx::query_as::<_, PostRow>(sql(format!("DELETE FROM posts WHERE id = $1 RETURNING {POST_COLUMNS}")))
        .bind(id)
        .fetch_optional(pool))
}

pub struct AdminFilter<'a> {
    pub status: Option<PostStatus>,
    /// Visible to readers at `now`.
    pub public_only: bool,
    pub now: Millis,
    /// Lowercase LIKE pattern, escaped.
    pub title_pattern: Option<&'a str>,
}

const ADMIN_WHERE: &str = "WHERE ($1 IS NULL OR p.status = $1)
      AND ($2 = FALSE OR EXISTS (SELECT 1 FROM public_posts pp WHERE pp.post_id = p.id AND pp.visibility = 'public' AND pp.published_at <= $3))
      AND ($4 IS NULL OR lower(p.title) LIKE $4 ESCAPE '\\')";

pub async fn list_admin(db: &Db, filter: &AdminFilter<'_>, order: &'static str, limit: i64, offset: i64) -> sqlx::Result<Vec<PostRow>> {
    let columns = POST_COLUMNS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ");
    let limit = crate::platform::db::limit(limit);
    on_read!(db, |pool| sqlx::query_as::<_, PostRow>(sql(format!(
        "SELECT {columns} FROM posts p {ADMIN_WHERE} ORDER BY {order} {limit} OFFSET $5"
    )))
    .bind(filter.status.map(PostStatus::as_str))
    .bind(filter.public_only)
    .bind(filter.now)
    .bind(filter.title_pattern)
    .bind(offset)
    .fetch_all(pool))
}

pub async fn count_admin(db: &Db, filter: &AdminFilter<'_>) -> sqlx::Result<i64> {
    on_read!(db, |pool| sqlx::query_scalar::<_, i64>(sql(format!("SELECT COUNT(*) FROM posts p {ADMIN_WHERE}")))
        .bind(filter.status.map(PostStatus::as_str))
        .bind(filter.public_only)
        .bind(filter.now)
        .bind(filter.title_pattern)
        .fetch_one(pool))
}

/// What the publish pipeline writes for readers.
pub struct PublicSnapshot<'a> {
    pub post_id: i64,
    pub slug: &'a str,
    pub title: &'a str,
    pub summary: &'a str,
    pub category: Option<&'a str>,
    pub visibility: Visibility,
    pub read_time_in_minutes: i32,
    pub published_at: Millis,
    pub pinned_at: Option<Millis>,
    pub content_html: &'a str,
    pub toc_json: &'a str,
    pub plain_text: &'a str,
    pub sync_hash: &'a str,
    pub tag_ids: &'a [i64],
    pub now: Millis,
}

/// Writes (or replaces) a post's public snapshot and its tags at once.
pub async fn upsert_public(db: &Db, s: &PublicSnapshot<'_>) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    execute_tx!(
        &mut tx,
        sqlx::query(
            "INSERT INTO public_posts (post_id, slug, title, summary, category, visibility, read_time_in_minutes, published_at, pinned_at,
                                       content_html, toc_json, plain_text, sync_hash, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (post_id) DO UPDATE SET
                 slug = excluded.slug, title = excluded.title, summary = excluded.summary, category = excluded.category,
                 visibility = excluded.visibility, read_time_in_minutes = excluded.read_time_in_minutes,
                 published_at = excluded.published_at, pinned_at = excluded.pinned_at, content_html = excluded.content_html,
                 toc_json = excluded.toc_json, plain_text = excluded.plain_text, sync_hash = excluded.sync_hash,
                 updated_at = excluded.updated_at"
        )
        .bind(s.post_id)
        .bind(s.slug)
        .bind(s.title)
        .bind(s.summary)
        .bind(s.category)
        .bind(s.visibility.as_str())
        .bind(s.read_time_in_minutes)
        .bind(s.published_at)
        .bind(s.pinned_at)
        .bind(s.content_html)
        .bind(s.toc_json)
        .bind(s.plain_text)
        .bind(s.sync_hash)
        .bind(s.now)
    )?;
    execute_tx!(&mut tx, sqlx::query("DELETE FROM public_post_tags WHERE post_id = $1").bind(s.post_id))?;
    for tag_id in s.tag_ids {
        execute_tx!(
            &mut tx,
            sqlx::query("INSERT INTO public_post_tags (post_id, tag_id) SELECT $1, id FROM tags WHERE id = $2 ON CONFLICT DO NOTHING")
                .bind(s.post_id)
                .bind(*tag_id)
        )?;
    }
    tx.commit().await
}

/// Removes a post's public snapshot; returns the slug it was public under.
pub async fn delete_public(db: &Db, post_id: i64) -> sqlx::Result<Option<String>> {
    on_write!(db, |pool| sqlx::query_scalar::<_, String>("DELETE FROM public_posts WHERE post_id = $1 RETURNING slug")
        .bind(post_id)
        .fetch_optional(pool))
}

/// `(slug, sync_hash)` of a post's public snapshot.
pub async fn public_state(db: &Db, post_id: i64) -> sqlx::Result<Option<(String, String)>> {
    on_read!(db, |pool| sqlx::query_as::<_, (String, String)>("SELECT slug, sync_hash FROM public_posts WHERE post_id = $1")
        .bind(post_id)
        .fetch_optional(pool))
}

/// The post that currently holds `slug` in the public read model.
pub async fn public_owner_of_slug(db: &Db, slug: &str) -> sqlx::Result<Option<i64>> {
    on_read!(db, |pool| sqlx::query_scalar::<_, i64>("SELECT post_id FROM public_posts WHERE slug = $1").bind(slug).fetch_optional(pool))
}

pub struct PublicPage<'a> {
    pub now: Millis,
    pub tag_name: Option<&'a str>,
    pub category: Option<&'a str>,
    pub exclude_pinned: bool,
    /// `(published_at, id)` of the last item of the previous page.
    pub after: Option<(Millis, i64)>,
    pub limit: i64,
}

/// A page of listed posts, newest first.
pub async fn list_public(db: &Db, page: &PublicPage<'_>) -> sqlx::Result<Vec<PublicPostRow>> {
    let (after_published, after_id) = page.after.unzip();
    let limit = crate::platform::db::limit(page.limit);
    on_read!(db, |pool| sqlx::query_as::<_, PublicPostRow>(sql(format!(
        "SELECT {PUBLIC_COLUMNS} FROM public_posts pp
         WHERE {LISTED}
           AND ($2 IS NULL OR EXISTS (SELECT 1 FROM public_post_tags ppt JOIN tags t ON t.id = ppt.tag_id
                                      WHERE ppt.post_id = pp.post_id AND t.name = $2))
           AND ($3 IS NULL OR pp.category = $3)
           AND ($4 = FALSE OR pp.pinned_at IS NULL)
           AND ($5 IS NULL OR pp.published_at < $5 OR (pp.published_at = $5 AND pp.post_id < $6))
         ORDER BY pp.published_at DESC, pp.post_id DESC
         {limit}"
    )))
    .bind(page.now)
    .bind(page.tag_name)
    .bind(page.category)
    .bind(page.exclude_pinned)
    .bind(after_published)
    .bind(after_id)
    .fetch_all(pool))
}

/// `published_at` of a public post (to continue a page after it).
pub async fn public_published_at(db: &Db, post_id: i64) -> sqlx::Result<Option<Millis>> {
    on_read!(db, |pool| sqlx::query_scalar::<_, i64>("SELECT published_at FROM public_posts WHERE post_id = $1")
        .bind(post_id)
        .fetch_optional(pool))
}

/// A post's published tags as a JSON array of `[id, name]` pairs sorted by
/// name (`[]` without tags), so a detail read is one statement: on SQLite
/// every statement is a round trip to the connection's worker thread.
const TAGS_JSON_SQLITE: &str = "(SELECT json_group_array(json_array(t.id, t.name) ORDER BY t.name)
     FROM public_post_tags l JOIN tags t ON t.id = l.tag_id WHERE l.post_id = pp.post_id)";
const TAGS_JSON_POSTGRES: &str = "(SELECT COALESCE(json_agg(json_build_array(t.id, t.name) ORDER BY t.name), '[]')::text
     FROM public_post_tags l JOIN tags t ON t.id = l.tag_id WHERE l.post_id = pp.post_id)";

fn public_detail_sql(tags_json: &str) -> String {
    format!(
        "SELECT {PUBLIC_COLUMNS}, pp.content_html, pp.toc_json, {tags_json} AS tags_json
         FROM public_posts pp WHERE {REACHABLE} AND pp.slug = $2"
    )
}

static PUBLIC_DETAIL_SQLITE: LazyLock<String> = LazyLock::new(|| public_detail_sql(TAGS_JSON_SQLITE));
static PUBLIC_DETAIL_POSTGRES: LazyLock<String> = LazyLock::new(|| public_detail_sql(TAGS_JSON_POSTGRES));

fn tags_json(db: &Db) -> &'static str {
    match db {
        Db::Sqlite(_) => TAGS_JSON_SQLITE,
        Db::Postgres(_) => TAGS_JSON_POSTGRES,
    }
}

/// A post readers may open by slug (listed or unlisted) at `now`, with its tags.
pub async fn find_public_by_slug(db: &Db, slug: &str, now: Millis) -> sqlx::Result<Option<PublicDetailRow>> {
    match db {
        // The hottest uncached read: run on the calling thread (see `db/inline.rs`).
        Db::Sqlite(sqlite) => sqlite.inline.optional(&PUBLIC_DETAIL_SQLITE, &[&now, &slug], public_detail_row),
        Db::Postgres(pg) => {
            sqlx::query_as::<_, PublicDetailRow>(PUBLIC_DETAIL_POSTGRES.as_str()).bind(now).bind(slug).fetch_optional(pg).await
        }
    }
}

/// A row of [`public_detail_sql`] read by SQLite's point readers; the same
/// columns sqlx's `FromRow` maps for the other reads.
fn public_detail_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<PublicDetailRow> {
    Ok(PublicDetailRow {
        item: PublicPostRow {
            id: row.get("id")?,
            slug: row.get("slug")?,
            title: row.get("title")?,
            summary: row.get("summary")?,
            category: row.get("category")?,
            read_time_in_minutes: row.get("read_time_in_minutes")?,
            published_at: row.get("published_at")?,
            pinned_at: row.get("pinned_at")?,
            updated_at: row.get("updated_at")?,
        },
        content_html: row.get("content_html")?,
        toc_json: row.get("toc_json")?,
        tags_json: row.get("tags_json")?,
    })
}

/// Listed posts among `ids` (in no particular order).
pub async fn public_by_ids(db: &Db, ids: &[i64], now: Millis) -> sqlx::Result<Vec<PublicPostRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (2..ids.len() + 2).map(|i| format!("${i}")).collect();
    let text = format!("SELECT {PUBLIC_COLUMNS} FROM public_posts pp WHERE {LISTED} AND pp.post_id IN ({})", placeholders.join(", "));
    on_read!(db, |pool| {
        let mut query = sqlx::query_as::<_, PublicPostRow>(sql(text.clone())).bind(now);
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(pool)
    })
}

/// Listed posts sharing tags with the post at `slug`, most shared tags first.
pub async fn related_ids(db: &Db, slug: &str, now: Millis, limit: i64) -> sqlx::Result<Vec<i64>> {
    let limit = crate::platform::db::limit(limit);
    on_read!(db, |pool| sqlx::query_scalar::<_, i64>(sql(format!(
        "SELECT pp.post_id FROM public_posts me
         JOIN public_post_tags mine ON mine.post_id = me.post_id
         JOIN public_post_tags theirs ON theirs.tag_id = mine.tag_id AND theirs.post_id <> me.post_id
         JOIN public_posts pp ON pp.post_id = theirs.post_id
         WHERE me.slug = $2 AND {LISTED}
         GROUP BY pp.post_id, pp.published_at
         ORDER BY COUNT(*) DESC, pp.published_at DESC, pp.post_id DESC
         {limit}"
    )))
    .bind(now)
    .bind(slug)
    .fetch_all(pool))
}

/// Listed pinned posts, most recently pinned first.
pub async fn pinned_public(db: &Db, now: Millis) -> sqlx::Result<Vec<PublicPostRow>> {
    on_read!(db, |pool| sqlx::query_as::<_, PublicPostRow>(sql(format!(
        "SELECT {PUBLIC_COLUMNS} FROM public_posts pp
         WHERE {LISTED} AND pp.pinned_at IS NOT NULL
         ORDER BY pp.pinned_at DESC, pp.post_id DESC"
    )))
    .bind(now)
    .fetch_all(pool))
}

/// The newest listed posts with their HTML and tags (feeds).
pub async fn newest_with_content(db: &Db, now: Millis, limit: i64) -> sqlx::Result<Vec<PublicDetailRow>> {
    let tags_json = tags_json(db);
    let limit = crate::platform::db::limit(limit);
    on_read!(db, |pool| sqlx::query_as::<_, PublicDetailRow>(sql(format!(
        "SELECT {PUBLIC_COLUMNS}, pp.content_html, pp.toc_json, {tags_json} AS tags_json FROM public_posts pp WHERE {LISTED}
         ORDER BY pp.published_at DESC, pp.post_id DESC {limit}"
    )))
    .bind(now)
    .fetch_all(pool))
}

/// `(slug, updated_at)` of listed posts, newest first, a page at a time (sitemaps).
pub async fn listed_slugs(db: &Db, now: Millis, offset: i64, limit: i64) -> sqlx::Result<Vec<(String, Millis)>> {
    let limit = crate::platform::db::limit(limit);
    on_read!(db, |pool| sqlx::query_as::<_, (String, i64)>(sql(format!(
        "SELECT pp.slug, pp.updated_at FROM public_posts pp WHERE {LISTED}
         ORDER BY pp.published_at DESC, pp.post_id DESC {limit} OFFSET $2"
    )))
    .bind(now)
    .bind(offset)
    .fetch_all(pool))
}

pub async fn count_listed(db: &Db, now: Millis) -> sqlx::Result<i64> {
    on_read!(db, |pool| sqlx::query_scalar::<_, i64>(sql(format!("SELECT COUNT(*) FROM public_posts pp WHERE {LISTED}")))
        .bind(now)
        .fetch_one(pool))
}

/// `(post_id, slug, title, summary, category, plain_text)` of public snapshots (search documents).
pub async fn public_documents(db: &Db, ids: &[i64]) -> sqlx::Result<Vec<(i64, String, String, String, Option<String>, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let text = format!(
        "SELECT post_id, slug, title, summary, category, plain_text FROM public_posts WHERE post_id IN ({})",
        placeholders.join(", ")
    );
    on_read!(db, |pool| {
        let mut query = sqlx::query_as(sql(text.clone()));
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(pool)
    })
}
