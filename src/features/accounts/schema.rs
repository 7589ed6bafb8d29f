//! Account inputs and outputs (camelCase JSON), with their validation rules.

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::platform::auth::{Role, Scope, User};
use crate::platform::clock::Timestamp;

pub const NAME_CHARS: std::ops::RangeInclusive<usize> = 2..=80;
/// [`display_name`] as the OpenAPI schema states it (a little narrower: no
/// surrounding whitespace).
const DISPLAY_NAME_PATTERN: &str = r"^[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$";
/// [`image_url`] as the OpenAPI schema states it (a little narrower: plain host names).
const IMAGE_URL_PATTERN: &str = r"^$|^/([^/\s\x00][^\s\x00]*)?$|^https?://[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:[0-9]{1,4})?(/[^\s\x00]*)?$";
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=128;

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignUpInput {
    /// Display name, 2-80 characters.
    #[garde(custom(display_name))]
    #[schemars(length(min = 2, max = 80), pattern(DISPLAY_NAME_PATTERN))]
    pub name: String,
    #[garde(email, length(chars, max = 254))]
    pub email: String,
    /// 8-128 characters.
    #[garde(length(chars, min = 8, max = 128))]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInInput {
    #[garde(length(chars, min = 1, max = 254))]
    pub email: String,
    #[garde(length(chars, min = 1, max = 1024))]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangePasswordInput {
    #[garde(length(chars, min = 1, max = 1024))]
    pub current_password: String,
    #[garde(length(chars, min = 8, max = 128))]
    pub new_password: String,
    /// Sign out every other browser session of this account.
    #[serde(default)]
    #[garde(skip)]
    pub revoke_other_sessions: bool,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUserInput {
    #[garde(inner(custom(display_name)))]
    #[schemars(length(min = 2, max = 80), pattern(DISPLAY_NAME_PATTERN))]
    pub name: Option<String>,
    /// An http(s) URL or a site path; `""` removes the image.
    #[garde(inner(custom(image_url)))]
    #[schemars(length(max = 2048), pattern(IMAGE_URL_PATTERN))]
    pub image: Option<String>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdInput {
    #[garde(length(chars, min = 1, max = 128))]
    pub id: String,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApiTokenInput {
    /// What the token is for, e.g. "deploy script".
    #[garde(length(chars, min = 1, max = 64))]
    pub name: String,
    #[garde(length(min = 1, max = 9))]
    pub scopes: Vec<Scope>,
    /// Lifetime in days; absent for a token that does not expire.
    #[garde(range(min = 1, max = 3650))]
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListUsersInput {
    /// Matches part of the email or name, case-insensitively.
    #[garde(length(chars, max = 100))]
    pub q: Option<String>,
    #[garde(skip)]
    pub role: Option<Role>,
    /// 1-100, default 20.
    #[garde(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    #[garde(range(max = 1_000_000))]
    pub offset: Option<u32>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetUserRoleInput {
    #[garde(length(chars, min = 1, max = 128))]
    pub user_id: String,
    #[garde(skip)]
    pub role: Role,
}

/// The caller and the credential they used.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CurrentSession {
    pub user: User,
    pub session: SessionInfo,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub id: String,
    /// `cookie` for a browser session, `token` for an API token.
    pub kind: &'static str,
    pub expires_at: Option<Timestamp>,
    /// The token's scopes (absent for browser sessions, which may do all the user may).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<Scope>>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionListItem {
    pub id: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The session making this request.
    pub current: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiTokenView {
    pub id: String,
    pub name: String,
    /// The token's last characters, to tell tokens apart.
    pub hint: String,
    pub scopes: Vec<Scope>,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiToken {
    /// The secret itself: shown this once, stored only as a hash.
    pub token: String,
    pub api_token: ApiTokenView,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserPage {
    pub items: Vec<User>,
    pub total: i64,
}

pub fn display_name(value: &str, _: &()) -> garde::Result {
    let trimmed = value.trim();
    let chars = trimmed.chars().count();
    if !NAME_CHARS.contains(&chars) {
        return Err(garde::Error::new("must be 2-80 characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(garde::Error::new("must not contain control characters"));
    }
    Ok(())
}

fn image_url(value: &str, _: &()) -> garde::Result {
    if value.is_empty() {
        return Ok(());
    }
    if value.len() > 2048 {
        return Err(garde::Error::new("must be at most 2048 characters"));
    }
    let is_site_path = value.starts_with('/') && !value.starts_with("//");
    let is_web_url = url::Url::parse(value).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if is_site_path || is_web_url { Ok(()) } else { Err(garde::Error::new("must be an http(s) URL or a path starting with /")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_measured_trimmed_in_characters() {
        assert!(display_name("  Al  ", &()).is_ok());
        assert!(display_name("李雷", &()).is_ok());
        assert!(display_name(" A ", &()).is_err());
        assert!(display_name(&"x".repeat(80), &()).is_ok());
        assert!(display_name(&"x".repeat(81), &()).is_err());
        assert!(display_name("a\u{7}b", &()).is_err());
    }

    #[test]
    fn images_are_web_urls_or_site_paths() {
        assert!(image_url("", &()).is_ok());
        assert!(image_url("https://example.com/a.png", &()).is_ok());
        assert!(image_url("/images/a.png", &()).is_ok());
        assert!(image_url("javascript:alert(1)", &()).is_err());
        assert!(image_url("//evil.example/a.png", &()).is_err());
    }
}
