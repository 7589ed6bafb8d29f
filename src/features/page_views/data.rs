//! SQL for page views and the daily visitor salt. SQL only.

use crate::platform::clock::Millis;
use crate::platform::db::Db;
use crate::{execute, on_read, on_write};

use super::schema::PageView;

fn sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

/// Writes a batch in one statement: views of posts that exist, and not of
/// a visitor who viewed the same post within `window` before. Returns the
/// rows written.
pub async fn insert_batch(db: &Db, views: &[PageView], window: Millis) -> sqlx::Result<u64> {
    if views.is_empty() {
        return Ok(0);
    }
    let values: Vec<String> = (0..views.len()).map(|i| format!("(${}, ${}, ${})", 3 * i + 2, 3 * i + 3, 3 * i + 4)).collect();
    // VALUES columns are column1.. on both SQLite and PostgreSQL.
    let text = format!(
        "INSERT INTO page_views (post_id, visitor_hash, created_at)
         SELECT v.column1, v.column2, v.column3 FROM (VALUES {}) AS v
         WHERE EXISTS (SELECT 1 FROM posts p WHERE p.id = v.column1)
           AND NOT EXISTS (SELECT 1 FROM page_views seen WHERE seen.post_id = v.column1 AND seen.visitor_hash = v.column2
                           AND seen.created_at > v.column3 - $1 AND seen.created_at <= v.column3)",
        values.join(", ")
    );
    execute!(db, {
        let mut query = sqlx::query(sql(text.clone())).bind(window);
        for view in views {
            query = query.bind(view.post_id).bind(&view.visitor_hash).bind(view.at);
        }
        query
    })
}

/// The salt of `day`: `candidate` if the day has none yet. Salts older than
/// `keep_from` are deleted on the way.
pub async fn salt_of_day(db: &Db, day: &str, candidate: &str, keep_from: &str, now: Millis) -> sqlx::Result<String> {
    execute!(
        db,
        sqlx::query("INSERT INTO visitor_salts (day, salt, created_at) VALUES ($1, $2, $3) ON CONFLICT (day) DO NOTHING")
            .bind(day)
            .bind(candidate)
            .bind(now)
    )?;
    execute!(db, sqlx::query("DELETE FROM visitor_salts WHERE day < $1").bind(keep_from))?;
    on_write!(db, |pool| sqlx::query_scalar::<_, String>("SELECT salt FROM visitor_salts WHERE day = $1").bind(day).fetch_one(pool))
}

/// All-time views of the posts with these slugs (slugs without views are absent).
pub async fn counts_by_slug(db: &Db, slugs: &[&str]) -> sqlx::Result<Vec<(String, i64)>> {
    if slugs.is_empty() {
        return Ok(Vec::new());
    }
    let text = format!(
        "SELECT p.slug, COUNT(*) FROM page_views v JOIN posts p ON p.id = v.post_id WHERE p.slug IN ({}) GROUP BY p.slug",
        crate::platform::db::placeholders(1, slugs.len())
    );
    on_read!(db, |pool| {
        let mut query = sqlx::query_as::<_, (String, i64)>(sql(text.clone()));
        for slug in slugs {
            query = query.bind(*slug);
        }
        query.fetch_all(pool)
    })
}

/// Post ids by views since `since`, most viewed first.
pub async fn most_viewed(db: &Db, since: Millis, limit: i64) -> sqlx::Result<Vec<i64>> {
    on_read!(db, |pool| sqlx::query_scalar::<_, i64>(sql(format!(
        "SELECT post_id FROM page_views WHERE created_at >= $1 GROUP BY post_id ORDER BY COUNT(*) DESC, post_id DESC {}",
        crate::platform::db::limit(limit)
    )))
    .bind(since)
    .fetch_all(pool))
}

/// `(views, distinct visitors)` in `[from, to)`.
pub async fn totals(db: &Db, from: Millis, to: Millis) -> sqlx::Result<(i64, i64)> {
    on_read!(db, |pool| sqlx::query_as::<_, (i64, i64)>(
        "SELECT COUNT(*), COUNT(DISTINCT visitor_hash) FROM page_views WHERE created_at >= $1 AND created_at < $2"
    )
    .bind(from)
    .bind(to)
    .fetch_one(pool))
}

/// Views in `[from, to)` by bucket of `bucket` ms (bucket start, views), in time order.
pub async fn series(db: &Db, from: Millis, to: Millis, bucket: Millis) -> sqlx::Result<Vec<(i64, i64)>> {
    on_read!(db, |pool| sqlx::query_as::<_, (i64, i64)>(
        "SELECT created_at - created_at % $3 AS bucket, COUNT(*) FROM page_views WHERE created_at >= $1 AND created_at < $2
         GROUP BY bucket ORDER BY bucket"
    )
    .bind(from)
    .bind(to)
    .bind(bucket)
    .fetch_all(pool))
}

/// The most viewed posts in `[from, to)`: (slug, title, views).
pub async fn top_pages(db: &Db, from: Millis, to: Millis, limit: i64) -> sqlx::Result<Vec<(String, String, i64)>> {
    on_read!(db, |pool| sqlx::query_as::<_, (String, String, i64)>(sql(format!(
        "SELECT p.slug, p.title, COUNT(*) AS views FROM page_views v JOIN posts p ON p.id = v.post_id
         WHERE v.created_at >= $1 AND v.created_at < $2 GROUP BY p.id, p.slug, p.title ORDER BY views DESC, p.id DESC {}",
        crate::platform::db::limit(limit)
    )))
    .bind(from)
    .bind(to)
    .fetch_all(pool))
}
