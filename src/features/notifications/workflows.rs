//! The notification of a publish: admins hear of it (email and webhooks,
//! as the settings say) each time a post's public page is (re)built.

use serde_json::{Map, Value, json};

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
