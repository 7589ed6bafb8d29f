//! Events of comments (see `platform::events`): notifications subscribes.
//! Each carries what a notification needs, read in the change's
//! transaction: the post, the author and the author of the comment answered.

use serde::{Deserialize, Serialize};

use crate::features::publishing::schema::PostRef;
use crate::platform::events::DomainEvent;

use super::schema::CommentStatus;

/// Someone to tell, or to name.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub id: String,
    pub name: String,
    pub email: String,
    pub is_admin: bool,
}

/// A comment as notifications see it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentNotice {
    pub id: i64,
    pub root_id: Option<i64>,
    pub reply_to_comment_id: Option<i64>,
    pub status: CommentStatus,
    /// The first 100 characters of its text (and "..." when longer).
    pub preview: String,
    pub post: PostRef,
    pub author: Option<Person>,
    /// The author of the comment answered (replies only).
    pub replied_to: Option<Person>,
}

/// A comment was written (whatever its first status).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentCreated {
    pub comment: CommentNotice,
}

impl DomainEvent for CommentCreated {
    const NAME: &'static str = "comment.created";
}

/// A comment's status changed: by an admin (`moderator_id`), or by the
/// moderation workflow (`None`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentStatusChanged {
    pub comment: CommentNotice,
    pub previous: CommentStatus,
    pub moderator_id: Option<String>,
}

impl DomainEvent for CommentStatusChanged {
    const NAME: &'static str = "comment.status-changed";
}
