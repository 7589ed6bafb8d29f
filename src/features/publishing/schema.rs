//! Types of the public read model: what readers get (items, details, pages),
//! the inputs of public reads and of publishing, and the cache keys of every
//! public read. May use: `features::{posts, tags}::schema`, `platform`.

use std::time::Duration;

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a public post is (readers' pages tell posts and pages apart).
pub use crate::features::posts::schema::PostKind;
use crate::features::posts::schema::{Post, PostStatus};
use crate::features::tags::schema::TagRef;
use crate::platform::cache::{CachedBody, Key, Namespace};
use crate::platform::clock::{Millis, Timestamp};
use crate::platform::content::TocEntry;

/// The visibility rule, the one definition every public read uses (lists,
/// related, pinned, tag counts; later feeds, search, sitemap): a post is
/// listed when its snapshot (which exists only for published posts) is
/// `public` and dated no later than now. Bind now as `$1`, alias the
/// snapshot `pp`.
pub const LISTED: &str = "pp.visibility = 'public' AND pp.kind = 'post' AND pp.published_at <= $1";

/// Every cached public list (pages, pinned, related ids).
pub const POSTS_LIST: Namespace = Namespace::versioned("posts:list");
/// Every cached public detail.
pub const POSTS_DETAIL: Namespace = Namespace::versioned("posts:detail");

const WEEK: Duration = Duration::from_secs(7 * 86_400);

/// The tags shown to readers (plain namespace: deleted whenever it changes).
pub const PUBLIC_TAGS: Namespace = Namespace::plain("public:tags");

/// The public tag list as the response body it is sent as.
pub fn public_tags_key() -> Key<CachedBody> {
    Key::body(PUBLIC_TAGS, Duration::from_secs(7 * 86_400)).part("list")
}

pub fn detail_key(slug: &str) -> Key<CachedBody> {
    Key::body(POSTS_DETAIL, WEEK).part("post").part(slug)
}

pub fn list_key(query: &ListQuery) -> Key<CachedBody> {
    Key::body(POSTS_LIST, WEEK)
        .part("page")
        .part(query.limit)
        .part(query.cursor)
        .part(query.tag_name.as_deref())
        .part(query.category.as_deref())
        .part(query.exclude_pinned)
}

pub fn related_key(slug: &str, limit: u32) -> Key<Vec<i64>> {
    Key::json(POSTS_LIST, WEEK).part("related").part(slug).part(limit)
}

pub fn pinned_key() -> Key<Vec<PublicPostItem>> {
    Key::json(POSTS_LIST, WEEK).part("pinned")
}

/// `findPostById`: the post, and whether readers see its current state.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostWithSync {
    #[serde(flatten)]
    pub post: Post,
    /// Readers see exactly this state (or, for a draft, nothing).
    pub is_synced: bool,
    /// A public snapshot exists.
    pub has_public_cache: bool,
}

/// A row of the public read model (list columns).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PublicPostRow {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub category: Option<String>,
    pub read_time_in_minutes: i32,
    pub published_at: Millis,
    pub pinned_at: Option<Millis>,
    pub updated_at: Millis,
    #[sqlx(try_from = "String")]
    pub kind: PostKind,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PublicDetailRow {
    #[sqlx(flatten)]
    pub item: PublicPostRow,
    pub content_html: String,
    pub toc_json: String,
    /// `[[id, name], ...]`, sorted by name.
    pub tags_json: String,
}

/// What other features need to name a public post.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PostRef {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub summary: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicPostItem {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub category: Option<String>,
    pub read_time_in_minutes: i32,
    pub published_at: Timestamp,
    pub updated_at: Timestamp,
    pub pinned_at: Option<Timestamp>,
    /// `page`: a standalone page, served at `/{slug}`.
    #[serde(default)]
    pub kind: PostKind,
    pub tags: Vec<TagRef>,
}

impl PublicPostItem {
    pub fn from_row(row: PublicPostRow, tags: Vec<TagRef>) -> Self {
        PublicPostItem {
            id: row.id,
            slug: row.slug,
            title: row.title,
            summary: row.summary,
            category: row.category,
            read_time_in_minutes: row.read_time_in_minutes,
            published_at: Timestamp(row.published_at),
            updated_at: Timestamp(row.updated_at),
            pinned_at: row.pinned_at.map(Timestamp),
            kind: row.kind,
            tags,
        }
    }
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicPostDetail {
    #[serde(flatten)]
    pub item: PublicPostItem,
    pub toc: Vec<TocEntry>,
    /// Sanitised HTML with highlighted code.
    pub content_html: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostListResponse {
    pub items: Vec<PublicPostItem>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<i64>,
}

pub const MAX_LIST_LIMIT: u32 = 50;
pub const DEFAULT_LIST_LIMIT: u32 = 12;

#[derive(Debug, Default, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListInput {
    /// The `nextCursor` of the previous page.
    #[garde(range(min = 1))]
    pub cursor: Option<i64>,
    /// 1-50, default 12.
    #[garde(range(min = 1, max = MAX_LIST_LIMIT))]
    pub limit: Option<u32>,
    #[garde(length(chars, min = 1, max = 50))]
    pub tag_name: Option<String>,
    #[garde(length(chars, min = 1, max = 50))]
    pub category: Option<String>,
    #[garde(skip)]
    pub exclude_pinned: Option<bool>,
}

/// A list request with its defaults applied (what is cached).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery {
    pub cursor: Option<i64>,
    pub limit: u32,
    pub tag_name: Option<String>,
    pub category: Option<String>,
    pub exclude_pinned: bool,
}

impl From<ListInput> for ListQuery {
    fn from(input: ListInput) -> Self {
        let blank_is_none = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        ListQuery {
            cursor: input.cursor,
            limit: input.limit.unwrap_or(DEFAULT_LIST_LIMIT),
            tag_name: blank_is_none(input.tag_name),
            category: blank_is_none(input.category),
            exclude_pinned: input.exclude_pinned.unwrap_or(false),
        }
    }
}

#[derive(Debug, Default, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitInput {
    /// 1-20.
    #[garde(range(min = 1, max = 20))]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RelatedInput {
    #[garde(length(chars, min = 1, max = 200))]
    pub slug: String,
    /// 1-20, default 3.
    #[garde(range(min = 1, max = 20))]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishInput {
    #[garde(range(min = 1))]
    pub id: i64,
    #[garde(skip)]
    pub status: PostStatus,
    /// The original's client date, accepted so its clients work unchanged
    /// and ignored: the server's clock decides what is published when.
    #[garde(length(chars, max = 64))]
    pub client_today: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublishOutput {
    /// The `post-process` run.
    pub run_id: String,
    /// The `scheduled-publish` run, for a post dated in the future.
    pub scheduled_run_id: Option<String>,
    pub published_at: Option<Timestamp>,
}
