//! Notifications (spec §8.10, and `post.published`).

use serde::{Deserialize, Serialize};

pub use crate::features::settings::schema::NotificationType;

/// Something to tell people: what happened, to whom, and its details.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// Stable for the same happening: publishing it twice queues nothing
    /// the second time.
    pub id: String,
    pub kind: NotificationType,
    /// The recipient's address (admins' events: the admin's).
    pub to: String,
    /// The recipient's account, for user events (their unsubscribe link).
    pub user_id: Option<String>,
    /// The event's fields (`postTitle`, `commentUrl`, ...), camelCase.
    pub data: serde_json::Map<String, serde_json::Value>,
}
