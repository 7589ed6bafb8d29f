//! Post types, inputs (with validation), cache keys and slug rules.

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::features::tags::schema::TagRef;

use crate::platform::clock::{Millis, Timestamp};
use crate::platform::content::TocEntry;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PostStatus {
    Draft,
    Published,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Listed, searched, in feeds.
    Public,
    /// Reachable by its slug only.
    Unlisted,
}

macro_rules! text_enum {
    ($t:ty { $($variant:ident => $text:literal),* }) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self { $(<$t>::$variant => $text),* }
            }
        }
        impl TryFrom<String> for $t {
            type Error = String;
            fn try_from(value: String) -> Result<Self, String> {
                match value.as_str() { $($text => Ok(<$t>::$variant),)* other => Err(format!("unknown value {other:?}")) }
            }
        }
    };
}
text_enum!(PostStatus { Draft => "draft", Published => "published" });
text_enum!(Visibility { Public => "public", Unlisted => "unlisted" });
text_enum!(PostKind { Post => "post", Page => "page" });

/// What a post is on the public site.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PostKind {
    /// Dated writing at `/post/{slug}`: listed, searched, in feeds.
    #[default]
    Post,
    /// A standalone page (About, Now) at `/{slug}`: never listed, searched
    /// or in feeds; reached from the navigation links in the settings.
    Page,
}

/// The editable post, as stored.
#[derive(Clone, Debug, Serialize, Deserialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct PostRow {
    pub id: i64,
    pub title: String,
    pub slug: String,
    pub summary: Option<String>,
    pub content: Option<String>,
    pub category: Option<String>,
    #[sqlx(try_from = "String")]
    pub visibility: Visibility,
    #[sqlx(try_from = "String")]
    pub status: PostStatus,
    pub read_time_in_minutes: i32,
    pub published_at: Option<Millis>,
    pub pinned_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
    #[sqlx(try_from = "String")]
    pub kind: PostKind,
}

/// The editable fields a restored revision puts back.
pub struct RestoredPost<'a> {
    pub title: &'a str,
    pub summary: Option<&'a str>,
    pub slug: &'a str,
    pub status: PostStatus,
    pub published_at: Option<Millis>,
    pub read_time_in_minutes: i32,
    pub content: Option<&'a str>,
    pub category: Option<&'a str>,
    pub visibility: Visibility,
}

/// The editable post as admins see it.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Post {
    pub id: i64,
    pub title: String,
    pub slug: String,
    pub summary: Option<String>,
    /// Markdown.
    pub content: Option<String>,
    pub category: Option<String>,
    pub visibility: Visibility,
    pub status: PostStatus,
    pub read_time_in_minutes: i32,
    pub published_at: Option<Timestamp>,
    pub pinned_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub kind: PostKind,
    pub tags: Vec<TagRef>,
}

impl Post {
    pub fn from_row(row: PostRow, tags: Vec<TagRef>) -> Post {
        Post {
            id: row.id,
            title: row.title,
            slug: row.slug,
            summary: row.summary,
            content: row.content,
            category: row.category,
            visibility: row.visibility,
            kind: row.kind,
            status: row.status,
            read_time_in_minutes: row.read_time_in_minutes,
            published_at: row.published_at.map(Timestamp),
            pinned_at: row.pinned_at.map(Timestamp),
            created_at: Timestamp(row.created_at),
            updated_at: Timestamp(row.updated_at),
            tags,
        }
    }
}

/// `findPostBySlugAdmin`: the editable post with the TOC of its content.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostWithToc {
    #[serde(flatten)]
    pub post: Post,
    pub toc: Vec<TocEntry>,
}

/// `null` in JSON clears a field; an absent field leaves it alone.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlugInput {
    #[garde(length(chars, min = 1, max = 200))]
    pub slug: String,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerateSlugInput {
    #[garde(length(chars, max = 200))]
    pub title: Option<String>,
    /// The post being edited (its own slug is not a collision).
    #[garde(range(min = 1))]
    pub exclude_id: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SlugOutput {
    pub slug: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct IdOutput {
    pub id: i64,
}

#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum AdminSortBy {
    PublishedAt,
    UpdatedAt,
}

#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
pub enum AdminSortDir {
    #[serde(rename = "ASC", alias = "asc")]
    Asc,
    #[serde(rename = "DESC", alias = "desc")]
    Desc,
}

#[derive(Debug, Default, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdminListInput {
    #[garde(range(max = 1_000_000))]
    pub offset: Option<u32>,
    /// 1-50, default 10.
    #[garde(range(min = 1, max = 50))]
    pub limit: Option<u32>,
    #[garde(skip)]
    pub status: Option<PostStatus>,
    /// Only posts readers can see now.
    #[garde(skip)]
    pub public_only: Option<bool>,
    /// Part of the title, case-insensitively.
    #[garde(length(chars, max = 200))]
    pub search: Option<String>,
    /// Posts of this category only.
    #[garde(length(chars, max = 50))]
    pub category: Option<String>,
    /// Posts carrying this tag only (its name, in any case).
    #[garde(length(chars, max = 50))]
    pub tag: Option<String>,
    #[garde(skip)]
    pub sort_by: Option<AdminSortBy>,
    #[garde(skip)]
    pub sort_dir: Option<AdminSortDir>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdInput {
    #[garde(range(min = 1))]
    pub id: i64,
}

#[derive(Debug, Default, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostPatch {
    #[garde(length(chars, max = 200))]
    pub title: Option<String>,
    #[garde(inner(custom(valid_slug)))]
    #[schemars(length(min = 1, max = 200), pattern(SLUG_PATTERN))]
    pub slug: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[garde(length(chars, max = 2000))]
    pub summary: Option<Option<String>>,
    /// Markdown, at most 1 MB.
    #[serde(default, deserialize_with = "nullable")]
    #[garde(length(chars, max = 1_048_576))]
    pub content: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[garde(length(chars, min = 1, max = 50))]
    pub category: Option<Option<String>>,
    #[garde(skip)]
    pub visibility: Option<Visibility>,
    #[garde(skip)]
    pub status: Option<PostStatus>,
    #[serde(default, deserialize_with = "nullable")]
    #[garde(skip)]
    pub published_at: Option<Option<Timestamp>>,
    #[serde(default, deserialize_with = "nullable")]
    #[garde(skip)]
    pub pinned_at: Option<Option<Timestamp>>,
    /// `page` makes it a standalone page at `/{slug}` (a slug that a route
    /// of the site uses is then refused with 409 `POST_SLUG_RESERVED`).
    #[garde(skip)]
    pub kind: Option<PostKind>,
    /// The post's tags by name, replacing the ones it has; missing tags are
    /// created (a script can tag a post in the same call that writes it).
    #[garde(length(max = 50), inner(inner(custom(crate::features::tags::schema::tag_name))))]
    #[schemars(length(max = 50), inner(length(min = 1, max = 50), pattern(crate::features::tags::schema::TAG_NAME_PATTERN)))]
    pub tags: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdatePostInput {
    #[garde(range(min = 1))]
    pub id: i64,
    #[garde(dive)]
    pub data: PostPatch,
    /// The `updatedAt` the editor started from: a newer one means someone else
    /// saved meanwhile, and the update is refused with 409 `POST_EDIT_CONFLICT`.
    #[garde(skip)]
    pub expected_updated_at: Option<Timestamp>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviewSummaryInput {
    #[garde(length(chars, max = 1_048_576))]
    pub content: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SummaryOutput {
    pub summary: String,
}

/// What [`slugify`] leaves unchanged, as the OpenAPI schema states it.
const SLUG_PATTERN: &str = r"^[a-z0-9\u4e00-\u9fa5]+(-[a-z0-9\u4e00-\u9fa5]+)*$";

fn valid_slug(value: &str, _: &()) -> garde::Result {
    if value.is_empty() || value.chars().count() > 200 {
        return Err(garde::Error::new("must be 1-200 characters"));
    }
    if slugify(value) != value {
        return Err(garde::Error::new("may contain lowercase letters, digits, CJK characters and single dashes"));
    }
    Ok(())
}

fn is_slug_cjk(c: char) -> bool {
    ('\u{4E00}'..='\u{9FA5}').contains(&c)
}

/// The original's slug rule: lowercase; whitespace and `_` runs become `-`;
/// only `a-z 0-9 -` and CJK ideographs stay; no repeated or edge dashes.
pub fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for c in text.trim().to_lowercase().chars() {
        if c.is_whitespace() || c == '_' || c == '-' {
            if !slug.ends_with('-') {
                slug.push('-');
            }
        } else if c.is_ascii_lowercase() || c.is_ascii_digit() || is_slug_cjk(c) {
            slug.push(c);
        }
    }
    slug.trim_matches('-').chars().take(200).collect::<String>().trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slugify("  Hello, World!  "), "hello-world");
        assert_eq!(slugify("Rust_and  Go -- together"), "rust-and-go-together");
        assert_eq!(slugify("你好 世界"), "你好-世界");
        assert_eq!(slugify("!!!"), "");
        assert_eq!(slugify("Ünïcödé"), "ncd");
    }

    #[test]
    fn patch_distinguishes_absent_null_and_value() {
        let patch: PostPatch = serde_json::from_str(r#"{"summary": null, "category": "rust"}"#).unwrap();
        assert_eq!(patch.summary, Some(None));
        assert_eq!(patch.category, Some(Some("rust".into())));
        assert_eq!(patch.content, None);
    }
}
