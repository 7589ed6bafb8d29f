//! Comment types and inputs (spec §8.6).

use std::time::Duration;

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::platform::cache::{Key, Namespace};
use crate::platform::clock::Timestamp;

/// Every cached public comment list; any change to a comment bumps it.
pub const COMMENTS: Namespace = Namespace::versioned("comments");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CommentStatus {
    /// Waiting for the AI reviewer.
    Verifying,
    /// Waiting for an admin.
    Pending,
    Published,
    /// Removed by its author or an admin; readers see a marker.
    Deleted,
}

impl CommentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CommentStatus::Verifying => "verifying",
            CommentStatus::Pending => "pending",
            CommentStatus::Published => "published",
            CommentStatus::Deleted => "deleted",
        }
    }
}

impl TryFrom<String> for CommentStatus {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        match value.as_str() {
            "verifying" => Ok(CommentStatus::Verifying),
            "pending" => Ok(CommentStatus::Pending),
            "published" => Ok(CommentStatus::Published),
            "deleted" => Ok(CommentStatus::Deleted),
            other => Err(format!("unknown comment status {other:?}")),
        }
    }
}

/// A comment as stored (admins and its author see this).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    pub id: i64,
    pub post_id: i64,
    pub user_id: Option<String>,
    pub root_id: Option<i64>,
    pub reply_to_comment_id: Option<i64>,
    /// The author's Markdown.
    pub content: String,
    /// Its sanitised rendering.
    pub content_html: String,
    #[sqlx(try_from = "String")]
    pub status: CommentStatus,
    /// Why the moderation decided as it did.
    pub ai_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A comment's author as readers see them.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Author {
    pub id: String,
    pub name: String,
    pub image: Option<String>,
    pub role: String,
}

/// Whom a reply answers.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplyTarget {
    pub id: i64,
    pub name: Option<String>,
}

/// A comment as readers see it: a deleted one has no content, only the marker.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadComment {
    pub id: i64,
    pub post_id: i64,
    pub root_id: Option<i64>,
    pub reply_to_comment_id: Option<i64>,
    /// `null` when deleted.
    pub content_html: Option<String>,
    pub deleted: bool,
    /// Readers see `published` and `deleted`; an author also sees their
    /// own `pending` and `verifying` comments.
    pub status: CommentStatus,
    /// `null` when the account is gone.
    pub user: Option<Author>,
    pub created_at: Timestamp,
    /// Root comments: the replies the viewer can see.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_count: Option<i64>,
    /// Replies: the comment answered (`null` if it is gone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<ReplyTarget>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ThreadPage {
    pub items: Vec<ThreadComment>,
    pub total: i64,
}

/// A comment in the admins' list, with its author, post and reply target.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminComment {
    #[serde(flatten)]
    pub comment: Comment,
    pub user: Option<Author>,
    pub post: AdminPostRef,
    pub reply_to_user: Option<Author>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct AdminPostRef {
    pub title: String,
    pub slug: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct AdminCommentPage {
    pub items: Vec<AdminComment>,
    pub total: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserStats {
    pub total_comments: i64,
    /// Comments of theirs that were deleted.
    pub rejected_comments: i64,
    pub registered_at: Option<Timestamp>,
}

/// The public first page of a thread, cached per post (and per root).
pub fn roots_key(post_id: i64, offset: u32, limit: u32) -> Key<ThreadPage> {
    Key::json(COMMENTS, Duration::from_secs(86_400)).part("roots").part(post_id).part(offset).part(limit)
}

pub fn replies_key(post_id: i64, root_id: i64, offset: u32, limit: u32) -> Key<ThreadPage> {
    Key::json(COMMENTS, Duration::from_secs(86_400)).part("replies").part(post_id).part(root_id).part(offset).part(limit)
}

const NOT_BLANK: &str = r"[^\s]";

fn not_blank(value: &str, _: &()) -> garde::Result {
    if value.trim().is_empty() { Err(garde::Error::new("must not be blank")) } else { Ok(()) }
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RootsInput {
    #[garde(range(min = 1))]
    #[schemars(range(min = 1))]
    pub post_id: i64,
    #[garde(range(max = 1_000_000))]
    #[schemars(range(max = 1_000_000))]
    pub offset: Option<u32>,
    /// 1-100, default 20.
    #[garde(range(min = 1, max = 100))]
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepliesInput {
    #[garde(range(min = 1))]
    #[schemars(range(min = 1))]
    pub post_id: i64,
    #[garde(range(min = 1))]
    #[schemars(range(min = 1))]
    pub root_id: i64,
    #[garde(range(max = 1_000_000))]
    #[schemars(range(max = 1_000_000))]
    pub offset: Option<u32>,
    #[garde(range(min = 1, max = 100))]
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
}

/// A new comment: Markdown (paragraphs, emphasis, code, links, quotes, lists).
#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateInput {
    #[garde(range(min = 1))]
    #[schemars(range(min = 1))]
    pub post_id: i64,
    /// 1-5,000 characters, not blank.
    #[garde(length(chars, min = 1, max = 5000), custom(not_blank))]
    #[schemars(length(min = 1, max = 5000), regex(pattern = NOT_BLANK))]
    pub content: String,
    /// The thread's root, for a reply.
    #[garde(range(min = 1))]
    #[schemars(range(min = 1))]
    pub root_id: Option<i64>,
    /// The comment answered (in the same thread); defaults to the root.
    #[garde(range(min = 1))]
    #[schemars(range(min = 1))]
    pub reply_to_comment_id: Option<i64>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdInput {
    #[garde(range(min = 1))]
    #[schemars(range(min = 1))]
    pub id: i64,
}

#[derive(Debug, Default, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MineInput {
    #[garde(range(max = 1_000_000))]
    #[schemars(range(max = 1_000_000))]
    pub offset: Option<u32>,
    #[garde(range(min = 1, max = 100))]
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    #[garde(skip)]
    pub status: Option<CommentStatus>,
}

#[derive(Debug, Default, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdminListInput {
    #[garde(range(max = 1_000_000))]
    #[schemars(range(max = 1_000_000))]
    pub offset: Option<u32>,
    #[garde(range(min = 1, max = 100))]
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    #[garde(skip)]
    pub status: Option<CommentStatus>,
    #[garde(range(min = 1))]
    #[schemars(range(min = 1))]
    pub post_id: Option<i64>,
    #[garde(length(chars, max = 100))]
    #[schemars(length(max = 100))]
    pub user_id: Option<String>,
    /// Part of the author's name.
    #[garde(length(chars, max = 100))]
    #[schemars(length(max = 100))]
    pub user_name: Option<String>,
}

/// What an admin may set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModeratedStatus {
    Published,
    Pending,
    Deleted,
}

impl From<ModeratedStatus> for CommentStatus {
    fn from(status: ModeratedStatus) -> Self {
        match status {
            ModeratedStatus::Published => CommentStatus::Published,
            ModeratedStatus::Pending => CommentStatus::Pending,
            ModeratedStatus::Deleted => CommentStatus::Deleted,
        }
    }
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModerateInput {
    #[garde(range(min = 1))]
    #[schemars(range(min = 1))]
    pub id: i64,
    #[garde(skip)]
    pub status: ModeratedStatus,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserStatsInput {
    #[garde(length(chars, min = 1, max = 100))]
    #[schemars(length(min = 1, max = 100))]
    pub user_id: String,
}
