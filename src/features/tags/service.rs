//! Tag rules: unique names, what readers see (cached), and which caches a
//! tag change invalidates.

use std::collections::HashMap;

use crate::features::posts::schema::{POSTS_DETAIL, POSTS_LIST};
use crate::platform::cache::CachedBody;
use crate::platform::db::is_unique_violation;
use crate::platform::http::{AdminCtx, AppError, DbCtx};
use crate::platform::invalidation::{self, Invalidation};
use crate::platform::state::AppState;

use super::data;
use super::schema::{CreateTagInput, SetPostTagsInput, Tag, TagRef, TagWithCount, TagsAdminInput, UpdateTagInput, public_tags_key};

#[derive(Debug, thiserror::Error)]
pub enum TagError {
    #[error("a tag with this name already exists")]
    NameTaken,
    #[error("no such tag")]
    NotFound,
    #[error("no such post")]
    PostNotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for TagError {
    fn from(error: sqlx::Error) -> Self {
        TagError::Internal(anyhow::Error::new(error).context("tags database error"))
    }
}

impl From<TagError> for AppError {
    fn from(error: TagError) -> Self {
        let message = error.to_string();
        match error {
            TagError::NameTaken => AppError::conflict("TAG_NAME_ALREADY_EXISTS", message),
            TagError::NotFound => AppError::not_found("TAG_NOT_FOUND", message),
            TagError::PostNotFound => AppError::not_found("POST_NOT_FOUND", message),
            TagError::Internal(error) => AppError::Internal(error),
        }
    }
}

type Result<T> = std::result::Result<T, TagError>;

/// Tags of visible public posts with their counts, most used first, as the
/// JSON body of a `Vec<TagWithCount>` (cached 7 days).
pub async fn public_tags(ctx: &DbCtx) -> Result<CachedBody> {
    let now = ctx.clock.now_ms();
    ctx.cache
        .get_or_load(&public_tags_key(), || async {
            let tags = data::list_public(&ctx.db, now).await?;
            Ok(CachedBody::json(&tags).map_err(anyhow::Error::from)?)
        })
        .await
}

pub async fn tags_admin(ctx: &AdminCtx, input: &TagsAdminInput) -> Result<Vec<TagWithCount>> {
    let app = &ctx.app;
    let sort = input.sort_by.unwrap_or_default();
    Ok(data::list_with_counts(&app.db, input.public_only.unwrap_or(false), app.clock.now_ms(), sort, input.sort_dir.unwrap_or_default())
        .await?)
}

pub async fn create(ctx: &AdminCtx, input: &CreateTagInput) -> Result<Tag> {
    match data::insert(&ctx.app.db, input.name.trim(), ctx.app.clock.now_ms()).await {
        Ok(tag) => Ok(tag),
        Err(error) if is_unique_violation(&error) => Err(TagError::NameTaken),
        Err(error) => Err(error.into()),
    }
}

/// Renames a tag; the public site shows the new name at once.
pub async fn update(ctx: &AdminCtx, input: &UpdateTagInput) -> Result<Tag> {
    let Some(name) = input.data.name.as_deref().map(str::trim) else {
        return data::find(&ctx.app.db, input.id).await?.ok_or(TagError::NotFound);
    };
    let tag = match data::rename(&ctx.app.db, input.id, name).await {
        Ok(Some(tag)) => tag,
        Ok(None) => return Err(TagError::NotFound),
        Err(error) if is_unique_violation(&error) => return Err(TagError::NameTaken),
        Err(error) => return Err(error.into()),
    };
    invalidate_public(&ctx.app).await;
    crate::features::search::service::reindex_tag(&ctx.app, tag.id).await.map_err(|e| TagError::Internal(anyhow::Error::new(e)))?;
    Ok(tag)
}

/// Deletes a tag and its links; the public site drops it at once.
pub async fn delete(ctx: &AdminCtx, id: i64) -> Result<()> {
    let affected = crate::features::search::data::public_posts_with_tag(&ctx.app.db, id).await?;
    if !data::delete(&ctx.app.db, id).await? {
        return Err(TagError::NotFound);
    }
    invalidate_public(&ctx.app).await;
    for post_id in affected {
        crate::features::search::service::index_post(&ctx.app, post_id).await.map_err(|e| TagError::Internal(anyhow::Error::new(e)))?;
    }
    Ok(())
}

/// Replaces a post's tags. Like any edit, this reaches readers only when the
/// post is published again.
pub async fn set_post_tags(ctx: &AdminCtx, input: &SetPostTagsInput) -> Result<Vec<Tag>> {
    let mut ids = input.tag_ids.clone();
    ids.sort_unstable();
    ids.dedup();
    if !data::set_post_tags(&ctx.app.db, input.post_id, &ids, ctx.app.clock.now_ms()).await? {
        return Err(TagError::PostNotFound);
    }
    crate::features::revisions::service::schedule_auto_snapshot(&ctx.app, input.post_id)
        .await
        .map_err(|e| TagError::Internal(anyhow::Error::new(e).context("scheduling an automatic revision")))?;
    Ok(data::of_post(&ctx.app.db, input.post_id).await?)
}

/// The id of the tag named `name`, created when missing (seeding, imports).
pub async fn ensure_tag(app: &AppState, name: &str) -> Result<i64> {
    match data::insert(&app.db, name, app.clock.now_ms()).await {
        Ok(tag) => Ok(tag.id),
        Err(error) if is_unique_violation(&error) => {
            let existing = data::find_by_name(&app.db, name).await?.ok_or_else(|| anyhow::anyhow!("tag {name} vanished"))?;
            Ok(existing.id)
        }
        Err(error) => Err(error.into()),
    }
}

/// Replaces a post's tags without scheduling a revision (seeding, imports).
pub async fn replace_post_tags(app: &AppState, post_id: i64, tag_ids: &[i64]) -> Result<()> {
    if data::set_post_tags(&app.db, post_id, tag_ids, app.clock.now_ms()).await? { Ok(()) } else { Err(TagError::PostNotFound) }
}

pub async fn tags_of_post(app: &AppState, post_id: i64) -> Result<Vec<Tag>> {
    Ok(data::of_post(&app.db, post_id).await?)
}

/// Published tags of public posts, by post id.
pub async fn public_tags_of(app: &AppState, post_ids: &[i64]) -> Result<HashMap<i64, Vec<TagRef>>> {
    Ok(group(data::of_public_posts(&app.db, post_ids).await?))
}

/// Editable tags of posts, by post id.
pub async fn tags_of(app: &AppState, post_ids: &[i64]) -> Result<HashMap<i64, Vec<TagRef>>> {
    Ok(group(data::of_posts(&app.db, post_ids).await?))
}

fn group(rows: Vec<(i64, TagRef)>) -> HashMap<i64, Vec<TagRef>> {
    let mut by_post: HashMap<i64, Vec<TagRef>> = HashMap::new();
    for (post_id, tag) in rows {
        by_post.entry(post_id).or_default().push(tag);
    }
    by_post
}

/// A tag's name or existence changed: the tag cloud and every cached post
/// list and detail (which embed tag names) are stale.
pub async fn invalidate_public(app: &AppState) {
    let invalidation = Invalidation::default().delete(&public_tags_key()).bump(POSTS_LIST).bump(POSTS_DETAIL);
    invalidation::apply(app, invalidation).await;
}
