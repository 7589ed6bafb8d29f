//! Search rules: what a post's document holds (title, summary, tags and
//! category, the first 10,000 characters of its plain text), how queries
//! match (every term, the last as a prefix; on SQLite the newest
//! `FLINT_SEARCH_RANKED_MATCHES` matches ranked by BM25), and keeping results fresh.

use std::collections::HashMap;

use crate::features::publishing::service::{self as publishing, PublishError, SearchDocument};
use crate::platform::cache::CachedBody;
use crate::platform::http::{AppError, DbCtx};
use crate::platform::invalidation::{self, Invalidation};
use crate::platform::search_text::{query_terms, snippet, tokens};

use super::data::{self, Tokens};
use super::schema::{IndexVersion, Matches, SEARCH, SearchPost, SearchResult, results_key};

/// Characters of a post's text that are indexed.
const CONTENT_CHARS: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for SearchError {
    fn from(error: sqlx::Error) -> Self {
        SearchError::Internal(anyhow::Error::new(error).context("search database error"))
    }
}

impl From<PublishError> for SearchError {
    fn from(error: PublishError) -> Self {
        SearchError::Internal(anyhow::Error::new(error).context("reading public posts for search"))
    }
}

impl From<SearchError> for AppError {
    fn from(error: SearchError) -> Self {
        match error {
            SearchError::Internal(error) => AppError::Internal(error),
        }
    }
}

type Result<T> = std::result::Result<T, SearchError>;

fn tokens_of(document: &SearchDocument) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
    let content: String = document.plain_text.chars().take(CONTENT_CHARS).collect();
    let mut labels = document.tags.join(" ");
    if let Some(category) = &document.category {
        labels.push(' ');
        labels.push_str(category);
    }
    (tokens(&document.title), tokens(&document.summary), tokens(&labels), tokens(&content))
}

/// (Re)indexes a post from its public snapshot; a post without one leaves
/// the index. Callers invalidate cached results once they are done.
pub async fn index_post(app: &DbCtx, post_id: i64) -> Result<()> {
    let document = publishing::search_documents(app, &[post_id]).await?.remove(&post_id);
    let now = app.clock.now_ms();
    match document {
        Some(document) => {
            let (title, summary, tags, content) = tokens_of(&document);
            data::upsert(&app.db, post_id, &Tokens { title: &title, summary: &summary, tags: &tags, content: &content }, now).await?;
        }
        None => data::remove(&app.db, post_id, now).await?,
    }
    Ok(())
}

/// Brings the index in line with the public snapshots of `post_ids` (the
/// `PublicPostsChanged` subscriber): each is indexed, or removed when it is
/// no longer public. Idempotent.
pub async fn reindex(app: &DbCtx, post_ids: &[i64]) -> Result<()> {
    for post_id in post_ids {
        index_post(app, *post_id).await?;
    }
    invalidate(app).await;
    Ok(())
}

/// Empties the index (until a rebuild, search finds nothing).
pub async fn clear(app: &DbCtx) -> Result<()> {
    data::clear(&app.db, app.clock.now_ms()).await?;
    invalidate(app).await;
    Ok(())
}

/// Empties the index and indexes every public post again.
pub async fn rebuild(app: &DbCtx) -> Result<usize> {
    data::clear(&app.db, app.clock.now_ms()).await?;
    let ids = publishing::public_post_ids(app).await?;
    for id in &ids {
        index_post(app, *id).await?;
    }
    data::optimize(&app.db).await?;
    invalidate(app).await;
    Ok(ids.len())
}

/// Cached results depend on what is public now (a scheduled post appearing
/// changes them too).
pub async fn invalidate(app: &DbCtx) {
    invalidation::apply(app, Invalidation::default().bump(SEARCH)).await;
}

pub async fn version(app: &DbCtx) -> Result<IndexVersion> {
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
            let mut documents: HashMap<i64, SearchDocument> = publishing::search_documents(ctx, &ids).await?;
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
            Ok::<_, SearchError>(CachedBody::json(&results).map_err(anyhow::Error::from)?)
        })
        .await
}
