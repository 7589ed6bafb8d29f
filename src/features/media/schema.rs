//! Media types and inputs.

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::features::posts::schema::PostStatus;
use crate::platform::clock::Timestamp;

/// An uploaded image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct MediaRow {
    pub id: i64,
    /// Its storage key: a UUID and the type's extension.
    pub key: String,
    /// Where readers fetch it (`/images/<key>`).
    pub url: String,
    /// The uploaded file's name (or the one given since).
    pub file_name: String,
    /// From the file's bytes.
    pub mime_type: String,
    pub size_in_bytes: i64,
    /// As displayed (EXIF orientation applied).
    pub width: i32,
    pub height: i32,
    pub created_at: Timestamp,
}

/// Largest `limit` of a media page.
pub const MAX_PAGE: u32 = 100;

#[derive(Debug, Default, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MediaListInput {
    /// The `nextCursor` of the previous page.
    #[garde(range(min = 1))]
    #[schemars(range(min = 1))]
    pub cursor: Option<i64>,
    /// 1-100, default 20.
    #[garde(range(min = 1, max = MAX_PAGE))]
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    /// Part of the file name (`%` and `_` are plain characters).
    #[garde(length(chars, max = 200))]
    #[schemars(length(max = 200))]
    pub search: Option<String>,
    /// Only images no post uses.
    #[garde(skip)]
    pub unused_only: Option<bool>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MediaPage {
    pub items: Vec<MediaRow>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<i64>,
}

/// Media keys are ASCII letters, digits, `.`, `-`, `_` and `/`.
fn media_key(value: &str, _: &()) -> garde::Result {
    let valid = value.trim() == value && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/'));
    if valid { Ok(()) } else { Err(garde::Error::new("not a media key")) }
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MediaKeyInput {
    #[garde(length(min = 1, max = 200), custom(media_key))]
    #[schemars(length(min = 1, max = 200), regex(pattern = r"^[A-Za-z0-9._/-]+$"))]
    pub key: String,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MediaKeysInput {
    /// Comma-separated keys (at most 100).
    #[garde(length(max = 20_000), custom(media_key_list))]
    #[schemars(length(max = 20_000), regex(pattern = r"^[A-Za-z0-9._/,-]*$"))]
    pub keys: String,
}

fn media_key_list(value: &str, _: &()) -> garde::Result {
    if value.split(',').filter(|k| !k.is_empty()).count() > 100 {
        return Err(garde::Error::new("at most 100 keys"));
    }
    value.split(',').filter(|k| !k.is_empty()).try_for_each(|key| media_key(key, &()))
}

impl MediaKeysInput {
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.keys.split(',').filter(|k| !k.is_empty()).collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenameMediaInput {
    #[garde(length(min = 1, max = 200), custom(media_key))]
    #[schemars(length(min = 1, max = 200), regex(pattern = r"^[A-Za-z0-9._/-]+$"))]
    pub key: String,
    /// The new file name (1-255 characters; control characters are dropped,
    /// and something visible must be left).
    #[garde(length(chars, min = 1, max = 255), custom(file_name))]
    #[schemars(length(min = 1, max = 255), regex(pattern = r"[^\s\u0000-\u001f\u007f-\u009f]"))]
    pub name: String,
}

fn file_name(value: &str, _: &()) -> garde::Result {
    if value.chars().any(|c| !c.is_whitespace() && !c.is_control()) {
        Ok(())
    } else {
        Err(garde::Error::new("must have a visible character"))
    }
}

/// A post that uses an image.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkedPost {
    pub id: i64,
    pub title: String,
    pub summary: Option<String>,
    pub read_time_in_minutes: i32,
    pub slug: String,
    pub status: PostStatus,
}

/// `{ url }` of a stored site asset.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AssetUrl {
    pub url: String,
}

/// `GET /images/{key}` options.
#[derive(Debug, Default, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageQuery {
    /// `true`: the uploaded bytes, as they are.
    #[garde(skip)]
    pub original: Option<bool>,
    /// Rounded up to 160, 320, 640, 960, 1280, 1920 or 2560; never wider than the original.
    #[garde(range(min = 1, max = 10_000))]
    #[schemars(range(min = 1, max = 10_000))]
    pub width: Option<u32>,
    #[garde(range(min = 1, max = 10_000))]
    #[schemars(range(min = 1, max = 10_000))]
    pub height: Option<u32>,
    /// 1-100, rounded to 50, 65, 80, 90 or 100 (default 80).
    #[garde(range(min = 1, max = 100))]
    #[schemars(range(min = 1, max = 100))]
    pub quality: Option<u8>,
    #[garde(skip)]
    pub fit: Option<FitInput>,
    /// Cache-busting version of a site asset (ignored).
    #[garde(length(chars, max = 40))]
    #[schemars(length(max = 40))]
    pub v: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FitInput {
    /// Fill the box, cropped to the nearest common aspect ratio.
    Cover,
    /// Fit inside the box.
    Contain,
    /// Fit inside the box (images are never enlarged, so as `contain`).
    ScaleDown,
}
