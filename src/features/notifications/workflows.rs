//! The subscribers that turn other features' events into notifications:
//! a publish (admins hear of it each time a post's public page is
//! (re)built), a friend link request (admins), and an admin's decision on
//! one (its submitter, when they left an address).

use serde_json::{Map, Value, json};

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
        let data = json!({
            "to": app.config.admin_email.clone().unwrap_or_default(),
            "postId": event.post_id,
            "postTitle": event.post.title,
            "postUrl": post_url,
            "slug": event.slug,
            "summary": event.post.summary.clone().unwrap_or_default(),
        });
        let Value::Object(data) = data else { unreachable!("a JSON object literal") };
        let notification = Notification {
            // The same publish of the same edit is one notification.
            id: format!("post.published:{}:{}", event.post_id, event.post.updated_at),
            kind: NotificationType::PostPublished,
            to: app.config.admin_email.clone().unwrap_or_default(),
            user_id: None,
            data: Map::from_iter(data),
        };
        service::publish(app, &notification).await?;
        Ok(())
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

pub struct NotifyFriendLinkSubmitted;

impl Subscriber for NotifyFriendLinkSubmitted {
    type Event = FriendLinkSubmitted;
    const NAME: &'static str = "notifications.friend-link-submitted";

    async fn handle(&self, app: &DbCtx, event: FriendLinkSubmitted) -> anyhow::Result<()> {
        let link = event.link;
        let review_url = app.config.base_url.join("admin/friend-links").map(|u| u.to_string()).unwrap_or_default();
        let notification = Notification {
            id: format!("friend_link.submitted:{}", link.id),
            kind: NotificationType::FriendLinkSubmitted,
            to: admin_address(app),
            user_id: None,
            data: object(json!({
                "to": admin_address(app),
                "siteName": link.site_name,
                "siteUrl": link.site_url,
                "description": link.description.unwrap_or_default(),
                "submitterName": event.submitter_name,
                "reviewUrl": review_url,
            })),
        };
        service::publish(app, &notification).await?;
        Ok(())
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
