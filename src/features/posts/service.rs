//! Post rules: slugs, edit conflicts, what readers see and when, and which
//! caches each change invalidates (spec §5.5, plus freeing a renamed post's
//! old slug). The only posts layer that touches the cache.

use std::collections::HashMap;

use anyhow::Context;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::features::revisions;
use crate::features::revisions::schema::RevisionReason;
use crate::features::search;
use crate::features::tags;
use crate::features::tags::schema::{TagRef, public_tags_key};
use crate::platform::cache::CachedBody;
use crate::platform::clock::Millis;
use crate::platform::content;
use crate::platform::db::is_unique_violation;
use crate::platform::http::{AdminCtx, AppError, DbCtx};
use crate::platform::invalidation::{self, Invalidation};
use crate::platform::json_string;
use crate::platform::state::AppState;
use crate::platform::workflow::{CreateOptions, EngineError};

use super::data::{self, AdminFilter, PostChanges, PublicPage, PublicSnapshot, UpdateOutcome};
use super::schema::{
    AdminListInput, AdminSortBy, AdminSortDir, ListQuery, POSTS_LIST, Post, PostListResponse, PostRow, PostStatus, PostWithSync,
    PostWithToc, PublicDetailRow, PublicPostDetail, PublicPostItem, PublicPostRow, PublishOutput, UpdatePostInput, detail_key, list_key,
    pinned_key, popular_key, related_key, slugify,
};
use super::workflows::{PostProcess, PostProcessParams, ScheduledPublish, ScheduledPublishParams};

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("no such post")]
    NotFound,
    #[error("another post already uses this slug")]
    SlugTaken,
    #[error("the post was changed by someone else since you loaded it; reload and apply your edits again")]
    EditConflict,
    #[error(transparent)]
    Content(#[from] content::ContentError),
    #[error("a post needs a title to be published")]
    Untitled,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for PostError {
    fn from(error: sqlx::Error) -> Self {
        PostError::Internal(anyhow::Error::new(error).context("posts database error"))
    }
}

impl From<EngineError> for PostError {
    fn from(error: EngineError) -> Self {
        PostError::Internal(anyhow::Error::new(error).context("starting a post workflow"))
    }
}

impl From<tags::service::TagError> for PostError {
    fn from(error: tags::service::TagError) -> Self {
        PostError::Internal(anyhow::Error::new(error).context("reading post tags"))
    }
}

impl From<PostError> for AppError {
    fn from(error: PostError) -> Self {
        let message = error.to_string();
        match error {
            PostError::NotFound => AppError::not_found("POST_NOT_FOUND", message),
            PostError::SlugTaken => AppError::conflict("POST_SLUG_TAKEN", message),
            PostError::EditConflict => AppError::conflict("POST_EDIT_CONFLICT", message),
            PostError::Untitled => {
                AppError::validation_with_code("POST_UNTITLED", message.clone(), [("title".to_owned(), vec![message])].into())
            }
            PostError::Content(content::ContentError::TooDeep { .. } | content::ContentError::TimedOut) => {
                AppError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "CONTENT_TOO_COMPLEX", message)
            }
            PostError::Content(error @ content::ContentError::Failed(_)) => AppError::Internal(anyhow::Error::new(error)),
            PostError::Internal(error) => AppError::Internal(error),
        }
    }
}

type Result<T> = std::result::Result<T, PostError>;

/// JSON bytes with a weak ETag of their hash, ready to send and to cache.
fn ready_body<T: Serialize>(value: &T) -> Result<CachedBody> {
    Ok(CachedBody::json(value).map_err(anyhow::Error::from)?)
}

// ---- reading (public) ----------------------------------------------------

/// A page of listed posts, newest first (cached as bytes).
pub async fn list(ctx: &DbCtx, query: &ListQuery) -> Result<CachedBody> {
    ctx.cache.get_or_load(&list_key(query), || async { load_page(&ctx.0, query).await.and_then(|p| ready_body(&p)) }).await
}

async fn load_page(app: &AppState, query: &ListQuery) -> Result<PostListResponse> {
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

async fn with_public_tags(app: &AppState, rows: Vec<PublicPostRow>) -> Result<Vec<PublicPostItem>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut tags = tags::service::public_tags_of(app, &ids).await?;
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
            Ok::<_, PostError>(Some(CachedBody::tagged(detail_body(&detail).map_err(anyhow::Error::from)?)))
        })
        .await?;
    body.ok_or(PostError::NotFound)
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
            Ok::<_, PostError>(data::related_ids(&ctx.db, slug, now, i64::from(limit)).await?)
        })
        .await?;
    let mut by_id: HashMap<i64, PublicPostRow> = data::public_by_ids(&ctx.db, &ids, now).await?.into_iter().map(|r| (r.id, r)).collect();
    let ordered: Vec<_> = ids.iter().filter_map(|id| by_id.remove(id)).collect();
    with_public_tags(&ctx.0, ordered).await
}

pub async fn pinned(ctx: &DbCtx) -> Result<Vec<PublicPostItem>> {
    ctx.cache
        .get_or_load(&pinned_key(), || async {
            let rows = data::pinned_public(&ctx.db, ctx.clock.now_ms()).await?;
            with_public_tags(&ctx.0, rows).await
        })
        .await
}

/// The most read posts; until page views exist, the most recent ones.
pub async fn popular(ctx: &DbCtx, limit: u32) -> Result<Vec<PublicPostItem>> {
    ctx.cache
        .get_or_load(&popular_key(limit), || async {
            let query = ListQuery { cursor: None, limit, tag_name: None, category: None, exclude_pinned: false };
            load_page(&ctx.0, &query).await.map(|page| page.items)
        })
        .await
}

/// The newest listed posts with their HTML, for feeds (not cached here:
/// the feeds cache their finished documents).
pub async fn newest_for_feeds(app: &AppState, limit: u32) -> Result<Vec<PublicPostDetail>> {
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
pub async fn listed_slugs(app: &AppState, offset: u64, limit: u64) -> Result<Vec<(String, Millis)>> {
    Ok(data::listed_slugs(&app.db, app.clock.now_ms(), offset as i64, limit as i64).await?)
}

pub async fn count_listed(app: &AppState) -> Result<u64> {
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
pub async fn search_documents(app: &AppState, ids: &[i64]) -> Result<HashMap<i64, SearchDocument>> {
    let rows = data::public_documents(&app.db, ids).await?;
    let mut tags = tags::service::public_tags_of(app, ids).await?;
    Ok(rows
        .into_iter()
        .map(|(id, slug, title, summary, category, plain_text)| {
            let tag_names = tags.remove(&id).unwrap_or_default().into_iter().map(|t| t.name).collect();
            (id, SearchDocument { slug, title, summary, category, plain_text, tags: tag_names })
        })
        .collect())
}

// ---- writing (admin) -----------------------------------------------------

/// A free slug for `title`: its slug form (`untitled` when empty), with
/// `-1`, `-2`, ... appended while taken by another post.
pub async fn generate_slug(app: &AppState, title: &str, exclude_id: Option<i64>) -> Result<String> {
    let base = match slugify(title) {
        s if s.is_empty() => "untitled".to_owned(),
        s => s,
    };
    let taken = data::slugs_like(&app.db, &base, exclude_id).await?;
    if !taken.contains(&base) {
        return Ok(base);
    }
    let prefix = format!("{base}-");
    let highest = taken.iter().filter_map(|s| s.strip_prefix(&prefix)?.parse::<u64>().ok()).max().unwrap_or(0);
    Ok(format!("{base}-{}", highest + 1))
}

pub async fn create_empty(ctx: &AdminCtx) -> Result<i64> {
    for _ in 0..5 {
        let slug = generate_slug(&ctx.app, "", None).await?;
        match data::insert_empty(&ctx.app.db, &slug, ctx.app.clock.now_ms()).await {
            Ok(id) => return Ok(id),
            // Another admin took the same `untitled-N` a moment ago.
            Err(error) if is_unique_violation(&error) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(PostError::SlugTaken)
}

/// A post's editable row and tag ids (for revisions).
pub async fn editable_state(app: &AppState, id: i64) -> Result<Option<(PostRow, Vec<i64>)>> {
    let Some(row) = data::find(&app.db, id).await? else { return Ok(None) };
    let tag_ids = editable_tag_ids(app, id).await?;
    Ok(Some((row, tag_ids)))
}

/// A post with its tags, as admins see it.
pub async fn post(app: &AppState, id: i64) -> Result<Post> {
    let row = data::find(&app.db, id).await?.ok_or(PostError::NotFound)?;
    with_tags(app, row).await
}

async fn with_tags(app: &AppState, row: PostRow) -> Result<Post> {
    let tags = tags::service::tags_of(app, &[row.id]).await?.remove(&row.id).unwrap_or_default();
    Ok(Post::from_row(row, tags))
}

/// Saves an edit. Readers see none of it until the post is published again.
pub async fn update(ctx: &AdminCtx, input: &UpdatePostInput) -> Result<Post> {
    let d = &input.data;
    // Content that could never be rendered is refused before it is stored.
    if let Some(Some(markdown)) = &d.content {
        content::check_bounded(markdown.as_str().into()).await?;
    }
    // An untitled post takes its slug from its first title, unless its slug
    // was set by hand (it no longer reads `untitled` or `untitled-N`).
    let mut derived_slug = None;
    if let Some(title) = d.title.as_deref().map(str::trim).filter(|t| !t.is_empty())
        && d.slug.is_none()
        && let Some(current) = data::find(&ctx.app.db, input.id).await?
        && current.title.trim().is_empty()
        && is_untitled_slug(&current.slug)
        && !slugify(title).is_empty()
    {
        derived_slug = Some(generate_slug(&ctx.app, title, Some(input.id)).await?);
    }
    let changes = PostChanges {
        title: d.title.as_deref().map(str::trim),
        slug: d.slug.as_deref().or(derived_slug.as_deref()),
        summary: d.summary.as_ref().map(|s| s.as_deref().map(str::trim)),
        content: d.content.as_ref().map(Option::as_deref),
        category: d.category.as_ref().map(|c| c.as_deref().map(str::trim)),
        visibility: d.visibility,
        status: d.status,
        published_at: d.published_at.map(|t| t.map(|t| t.millis())),
        pinned_at: d.pinned_at.map(|t| t.map(|t| t.millis())),
    };
    let expected = input.expected_updated_at.map(|t| t.millis());
    let row = match data::update(&ctx.app.db, input.id, &changes, expected, ctx.app.clock.now_ms()).await {
        Ok(UpdateOutcome::Updated(row)) => row,
        Ok(UpdateOutcome::Missing) => return Err(PostError::NotFound),
        Ok(UpdateOutcome::Stale) => return Err(PostError::EditConflict),
        Err(error) if is_unique_violation(&error) => return Err(PostError::SlugTaken),
        Err(error) => return Err(error.into()),
    };
    if let Some(names) = &d.tags {
        let mut ids = Vec::with_capacity(names.len());
        for name in names {
            ids.push(tags::service::ensure_tag(&ctx.app, name.trim()).await?);
        }
        ids.sort_unstable();
        ids.dedup();
        tags::service::replace_post_tags(&ctx.app, row.id, &ids).await?;
    }
    revisions::service::schedule_auto_snapshot(&ctx.app, row.id).await?;
    with_tags(&ctx.app, row).await
}

/// `untitled` or `untitled-N`: the slugs [`create_empty`] gives.
fn is_untitled_slug(slug: &str) -> bool {
    slug == "untitled" || slug.strip_prefix("untitled-").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Deletes a post; a published one leaves the public site at once.
pub async fn delete(ctx: &AdminCtx, id: i64) -> Result<()> {
    let public = data::public_state(&ctx.app.db, id).await?;
    data::delete(&ctx.app.db, id).await?.ok_or(PostError::NotFound)?;
    if let Some((slug, _)) = public {
        invalidate_public(&ctx.app, &[slug]).await;
        search::service::unindex(&ctx.app, id).await?;
    }
    Ok(())
}

pub async fn admin_list(ctx: &AdminCtx, input: &AdminListInput) -> Result<Vec<Post>> {
    let pattern = admin_pattern(input.search.as_deref());
    let filter = admin_filter(ctx, input.status, input.public_only, pattern.as_deref());
    let order = match (input.sort_by, input.sort_dir.unwrap_or(AdminSortDir::Desc)) {
        (Some(AdminSortBy::PublishedAt), AdminSortDir::Asc) => "p.published_at ASC, p.id ASC",
        (Some(AdminSortBy::PublishedAt), AdminSortDir::Desc) => "p.published_at DESC, p.id DESC",
        (_, AdminSortDir::Asc) => "p.updated_at ASC, p.id ASC",
        (_, AdminSortDir::Desc) => "p.updated_at DESC, p.id DESC",
    };
    let limit = i64::from(input.limit.unwrap_or(10));
    let rows = data::list_admin(&ctx.app.db, &filter, order, limit, i64::from(input.offset.unwrap_or(0))).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut tags = tags::service::tags_of(&ctx.app, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|mut row| {
            row.content = None;
            let t = tags.remove(&row.id).unwrap_or_default();
            Post::from_row(row, t)
        })
        .collect())
}

pub async fn admin_count(ctx: &AdminCtx, input: &AdminListInput) -> Result<i64> {
    let pattern = admin_pattern(input.search.as_deref());
    Ok(data::count_admin(&ctx.app.db, &admin_filter(ctx, input.status, input.public_only, pattern.as_deref())).await?)
}

fn admin_pattern(search: Option<&str>) -> Option<String> {
    let term = search.map(str::trim).filter(|s| !s.is_empty())?;
    let escaped: String =
        term.to_lowercase().chars().flat_map(|c| if matches!(c, '%' | '_' | '\\') { vec!['\\', c] } else { vec![c] }).collect();
    Some(format!("%{escaped}%"))
}

fn admin_filter<'a>(ctx: &AdminCtx, status: Option<PostStatus>, public_only: Option<bool>, pattern: Option<&'a str>) -> AdminFilter<'a> {
    AdminFilter { status, public_only: public_only.unwrap_or(false), now: ctx.app.clock.now_ms(), title_pattern: pattern }
}

pub async fn find_by_id(ctx: &AdminCtx, id: i64) -> Result<PostWithSync> {
    let row = data::find(&ctx.app.db, id).await?.ok_or(PostError::NotFound)?;
    let tag_ids: Vec<i64> = tags::service::tags_of(&ctx.app, &[id]).await?.remove(&id).unwrap_or_default().iter().map(|t| t.id).collect();
    let public = data::public_state(&ctx.app.db, id).await?;
    let is_synced = match (&public, row.status) {
        (None, PostStatus::Draft) => true,
        (Some((_, hash)), PostStatus::Published) => *hash == sync_hash(&row, &tag_ids),
        _ => false,
    };
    let post = with_tags(&ctx.app, row).await?;
    Ok(PostWithSync { post, is_synced, has_public_cache: public.is_some() })
}

pub async fn find_by_slug_admin(ctx: &AdminCtx, slug: &str) -> Result<PostWithToc> {
    let row = data::find_by_slug(&ctx.app.db, slug).await?.ok_or(PostError::NotFound)?;
    let toc = render(row.content.as_deref()).await?.toc;
    Ok(PostWithToc { post: with_tags(&ctx.app, row).await?, toc })
}

/// Summaries shorter texts do not need: they are shown whole.
const SUMMARISE_FROM_CHARS: usize = 100;

/// Renders stored or submitted Markdown on a render thread, within the
/// nesting bounds and the render deadline.
async fn render(markdown: Option<&str>) -> Result<content::Rendered> {
    Ok(content::render_bounded(markdown.unwrap_or_default().into()).await?)
}

/// The first sentences of the content, up to 200 characters.
pub async fn extractive_summary(markdown: &str) -> Result<String> {
    Ok(content::extractive_summary(&render(Some(markdown)).await?.plain_text, 200))
}

/// A summary of the content: the AI endpoint's when configured and the text
/// is long enough to need one (its errors are returned for the caller to
/// retry or fall back), else the extractive one.
pub async fn generated_summary(app: &AppState, markdown: &str) -> Result<String> {
    let text = render(Some(markdown)).await?.plain_text;
    match &app.ai {
        Some(ai) if text.chars().count() >= SUMMARISE_FROM_CHARS => Ok(ai.summarize(&text).await?),
        _ => Ok(content::extractive_summary(&text, 200)),
    }
}

/// What publishing would generate; an AI failure falls back to the extractive summary.
pub async fn preview_summary(app: &AppState, markdown: &str) -> Result<String> {
    match generated_summary(app, markdown).await {
        Ok(summary) => Ok(summary),
        Err(error @ PostError::Content(_)) => Err(error),
        Err(error) => {
            tracing::warn!(%error, "AI summary failed; previewing the extractive one");
            extractive_summary(markdown).await
        }
    }
}

/// Publishes or unpublishes a post through the pipeline: sets the status
/// (and `publishedAt` on first publish), starts `post-process`, and for a
/// post dated in the future (re)creates `scheduled-publish`, which wakes at
/// exactly `publishedAt` to refresh the caches.
pub async fn start_publish(ctx: &AdminCtx, id: i64, status: PostStatus) -> Result<PublishOutput> {
    let app = &ctx.app;
    let now = app.clock.now_ms();
    let post = data::find(&app.db, id).await?.ok_or(PostError::NotFound)?;
    let tag_ids = editable_tag_ids(app, id).await?;
    let publish = status == PostStatus::Published;
    if publish && post.title.trim().is_empty() {
        return Err(PostError::Untitled);
    }
    let published_at = if publish { Some(post.published_at.unwrap_or(now)) } else { post.published_at };
    // The status, the publish revision and the runs are one transaction: a
    // crash between them once left posts "published" that no run would
    // ever make public.
    let mut tx = app.db.begin().await?;
    let post = data::set_status_tx(&mut tx, id, status, published_at, now).await?.ok_or(PostError::NotFound)?;
    if publish {
        // The revision records exactly the state being published.
        revisions::service::take_in(&mut tx, &post, &tag_ids, RevisionReason::Publish, now)
            .await
            .map_err(|e| PostError::Internal(anyhow::Error::new(e)))?;
    }
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
    Ok(PublishOutput { run_id: run.id, scheduled_run_id, published_at: published_at.map(crate::platform::clock::Timestamp) })
}

pub fn scheduled_key(post_id: i64) -> String {
    format!("post-{post_id}-scheduled")
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
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Whether the public snapshot differs from the post (false: nothing to do).
pub async fn needs_publishing(app: &AppState, post_id: i64) -> Result<bool> {
    let Some(post) = data::find(&app.db, post_id).await? else { return Ok(false) };
    if post.status != PostStatus::Published {
        return Ok(false);
    }
    let tag_ids = editable_tag_ids(app, post_id).await?;
    let current = data::public_state(&app.db, post_id).await?;
    Ok(current.is_none_or(|(_, hash)| hash != sync_hash(&post, &tag_ids)))
}

async fn editable_tag_ids(app: &AppState, post_id: i64) -> Result<Vec<i64>> {
    Ok(tags::service::tags_of(app, &[post_id]).await?.remove(&post_id).unwrap_or_default().iter().map(|t| t.id).collect())
}

/// The summary readers get: the author's, else a generated one (stored on
/// the post, without counting as an edit). With `ai: false` the extractive
/// summary is used (the fallback after the AI endpoint kept failing).
pub async fn summary_for_publishing(app: &AppState, post_id: i64, ai: bool) -> Result<String> {
    let post = data::find(&app.db, post_id).await?.ok_or(PostError::NotFound)?;
    if let Some(summary) = post.summary.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        return Ok(summary.to_owned());
    }
    let markdown = post.content.as_deref().unwrap_or_default();
    let summary = if ai { generated_summary(app, markdown).await? } else { extractive_summary(markdown).await? };
    data::set_generated_summary(&app.db, post_id, &summary).await?;
    Ok(summary)
}

/// Builds and stores the Public Content Snapshot, then invalidates what it
/// changed. Returns false when the post is no longer published.
pub async fn build_public_snapshot(app: &AppState, post_id: i64, summary: &str) -> Result<bool> {
    let Some(post) = data::find(&app.db, post_id).await? else { return Ok(false) };
    if post.status != PostStatus::Published {
        return Ok(false);
    }
    let tag_ids = editable_tag_ids(app, post_id).await?;
    let rendered = render(post.content.as_deref()).await?;
    let toc_json = serde_json::to_string(&rendered.toc).map_err(anyhow::Error::from)?;
    let previous_slug = data::public_state(&app.db, post_id).await?.map(|(slug, _)| slug);
    if let Some(owner) = data::public_owner_of_slug(&app.db, &post.slug).await?
        && owner != post_id
    {
        return Err(PostError::Internal(anyhow::anyhow!(
            "slug {} is still public on post {owner}; publish that post again (it has a new slug) first",
            post.slug
        )));
    }
    data::set_read_time(&app.db, post_id, rendered.read_time_minutes).await?;
    let now = app.clock.now_ms();
    let snapshot = PublicSnapshot {
        post_id,
        slug: &post.slug,
        title: &post.title,
        summary,
        category: post.category.as_deref(),
        visibility: post.visibility,
        read_time_in_minutes: rendered.read_time_minutes,
        published_at: post.published_at.unwrap_or(now),
        pinned_at: post.pinned_at,
        content_html: &rendered.html,
        toc_json: &toc_json,
        plain_text: &rendered.plain_text,
        sync_hash: &sync_hash(&post, &tag_ids),
        tag_ids: &tag_ids,
        now,
    };
    data::upsert_public(&app.db, &snapshot).await?;
    search::service::index_post(app, post_id).await?;
    let mut slugs = vec![post.slug.clone()];
    slugs.extend(previous_slug.filter(|old| *old != post.slug));
    invalidate_public(app, &slugs).await;
    Ok(true)
}

/// Takes a post off the public site.
pub async fn unpublish(app: &AppState, post_id: i64) -> Result<()> {
    if let Some(slug) = data::delete_public(&app.db, post_id).await? {
        invalidate_public(app, &[slug]).await;
    }
    search::service::unindex(app, post_id).await
}

/// The scheduled moment arrived: readers may now see the post, so every
/// list (and its detail) must be computed afresh.
pub async fn refresh_scheduled(app: &AppState, post_id: i64) -> Result<()> {
    if let Some((slug, _)) = data::public_state(&app.db, post_id).await? {
        invalidate_public(app, &[slug]).await;
        search::service::invalidate(app).await;
    }
    Ok(())
}

/// Drops the cached details of `slugs`, every cached list and the tag cloud
/// (retried durably when the cache refuses).
async fn invalidate_public(app: &AppState, slugs: &[String]) {
    let mut invalidation = Invalidation::default();
    for slug in slugs {
        invalidation = invalidation.delete(&detail_key(slug));
    }
    invalidation::apply(app, invalidation.bump(POSTS_LIST).delete(&public_tags_key())).await;
}

#[cfg(test)]
mod tests {
    use super::detail_body;
    use crate::features::posts::schema::{PublicPostDetail, PublicPostItem};
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
                tags: vec![TagRef { id: 1, name: "rust".into() }],
            },
            toc: vec![TocEntry { id: "intro".into(), text: "Intro \"quoted\"".into(), level: 2 }],
            content_html: "<h2 id=\"intro\">Intro</h2>\n<pre><code>let s = \"a\\tb\";\r\n</code></pre>\u{1}<p>café 🦀</p>".into(),
        };
        assert_eq!(String::from_utf8(detail_body(&detail).unwrap()).unwrap(), serde_json::to_string(&detail).unwrap());
    }
}
