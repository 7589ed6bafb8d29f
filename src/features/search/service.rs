//! Search rules: what a post's document holds (title, summary, tags and
//! category, the first 10,000 characters of its plain text), how queries
//! match (every term, the last as a prefix; on SQLite the newest
//! `FLINT_SEARCH_RANKED_MATCHES` matches ranked by BM25), and keeping results fresh.

use std::collections::HashMap;

use crate::features::posts::service::{self as posts, PostError, SearchDocument};
use crate::platform::cache::CachedBody;
use crate::platform::http::DbCtx;
use crate::platform::invalidation::{self, Invalidation};
use crate::platform::search_text::{query_terms, snippet, tokens};
use crate::platform::state::AppState;

use super::data::{self, Tokens};
use super::schema::{IndexVersion, Matches, SEARCH, SearchPost, SearchResult, results_key};

/// Characters of a post's text that are indexed.
const CONTENT_CHARS: usize = 10_000;

type Result<T> = std::result::Result<T, PostError>;

fn tokens_of(document: &SearchDocument) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
    let content: String = document.plain_text.chars().take(CONTENT_CHARS).collect();
    let mut labels = document.tags.join(" ");
    if let Some(category) = &document.category {
        labels.push(' ');
        labels.push_str(category);
    }
    (tokens(&document.title), tokens(&document.summary), tokens(&labels), tokens(&content))
}

/// (Re)indexes a post from its public snapshot; a post without one leaves the index.
pub async fn index_post(app: &AppState, post_id: i64) -> Result<()> {
    let document = posts::search_documents(app, &[post_id]).await?.remove(&post_id);
    let now = app.clock.now_ms();
    match document {
        Some(document) => {
            let (title, summary, tags, content) = tokens_of(&document);
            data::upsert(&app.db, post_id, &Tokens { title: &title, summary: &summary, tags: &tags, content: &content }, now).await?;
        }
        None => data::remove(&app.db, post_id, now).await?,
    }
    invalidate(app).await;
    Ok(())
}

pub async fn unindex(app: &AppState, post_id: i64) -> Result<()> {
    data::remove(&app.db, post_id, app.clock.now_ms()).await?;
    invalidate(app).await;
    Ok(())
}

/// Reindexes the public posts carrying a tag (its name is in their documents).
pub async fn reindex_tag(app: &AppState, tag_id: i64) -> Result<()> {
    for post_id in data::public_posts_with_tag(&app.db, tag_id).await? {
        index_post(app, post_id).await?;
    }
    Ok(())
}

/// Empties the index and indexes every public post again.
pub async fn rebuild(app: &AppState) -> Result<usize> {
    data::clear(&app.db, app.clock.now_ms()).await?;
    let ids = data::public_post_ids(&app.db).await?;
    for id in &ids {
        index_post(app, *id).await?;
    }
    data::optimize(&app.db).await?;
    invalidate(app).await;
    Ok(ids.len())
}

/// Cached results depend on what is public now (a scheduled post appearing
/// changes them too).
pub async fn invalidate(app: &AppState) {
    invalidation::apply(app, Invalidation::default().bump(SEARCH)).await;
}

pub async fn version(app: &AppState) -> Result<IndexVersion> {
    let (version, updated_at, documents) = data::meta(&app.db).await?;
    Ok(IndexVersion { version, updated_at: (updated_at > 0).then_some(crate::platform::clock::Timestamp(updated_at)), documents })
}

/// Listed posts matching every term of `query`, best first (cached).
pub async fn search(ctx: &DbCtx, query: &str, limit: u32) -> Result<CachedBody> {
    let terms = query_terms(query);
    if terms.is_empty() {
        return Ok(CachedBody::json(&[] as &[SearchResult]).map_err(anyhow::Error::from)?);
    }
    ctx.cache
        .get_or_load(&results_key(&terms, limit), || async {
            let ranked_matches = i64::from(ctx.config.search_ranked_matches);
            let hits = data::query(&ctx.db, &terms, ctx.clock.now_ms(), i64::from(limit), ranked_matches).await?;
            let ids: Vec<i64> = hits.iter().map(|(id, _)| *id).collect();
            let mut documents: HashMap<i64, SearchDocument> = posts::search_documents(&ctx.0, &ids).await?;
            let results = hits
                .into_iter()
                .filter_map(|(id, score)| {
                    let document = documents.remove(&id)?;
                    Some(SearchResult {
                        matches: Matches {
                            title: snippet(&document.title, &terms, 200),
                            summary: snippet(&document.summary, &terms, 200),
                            content_snippet: snippet(&document.plain_text, &terms, 200),
                        },
                        post: SearchPost { id, slug: document.slug, title: document.title, summary: document.summary, tags: document.tags },
                        score,
                    })
                })
                .collect::<Vec<_>>();
            Ok::<_, PostError>(CachedBody::json(&results).map_err(anyhow::Error::from)?)
        })
        .await
}
