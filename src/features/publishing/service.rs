//! Publishing rules: what readers see and when (the publish pipeline builds
//! the public snapshot from the editable post), every public read of posts
//! (cached as ready-to-send bytes), and which caches each change
//! invalidates (spec §5.5, plus freeing a renamed post's old slug). The
//! pipeline invalidates its own caches before it releases its events, so no
//! subscriber sees an older page than the change.

use std::collections::HashMap;

use anyhow::Context;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::features::posts::schema::{PostKind, PostRow, PostStatus};
use crate::features::posts::service::{self as posts, PostError};
use crate::features::tags;
use crate::features::tags::schema::{TagRef, TagWithCount};
use crate::platform::cache::CachedBody;
use crate::platform::clock::{Millis, Timestamp};
use crate::platform::content;
use crate::platform::events::Emitted;
use crate::platform::http::{AdminCtx, AppError, DbCtx};
use crate::platform::invalidation::{self, Invalidation};
use crate::platform::json_string;
use crate::platform::workflow::{CreateOptions, EngineError};

use super::data::{self, PublicPage, PublicSnapshot};
use super::events::{PostDeleted, PostPublished, PostUnpublished, PublicPostsChanged};
use super::schema::{
    ListQuery, POSTS_DETAIL, POSTS_LIST, PostListResponse, PostRef, PostWithSync, PublicDetailRow, PublicPostDetail, PublicPostItem,
    PublicPostRow, PublishOutput, detail_key, list_key, pinned_key, public_tags_key, related_key,
};
use super::workflows::{PostProcess, PostProcessParams, ScheduledPublish, ScheduledPublishParams};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("no such post")]
    NotFound,
    #[error("a post needs a title to be published")]
    Untitled,
    /// An editorial write of the pipeline failed (posts' own codes apply).
    #[error(transparent)]
    Post(#[from] PostError),
    #[error(transparent)]
    Content(#[from] content::ContentError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for PublishError {
    fn from(error: sqlx::Error) -> Self {
        PublishError::Internal(anyhow::Error::new(error).context("publishing database error"))
    }
}

impl From<EngineError> for PublishError {
    fn from(error: EngineError) -> Self {
        PublishError::Internal(anyhow::Error::new(error).context("writing publishing runs or events"))
    }
}

impl From<PublishError> for AppError {
    fn from(error: PublishError) -> Self {
        let message = error.to_string();
        match error {
            PublishError::NotFound => AppError::not_found("POST_NOT_FOUND", message),
            PublishError::Untitled => {
                AppError::validation_with_code("POST_UNTITLED", message.clone(), [("title".to_owned(), vec![message])].into())
            }
            PublishError::Post(error) => error.into(),
            PublishError::Content(error) => error.into(),
            PublishError::Internal(error) => AppError::Internal(error),
        }
    }
}

pub type Result<T> = std::result::Result<T, PublishError>;

/// JSON bytes with a weak ETag of their hash, ready to send and to cache.
fn ready_body<T: Serialize>(value: &T) -> Result<CachedBody> {
    Ok(CachedBody::json(value).map_err(anyhow::Error::from)?)
}

// ---- reading (public) ----------------------------------------------------

/// A page of listed posts, newest first (cached as bytes).
pub async fn list(ctx: &DbCtx, query: &ListQuery) -> Result<CachedBody> {
    ctx.cache.get_or_load(&list_key(query), || async { load_page(ctx, query).await.and_then(|p| ready_body(&p)) }).await
}

/// A page of listed posts, read now (the public site caches the page it renders).
pub async fn load_page(app: &DbCtx, query: &ListQuery) -> Result<PostListResponse> {
    let now = app.clock.now_ms();
    let after = match query.cursor {
        // A cursor whose post is no longer listed ends the list.
        Some(cursor) => Some((data::public_published_at(&app.db, cursor).await?.unwrap_or(Millis::MIN), cursor)),
        None => None,
    };
    let page = PublicPage {
        now,
        tag_name: query.tag_name.as_deref(),
        category: query.category.as_deref(),
        exclude_pinned: query.exclude_pinned,
        after,
        limit: i64::from(query.limit) + 1,
    };
    let mut rows = data::list_public(&app.db, &page).await?;
    let next_cursor = if rows.len() > query.limit as usize {
        rows.truncate(query.limit as usize);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok(PostListResponse { items: with_public_tags(app, rows).await?, next_cursor })
}

/// Published tags of public posts, by post id.
async fn public_tags_of(app: &DbCtx, post_ids: &[i64]) -> Result<HashMap<i64, Vec<TagRef>>> {
    Ok(tags::service::group(data::public_tags_of(&app.db, post_ids).await?))
}

async fn with_public_tags(app: &DbCtx, rows: Vec<PublicPostRow>) -> Result<Vec<PublicPostItem>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut tags = public_tags_of(app, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let t = tags.remove(&row.id).unwrap_or_default();
            PublicPostItem::from_row(row, t)
        })
        .collect())
}

/// A post readers may open (listed or unlisted), as cached bytes.
pub async fn detail(ctx: &DbCtx, slug: &str) -> Result<CachedBody> {
    let body = ctx
        .cache
        .get(&detail_key(slug), || async {
            let Some(row) = data::find_public_by_slug(&ctx.db, slug, ctx.clock.now_ms()).await? else { return Ok(None) };
            let toc = serde_json::from_str(&row.toc_json).unwrap_or_default();
            let tags = tags_of_row(&row)?;
            let detail = PublicPostDetail { item: PublicPostItem::from_row(row.item, tags), toc, content_html: row.content_html };
            Ok::<_, PublishError>(Some(CachedBody::tagged(detail_body(&detail).map_err(anyhow::Error::from)?)))
        })
        .await?;
    body.ok_or(PublishError::NotFound)
}

/// A public post, read now (`None` unless readers may see it); the public
/// site caches the page it renders.
pub async fn load_detail(ctx: &DbCtx, slug: &str) -> Result<Option<PublicPostDetail>> {
    let Some(row) = data::find_public_by_slug(&ctx.db, slug, ctx.clock.now_ms()).await? else { return Ok(None) };
    let toc = serde_json::from_str(&row.toc_json).unwrap_or_default();
    let tags = tags_of_row(&row)?;
    Ok(Some(PublicPostDetail { item: PublicPostItem::from_row(row.item, tags), toc, content_html: row.content_html }))
}

/// `serde_json::to_vec(detail)`, with the content HTML (most of the body)
/// written by [`json_string::push`], several times faster than serde_json's
/// escaping. A test holds the two byte for byte.
fn detail_body(detail: &PublicPostDetail) -> serde_json::Result<Vec<u8>> {
    #[derive(Serialize)]
    struct Head<'a> {
        #[serde(flatten)]
        item: &'a PublicPostItem,
        toc: &'a [content::TocEntry],
    }
    let mut out = Vec::with_capacity(detail.content_html.len() + detail.content_html.len() / 8 + 1024);
    serde_json::to_writer(&mut out, &Head { item: &detail.item, toc: &detail.toc })?;
    out.pop(); // the closing brace; contentHtml is the last field
    out.extend_from_slice(b",\"contentHtml\":");
    json_string::push(&mut out, &detail.content_html);
    out.push(b'}');
    Ok(out)
}

/// Listed posts sharing the most tags with `slug` (ids cached, posts live).
pub async fn related(ctx: &DbCtx, slug: &str, limit: u32) -> Result<Vec<PublicPostItem>> {
    let now = ctx.clock.now_ms();
    let ids = ctx
        .cache
        .get_or_load(&related_key(slug, limit), || async {
            Ok::<_, PublishError>(data::related_ids(&ctx.db, slug, now, i64::from(limit)).await?)
        })
        .await?;
    listed_in_order(ctx, &ids).await
}

/// The listed posts among `ids`, in the order given (posts read live).
pub async fn listed_in_order(ctx: &DbCtx, ids: &[i64]) -> Result<Vec<PublicPostItem>> {
    let rows = data::public_by_ids(&ctx.db, ids, ctx.clock.now_ms()).await?;
    let mut by_id: HashMap<i64, PublicPostRow> = rows.into_iter().map(|r| (r.id, r)).collect();
    let ordered: Vec<_> = ids.iter().filter_map(|id| by_id.remove(id)).collect();
    with_public_tags(ctx, ordered).await
}

/// The newest listed posts (read live).
pub async fn newest_listed(ctx: &DbCtx, limit: u32) -> Result<Vec<PublicPostItem>> {
    let query = ListQuery { cursor: None, limit, tag_name: None, category: None, exclude_pinned: false };
    load_page(ctx, &query).await.map(|page| page.items)
}

/// A post readers may open now (listed or unlisted), if it is one.
pub async fn reachable(app: &DbCtx, id: i64) -> Result<Option<PostRef>> {
    let row = data::reachable_post(&app.db, id, app.clock.now_ms()).await?;
    Ok(row.map(|(id, slug, title, summary)| PostRef { id, slug, title, summary }))
}

pub async fn pinned(ctx: &DbCtx) -> Result<Vec<PublicPostItem>> {
    ctx.cache
        .get_or_load(&pinned_key(), || async {
            let rows = data::pinned_public(&ctx.db, ctx.clock.now_ms()).await?;
            with_public_tags(ctx, rows).await
        })
        .await
}

/// Tags of visible public posts with their counts, most used first, as the
/// JSON body of a `Vec<TagWithCount>` (cached 7 days).
pub async fn tag_cloud(ctx: &DbCtx) -> Result<CachedBody> {
    let now = ctx.clock.now_ms();
    ctx.cache
        .get_or_load(&public_tags_key(), || async {
            let tags: Vec<TagWithCount> = data::tag_cloud(&ctx.db, now).await?;
            ready_body(&tags)
        })
        .await
}

/// The newest listed posts with their HTML, for feeds (not cached here:
/// the feeds cache their finished documents).
pub async fn newest_for_feeds(app: &DbCtx, limit: u32) -> Result<Vec<PublicPostDetail>> {
    let rows = data::newest_with_content(&app.db, app.clock.now_ms(), i64::from(limit)).await?;
    rows.into_iter()
        .map(|row| {
            let tags = tags_of_row(&row)?;
            Ok(PublicPostDetail { toc: Vec::new(), content_html: row.content_html, item: PublicPostItem::from_row(row.item, tags) })
        })
        .collect()
}

/// The tags a detail row carries as JSON (`[[id, name], ...]`).
fn tags_of_row(row: &PublicDetailRow) -> Result<Vec<TagRef>> {
    let pairs: Vec<(i64, String)> =
        serde_json::from_str(&row.tags_json).with_context(|| format!("tags of post {} are not a JSON array of [id, name]", row.item.id))?;
    Ok(pairs.into_iter().map(|(id, name)| TagRef { id, name }).collect())
}

/// `(slug, updatedAt)` of listed posts, newest first, for sitemaps.
pub async fn listed_slugs(app: &DbCtx, offset: u64, limit: u64) -> Result<Vec<(String, Millis)>> {
    Ok(data::listed_slugs(&app.db, app.clock.now_ms(), offset as i64, limit as i64).await?)
}

/// `(slug, title, publishedAt)` of listed posts, newest first, at most `limit`
/// (read live: the archive page caches what it renders).
pub async fn archive(app: &DbCtx, limit: u32) -> Result<Vec<(String, String, Millis)>> {
    Ok(data::archive(&app.db, app.clock.now_ms(), i64::from(limit)).await?)
}

pub async fn count_listed(app: &DbCtx) -> Result<u64> {
    Ok(data::count_listed(&app.db, app.clock.now_ms()).await?.max(0) as u64)
}

/// What search indexes and shows of a public post.
#[derive(Clone, Debug)]
pub struct SearchDocument {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub category: Option<String>,
    pub plain_text: String,
    pub tags: Vec<String>,
}

/// The search documents of public posts, by post id (posts without a public snapshot are absent).
pub async fn search_documents(app: &DbCtx, ids: &[i64]) -> Result<HashMap<i64, SearchDocument>> {
    let rows = data::public_documents(&app.db, ids).await?;
    let mut tags = public_tags_of(app, ids).await?;
    Ok(rows
        .into_iter()
        .map(|(id, slug, title, summary, category, plain_text)| {
            let tag_names = tags.remove(&id).unwrap_or_default().into_iter().map(|t| t.name).collect();
            (id, SearchDocument { slug, title, summary, category, plain_text, tags: tag_names })
        })
        .collect())
}

/// The HTML of a post's public snapshot (published or scheduled), if it has one.
pub async fn public_html(app: &DbCtx, post_id: i64) -> Result<Option<String>> {
    Ok(data::public_html(&app.db, post_id).await?)
}

/// Ids of every public post.
pub async fn public_post_ids(app: &DbCtx) -> Result<Vec<i64>> {
    Ok(data::public_post_ids(&app.db).await?)
}

// ---- admin ---------------------------------------------------------------

/// A post, its tags, and whether readers see exactly this state.
pub async fn find_by_id(ctx: &AdminCtx, id: i64) -> Result<PostWithSync> {
    let app = &ctx.app;
    let (row, tag_ids) = posts::editable_state(app, id).await?.ok_or(PublishError::NotFound)?;
    let public = data::public_state(&app.db, id).await?;
    let is_synced = match (&public, row.status) {
        (None, PostStatus::Draft) => true,
        (Some((_, hash)), PostStatus::Published) => *hash == sync_hash(&row, &tag_ids),
        _ => false,
    };
    let post = posts::post(app, id).await?;
    Ok(PostWithSync { post, is_synced, has_public_cache: public.is_some() })
}

/// Publishes or unpublishes a post through the pipeline: sets the status
/// (and `publishedAt` on first publish), starts `post-process`, and for a
/// post dated in the future (re)creates `scheduled-publish`, which wakes at
/// exactly `publishedAt` to refresh the caches.
pub async fn start_publish(ctx: &AdminCtx, id: i64, status: PostStatus) -> Result<PublishOutput> {
    let app = &ctx.app;
    let now = app.clock.now_ms();
    let post = posts::row(app, id).await?.ok_or(PublishError::NotFound)?;
    let publish = status == PostStatus::Published;
    if publish && post.title.trim().is_empty() {
        return Err(PublishError::Untitled);
    }
    let published_at = if publish { Some(post.published_at.unwrap_or(now)) } else { post.published_at };
    // The status and the runs are one transaction: a crash between them once
    // left posts "published" that no run would ever make public.
    let mut tx = app.db.begin().await?;
    posts::set_status_in(&mut tx, id, status, published_at, now).await?;
    let run =
        app.workflows.create_in::<PostProcess>(&mut tx, &PostProcessParams { post_id: id, publish }, CreateOptions::default()).await?;
    let key = scheduled_key(id);
    let scheduled_run_id = match published_at {
        Some(at) if publish && at > now => {
            let params = ScheduledPublishParams { post_id: id, published_at: at };
            let options = CreateOptions { key: Some(key), replace: true, delay: None };
            Some(app.workflows.create_in::<ScheduledPublish>(&mut tx, &params, options).await?.id)
        }
        _ => {
            app.workflows.cancel_key_in(&mut tx, &key).await?;
            None
        }
    };
    tx.commit().await?;
    app.workflows.wake().await;
    Ok(PublishOutput { run_id: run.id, scheduled_run_id, published_at: published_at.map(Timestamp) })
}

pub fn scheduled_key(post_id: i64) -> String {
    format!("post-{post_id}-scheduled")
}

/// Deletes a post; a published one leaves the public site at once.
pub async fn delete_post(ctx: &AdminCtx, id: i64) -> Result<()> {
    let app = &ctx.app;
    let public_slug = data::public_state(&app.db, id).await?.map(|(slug, _)| slug);
    let mut tx = app.db.begin().await?;
    // The snapshot and its tags go with the post (foreign keys cascade).
    posts::delete_in(&mut tx, id).await?;
    let mut emitted = app.events.emit_in(&mut tx, &PostDeleted { post_id: id, public_slug: public_slug.clone() }).await?;
    if let Some(slug) = &public_slug {
        let changed = PublicPostsChanged { post_ids: vec![id], slugs: vec![slug.clone()] };
        emitted = emitted.join(app.events.emit_in(&mut tx, &changed).await?);
    }
    tx.commit().await?;
    if let Some(slug) = public_slug {
        invalidate_public(app, &[slug]).await;
    }
    app.events.release(emitted).await;
    Ok(())
}

// ---- the publish pipeline (called by workflow steps) --------------------

/// What readers should see of a post: a hash over every public field, so an
/// unchanged republish does nothing.
pub fn sync_hash(post: &PostRow, tag_ids: &[i64]) -> String {
    let mut tag_ids = tag_ids.to_vec();
    tag_ids.sort_unstable();
    let canonical = serde_json::json!({
        "title": post.title, "slug": post.slug, "summary": post.summary, "content": post.content,
        "category": post.category, "visibility": post.visibility.as_str(), "publishedAt": post.published_at,
        "pinnedAt": post.pinned_at, "tagIds": tag_ids,
    });
    // Posts hash as they did before pages existed (no republishing after
    // an upgrade); a page's hash differs from the same text as a post.
    let canonical = match post.kind {
        PostKind::Post => canonical,
        PostKind::Page => serde_json::json!({"post": canonical, "kind": "page"}),
    };
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Whether the public snapshot differs from the post (false: nothing to do).
pub async fn needs_publishing(app: &DbCtx, post_id: i64) -> Result<bool> {
    let Some((post, tag_ids)) = posts::editable_state(app, post_id).await? else { return Ok(false) };
    if post.status != PostStatus::Published {
        return Ok(false);
    }
    let current = data::public_state(&app.db, post_id).await?;
    Ok(current.is_none_or(|(_, hash)| hash != sync_hash(&post, &tag_ids)))
}

/// The summary readers get: the author's, else a generated one (stored on
/// the post, without counting as an edit). With `ai: false` the extractive
/// summary is used (the fallback after the AI endpoint kept failing).
pub async fn summary_for_publishing(app: &DbCtx, post_id: i64, ai: bool) -> Result<String> {
    let post = posts::row(app, post_id).await?.ok_or(PublishError::NotFound)?;
    if let Some(summary) = post.summary.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        return Ok(summary.to_owned());
    }
    let markdown = post.content.as_deref().unwrap_or_default();
    let summary = if ai { posts::generated_summary(app, markdown).await? } else { posts::extractive_summary(markdown).await? };
    posts::set_generated_summary(app, post_id, &summary).await?;
    Ok(summary)
}

/// Builds and stores the Public Content Snapshot with its events, then
/// invalidates what it changed and releases the events. Returns false when
/// the post is no longer published.
pub async fn build_public_snapshot(app: &DbCtx, post_id: i64, summary: &str) -> Result<bool> {
    let Some((mut post, tag_ids)) = posts::editable_state(app, post_id).await? else { return Ok(false) };
    if post.status != PostStatus::Published {
        return Ok(false);
    }
    let rendered = posts::render(post.content.as_deref()).await?;
    let toc_json = serde_json::to_string(&rendered.toc).map_err(anyhow::Error::from)?;
    let previous_slug = data::public_state(&app.db, post_id).await?.map(|(slug, _)| slug).filter(|old| *old != post.slug);
    if let Some(owner) = data::public_owner_of_slug(&app.db, &post.slug).await?
        && owner != post_id
    {
        return Err(PublishError::Internal(anyhow::anyhow!(
            "slug {} is still public on post {owner}; publish that post again (it has a new slug) first",
            post.slug
        )));
    }
    posts::set_read_time(app, post_id, rendered.read_time_minutes).await?;
    post.read_time_in_minutes = rendered.read_time_minutes;
    let now = app.clock.now_ms();
    let hash = sync_hash(&post, &tag_ids);
    let snapshot = PublicSnapshot {
        post_id,
        slug: &post.slug,
        title: &post.title,
        summary,
        category: post.category.as_deref(),
        visibility: post.visibility,
        kind: post.kind,
        read_time_in_minutes: rendered.read_time_minutes,
        published_at: post.published_at.unwrap_or(now),
        pinned_at: post.pinned_at,
        content_html: &rendered.html,
        toc_json: &toc_json,
        plain_text: &rendered.plain_text,
        sync_hash: &hash,
        tag_ids: &tag_ids,
        now,
    };
    let mut slugs = vec![post.slug.clone()];
    slugs.extend(previous_slug.clone());
    let mut tx = app.db.begin().await?;
    data::upsert_public(&mut tx, &snapshot).await?;
    let changed = PublicPostsChanged { post_ids: vec![post_id], slugs: slugs.clone() };
    let published = PostPublished { post_id, slug: post.slug.clone(), previous_slug, post: post.clone(), tag_ids: tag_ids.clone() };
    let emitted = emit_both(app, &mut tx, &published, &changed).await?;
    tx.commit().await?;
    invalidate_public(app, &slugs).await;
    app.events.release(emitted).await;
    Ok(true)
}

async fn emit_both<A: crate::platform::events::DomainEvent>(
    app: &DbCtx,
    tx: &mut crate::platform::db::Tx,
    first: &A,
    changed: &PublicPostsChanged,
) -> Result<Emitted> {
    let emitted = app.events.emit_in(tx, first).await?;
    Ok(emitted.join(app.events.emit_in(tx, changed).await?))
}

/// Takes a post off the public site.
pub async fn unpublish(app: &DbCtx, post_id: i64) -> Result<()> {
    let mut tx = app.db.begin().await?;
    let Some(slug) = data::delete_public(&mut tx, post_id).await? else { return Ok(()) };
    let changed = PublicPostsChanged { post_ids: vec![post_id], slugs: vec![slug.clone()] };
    let emitted = emit_both(app, &mut tx, &PostUnpublished { post_id, slug: slug.clone() }, &changed).await?;
    tx.commit().await?;
    invalidate_public(app, &[slug]).await;
    app.events.release(emitted).await;
    Ok(())
}

/// The scheduled moment arrived: readers may now see the post, so every
/// list (and its detail) must be computed afresh.
pub async fn refresh_scheduled(app: &DbCtx, post_id: i64) -> Result<()> {
    if let Some((slug, _)) = data::public_state(&app.db, post_id).await? {
        invalidate_public(app, std::slice::from_ref(&slug)).await;
        app.events.emit(&PublicPostsChanged { post_ids: vec![post_id], slugs: vec![slug] }).await?;
    }
    Ok(())
}

/// A tag on public posts was renamed or deleted: every cached list and
/// detail (which embed tag names) and the tag cloud are stale. Announces
/// the public posts that carried it once the caches are dropped.
pub async fn tag_changed(app: &DbCtx, tag_id: i64, carried_by: &[i64]) -> Result<()> {
    let mut affected: HashMap<i64, String> = data::public_posts_with_tag(&app.db, tag_id).await?.into_iter().collect();
    affected.extend(data::public_slugs(&app.db, carried_by).await?);
    invalidate_all_public(app).await;
    let mut post_ids: Vec<i64> = carried_by.to_vec();
    post_ids.extend(affected.keys());
    post_ids.sort_unstable();
    post_ids.dedup();
    let mut slugs: Vec<String> = affected.into_values().collect();
    slugs.sort_unstable();
    app.events.emit(&PublicPostsChanged { post_ids, slugs }).await?;
    Ok(())
}

/// Drops every cached public read at once (after seeding or importing many
/// posts), retried durably when the cache refuses.
pub async fn invalidate_all_public(app: &DbCtx) {
    let invalidation = Invalidation::default().delete(&public_tags_key()).bump(POSTS_LIST).bump(POSTS_DETAIL);
    invalidation::apply(app, invalidation).await;
}

/// Drops the cached details of `slugs`, every cached list and the tag cloud
/// (retried durably when the cache refuses).
async fn invalidate_public(app: &DbCtx, slugs: &[String]) {
    let mut invalidation = Invalidation::default();
    for slug in slugs {
        invalidation = invalidation.delete(&detail_key(slug));
    }
    invalidation::apply(app, invalidation.bump(POSTS_LIST).delete(&public_tags_key())).await;
}

#[cfg(test)]
mod tests {
    use super::detail_body;
    use crate::features::publishing::schema::{PublicPostDetail, PublicPostItem};
    use crate::features::tags::schema::TagRef;
    use crate::platform::clock::Timestamp;
    use crate::platform::content::TocEntry;

    #[test]
    fn the_detail_body_is_what_serde_json_writes() {
        let detail = PublicPostDetail {
            item: PublicPostItem {
                id: 7,
                slug: "quotes-\"and\"-slashes".into(),
                title: "Tabs\tand 中文".into(),
                summary: String::new(),
                category: None,
                read_time_in_minutes: 3,
                published_at: Timestamp(1_700_000_000_000),
                updated_at: Timestamp(1_700_000_100_000),
                pinned_at: Some(Timestamp(1_700_000_200_000)),
                kind: crate::features::posts::schema::PostKind::Post,
                tags: vec![TagRef { id: 1, name: "rust".into() }],
            },
            toc: vec![TocEntry { id: "intro".into(), text: "Intro \"quoted\"".into(), level: 2 }],
            content_html: "<h2 id=\"intro\">Intro</h2>\n<pre><code>let s = \"a\\tb\";\r\n</code></pre>\u{1}<p>café 🦀</p>".into(),
        };
        assert_eq!(String::from_utf8(detail_body(&detail).unwrap()).unwrap(), serde_json::to_string(&detail).unwrap());
    }
}
