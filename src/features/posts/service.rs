//! Editorial rules: slugs, edit conflicts, tags by name, summaries, and the
//! editorial writes the publish pipeline and revisions build on (status,
//! restore, delete, each inside the caller's transaction). Every edit emits
//! `PostEdited` in its own transaction. Nothing here touches what readers
//! see: that is `publishing`.

use crate::features::tags;
use crate::platform::clock::Millis;
use crate::platform::content;
use crate::platform::db::{Tx, is_unique_violation};
use crate::platform::events::Emitted;
use crate::platform::http::{AdminCtx, AppError};
use crate::platform::state::DbCtx;
use crate::platform::workflow::EngineError;

use super::data::{self, AdminFilter, PostChanges, UpdateOutcome};
use super::events::PostEdited;
use super::schema::{
    AdminListInput, AdminSortBy, AdminSortDir, Post, PostKind, PostRow, PostStatus, PostWithToc, RestoredPost, UpdatePostInput, slugify,
};

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("no such post")]
    NotFound,
    #[error("another post already uses this slug")]
    SlugTaken,
    #[error("a page cannot use the slug {0:?}: the site has an address of its own there")]
    SlugReserved(String),
    #[error("the post was changed by someone else since you loaded it; reload and apply your edits again")]
    EditConflict,
    #[error(transparent)]
    Content(#[from] content::ContentError),
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
        PostError::Internal(anyhow::Error::new(error).context("writing a post's event deliveries"))
    }
}

impl From<tags::service::TagError> for PostError {
    fn from(error: tags::service::TagError) -> Self {
        match error {
            tags::service::TagError::PostNotFound => PostError::NotFound,
            other => PostError::Internal(anyhow::Error::new(other).context("writing a post's tags")),
        }
    }
}

impl From<PostError> for AppError {
    fn from(error: PostError) -> Self {
        let message = error.to_string();
        match error {
            PostError::NotFound => AppError::not_found("POST_NOT_FOUND", message),
            PostError::SlugTaken => AppError::conflict("POST_SLUG_TAKEN", message),
            PostError::SlugReserved(_) => AppError::conflict("POST_SLUG_RESERVED", message),
            PostError::EditConflict => AppError::conflict("POST_EDIT_CONFLICT", message),
            PostError::Content(error) => error.into(),
            PostError::Internal(error) => AppError::Internal(error),
        }
    }
}

type Result<T> = std::result::Result<T, PostError>;

// ---- writing (admin) -----------------------------------------------------

/// A free slug for `title`: its slug form (`untitled` when empty), with
/// `-1`, `-2`, ... appended while taken by another post.
pub async fn generate_slug(app: &DbCtx, title: &str, exclude_id: Option<i64>) -> Result<String> {
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
pub async fn editable_state(app: &DbCtx, id: i64) -> Result<Option<(PostRow, Vec<i64>)>> {
    let Some(row) = data::find(&app.db, id).await? else { return Ok(None) };
    Ok(Some((row, tag_ids(app, id).await?)))
}

/// A post with its tags, as admins see it.
pub async fn post(app: &DbCtx, id: i64) -> Result<Post> {
    let row = data::find(&app.db, id).await?.ok_or(PostError::NotFound)?;
    with_tags(app, row).await
}

async fn with_tags(app: &DbCtx, row: PostRow) -> Result<Post> {
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
        kind: d.kind,
    };
    // Missing tags are created first: a tag that outlives a failed edit is
    // harmless, and the edit itself stays one transaction.
    let tag_ids = match &d.tags {
        Some(names) => {
            let mut ids = Vec::with_capacity(names.len());
            for name in names {
                ids.push(tags::service::ensure_tag(&ctx.app, name.trim()).await?);
            }
            ids.sort_unstable();
            ids.dedup();
            Some(ids)
        }
        None => None,
    };
    let expected = input.expected_updated_at.map(|t| t.millis());
    let app = &ctx.app;
    let mut tx = app.db.begin().await?;
    let row = match data::update(&mut tx, input.id, &changes, expected, app.clock.now_ms()).await {
        Ok(UpdateOutcome::Updated(row)) => row,
        Ok(UpdateOutcome::Missing) => return Err(PostError::NotFound),
        Ok(UpdateOutcome::Stale) => return Err(PostError::EditConflict),
        Err(error) if is_unique_violation(&error) => return Err(PostError::SlugTaken),
        Err(error) => return Err(error.into()),
    };
    // A page lives at `/{slug}`: it may not take an address the site uses
    // (the transaction is dropped, so nothing of the edit is kept).
    if row.kind == PostKind::Page && crate::platform::web::is_reserved_path(&row.slug) {
        return Err(PostError::SlugReserved(row.slug));
    }
    if let Some(ids) = &tag_ids {
        tags::service::replace_post_tags_in(&mut tx, row.id, ids).await?;
    }
    let emitted = app.events.emit_in(&mut tx, &PostEdited { post_id: row.id }).await?;
    tx.commit().await?;
    app.events.release(emitted).await;
    with_tags(app, row).await
}

/// `untitled` or `untitled-N`: the slugs [`create_empty`] gives.
fn is_untitled_slug(slug: &str) -> bool {
    slug == "untitled" || slug.strip_prefix("untitled-").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

pub async fn admin_list(ctx: &AdminCtx, input: &AdminListInput) -> Result<Vec<Post>> {
    let pattern = admin_pattern(input.search.as_deref());
    let filter = admin_filter(ctx, input, pattern.as_deref());
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
    Ok(data::count_admin(&ctx.app.db, &admin_filter(ctx, input, pattern.as_deref())).await?)
}

fn admin_pattern(search: Option<&str>) -> Option<String> {
    let term = search.map(str::trim).filter(|s| !s.is_empty())?;
    Some(crate::platform::db::like_substring(term))
}

fn admin_filter<'a>(ctx: &AdminCtx, input: &'a AdminListInput, pattern: Option<&'a str>) -> AdminFilter<'a> {
    let given = |value: &'a Option<String>| value.as_deref().map(str::trim).filter(|v| !v.is_empty());
    AdminFilter {
        status: input.status,
        public_only: input.public_only.unwrap_or(false),
        now: ctx.app.clock.now_ms(),
        title_pattern: pattern,
        category: given(&input.category),
        tag: given(&input.tag),
    }
}

pub async fn find_by_slug_admin(ctx: &AdminCtx, slug: &str) -> Result<PostWithToc> {
    let row = data::find_by_slug(&ctx.app.db, slug).await?.ok_or(PostError::NotFound)?;
    let toc = render(row.content.as_deref()).await?.toc;
    Ok(PostWithToc { post: with_tags(&ctx.app, row).await?, toc })
}

/// Summaries shorter texts do not need: they are shown whole.
const SUMMARISE_FROM_CHARS: usize = 100;

/// The first sentences of the content, up to 200 characters.
pub async fn extractive_summary(markdown: &str) -> Result<String> {
    Ok(content::extractive_summary(&render(Some(markdown)).await?.plain_text, 200))
}

/// A summary of the content: the AI endpoint's when configured and the text
/// is long enough to need one (its errors are returned for the caller to
/// retry or fall back), else the extractive one.
pub async fn generated_summary(app: &DbCtx, markdown: &str) -> Result<String> {
    let text = render(Some(markdown)).await?.plain_text;
    match &app.ai {
        Some(ai) if text.chars().count() >= SUMMARISE_FROM_CHARS => Ok(ai.summarize(&text).await?),
        _ => Ok(content::extractive_summary(&text, 200)),
    }
}

/// What publishing would generate; an AI failure falls back to the extractive summary.
pub async fn preview_summary(app: &DbCtx, markdown: &str) -> Result<String> {
    match generated_summary(app, markdown).await {
        Ok(summary) => Ok(summary),
        Err(error @ PostError::Content(_)) => Err(error),
        Err(error) => {
            tracing::warn!(%error, "AI summary failed; previewing the extractive one");
            extractive_summary(markdown).await
        }
    }
}

/// The editable row of a post.
pub async fn row(app: &DbCtx, id: i64) -> Result<Option<PostRow>> {
    Ok(data::find(&app.db, id).await?)
}

/// A post's editable tag ids, sorted.
pub async fn tag_ids(app: &DbCtx, post_id: i64) -> Result<Vec<i64>> {
    let mut ids: Vec<i64> =
        tags::service::tags_of(app, &[post_id]).await?.remove(&post_id).unwrap_or_default().iter().map(|t| t.id).collect();
    ids.sort_unstable();
    Ok(ids)
}

/// Replaces a post's tags (like any edit, readers see it after the next publish).
pub async fn set_tags(ctx: &AdminCtx, post_id: i64, tag_ids: &[i64]) -> Result<Vec<tags::schema::Tag>> {
    let app = &ctx.app;
    let mut ids = tag_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut tx = app.db.begin().await?;
    if !data::touch(&mut tx, post_id, app.clock.now_ms()).await? {
        return Err(PostError::NotFound);
    }
    tags::service::replace_post_tags_in(&mut tx, post_id, &ids).await?;
    let emitted = app.events.emit_in(&mut tx, &PostEdited { post_id }).await?;
    tx.commit().await?;
    app.events.release(emitted).await;
    Ok(tags::service::tags_of_post(app, post_id).await?)
}

/// Sets a post's status and `publishedAt` in the publishing transaction.
pub async fn set_status_in(tx: &mut Tx, id: i64, status: PostStatus, published_at: Option<Millis>, now: Millis) -> Result<PostRow> {
    data::set_status_tx(tx, id, status, published_at, now).await?.ok_or(PostError::NotFound)
}

/// Deletes a post in the caller's transaction (publishing's `deletePost`
/// wraps it, since a published post leaves the public site with it).
pub async fn delete_in(tx: &mut Tx, id: i64) -> Result<()> {
    if data::delete(tx, id).await? { Ok(()) } else { Err(PostError::NotFound) }
}

/// Puts a revision's state back in the caller's transaction (revisions
/// writes its backup revision in the same one) and emits `PostEdited`;
/// release the returned deliveries after the commit.
pub async fn restore_in(app: &DbCtx, tx: &mut Tx, id: i64, fields: &RestoredPost<'_>, tag_ids: &[i64]) -> Result<Emitted> {
    match data::restore(tx, id, fields, app.clock.now_ms()).await {
        Ok(true) => {}
        Ok(false) => return Err(PostError::NotFound),
        Err(error) if is_unique_violation(&error) => return Err(PostError::SlugTaken),
        Err(error) => return Err(error.into()),
    }
    tags::service::replace_post_tags_in(tx, id, tag_ids).await?;
    Ok(app.events.emit_in(tx, &PostEdited { post_id: id }).await?)
}

/// Stores the summary the pipeline generated, without counting as an edit.
pub async fn set_generated_summary(app: &DbCtx, id: i64, summary: &str) -> Result<()> {
    Ok(data::set_generated_summary(&app.db, id, summary).await?)
}

/// Stores the reading time computed from the content (the pipeline's write).
pub async fn set_read_time(app: &DbCtx, id: i64, minutes: i32) -> Result<()> {
    Ok(data::set_read_time(&app.db, id, minutes).await?)
}

/// Renders stored or submitted Markdown on a render thread, within the
/// nesting bounds and the render deadline.
pub async fn render(markdown: Option<&str>) -> Result<content::Rendered> {
    Ok(content::render_bounded(markdown.unwrap_or_default().into()).await?)
}

/// A post written whole, not through the editor (seeding, imports).
pub struct NewPost<'a> {
    pub title: &'a str,
    pub content: &'a str,
    pub status: PostStatus,
    pub published_at: Option<Millis>,
    pub tag_ids: &'a [i64],
}

/// Writes a post whole with a free slug from its title; returns its id.
pub async fn insert(app: &DbCtx, new: &NewPost<'_>) -> Result<i64> {
    let slug = generate_slug(app, new.title, None).await?;
    let now = app.clock.now_ms();
    let id = data::insert_empty(&app.db, &slug, now).await?;
    let changes = PostChanges {
        title: Some(new.title),
        content: Some(Some(new.content)),
        status: Some(new.status),
        published_at: Some(new.published_at),
        ..Default::default()
    };
    let mut tx = app.db.begin().await?;
    if let UpdateOutcome::Missing | UpdateOutcome::Stale = data::update(&mut tx, id, &changes, None, now).await? {
        return Err(PostError::NotFound);
    }
    tags::service::replace_post_tags_in(&mut tx, id, new.tag_ids).await?;
    tx.commit().await?;
    Ok(id)
}
