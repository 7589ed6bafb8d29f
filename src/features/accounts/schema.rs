//! Account inputs and outputs (camelCase JSON), with their validation rules.

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::platform::auth::{Role, Scope, User};
use crate::platform::clock::Timestamp;

pub const NAME_CHARS: std::ops::RangeInclusive<usize> = 1..=80;
/// [`display_name`] as the OpenAPI schema states it (a little narrower: no
/// surrounding whitespace).
const DISPLAY_NAME_PATTERN: &str = r"^[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$";
/// [`image_url`] as the OpenAPI schema states it (a little narrower: plain host names).
const IMAGE_URL_PATTERN: &str = r"^$|^/([^/\s\x00][^\s\x00]*)?$|^https?://[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:[0-9]{1,4})?(/[^\s\x00]*)?$";
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=128;

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignUpInput {
    /// Display name, 1-80 characters.
    #[garde(custom(display_name))]
    #[schemars(length(min = 1, max = 80), pattern(DISPLAY_NAME_PATTERN))]
    pub name: String,
    #[garde(email, length(chars, max = 254))]
    pub email: String,
    /// 8-128 characters.
    #[garde(length(chars, min = 8, max = 128))]
    pub password: String,
    /// The invite link's token, when registration is by invitation.
    #[serde(default)]
    #[garde(inner(length(chars, min = 1, max = 128)))]
    #[schemars(length(min = 1, max = 128))]
    pub invite: Option<String>,
    /// Where the verification link leads after verifying (a path on this site).
    #[serde(default, rename = "callbackURL")]
    #[garde(inner(custom(site_path)))]
    #[schemars(length(max = 512), pattern(SITE_PATH_PATTERN))]
    pub callback_url: Option<String>,
}

/// What sign-up answers: the account and, unless its address must be
/// verified first, the session just opened.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedUp {
    pub user: User,
    /// `null` while the address waits for verification.
    pub session: Option<SessionInfo>,
    /// A verification link was emailed; sign-in works once it is opened.
    pub verification_sent: bool,
}

/// A site path (`/...`, not `//host`): where links send people afterwards.
const SITE_PATH_PATTERN: &str = r"^/([^/\\\s\x00-\x1f\x7f-\x9f][^\s\x00-\x1f\x7f-\x9f]*)?$";

pub fn site_path(value: &str, _: &()) -> garde::Result {
    let ok = value.len() <= 512
        && value.starts_with('/')
        && !value.starts_with("//")
        && !value.starts_with("/\\")
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok { Ok(()) } else { Err(garde::Error::new("must be a path on this site, starting with a single /")) }
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailInput {
    #[garde(length(chars, min = 1, max = 254))]
    pub email: String,
    /// Where the emailed link leads afterwards (a path on this site).
    #[serde(default, rename = "callbackURL", alias = "redirectTo")]
    #[garde(inner(custom(site_path)))]
    #[schemars(length(max = 512), pattern(SITE_PATH_PATTERN))]
    pub callback_url: Option<String>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenQuery {
    #[garde(length(chars, min = 1, max = 128))]
    pub token: String,
    /// Where to go afterwards (a path on this site).
    #[serde(default, rename = "callbackURL")]
    #[garde(inner(custom(site_path)))]
    #[schemars(length(max = 512), pattern(SITE_PATH_PATTERN))]
    pub callback_url: Option<String>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetPasswordInput {
    /// The token from the emailed link.
    #[garde(length(chars, min = 1, max = 128))]
    pub token: String,
    /// 8-128 characters.
    #[garde(length(chars, min = 8, max = 128))]
    pub new_password: String,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetupInput {
    /// The token of the setup link `flint serve` logged.
    #[garde(length(chars, min = 1, max = 128))]
    pub token: String,
    #[garde(custom(display_name))]
    #[schemars(length(min = 1, max = 80), pattern(DISPLAY_NAME_PATTERN))]
    pub name: String,
    #[garde(email, length(chars, max = 254))]
    pub email: String,
    #[garde(length(chars, min = 8, max = 128))]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUserInput {
    #[garde(custom(display_name))]
    #[schemars(length(min = 1, max = 80), pattern(DISPLAY_NAME_PATTERN))]
    pub name: String,
    #[garde(email, length(chars, max = 254))]
    pub email: String,
    #[garde(length(chars, min = 8, max = 128))]
    pub password: String,
    /// `user` unless said.
    #[serde(default)]
    #[garde(skip)]
    pub role: Option<Role>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateInviteInput {
    /// How long the link works, in days (1-30, default 7).
    #[serde(default)]
    #[garde(inner(range(min = 1, max = 30)))]
    #[schemars(range(min = 1, max = 30))]
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Invite {
    pub id: String,
    pub created_by: Option<String>,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedInvite {
    /// The link to hand to the invitee: shown this once, stored only as a hash.
    pub url: String,
    pub invite: Invite,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitePage {
    pub items: Vec<Invite>,
    pub total: i64,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteAccountInput {
    /// The account's password (accounts without one confirm with their address instead).
    #[serde(default)]
    #[garde(inner(length(chars, min = 1, max = 1024)))]
    #[schemars(length(min = 1, max = 1024))]
    pub password: Option<String>,
    /// The account's address, for accounts that sign in only through GitHub or OpenID Connect.
    #[serde(default)]
    #[garde(inner(length(chars, min = 1, max = 254)))]
    #[schemars(length(min = 1, max = 254))]
    pub email: Option<String>,
}

/// Everything flint keeps about the caller.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountData {
    pub exported_at: Timestamp,
    pub profile: User,
    pub has_password: bool,
    pub external_accounts: Vec<ExternalAccount>,
    pub sessions: Vec<SessionListItem>,
    pub api_tokens: Vec<ApiTokenView>,
    /// The caller's comments, oldest first, in every status.
    pub comments: Vec<crate::features::comments::schema::Comment>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalAccount {
    /// `github` or `oidc`.
    pub provider: String,
    pub email: Option<String>,
    pub created_at: Timestamp,
}

/// The sign-in choices this server offers.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignInOptions {
    pub password: bool,
    /// External providers: `github`, `oidc`.
    pub providers: Vec<ProviderInfo>,
    /// `open`, `closed` or `invite`.
    pub registration: crate::features::settings::schema::Registration,
    /// Whether new accounts verify their address by email.
    pub email_verification: bool,
    /// The Turnstile site key, when sign-up and sign-in need a Turnstile token.
    pub turnstile_site_key: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderInfo {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SocialSignInInput {
    /// `github` or `oidc`.
    #[garde(length(chars, min = 1, max = 16))]
    pub provider: String,
    /// Where to go after signing in (a path on this site).
    #[serde(default, rename = "callbackURL")]
    #[garde(inner(custom(site_path)))]
    #[schemars(length(max = 512), pattern(SITE_PATH_PATTERN))]
    pub callback_url: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SocialSignIn {
    /// Send the browser here.
    pub url: String,
    pub redirect: bool,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallbackQuery {
    #[garde(inner(length(chars, max = 2048)))]
    #[schemars(length(max = 2048))]
    pub code: Option<String>,
    #[garde(inner(length(chars, max = 512)))]
    #[schemars(length(max = 512))]
    pub state: Option<String>,
    /// The provider's refusal (`access_denied`, ...).
    #[garde(inner(length(chars, max = 256)))]
    #[schemars(length(max = 256))]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub status: bool,
    pub message: &'static str,
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
    /// Accepted for better-auth clients; every other session ends either way.
    #[serde(default)]
    #[garde(skip)]
    pub revoke_other_sessions: bool,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUserInput {
    #[garde(inner(custom(display_name)))]
    #[schemars(length(min = 1, max = 80), pattern(DISPLAY_NAME_PATTERN))]
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
    /// The browser and system the user agent names, e.g. "Firefox on Linux".
    pub device: String,
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
        return Err(garde::Error::new("must be 1-80 characters"));
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
        assert!(display_name(" A ", &()).is_ok());
        assert!(display_name("   ", &()).is_err());
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

    #[test]
    fn callbacks_stay_on_the_site() {
        assert!(site_path("/", &()).is_ok());
        assert!(site_path("/admin?tab=1", &()).is_ok());
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example/", "admin", "/a b", ""] {
            assert!(site_path(bad, &()).is_err(), "{bad}");
        }
    }
}
