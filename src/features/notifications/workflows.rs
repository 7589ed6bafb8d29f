//! The subscribers that turn other features' events into notifications:
//! a publish (admins hear of it each time a post's public page is
//! (re)built), a friend link request (admins), and an admin's decision on
//! one (its submitter, when they left an address), and comments: a
//! reader's new thread and anything held for review (admins), and a
//! published reply (whom it answers).

use serde_json::{Map, Value, json};

use crate::features::comments::events::{CommentCreated, CommentNotice, CommentStatusChanged};
use crate::features::comments::schema::CommentStatus;
use crate::features::friend_links::events::{FriendLinkDecided, FriendLinkSubmitted};
use crate::features::friend_links::schema::LinkStatus;
use crate::features::publishing::events::PostPublished;
use crate::platform::events::Subscriber;
use crate::platform::state::DbCtx;

use super::schema::{Notification, NotificationType};
use super::service;

pub struct NotifyPublished;

impl Subscriber for NotifyPublished {
    type Event = PostPublished;
    const NAME: &'static str = "notifications.post-published";

    async fn handle(&self, app: &DbCtx, event: PostPublished) -> anyhow::Result<()> {
        let post_url = app.config.base_url.join(&format!("post/{}", event.slug)).map(|u| u.to_string()).unwrap_or_default();
        let fields = json!({
            "postId": event.post_id,
            "postTitle": event.post.title,
            "postUrl": post_url,
            "slug": event.slug,
            "summary": event.post.summary.clone().unwrap_or_default(),
        });
        // The same publish of the same edit is one notification.
        let id = format!("post.published:{}:{}", event.post_id, event.post.updated_at);
        notify_admin(app, id, NotificationType::PostPublished, fields).await
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn admin_address(app: &DbCtx) -> String {
    app.config.admin_email.clone().unwrap_or_default()
}

/// Publishes a notification to the admin (`ADMIN_EMAIL`, and the webhooks);
/// `fields` gain the spec's `to`.
async fn notify_admin(app: &DbCtx, id: String, kind: NotificationType, fields: Value) -> anyhow::Result<()> {
    let to = admin_address(app);
    let mut data = object(fields);
    data.insert("to".into(), Value::String(to.clone()));
    service::publish(app, &Notification { id, kind, to, user_id: None, data }).await?;
    Ok(())
}

pub struct NotifyFriendLinkSubmitted;

impl Subscriber for NotifyFriendLinkSubmitted {
    type Event = FriendLinkSubmitted;
    const NAME: &'static str = "notifications.friend-link-submitted";

    async fn handle(&self, app: &DbCtx, event: FriendLinkSubmitted) -> anyhow::Result<()> {
        let link = event.link;
        let review_url = app.config.base_url.join("admin/friend-links").map(|u| u.to_string()).unwrap_or_default();
        let fields = json!({
            "siteName": link.site_name,
            "siteUrl": link.site_url,
            "description": link.description.unwrap_or_default(),
            "submitterName": event.submitter_name,
            "reviewUrl": review_url,
        });
        notify_admin(app, format!("friend_link.submitted:{}", link.id), NotificationType::FriendLinkSubmitted, fields).await
    }
}

pub struct NotifyFriendLinkDecided;

impl Subscriber for NotifyFriendLinkDecided {
    type Event = FriendLinkDecided;
    const NAME: &'static str = "notifications.friend-link-decided";

    async fn handle(&self, app: &DbCtx, event: FriendLinkDecided) -> anyhow::Result<()> {
        let link = event.link;
        let Some(to) = link.contact_email.clone().filter(|e| !e.is_empty()) else { return Ok(()) };
        let (kind, data) = match link.status {
            LinkStatus::Approved => (
                NotificationType::FriendLinkApproved,
                json!({"to": to, "siteName": link.site_name, "blogUrl": app.config.base_url.to_string()}),
            ),
            LinkStatus::Rejected => {
                let mut data = json!({"to": to, "siteName": link.site_name});
                if let Some(reason) = &link.rejection_reason {
                    data["rejectionReason"] = json!(reason);
                }
                (NotificationType::FriendLinkRejected, data)
            }
            LinkStatus::Pending => return Ok(()),
        };
        let notification = Notification {
            id: format!("{}:{}:{}", kind.as_str(), link.id, link.updated_at.0),
            kind,
            to,
            user_id: link.user_id.clone(),
            data: object(data),
        };
        service::publish(app, &notification).await?;
        Ok(())
    }
}

// ---- comments (spec §8.10) -------------------------------------------------

fn comment_url(app: &DbCtx, comment: &CommentNotice) -> String {
    let root = comment.root_id.unwrap_or(comment.id);
    let path = format!("post/{}?highlightCommentId={}&rootId={root}#comment-{}", comment.post.slug, comment.id, comment.id);
    app.config.base_url.join(&path).map(|u| u.to_string()).unwrap_or_default()
}

fn commenter_name(comment: &CommentNotice, locale: crate::platform::config::Locale) -> String {
    comment.author.as_ref().map(|a| a.name.clone()).unwrap_or_else(|| super::templates::someone(locale).to_owned())
}

/// A new root comment by a reader: the admin hears of it at once.
async fn notify_root_created(app: &DbCtx, comment: &CommentNotice) -> anyhow::Result<()> {
    let fields = json!({
        "postTitle": comment.post.title,
        "commenterName": commenter_name(comment, app.config.locale),
        "commentPreview": comment.preview,
        "commentUrl": comment_url(app, comment),
    });
    notify_admin(app, format!("comment.admin_root_created:{}", comment.id), NotificationType::CommentAdminRootCreated, fields).await
}

/// A comment waits for review: the admin is asked to look.
async fn notify_pending(app: &DbCtx, comment: &CommentNotice) -> anyhow::Result<()> {
    let review_url = app.config.base_url.join("admin/comments").map(|u| u.to_string()).unwrap_or_default();
    let fields = json!({
        "postTitle": comment.post.title,
        "commenterName": commenter_name(comment, app.config.locale),
        "commentPreview": comment.preview,
        "reviewUrl": review_url,
    });
    notify_admin(app, format!("comment.admin_pending_review:{}", comment.id), NotificationType::CommentAdminPendingReview, fields).await
}

/// A published reply: whom it answers hears of it (by email, with the
/// unsubscribe link; an admin by webhook too), unless they wrote it, or
/// they are the admin who just published it.
async fn notify_reply(app: &DbCtx, comment: &CommentNotice, skip_user: Option<&str>) -> anyhow::Result<()> {
    let Some(recipient) = &comment.replied_to else { return Ok(()) };
    if comment.root_id.is_none() || recipient.email.is_empty() {
        return Ok(());
    }
    if comment.author.as_ref().is_some_and(|a| a.id == recipient.id) || skip_user == Some(recipient.id.as_str()) {
        return Ok(());
    }
    let kind =
        if recipient.is_admin { NotificationType::CommentReplyToAdminPublished } else { NotificationType::CommentReplyToUserPublished };
    let notification = Notification {
        id: format!("comment.reply:{}", comment.id),
        kind,
        to: recipient.email.clone(),
        user_id: Some(recipient.id.clone()),
        data: object(json!({
            "to": recipient.email,
            "postTitle": comment.post.title,
            "replierName": commenter_name(comment, app.config.locale),
            "replyPreview": comment.preview,
            "commentUrl": comment_url(app, comment),
        })),
    };
    service::publish(app, &notification).await?;
    Ok(())
}

pub struct NotifyCommentCreated;

impl Subscriber for NotifyCommentCreated {
    type Event = CommentCreated;
    const NAME: &'static str = "notifications.comment-created";

    async fn handle(&self, app: &DbCtx, event: CommentCreated) -> anyhow::Result<()> {
        let comment = &event.comment;
        let by_reader = comment.author.as_ref().is_none_or(|a| !a.is_admin);
        if comment.root_id.is_none() && by_reader {
            notify_root_created(app, comment).await?;
        }
        match comment.status {
            CommentStatus::Pending => notify_pending(app, comment).await?,
            CommentStatus::Published => notify_reply(app, comment, None).await?,
            CommentStatus::Verifying | CommentStatus::Deleted => {}
        }
        Ok(())
    }
}

pub struct NotifyCommentStatusChanged;

impl Subscriber for NotifyCommentStatusChanged {
    type Event = CommentStatusChanged;
    const NAME: &'static str = "notifications.comment-status-changed";

    async fn handle(&self, app: &DbCtx, event: CommentStatusChanged) -> anyhow::Result<()> {
        let comment = &event.comment;
        match comment.status {
            // The reviewer held it: an admin must look.
            CommentStatus::Pending if event.moderator_id.is_none() => notify_pending(app, comment).await?,
            CommentStatus::Published if event.previous != CommentStatus::Published => {
                notify_reply(app, comment, event.moderator_id.as_deref()).await?
            }
            _ => {}
        }
        Ok(())
    }
}
