//! Friend link types and inputs (spec §8.12).

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::platform::clock::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LinkStatus {
    Pending,
    Approved,
    Rejected,
}

impl LinkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Pending => "pending",
            LinkStatus::Approved => "approved",
            LinkStatus::Rejected => "rejected",
        }
    }
}

impl TryFrom<String> for LinkStatus {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        match value.as_str() {
            "pending" => Ok(LinkStatus::Pending),
            "approved" => Ok(LinkStatus::Approved),
            "rejected" => Ok(LinkStatus::Rejected),
            other => Err(format!("unknown friend link status {other:?}")),
        }
    }
}

/// A friend link as admins and its submitter see it.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct FriendLink {
    pub id: i64,
    pub site_name: String,
    pub site_url: String,
    pub description: Option<String>,
    pub logo_url: Option<String>,
    pub contact_email: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: LinkStatus,
    pub rejection_reason: Option<String>,
    pub user_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A friend link as readers see it (never its contact address).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicFriendLink {
    pub id: i64,
    pub site_name: String,
    pub site_url: String,
    pub description: Option<String>,
    pub logo_url: Option<String>,
    pub created_at: Timestamp,
}

impl From<FriendLink> for PublicFriendLink {
    fn from(link: FriendLink) -> Self {
        PublicFriendLink {
            id: link.id,
            site_name: link.site_name,
            site_url: link.site_url,
            description: link.description,
            logo_url: link.logo_url,
            created_at: link.created_at,
        }
    }
}

const HTTP_URL: &str = r"^https?://([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?(:[0-9]{1,4})?(/[!-~]*)?$";
const EMAIL: &str = r"^[!-?A-~]+@[!-\-/-?A-~][!-?A-~]*\.[!-?A-~]*[!-\-/-?A-~]$";
const OPTIONAL_HTTP_URL: &str =
    r"^$|^https?://([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?(:[0-9]{1,4})?(/[!-~]*)?$";
const OPTIONAL_EMAIL: &str = r"^$|^[!-?A-~]+@[!-\-/-?A-~][!-?A-~]*\.[!-?A-~]*[!-\-/-?A-~]$";
const TEXT: &str = r"^[^\u0000-\u001f\u007f-\u009f]*$";
const NAME: &str = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";

fn http_url(value: &str, _: &()) -> garde::Result {
    let ok = url::Url::parse(value).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty()))
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok { Ok(()) } else { Err(garde::Error::new("must be an http(s) URL")) }
}

fn optional_url(value: &str, ctx: &()) -> garde::Result {
    if value.is_empty() { Ok(()) } else { http_url(value, ctx) }
}

fn email(value: &str, _: &()) -> garde::Result {
    if crate::platform::config::is_plausible_email(value) { Ok(()) } else { Err(garde::Error::new("must be an email address")) }
}

fn optional_email(value: &str, ctx: &()) -> garde::Result {
    if value.is_empty() { Ok(()) } else { email(value, ctx) }
}

fn text(value: &str, _: &()) -> garde::Result {
    if value.chars().any(char::is_control) { Err(garde::Error::new("must not contain control characters")) } else { Ok(()) }
}

fn name(value: &str, ctx: &()) -> garde::Result {
    text(value, ctx)?;
    if value.trim().is_empty() { Err(garde::Error::new("must not be blank")) } else { Ok(()) }
}

/// A reader's request to be linked.
#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitInput {
    #[garde(length(chars, min = 1, max = 100), custom(name))]
    #[schemars(length(min = 1, max = 100), regex(pattern = NAME))]
    pub site_name: String,
    #[garde(length(max = 500), custom(http_url))]
    #[schemars(length(max = 500), regex(pattern = HTTP_URL))]
    pub site_url: String,
    #[garde(inner(length(chars, max = 300), custom(text)))]
    #[schemars(length(max = 300), regex(pattern = TEXT))]
    pub description: Option<String>,
    /// Empty, or an http(s) URL.
    #[garde(inner(length(max = 500), custom(optional_url)))]
    #[schemars(length(max = 500), regex(pattern = OPTIONAL_HTTP_URL))]
    pub logo_url: Option<String>,
    /// Where the result is sent; never shown publicly.
    #[garde(length(chars, max = 254), custom(email))]
    #[schemars(length(max = 254), regex(pattern = EMAIL))]
    pub contact_email: String,
}

/// An admin's own link (approved at once).
#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateInput {
    #[garde(length(chars, min = 1, max = 100), custom(name))]
    #[schemars(length(min = 1, max = 100), regex(pattern = NAME))]
    pub site_name: String,
    #[garde(length(max = 500), custom(http_url))]
    #[schemars(length(max = 500), regex(pattern = HTTP_URL))]
    pub site_url: String,
    #[garde(inner(length(chars, max = 300), custom(text)))]
    #[schemars(length(max = 300), regex(pattern = TEXT))]
    pub description: Option<String>,
    #[garde(inner(length(max = 500), custom(optional_url)))]
    #[schemars(length(max = 500), regex(pattern = OPTIONAL_HTTP_URL))]
    pub logo_url: Option<String>,
    /// Empty, or an email address.
    #[garde(inner(length(chars, max = 254), custom(optional_email)))]
    #[schemars(length(max = 254), regex(pattern = OPTIONAL_EMAIL))]
    pub contact_email: Option<String>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateInput {
    #[garde(range(min = 1))]
    #[schemars(range(min = 1))]
    pub id: i64,
    #[garde(inner(length(chars, min = 1, max = 100), custom(name)))]
    #[schemars(length(min = 1, max = 100), regex(pattern = NAME))]
    pub site_name: Option<String>,
    #[garde(inner(length(max = 500), custom(http_url)))]
    #[schemars(length(max = 500), regex(pattern = HTTP_URL))]
    pub site_url: Option<String>,
    #[garde(inner(length(chars, max = 300), custom(text)))]
    #[schemars(length(max = 300), regex(pattern = TEXT))]
    pub description: Option<String>,
    #[garde(inner(length(max = 500), custom(optional_url)))]
    #[schemars(length(max = 500), regex(pattern = OPTIONAL_HTTP_URL))]
    pub logo_url: Option<String>,
    #[garde(inner(length(chars, max = 254), custom(optional_email)))]
    #[schemars(length(max = 254), regex(pattern = OPTIONAL_EMAIL))]
    pub contact_email: Option<String>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdInput {
    #[garde(range(min = 1))]
    #[schemars(range(min = 1))]
    pub id: i64,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RejectInput {
    #[garde(range(min = 1))]
    #[schemars(range(min = 1))]
    pub id: i64,
    #[garde(inner(length(chars, max = 500), custom(text)))]
    #[schemars(length(max = 500), regex(pattern = TEXT))]
    pub rejection_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListInput {
    #[garde(range(min = 0, max = 1_000_000))]
    #[schemars(range(min = 0, max = 1_000_000))]
    pub offset: Option<u32>,
    /// 1-100, default 20.
    #[garde(range(min = 1, max = 100))]
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    #[garde(skip)]
    pub status: Option<LinkStatus>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LinkPage {
    pub items: Vec<FriendLink>,
    pub total: i64,
}
