//! SQL for the public read model (`public_posts`, `public_post_tags`): what
//! the publish pipeline writes and every public read. SQL only; private to
//! `publishing` (the visibility rule, [`LISTED`], is in `schema` for search's SQL).

use std::sync::LazyLock;

use crate::features::posts::schema::{PostKind, Visibility};
use crate::features::tags::schema::{TagRef, TagWithCount};
use crate::platform::clock::Millis;
use crate::platform::db::{Db, Tx};
use crate::{execute_tx, on_read, on_tx};

use super::schema::{LISTED, PublicDetailRow, PublicPostRow};

fn sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

const PUBLIC_COLUMNS: &str = "pp.post_id AS id, pp.slug, pp.title, pp.summary, pp.category, pp.read_time_in_minutes, pp.published_at, pp.pinned_at, pp.updated_at, pp.kind";

/// Readers may open a post by slug (listed or unlisted) from its date on.
pub const REACHABLE: &str = "pp.published_at <= $1";

/// What the publish pipeline writes for readers.
pub struct PublicSnapshot<'a> {
    pub post_id: i64,
    pub slug: &'a str,
    pub title: &'a str,
    pub summary: &'a str,
    pub category: Option<&'a str>,
    pub visibility: Visibility,
    pub kind: PostKind,
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

/// Writes (or replaces) a post's public snapshot and its tags, in the
/// caller's transaction (with the event announcing it).
pub async fn upsert_public(tx: &mut Tx, s: &PublicSnapshot<'_>) -> sqlx::Result<()> {
    execute_tx!(
        &mut *tx,
        sqlx::query(
            "INSERT INTO public_posts (post_id, slug, title, summary, category, visibility, read_time_in_minutes, published_at, pinned_at,
                                       content_html, toc_json, plain_text, sync_hash, updated_at, kind)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             ON CONFLICT (post_id) DO UPDATE SET
                 slug = excluded.slug, title = excluded.title, summary = excluded.summary, category = excluded.category,
                 visibility = excluded.visibility, read_time_in_minutes = excluded.read_time_in_minutes,
                 published_at = excluded.published_at, pinned_at = excluded.pinned_at, content_html = excluded.content_html,
                 toc_json = excluded.toc_json, plain_text = excluded.plain_text, sync_hash = excluded.sync_hash,
                 updated_at = excluded.updated_at, kind = excluded.kind"
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
        .bind(s.kind.as_str())
    )?;
    execute_tx!(&mut *tx, sqlx::query("DELETE FROM public_post_tags WHERE post_id = $1").bind(s.post_id))?;
    for tag_id in s.tag_ids {
        execute_tx!(
            &mut *tx,
            sqlx::query("INSERT INTO public_post_tags (post_id, tag_id) SELECT $1, id FROM tags WHERE id = $2 ON CONFLICT DO NOTHING")
                .bind(s.post_id)
                .bind(*tag_id)
        )?;
    }
    Ok(())
}

/// Removes a post's public snapshot in the caller's transaction; returns
/// the slug it was public under.
pub async fn delete_public(tx: &mut Tx, post_id: i64) -> sqlx::Result<Option<String>> {
    on_tx!(tx, |conn| sqlx::query_scalar::<_, String>("DELETE FROM public_posts WHERE post_id = $1 RETURNING slug")
        .bind(post_id)
        .fetch_optional(conn))
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
            kind: PostKind::try_from(row.get::<_, String>("kind")?)
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into()))?,
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
    let placeholders = crate::platform::db::placeholders(2, ids.len());
    let text = format!("SELECT {PUBLIC_COLUMNS} FROM public_posts pp WHERE {LISTED} AND pp.post_id IN ({})", placeholders);
    on_read!(db, |pool| {
        let mut query = sqlx::query_as::<_, PublicPostRow>(sql(text.clone())).bind(now);
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(pool)
    })
}

/// `(id, slug, title, summary)` of a post readers may open now.
pub async fn reachable_post(db: &Db, id: i64, now: Millis) -> sqlx::Result<Option<(i64, String, String, String)>> {
    on_read!(db, |pool| sqlx::query_as::<_, (i64, String, String, String)>(sql(format!(
        "SELECT pp.post_id, pp.slug, pp.title, pp.summary FROM public_posts pp WHERE pp.post_id = $2 AND {REACHABLE}"
    )))
    .bind(now)
    .bind(id)
    .fetch_optional(pool))
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

/// `(slug, title, published_at)` of the newest `limit` listed posts (the archive page).
pub async fn archive(db: &Db, now: Millis, limit: i64) -> sqlx::Result<Vec<(String, String, Millis)>> {
    let limit = crate::platform::db::limit(limit);
    on_read!(db, |pool| sqlx::query_as::<_, (String, String, i64)>(sql(format!(
        "SELECT pp.slug, pp.title, pp.published_at FROM public_posts pp WHERE {LISTED}
         ORDER BY pp.published_at DESC, pp.post_id DESC {limit}"
    )))
    .bind(now)
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
    let placeholders = crate::platform::db::placeholders(1, ids.len());
    let text = format!("SELECT post_id, slug, title, summary, category, plain_text FROM public_posts WHERE post_id IN ({})", placeholders);
    on_read!(db, |pool| {
        let mut query = sqlx::query_as(sql(text.clone()));
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(pool)
    })
}
/// `(slug, sync_hash)` of a post's public snapshot.
pub async fn public_state(db: &Db, post_id: i64) -> sqlx::Result<Option<(String, String)>> {
    on_read!(db, |pool| sqlx::query_as::<_, (String, String)>("SELECT slug, sync_hash FROM public_posts WHERE post_id = $1")
        .bind(post_id)
        .fetch_optional(pool))
}

/// The post that currently holds `slug` in the public read model.
/// The HTML readers are sent for a post (whether or not it is visible yet).
pub async fn public_html(db: &Db, post_id: i64) -> sqlx::Result<Option<String>> {
    on_read!(db, |pool| sqlx::query_scalar::<_, String>("SELECT content_html FROM public_posts WHERE post_id = $1")
        .bind(post_id)
        .fetch_optional(pool))
}

pub async fn public_owner_of_slug(db: &Db, slug: &str) -> sqlx::Result<Option<i64>> {
    on_read!(db, |pool| sqlx::query_scalar::<_, i64>("SELECT post_id FROM public_posts WHERE slug = $1").bind(slug).fetch_optional(pool))
}

/// Ids of every public post (a search rebuild indexes them all).
pub async fn public_post_ids(db: &Db) -> sqlx::Result<Vec<i64>> {
    on_read!(db, |pool| sqlx::query_scalar::<_, i64>("SELECT post_id FROM public_posts ORDER BY post_id").fetch_all(pool))
}

/// `(post_id, slug)` of the public posts carrying a tag.
pub async fn public_posts_with_tag(db: &Db, tag_id: i64) -> sqlx::Result<Vec<(i64, String)>> {
    on_read!(db, |pool| sqlx::query_as::<_, (i64, String)>(
        "SELECT pp.post_id, pp.slug FROM public_post_tags ppt JOIN public_posts pp ON pp.post_id = ppt.post_id WHERE ppt.tag_id = $1"
    )
    .bind(tag_id)
    .fetch_all(pool))
}

/// `(post_id, slug)` of the given public posts.
pub async fn public_slugs(db: &Db, ids: &[i64]) -> sqlx::Result<Vec<(i64, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = crate::platform::db::placeholders(1, ids.len());
    let text = format!("SELECT post_id, slug FROM public_posts WHERE post_id IN ({})", placeholders);
    on_read!(db, |pool| {
        let mut query = sqlx::query_as(sql(text.clone()));
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(pool)
    })
}

/// Tags of listed posts, most used first (the public tag cloud).
pub async fn tag_cloud(db: &Db, now: Millis) -> sqlx::Result<Vec<TagWithCount>> {
    on_read!(db, |pool| sqlx::query_as::<_, TagWithCount>(sql(format!(
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

/// `(post_id, tag)` for the given public posts' published tags, by name.
pub async fn public_tags_of(db: &Db, post_ids: &[i64]) -> sqlx::Result<Vec<(i64, TagRef)>> {
    if post_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = crate::platform::db::placeholders(1, post_ids.len());
    let text = format!(
        "SELECT l.post_id, t.id, t.name FROM public_post_tags l JOIN tags t ON t.id = l.tag_id WHERE l.post_id IN ({}) ORDER BY t.name",
        placeholders
    );
    let rows: Vec<(i64, i64, String)> = on_read!(db, |pool| {
        let mut query = sqlx::query_as(sql(text.clone()));
        for id in post_ids {
            query = query.bind(*id);
        }
        query.fetch_all(pool)
    })?;
    Ok(rows.into_iter().map(|(post_id, id, name)| (post_id, TagRef { id, name })).collect())
}
