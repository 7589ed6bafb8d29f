//! SQL for the search index. Dialect-specific by necessity (FTS5 vs
//! tsvector); everything else in flint is shared SQL.

use crate::features::publishing::schema::LISTED;
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
            let mut words: Vec<&String> = [tokens.title, tokens.summary, tokens.tags, tokens.content].into_iter().flatten().collect();
            words.sort_unstable();
            words.dedup();
            let words = serde_json::to_string(&words).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            forget_post(tx, post_id).await?;
            sqlx::query("INSERT INTO search_post_lengths (post_id, tokens) SELECT rowid, flint_tokens(search_index) FROM search_index WHERE rowid = $1")
                .bind(post_id)
                .execute(&mut **tx)
                .await?;
            sqlx::query(
                "INSERT INTO search_terms (term, posts) SELECT value, 1 FROM json_each($1) WHERE true
                 ON CONFLICT (term) DO UPDATE SET posts = posts + 1",
            )
            .bind(&words)
            .execute(&mut **tx)
            .await?;
            sqlx::query("INSERT INTO search_post_terms (post_id, terms) VALUES ($1, $2)")
                .bind(post_id)
                .bind(&words)
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
    match &mut tx {
        crate::platform::db::Tx::Sqlite(tx) => {
            sqlx::query("DELETE FROM search_index WHERE rowid = $1").bind(post_id).execute(&mut **tx).await?;
            forget_post(tx, post_id).await?;
        }
        crate::platform::db::Tx::Postgres(tx) => {
            sqlx::query("DELETE FROM search_index WHERE post_id = $1").bind(post_id).execute(&mut **tx).await?;
        }
    }
    bump(&mut tx, now).await?;
    tx.commit().await
}

/// Forgets what SQLite keeps beside the index for a post: its length, and
/// its words, taking their counts down by one; a word no post holds any more
/// leaves search_terms.
async fn forget_post(tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>, post_id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM search_post_lengths WHERE post_id = $1").bind(post_id).execute(&mut **tx).await?;
    let Some(terms) = sqlx::query_scalar::<_, String>("DELETE FROM search_post_terms WHERE post_id = $1 RETURNING terms")
        .bind(post_id)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(());
    };
    sqlx::query("UPDATE search_terms SET posts = posts - 1 WHERE term IN (SELECT value FROM json_each($1))")
        .bind(&terms)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM search_terms WHERE posts <= 0 AND term IN (SELECT value FROM json_each($1))")
        .bind(&terms)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn clear(db: &Db, now: Millis) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    execute_tx!(&mut tx, sqlx::query("DELETE FROM search_index"))?;
    if let crate::platform::db::Tx::Sqlite(tx) = &mut tx {
        sqlx::query("DELETE FROM search_terms").execute(&mut **tx).await?;
        sqlx::query("DELETE FROM search_post_terms").execute(&mut **tx).await?;
        sqlx::query("DELETE FROM search_post_lengths").execute(&mut **tx).await?;
    }
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

/// Most indexed words a query's last word is expanded to; a shorter prefix
/// with more (one or two letters) is left to FTS5's own prefix query.
const PREFIX_WORDS: usize = 64;

/// The FTS5 query for `terms`, every one required, the last one either as the
/// indexed `words` it begins (`("cache" OR "cached")`) or, without them, as a
/// prefix (`"c"*`).
fn fts5_expression(terms: &[String], last_as_words: Option<&[String]>) -> String {
    let quoted = |term: &str| format!("\"{}\"", term.replace('"', "\"\""));
    let (last, required) = terms.split_last().expect("a query has at least one term");
    let mut parts: Vec<String> = required.iter().map(|term| quoted(term)).collect();
    parts.push(match last_as_words {
        Some(words) => format!("({})", words.iter().map(|word| quoted(word)).collect::<Vec<_>>().join(" OR ")),
        None => format!("{}*", quoted(last)),
    });
    // FTS5 reads whitespace as AND only between phrases, not before a group.
    parts.join(" AND ")
}

/// Listed posts matching every term (the last one as a prefix), best first:
/// `(post_id, score)`, a higher score being better. On SQLite only the
/// newest `ranked_matches` matching posts (by id) are ranked: bm25 reads
/// every ranked post's term statistics, so a word found in most of a large
/// archive would otherwise cost time in proportion to the archive; the last
/// term is expanded to the indexed words it begins (see the search_terms
/// migration); and the words' post counts come from search_terms rather
/// than a pass over their posting lists, the posts' lengths from
/// search_post_lengths rather than a statement per post (see
/// platform/fts5_bm25.rs).
pub async fn query(db: &Db, terms: &[String], now: Millis, limit: i64, ranked_matches: i64) -> sqlx::Result<Vec<(i64, f64)>> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    match db {
        Db::Sqlite(sqlite) => {
            let mut reader = sqlite.read.acquire().await?;
            let result = query_sqlite(&mut reader, terms, now, limit, ranked_matches).await;
            reader.check(&result);
            result
        }
        Db::Postgres(pg) => {
            let last = terms.len() - 1;
            let expression: Vec<String> = terms
                .iter()
                .enumerate()
                .map(|(i, t)| format!("'{}'{}", t.replace('\\', "\\\\").replace('\'', "''"), if i == last { ":*" } else { "" }))
                .collect();
            // Every match is ranked: bounding them (as on SQLite) by newest
            // id turns the planner to a backwards primary-key walk testing
            // each row, slower for words in a few percent of posts.
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

async fn query_sqlite(
    connection: &mut sqlx::SqliteConnection,
    terms: &[String],
    now: Millis,
    page_size: i64,
    ranked_matches: i64,
) -> sqlx::Result<Vec<(i64, f64)>> {
    let (prefix, required) = terms.split_last().expect("a query has at least one term");
    // How many posts hold each required word, in query order; a word no post
    // holds matches nothing.
    let mut counts: Vec<i64> = Vec::with_capacity(terms.len());
    if !required.is_empty() {
        let json = serde_json::to_string(required).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        let known =
            sqlx::query_as::<_, (String, i64)>("SELECT term, posts FROM search_terms WHERE term IN (SELECT value FROM json_each($1))")
                .bind(json)
                .fetch_all(&mut *connection)
                .await?;
        for term in required {
            match known.iter().find(|(known, _)| known == term) {
                Some((_, posts)) => counts.push(*posts),
                None => return Ok(Vec::new()),
            }
        }
    }
    // Limits are written into these statements (see db::limit): re-parsing
    // and re-planning them was 4 % of an uncached search.
    let words: Vec<(String, i64)> = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(format!(
        "SELECT term, posts FROM search_terms WHERE term >= $1 ORDER BY term {}",
        crate::platform::db::limit(PREFIX_WORDS as i64 + 1)
    )))
    .bind(prefix)
    .fetch_all(&mut *connection)
    .await?
    .into_iter()
    .take_while(|(word, _)| word.starts_with(prefix.as_str()))
    .collect();
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let expanded = words.len() <= PREFIX_WORDS;
    let (names, posts): (Vec<String>, Vec<i64>) = words.into_iter().unzip();
    let expression = fts5_expression(terms, expanded.then_some(names.as_slice()));
    // Every phrase's count is known once the prefix is expanded; a prefix
    // left to FTS5 is counted by the ranking function itself (NULL).
    let counts = expanded.then(|| counts.iter().chain(&posts).map(i64::to_string).collect::<Vec<_>>().join(","));
    // One backwards walk of the match (FTS5 reads it newest first and stops
    // at the limit) ranks the newest `ranked_matches` indexed posts; only
    // then are the listed ones among them looked up. The index holds
    // published posts only, so the few it holds that are not listed
    // (unlisted, or dated later) take places in the window without showing
    // in results. flint_bm25 is bm25 with the words' counts and the posts'
    // lengths passed in (a length missing is read from the index). CROSS
    // JOIN keeps the window the outer loop: the planner could otherwise walk
    // the listed posts and run the match once per post.
    let (window, page) = (crate::platform::db::limit(ranked_matches), crate::platform::db::limit(page_size));
    sqlx::query_as::<_, (i64, f64)>(sqlx::AssertSqlSafe(format!(
        "SELECT pp.post_id, hit.score
         FROM (SELECT search_index.rowid AS post_id,
                      -flint_bm25(search_index, $3, size.tokens, 10.0, 4.0, 4.0, 1.0) AS score
               FROM search_index LEFT JOIN search_post_lengths size ON size.post_id = search_index.rowid
               WHERE search_index MATCH $2 ORDER BY search_index.rowid DESC {window}) AS hit
         CROSS JOIN public_posts pp ON pp.post_id = hit.post_id
         WHERE {LISTED}
         ORDER BY hit.score DESC, pp.published_at DESC {page}"
    )))
    .bind(now)
    .bind(expression)
    .bind(counts)
    .fetch_all(&mut *connection)
    .await
}

#[cfg(test)]
mod tests {
    use super::fts5_expression;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn the_last_term_becomes_its_words_or_a_prefix() {
        let terms = strings(&["rust", "cach"]);
        assert_eq!(fts5_expression(&terms, Some(&strings(&["cache", "caching"])[..])), r#""rust" AND ("cache" OR "caching")"#);
        assert_eq!(fts5_expression(&terms, None), r#""rust" AND "cach"*"#);
        assert_eq!(fts5_expression(&strings(&["say\"hi"]), None), r#""say""hi"*"#, "quotes are doubled");
    }
}
