//! Tag types and inputs.

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::platform::clock::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    pub id: i64,
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct TagWithCount {
    pub id: i64,
    pub name: String,
    pub created_at: Timestamp,
    pub post_count: i64,
}

/// A tag as embedded in a post.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, sqlx::FromRow)]
pub struct TagRef {
    pub id: i64,
    pub name: String,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum TagSort {
    #[default]
    Name,
    CreatedAt,
    PostCount,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SortDir {
    #[default]
    Asc,
    Desc,
}

#[derive(Debug, Default, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TagsAdminInput {
    #[garde(skip)]
    pub sort_by: Option<TagSort>,
    #[garde(skip)]
    pub sort_dir: Option<SortDir>,
    /// Count only public posts (else every post).
    #[garde(skip)]
    pub public_only: Option<bool>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTagInput {
    #[garde(custom(tag_name))]
    #[schemars(length(min = 1, max = 50), pattern(TAG_NAME_PATTERN))]
    pub name: String,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TagPatch {
    #[garde(inner(custom(tag_name)))]
    #[schemars(length(min = 1, max = 50), pattern(TAG_NAME_PATTERN))]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateTagInput {
    #[garde(range(min = 1))]
    pub id: i64,
    #[garde(dive)]
    pub data: TagPatch,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TagIdInput {
    #[garde(range(min = 1))]
    pub id: i64,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostIdInput {
    #[garde(range(min = 1))]
    pub post_id: i64,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetPostTagsInput {
    #[garde(range(min = 1))]
    pub post_id: i64,
    #[garde(length(max = 50), inner(range(min = 1)))]
    pub tag_ids: Vec<i64>,
}

/// [`tag_name`] as the OpenAPI schema states it: no control characters,
/// not only whitespace.
pub const TAG_NAME_PATTERN: &str = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";

pub fn tag_name(value: &str, _: &()) -> garde::Result {
    let chars = value.trim().chars().count();
    if !(1..=50).contains(&chars) {
        return Err(garde::Error::new("must be 1-50 characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(garde::Error::new("must not contain control characters"));
    }
    Ok(())
}
