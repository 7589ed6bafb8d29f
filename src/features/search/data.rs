//! SQL for the search index. Dialect-specific by necessity (FTS5 vs
//! tsvector); everything else in flint is shared SQL.

use crate::features::posts::data::LISTED;
use crate::platform::clock::Millis;
use crate::platform::db::Db;
use crate::{execute_tx, on_read};

/// A post's tokens per field.
pub struct Tokens<'a> {
    pub title: &'a [String],
    pub summary: &'a [String],
    pub tags: &'a [String],
    pub content: &'a [String],
}

pub async fn upsert(db: &Db, post_id: i64, tokens: &Tokens<'_>, now: Millis) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    match &mut tx {
        crate::platform::db::Tx::Sqlite(tx) => {
            sqlx::query("DELETE FROM search_index WHERE rowid = $1").bind(post_id).execute(&mut **tx).await?;
            sqlx::query("INSERT INTO search_index (rowid, title, summary, tags, content) VALUES ($1, $2, $3, $4, $5)")
                .bind(post_id)
                .bind(tokens.title.join(" "))
                .bind(tokens.summary.join(" "))
                .bind(tokens.tags.join(" "))
                .bind(tokens.content.join(" "))
                .execute(&mut **tx)
                .await?;
        }
        crate::platform::db::Tx::Postgres(tx) => {
            sqlx::query(
                "INSERT INTO search_index (post_id, document) VALUES ($1,
                     setweight(array_to_tsvector($2::text[]), 'A') || setweight(array_to_tsvector($3::text[]), 'B')
                     || setweight(array_to_tsvector($4::text[]), 'B') || setweight(array_to_tsvector($5::text[]), 'C'))
                 ON CONFLICT (post_id) DO UPDATE SET document = excluded.document",
            )
            .bind(post_id)
            .bind(tokens.title)
            .bind(tokens.summary)
            .bind(tokens.tags)
            .bind(tokens.content)
            .execute(&mut **tx)
            .await?;
        }
    }
    bump(&mut tx, now).await?;
    tx.commit().await
}

pub async fn remove(db: &Db, post_id: i64, now: Millis) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    let sql = match &tx {
        crate::platform::db::Tx::Sqlite(_) => "DELETE FROM search_index WHERE rowid = $1",
        crate::platform::db::Tx::Postgres(_) => "DELETE FROM search_index WHERE post_id = $1",
    };
    execute_tx!(&mut tx, sqlx::query(sql).bind(post_id))?;
    bump(&mut tx, now).await?;
    tx.commit().await
}

pub async fn clear(db: &Db, now: Millis) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    execute_tx!(&mut tx, sqlx::query("DELETE FROM search_index"))?;
    bump(&mut tx, now).await?;
    tx.commit().await
}

async fn bump(tx: &mut crate::platform::db::Tx, now: Millis) -> sqlx::Result<()> {
    execute_tx!(tx, sqlx::query("UPDATE search_meta SET version = version + 1, updated_at = $1 WHERE id = 1").bind(now))?;
    Ok(())
}

/// Compacts the index after a rebuild (SQLite keeps deleted rows' statistics
/// until its segments merge; PostgreSQL needs nothing).
pub async fn optimize(db: &Db) -> sqlx::Result<()> {
    if let Db::Sqlite(sqlite) = db {
        sqlx::query("INSERT INTO search_index (search_index) VALUES ('optimize')").execute(&sqlite.write).await?;
    }
    Ok(())
}

/// `(version, updated_at, documents)`.
pub async fn meta(db: &Db) -> sqlx::Result<(i64, Millis, i64)> {
    on_read!(db, |pool| sqlx::query_as::<_, (i64, i64, i64)>(
        "SELECT version, updated_at, (SELECT COUNT(*) FROM search_index) FROM search_meta WHERE id = 1"
    )
    .fetch_one(pool))
}

/// Listed posts matching every term (the last one as a prefix), best first:
/// `(post_id, score)`, a higher score being better.
pub async fn query(db: &Db, terms: &[String], now: Millis, limit: i64) -> sqlx::Result<Vec<(i64, f64)>> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let last = terms.len() - 1;
    match db {
        Db::Sqlite(sqlite) => {
            let expression: Vec<String> = terms
                .iter()
                .enumerate()
                .map(|(i, t)| format!("\"{}\"{}", t.replace('"', "\"\""), if i == last { "*" } else { "" }))
                .collect();
            // CROSS JOIN keeps the full-text match as the outer loop: the planner
            // otherwise walks every listed post and runs the match once per post
            // (seconds at 10,000 posts instead of milliseconds).
            let mut reader = sqlite.read.acquire().await?;
            let result = sqlx::query_as::<_, (i64, f64)>(sqlx::AssertSqlSafe(format!(
                "SELECT pp.post_id, -bm25(search_index, 10.0, 4.0, 4.0, 1.0) AS score
                 FROM search_index CROSS JOIN public_posts pp ON pp.post_id = search_index.rowid
                 WHERE {LISTED} AND search_index MATCH $2
                 ORDER BY score DESC, pp.published_at DESC LIMIT $3"
            )))
            .bind(now)
            .bind(expression.join(" "))
            .bind(limit)
            .fetch_all(&mut *reader)
            .await;
            reader.check(&result);
            result
        }
        Db::Postgres(pg) => {
            let expression: Vec<String> = terms
                .iter()
                .enumerate()
                .map(|(i, t)| format!("'{}'{}", t.replace('\\', "\\\\").replace('\'', "''"), if i == last { ":*" } else { "" }))
                .collect();
            sqlx::query_as::<_, (i64, f64)>(sqlx::AssertSqlSafe(format!(
                "SELECT pp.post_id, ts_rank_cd(si.document, $2::tsquery)::float8 AS score
                 FROM search_index si JOIN public_posts pp ON pp.post_id = si.post_id
                 WHERE {LISTED} AND si.document @@ $2::tsquery
                 ORDER BY score DESC, pp.published_at DESC LIMIT $3"
            )))
            .bind(now)
            .bind(expression.join(" & "))
            .bind(limit)
            .fetch_all(pg)
            .await
        }
    }
}

/// Ids of every public post (a rebuild indexes them all).
pub async fn public_post_ids(db: &Db) -> sqlx::Result<Vec<i64>> {
    on_read!(db, |pool| sqlx::query_scalar::<_, i64>("SELECT post_id FROM public_posts ORDER BY post_id").fetch_all(pool))
}

/// Public posts carrying a tag (a rename changes their documents).
pub async fn public_posts_with_tag(db: &Db, tag_id: i64) -> sqlx::Result<Vec<i64>> {
    on_read!(db, |pool| sqlx::query_scalar::<_, i64>("SELECT post_id FROM public_post_tags WHERE tag_id = $1").bind(tag_id).fetch_all(pool))
}
