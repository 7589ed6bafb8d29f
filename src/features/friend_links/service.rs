//! Friend link rules (spec §8.12): readers ask, admins decide; the public
//! list (approved links, never a contact address) is cached in a versioned
//! namespace that every change to an approved link bumps. Submissions and
//! decisions are announced as events (notifications tells people).

use std::time::Duration;

use crate::platform::cache::{Key, Namespace};
use crate::platform::clock::Timestamp;
use crate::platform::http::{AdminCtx, AppError, AuthCtx};
use crate::platform::invalidation::{self, Invalidation};
use crate::platform::state::DbCtx;
use crate::platform::workflow::EngineError;

use super::data::{self, NewLink};
use super::events::{FriendLinkDecided, FriendLinkSubmitted};
use super::schema::{CreateInput, FriendLink, LinkPage, LinkStatus, ListInput, PublicFriendLink, RejectInput, SubmitInput, UpdateInput};

/// The cached public list.
pub const FRIEND_LINKS: Namespace = Namespace::versioned("friend-links");

#[derive(Debug, thiserror::Error)]
pub enum FriendLinkError {
    #[error("you have already asked for this address")]
    DuplicateUrl,
    #[error("no such friend link")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for FriendLinkError {
    fn from(error: sqlx::Error) -> Self {
        FriendLinkError::Internal(anyhow::Error::new(error).context("friend links database error"))
    }
}

impl From<EngineError> for FriendLinkError {
    fn from(error: EngineError) -> Self {
        FriendLinkError::Internal(anyhow::Error::new(error).context("writing a friend link event's deliveries"))
    }
}

impl From<FriendLinkError> for AppError {
    fn from(error: FriendLinkError) -> Self {
        let message = error.to_string();
        match error {
            FriendLinkError::DuplicateUrl => AppError::conflict("DUPLICATE_URL", message),
            FriendLinkError::NotFound => AppError::not_found("NOT_FOUND", message),
            FriendLinkError::Internal(error) => AppError::Internal(error),
        }
    }
}

type Result<T> = std::result::Result<T, FriendLinkError>;

fn list_key() -> Key<Vec<PublicFriendLink>> {
    Key::json(FRIEND_LINKS, Duration::from_secs(7 * 86_400)).part("approved")
}

/// Empty optional texts are stored as none.
fn optional(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

async fn invalidate(app: &DbCtx) {
    invalidation::apply(app, Invalidation::default().bump(FRIEND_LINKS)).await;
}

/// The approved links, newest first (cached).
pub async fn approved(app: &DbCtx) -> Result<Vec<PublicFriendLink>> {
    app.cache
        .get_or_load(&list_key(), || async {
            Ok::<_, FriendLinkError>(data::approved(&app.db).await?.into_iter().map(PublicFriendLink::from).collect())
        })
        .await
}

/// A reader's request: pending until an admin decides; the same address
/// twice (unless refused) is a 409.
pub async fn submit(ctx: &AuthCtx, input: &SubmitInput) -> Result<FriendLink> {
    let app = &ctx.app;
    let user = &ctx.session.user;
    let mut tx = app.db.begin().await?;
    let site_url = input.site_url.trim();
    if data::has_open_request(&mut tx, &user.id, site_url).await? {
        return Err(FriendLinkError::DuplicateUrl);
    }
    let new = NewLink {
        site_name: input.site_name.trim(),
        site_url,
        description: optional(input.description.as_deref()),
        logo_url: optional(input.logo_url.as_deref()),
        contact_email: Some(input.contact_email.trim()),
        status: LinkStatus::Pending,
        user_id: Some(&user.id),
        now: app.clock.now_ms(),
    };
    let link = data::insert(&mut tx, &new).await?;
    let emitted = app.events.emit_in(&mut tx, &FriendLinkSubmitted { link: link.clone(), submitter_name: user.name.clone() }).await?;
    tx.commit().await?;
    app.events.release(emitted).await;
    Ok(link)
}

pub async fn mine(ctx: &AuthCtx) -> Result<Vec<FriendLink>> {
    Ok(data::of_user(&ctx.app.db, &ctx.session.user.id).await?)
}

pub async fn all(ctx: &AdminCtx, input: &ListInput) -> Result<LinkPage> {
    let limit = i64::from(input.limit.unwrap_or(20));
    let (items, total) = data::page(&ctx.app.db, input.status, i64::from(input.offset.unwrap_or(0)), limit).await?;
    Ok(LinkPage { items, total })
}

/// An admin's own link, approved at once.
pub async fn create(ctx: &AdminCtx, input: &CreateInput) -> Result<FriendLink> {
    let app = &ctx.app;
    let mut tx = app.db.begin().await?;
    let new = NewLink {
        site_name: input.site_name.trim(),
        site_url: input.site_url.trim(),
        description: optional(input.description.as_deref()),
        logo_url: optional(input.logo_url.as_deref()),
        contact_email: optional(input.contact_email.as_deref()),
        status: LinkStatus::Approved,
        user_id: None,
        now: app.clock.now_ms(),
    };
    let link = data::insert(&mut tx, &new).await?;
    tx.commit().await?;
    invalidate(app).await;
    Ok(link)
}

pub async fn update(ctx: &AdminCtx, input: &UpdateInput) -> Result<FriendLink> {
    let app = &ctx.app;
    let mut tx = app.db.begin().await?;
    let mut link = data::find(&mut tx, input.id).await?.ok_or(FriendLinkError::NotFound)?;
    if let Some(name) = &input.site_name {
        link.site_name = name.trim().to_owned();
    }
    if let Some(url) = &input.site_url {
        link.site_url = url.trim().to_owned();
    }
    if input.description.is_some() {
        link.description = optional(input.description.as_deref()).map(str::to_owned);
    }
    if input.logo_url.is_some() {
        link.logo_url = optional(input.logo_url.as_deref()).map(str::to_owned);
    }
    if input.contact_email.is_some() {
        link.contact_email = optional(input.contact_email.as_deref()).map(str::to_owned);
    }
    link.updated_at = Timestamp(app.clock.now_ms());
    let saved = data::save(&mut tx, &link).await?;
    tx.commit().await?;
    if saved.status == LinkStatus::Approved {
        invalidate(app).await;
    }
    Ok(saved)
}

/// Approves or rejects a link, and tells its submitter (when they left an address).
async fn decide(ctx: &AdminCtx, id: i64, status: LinkStatus, reason: Option<&str>) -> Result<FriendLink> {
    let app = &ctx.app;
    let mut tx = app.db.begin().await?;
    let mut link = data::find(&mut tx, id).await?.ok_or(FriendLinkError::NotFound)?;
    let was_approved = link.status == LinkStatus::Approved;
    link.status = status;
    link.rejection_reason = optional(reason).map(str::to_owned);
    link.updated_at = Timestamp(app.clock.now_ms());
    let saved = data::save(&mut tx, &link).await?;
    let emitted = app.events.emit_in(&mut tx, &FriendLinkDecided { link: saved.clone() }).await?;
    tx.commit().await?;
    if was_approved || status == LinkStatus::Approved {
        invalidate(app).await;
    }
    app.events.release(emitted).await;
    Ok(saved)
}

pub async fn approve(ctx: &AdminCtx, id: i64) -> Result<FriendLink> {
    decide(ctx, id, LinkStatus::Approved, None).await
}

pub async fn reject(ctx: &AdminCtx, input: &RejectInput) -> Result<FriendLink> {
    decide(ctx, input.id, LinkStatus::Rejected, input.rejection_reason.as_deref()).await
}

pub async fn delete(ctx: &AdminCtx, id: i64) -> Result<()> {
    let app = &ctx.app;
    let mut tx = app.db.begin().await?;
    let link = data::find(&mut tx, id).await?.ok_or(FriendLinkError::NotFound)?;
    data::delete(&mut tx, id).await?;
    tx.commit().await?;
    if link.status == LinkStatus::Approved {
        invalidate(app).await;
    }
    Ok(())
}
