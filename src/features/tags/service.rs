//! Tag rules: unique names, and the links between posts and tags that
//! posts and publishing build on. A rename or delete emits `TagRenamed` /
//! `TagDeleted` with the change; publishing reacts (readers' caches, search,
//! the CDN), tags knows nothing of readers.

use std::collections::HashMap;

use crate::platform::db::{Tx, is_unique_violation};
use crate::platform::http::{AdminCtx, AppError};
use crate::platform::state::DbCtx;
use crate::platform::workflow::EngineError;

use super::data;
use super::events::{TagDeleted, TagRenamed};
use super::schema::{CreateTagInput, Tag, TagRef, TagWithCount, TagsAdminInput, UpdateTagInput};

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

impl From<EngineError> for TagError {
    fn from(error: EngineError) -> Self {
        TagError::Internal(anyhow::Error::new(error).context("writing a tag event's deliveries"))
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

/// Renames a tag. Readers see the new name once publishing has handled
/// `TagRenamed` (at once, unless the worker is down).
pub async fn update(ctx: &AdminCtx, input: &UpdateTagInput) -> Result<Tag> {
    let app = &ctx.app;
    let Some(name) = input.data.name.as_deref().map(str::trim) else {
        return data::find(&app.db, input.id).await?.ok_or(TagError::NotFound);
    };
    let mut tx = app.db.begin().await?;
    let tag = match data::rename(&mut tx, input.id, name).await {
        Ok(Some(tag)) => tag,
        Ok(None) => return Err(TagError::NotFound),
        Err(error) if is_unique_violation(&error) => return Err(TagError::NameTaken),
        Err(error) => return Err(error.into()),
    };
    let emitted = app.events.emit_in(&mut tx, &TagRenamed { tag_id: tag.id, name: tag.name.clone() }).await?;
    tx.commit().await?;
    app.events.release(emitted).await;
    Ok(tag)
}

/// Deletes a tag and its links; publishing drops it from the public site.
pub async fn delete(ctx: &AdminCtx, id: i64) -> Result<()> {
    let app = &ctx.app;
    let mut tx = app.db.begin().await?;
    let post_ids = data::posts_with_tag(&mut tx, id).await?;
    if !data::delete(&mut tx, id).await? {
        return Err(TagError::NotFound);
    }
    let emitted = app.events.emit_in(&mut tx, &TagDeleted { tag_id: id, post_ids }).await?;
    tx.commit().await?;
    app.events.release(emitted).await;
    Ok(())
}

/// The id of the tag named `name`, created when missing (seeding, imports).
pub async fn ensure_tag(app: &DbCtx, name: &str) -> Result<i64> {
    match data::insert(&app.db, name, app.clock.now_ms()).await {
        Ok(tag) => Ok(tag.id),
        Err(error) if is_unique_violation(&error) => {
            let existing = data::find_by_name(&app.db, name).await?.ok_or_else(|| anyhow::anyhow!("tag {name} vanished"))?;
            Ok(existing.id)
        }
        Err(error) => Err(error.into()),
    }
}

/// Replaces a post's tags without counting as an edit (seeding, imports).
pub async fn replace_post_tags(app: &DbCtx, post_id: i64, tag_ids: &[i64]) -> Result<()> {
    if data::set_post_tags(&app.db, post_id, tag_ids, app.clock.now_ms()).await? { Ok(()) } else { Err(TagError::PostNotFound) }
}

/// Replaces a post's tag links in the caller's transaction (the caller
/// writes the post and its event in the same one).
pub async fn replace_post_tags_in(tx: &mut Tx, post_id: i64, tag_ids: &[i64]) -> Result<()> {
    Ok(data::replace_links(tx, post_id, tag_ids).await?)
}

pub async fn tags_of_post(app: &DbCtx, post_id: i64) -> Result<Vec<Tag>> {
    Ok(data::of_post(&app.db, post_id).await?)
}

/// Editable tags of posts, by post id.
pub async fn tags_of(app: &DbCtx, post_ids: &[i64]) -> Result<HashMap<i64, Vec<TagRef>>> {
    Ok(group(data::of_posts(&app.db, post_ids).await?))
}

pub fn group(rows: Vec<(i64, TagRef)>) -> HashMap<i64, Vec<TagRef>> {
    let mut by_post: HashMap<i64, Vec<TagRef>> = HashMap::new();
    for (post_id, tag) in rows {
        by_post.entry(post_id).or_default().push(tag);
    }
    by_post
}
