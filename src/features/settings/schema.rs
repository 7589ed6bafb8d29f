//! The site's settings (`SystemConfig`, spec §8.8): types with their rules
//! and defaults, normalisation (legacy shapes, trimming) and the secret mask.

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What `getSystemConfig` sends instead of a stored secret; saving it back
/// keeps the stored value.
pub const SECRET_MASK: &str = "********";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SystemConfig {
    #[garde(dive)]
    pub email: EmailSettings,
    #[garde(dive)]
    pub notification: NotificationSettings,
    #[garde(dive)]
    pub site: SiteSettings,
    #[garde(dive)]
    pub comments: CommentSettings,
    #[garde(dive)]
    pub accounts: AccountSettings,
}

/// Who may create an account (issue 21).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    /// Anyone may sign up (with email set up, they verify their address first).
    #[default]
    Open,
    /// Only the admin creates accounts (`createUser`).
    Closed,
    /// Sign-up needs a single-use invite link made by the admin (`createInvite`).
    Invite,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct AccountSettings {
    #[garde(skip)]
    pub registration: Registration,
}

/// How readers' comments are moderated (admins' comments are published at once).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModerationMode {
    /// The rule check, then the AI reviewer: safe is published, anything
    /// else (or an AI failure) waits for an admin.
    Ai,
    /// Every comment waits for an admin.
    Manual,
    /// The rule check only: a comment that passes is published at once.
    Open,
}

/// Comment moderation (issue 20). `moderation` unset means `ai` when an AI
/// endpoint is configured (`FLINT_AI_*`), else `manual`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct CommentSettings {
    #[garde(skip)]
    pub moderation: Option<ModerationMode>,
    /// A comment with more links than this waits for review.
    #[garde(range(max = 100))]
    #[schemars(range(max = 100))]
    pub max_links: u32,
    /// Words or phrases (case-insensitive) that send a comment to review; at most 500.
    #[garde(length(max = 500), inner(length(chars, min = 1, max = 100), custom(visible)))]
    #[schemars(
        length(max = 500),
        inner(
            length(min = 1, max = 100),
            regex(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$")
        )
    )]
    pub block_list: Vec<String>,
}

impl Default for CommentSettings {
    fn default() -> Self {
        CommentSettings { moderation: None, max_links: 2, block_list: Vec::new() }
    }
}

/// SMTP: port 465 is implicit TLS, any other port STARTTLS (plain only to a
/// relay on this machine).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct EmailSettings {
    #[garde(length(chars, max = 253), custom(no_controls))]
    #[schemars(length(max = 253), regex(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    pub host: String,
    #[garde(range(min = 1))]
    #[schemars(range(min = 1))]
    pub port: u16,
    #[garde(length(chars, max = 256), custom(no_controls))]
    #[schemars(length(max = 256), regex(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    pub username: String,
    /// Masked (`********`) when read; send the mask back to keep it.
    #[garde(length(chars, max = 256))]
    #[schemars(length(max = 256))]
    pub password: String,
    #[garde(length(chars, max = 100), custom(no_controls))]
    #[schemars(length(max = 100), regex(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    pub sender_name: String,
    /// An email address, or empty.
    #[garde(length(chars, max = 254), custom(empty_or_email))]
    #[schemars(length(max = 254), regex(pattern = r"^$|^[!-?A-~]+@[!-\-/-?A-~][!-?A-~]*\.[!-?A-~]*[!-\-/-?A-~]$"))]
    pub sender_address: String,
    /// The original's Resend API key: moved into the SMTP fields on save.
    #[serde(skip_serializing, default)]
    #[garde(skip)]
    #[schemars(skip)]
    pub api_key: Option<String>,
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings {
            host: String::new(),
            port: 465,
            username: String::new(),
            password: String::new(),
            sender_name: String::new(),
            sender_address: String::new(),
            api_key: None,
        }
    }
}

impl EmailSettings {
    /// Host, username, password and sender address are all set.
    pub fn is_complete(&self) -> bool {
        [&self.host, &self.username, &self.password, &self.sender_address].iter().all(|v| !v.trim().is_empty())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct NotificationSettings {
    #[garde(dive)]
    pub admin: AdminNotifications,
    #[garde(dive)]
    pub user: UserNotifications,
    /// At most 20.
    #[garde(length(max = 20), dive)]
    #[schemars(length(max = 20))]
    pub webhooks: Vec<WebhookEndpoint>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct AdminNotifications {
    #[garde(dive)]
    pub channels: Channels,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Channels {
    #[garde(skip)]
    pub email: bool,
    #[garde(skip)]
    pub webhook: bool,
}

impl Default for Channels {
    fn default() -> Self {
        Channels { email: true, webhook: true }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct UserNotifications {
    #[garde(skip)]
    pub email_enabled: bool,
}

impl Default for UserNotifications {
    fn default() -> Self {
        UserNotifications { email_enabled: true }
    }
}

/// What a notification is about (spec §8.10, and `post.published`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum NotificationType {
    #[serde(rename = "comment.admin_root_created")]
    CommentAdminRootCreated,
    #[serde(rename = "comment.admin_pending_review")]
    CommentAdminPendingReview,
    #[serde(rename = "comment.reply_to_admin_published")]
    CommentReplyToAdminPublished,
    #[serde(rename = "comment.reply_to_user_published")]
    CommentReplyToUserPublished,
    #[serde(rename = "friend_link.submitted")]
    FriendLinkSubmitted,
    #[serde(rename = "friend_link.approved")]
    FriendLinkApproved,
    #[serde(rename = "friend_link.rejected")]
    FriendLinkRejected,
    #[serde(rename = "post.published")]
    PostPublished,
}

impl NotificationType {
    pub const ALL: [NotificationType; 8] = [
        NotificationType::CommentAdminRootCreated,
        NotificationType::CommentAdminPendingReview,
        NotificationType::CommentReplyToAdminPublished,
        NotificationType::CommentReplyToUserPublished,
        NotificationType::FriendLinkSubmitted,
        NotificationType::FriendLinkApproved,
        NotificationType::FriendLinkRejected,
        NotificationType::PostPublished,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationType::CommentAdminRootCreated => "comment.admin_root_created",
            NotificationType::CommentAdminPendingReview => "comment.admin_pending_review",
            NotificationType::CommentReplyToAdminPublished => "comment.reply_to_admin_published",
            NotificationType::CommentReplyToUserPublished => "comment.reply_to_user_published",
            NotificationType::FriendLinkSubmitted => "friend_link.submitted",
            NotificationType::FriendLinkApproved => "friend_link.approved",
            NotificationType::FriendLinkRejected => "friend_link.rejected",
            NotificationType::PostPublished => "post.published",
        }
    }

    /// Sent to the blog's admins (else to the user concerned).
    pub fn for_admins(self) -> bool {
        !matches!(
            self,
            NotificationType::CommentReplyToUserPublished | NotificationType::FriendLinkApproved | NotificationType::FriendLinkRejected
        )
    }
}

/// The notification types a webhook may subscribe to (for the schema: the
/// admins' ones).
#[derive(JsonSchema)]
#[allow(dead_code)]
enum AdminNotificationType {
    #[serde(rename = "comment.admin_root_created")]
    CommentAdminRootCreated,
    #[serde(rename = "comment.admin_pending_review")]
    CommentAdminPendingReview,
    #[serde(rename = "comment.reply_to_admin_published")]
    CommentReplyToAdminPublished,
    #[serde(rename = "friend_link.submitted")]
    FriendLinkSubmitted,
    #[serde(rename = "post.published")]
    PostPublished,
}

/// A receiver of notifications.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookEndpoint {
    /// Stable across edits (its delivery log is kept under it).
    #[garde(length(min = 1, max = 64), custom(endpoint_id))]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub id: String,
    #[garde(length(chars, min = 1, max = 80), custom(visible))]
    #[schemars(
        length(min = 1, max = 80),
        regex(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$")
    )]
    pub name: String,
    /// An http(s) URL.
    #[garde(length(max = 2000), custom(http_url))]
    #[schemars(with = "HttpUrlSchema")]
    pub url: String,
    #[garde(skip)]
    pub enabled: bool,
    /// A `whsec_` secret (base64 after the prefix); empty makes one.
    /// Masked when read; send the mask back to keep it.
    #[garde(length(chars, max = 200), custom(no_controls))]
    #[schemars(length(max = 200), regex(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    #[serde(default)]
    pub secret: String,
    /// Admin notifications only (users hear of theirs by email).
    #[garde(length(max = 8), custom(admin_events))]
    #[schemars(length(max = 8), with = "Vec<AdminNotificationType>")]
    pub events: Vec<NotificationType>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SiteSettings {
    #[garde(length(chars, min = 1, max = 120), custom(visible))]
    #[schemars(
        length(min = 1, max = 120),
        regex(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$")
    )]
    pub title: String,
    #[garde(length(chars, max = 80), custom(no_controls))]
    #[schemars(length(max = 80), regex(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    pub author: String,
    #[garde(length(chars, max = 300), custom(no_controls))]
    #[schemars(length(max = 300), regex(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    pub description: String,
    /// The language of the site's pages (`lang`), a BCP 47 tag such as `en`
    /// or `zh-CN`; empty: the one `FLINT_LOCALE` implies.
    #[garde(length(max = 35), pattern(r"^([A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*)?$"))]
    #[schemars(length(max = 35), regex(pattern = r"^([A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*)?$"))]
    pub language: String,
    /// At most 20; the original's `{github, email}` object is read too.
    #[serde(deserialize_with = "social_links")]
    #[garde(length(max = 20), dive)]
    #[schemars(length(max = 20))]
    pub social: Vec<SocialLink>,
    /// The links of the site's navigation bar after Home, Posts, Tags and
    /// Archive (standalone pages such as `/about`), at most 10.
    #[garde(length(max = 10), dive)]
    #[schemars(length(max = 10))]
    pub navigation: Vec<NavLink>,
    #[garde(dive)]
    pub icons: Icons,
    #[garde(dive)]
    pub theme: ThemeSettings,
}

impl SiteSettings {
    /// The `lang` of the site's pages: the setting, else the locale's.
    pub fn lang(&self, locale: crate::platform::config::Locale) -> String {
        if !self.language.is_empty() {
            return self.language.clone();
        }
        match locale {
            crate::platform::config::Locale::En => "en".to_owned(),
            crate::platform::config::Locale::Zh => "zh-CN".to_owned(),
        }
    }
}

/// A link of the navigation bar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NavLink {
    #[garde(length(chars, min = 1, max = 40), custom(visible))]
    #[schemars(
        length(min = 1, max = 40),
        regex(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$")
    )]
    pub label: String,
    /// http(s), mailto: or a site path (`/about`).
    #[garde(length(min = 1, max = 500), custom(link))]
    #[schemars(with = "LinkSchema")]
    pub url: String,
}

impl Default for SiteSettings {
    fn default() -> Self {
        SiteSettings {
            title: "flint".into(),
            author: String::new(),
            description: String::new(),
            language: String::new(),
            social: vec![SocialLink { platform: SocialPlatform::Rss, url: "/rss.xml".into(), icon: None, label: None }],
            navigation: Vec::new(),
            icons: Icons::default(),
            theme: ThemeSettings::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SocialPlatform {
    Github,
    Twitter,
    Discord,
    Bilibili,
    Email,
    Rss,
    Custom,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SocialLink {
    #[garde(skip)]
    pub platform: SocialPlatform,
    /// http(s), mailto: or a site path.
    #[garde(length(min = 1, max = 500), custom(link))]
    #[schemars(with = "LinkSchema")]
    pub url: String,
    #[garde(inner(length(max = 300), custom(site_path_or_empty)))]
    #[schemars(with = "SitePathSchema")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    #[garde(inner(length(chars, max = 40), custom(no_controls)))]
    #[schemars(length(max = 40), regex(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// The original's social object (`{github?, email?}`) or the list.
fn social_links<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<SocialLink>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Social {
        List(Vec<SocialLink>),
        Legacy { github: Option<String>, email: Option<String> },
    }
    Ok(match Social::deserialize(deserializer)? {
        Social::List(list) => list,
        Social::Legacy { github, email } => {
            let mut links = Vec::new();
            if let Some(url) = github.filter(|u| !u.trim().is_empty()) {
                links.push(SocialLink { platform: SocialPlatform::Github, url, icon: None, label: None });
            }
            if let Some(address) = email.filter(|e| !e.trim().is_empty()) {
                let url = if address.starts_with("mailto:") { address } else { format!("mailto:{address}") };
                links.push(SocialLink { platform: SocialPlatform::Email, url, icon: None, label: None });
            }
            links
        }
    })
}

/// Each `""` or a site path (`/…`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Icons {
    #[garde(length(max = 300), custom(site_path_or_empty))]
    #[schemars(with = "SitePathSchema")]
    pub favicon_svg: String,
    #[garde(length(max = 300), custom(site_path_or_empty))]
    #[schemars(with = "SitePathSchema")]
    pub favicon_ico: String,
    #[garde(length(max = 300), custom(site_path_or_empty))]
    #[schemars(with = "SitePathSchema")]
    pub favicon96: String,
    #[garde(length(max = 300), custom(site_path_or_empty))]
    #[schemars(with = "SitePathSchema")]
    pub apple_touch_icon: String,
    #[garde(length(max = 300), custom(site_path_or_empty))]
    #[schemars(with = "SitePathSchema")]
    pub web_app192: String,
    #[garde(length(max = 300), custom(site_path_or_empty))]
    #[schemars(with = "SitePathSchema")]
    pub web_app512: String,
}

impl Default for Icons {
    fn default() -> Self {
        Icons {
            favicon_svg: "/favicon.svg".into(),
            favicon_ico: "/favicon.ico".into(),
            favicon96: "/favicon-96x96.png".into(),
            apple_touch_icon: "/apple-touch-icon.png".into(),
            web_app192: "/web-app-manifest-192x192.png".into(),
            web_app512: "/web-app-manifest-512x512.png".into(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ThemeSettings {
    #[garde(dive)]
    pub default: DefaultTheme,
    #[garde(dive)]
    pub fuwari: FuwariTheme,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct DefaultTheme {
    /// The name in the navigation bar (empty: the title).
    #[garde(length(chars, max = 60), custom(no_controls))]
    #[schemars(length(max = 60), regex(pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"))]
    pub nav_bar_name: String,
    #[garde(dive)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background: Option<Background>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Background {
    #[garde(length(max = 500), custom(image_url_or_empty))]
    #[schemars(with = "ImageUrlSchema")]
    pub home_image: String,
    #[garde(length(max = 500), custom(image_url_or_empty))]
    #[schemars(with = "ImageUrlSchema")]
    pub global_image: String,
    #[garde(dive)]
    pub light: Opacity,
    #[garde(dive)]
    pub dark: Opacity,
    #[garde(range(min = 0, max = 32))]
    #[schemars(range(min = 0, max = 32))]
    pub backdrop_blur: u32,
    #[garde(range(min = 0, max = 1500))]
    #[schemars(range(min = 0, max = 1500))]
    pub transition_duration: u32,
}

impl Default for Background {
    fn default() -> Self {
        Background {
            home_image: String::new(),
            global_image: String::new(),
            light: Opacity { opacity: 0.15 },
            dark: Opacity { opacity: 0.1 },
            backdrop_blur: 8,
            transition_duration: 600,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Opacity {
    #[garde(range(min = 0.0, max = 0.4))]
    #[schemars(range(min = 0.0, max = 0.4))]
    pub opacity: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FuwariTheme {
    #[garde(length(max = 500), custom(image_url_or_empty))]
    #[schemars(with = "ImageUrlSchema")]
    pub home_bg: String,
    #[garde(length(max = 300), custom(site_path_or_empty))]
    #[schemars(with = "SitePathSchema")]
    pub avatar: String,
    #[garde(range(min = 0, max = 360))]
    #[schemars(range(min = 0, max = 360))]
    pub primary_hue: u32,
}

impl Default for FuwariTheme {
    fn default() -> Self {
        FuwariTheme { home_bg: String::new(), avatar: String::new(), primary_hue: 250 }
    }
}

// ---- what the schema says of addresses -----------------------------------------------
//
// The patterns admit a subset of what the rules below accept (ASCII, host
// names whose last label starts with a letter), so a request the OpenAPI
// document allows is never refused.

const SITE_PATH: &str = r"^(/([!-.0-~][!-~]*)?)?$";
const HTTP_URL: &str = r"^https?://([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?(:[0-9]{1,4})?(/[!-~]*)?$";
const LINK: &str = r"^(https?://([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?(:[0-9]{1,4})?(/[!-~]*)?|mailto:[!-~]+|/([!-.0-~][!-~]*)?)$";
const IMAGE_URL: &str = r"^(/([!-.0-~][!-~]*)?|https?://([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?(:[0-9]{1,4})?(/[!-~]*)?)?$";

macro_rules! string_schema {
    ($name:ident, $title:literal, $max:literal, $pattern:expr) => {
        struct $name;

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $title.into()
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({"type": "string", "maxLength": $max, "pattern": $pattern})
            }
        }
    };
}

string_schema!(SitePathSchema, "SitePath", 300, SITE_PATH);
string_schema!(HttpUrlSchema, "HttpUrl", 2000, HTTP_URL);
string_schema!(ImageUrlSchema, "ImageUrl", 500, IMAGE_URL);
string_schema!(LinkSchema, "Link", 500, LINK);

// ---- rules ---------------------------------------------------------------------

fn endpoint_id(value: &str, _: &()) -> garde::Result {
    if value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        Ok(())
    } else {
        Err(garde::Error::new("use letters, digits, '-' and '_'"))
    }
}

fn admin_events(value: &[NotificationType], _: &()) -> garde::Result {
    match value.iter().find(|t| !t.for_admins()) {
        Some(t) => Err(garde::Error::new(format!("{} goes to a user by email, not to webhooks", t.as_str()))),
        None => Ok(()),
    }
}

fn no_controls(value: &str, _: &()) -> garde::Result {
    if value.chars().any(char::is_control) { Err(garde::Error::new("must not contain control characters")) } else { Ok(()) }
}

fn visible(value: &str, _: &()) -> garde::Result {
    no_controls(value, &())?;
    if value.trim().is_empty() { Err(garde::Error::new("must not be blank")) } else { Ok(()) }
}

fn empty_or_email(value: &str, _: &()) -> garde::Result {
    if value.is_empty() || crate::platform::config::is_plausible_email(value) {
        Ok(())
    } else {
        Err(garde::Error::new("must be an email address, or empty"))
    }
}

fn is_http_url(value: &str) -> bool {
    url::Url::parse(value).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty()))
        && !value.chars().any(char::is_whitespace)
}

fn http_url(value: &str, _: &()) -> garde::Result {
    if is_http_url(value) { Ok(()) } else { Err(garde::Error::new("must be an http(s) URL")) }
}

fn is_site_path(value: &str) -> bool {
    value.starts_with('/') && !value.starts_with("//") && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn site_path_or_empty(value: &str, _: &()) -> garde::Result {
    if value.is_empty() || is_site_path(value) { Ok(()) } else { Err(garde::Error::new("must be empty or a path on this site (/…)")) }
}

fn image_url_or_empty(value: &str, _: &()) -> garde::Result {
    if value.is_empty() || is_site_path(value) || is_http_url(value) {
        Ok(())
    } else {
        Err(garde::Error::new("must be empty, a path on this site (/…) or an http(s) URL"))
    }
}

fn link(value: &str, _: &()) -> garde::Result {
    let mailto = value.strip_prefix("mailto:").is_some_and(|rest| !rest.is_empty() && !rest.chars().any(char::is_whitespace));
    if is_http_url(value) || is_site_path(value) || mailto {
        Ok(())
    } else {
        Err(garde::Error::new("must be an http(s) URL, a mailto: address or a path on this site"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_shapes_and_defaults_are_read() {
        let config: SystemConfig = serde_json::from_value(serde_json::json!({
            "email": {"apiKey": "re_123"},
            "site": {"title": "Old", "social": {"github": "https://github.com/me", "email": "me@example.com"},
                     "theme": {"default": {"background": {"homeImage": "/images/bg.webp"}}}}
        }))
        .unwrap();
        assert_eq!(config.email.api_key.as_deref(), Some("re_123"));
        assert_eq!(config.email.port, 465);
        assert!(config.notification.admin.channels.email && config.notification.user.email_enabled);
        assert_eq!(config.site.social[1].url, "mailto:me@example.com");
        let background = config.site.theme.default.background.unwrap();
        assert_eq!((background.light.opacity, background.backdrop_blur, background.transition_duration), (0.15, 8, 600));
        assert_eq!(config.site.icons.favicon_svg, "/favicon.svg");
        assert_eq!(config.site.theme.fuwari.primary_hue, 250);
    }

    #[test]
    fn rules_refuse_what_the_spec_refuses() {
        let mut config = SystemConfig::default();
        assert!(config.validate().is_ok());
        config.site.icons.favicon_ico = "https://elsewhere.example/x.ico".into();
        config.email.sender_address = "not an address".into();
        let errors = config.validate().unwrap_err().to_string();
        assert!(errors.contains("site.icons.favicon_ico") && errors.contains("email.sender_address"), "{errors}");
    }
}

#[cfg(test)]
mod url_rules {
    use super::*;

    /// What the schema's URL pattern admits, the rule must accept (the
    /// fuzzer sends exactly that).
    #[test]
    fn the_schema_pattern_is_no_wider_than_the_rule() {
        for url in ["http://a", "https://blog.example.com:8080/hook?x=1#y", "http://0a.b-c.d9/\\^{}|", "http://x1.y/%zz"] {
            assert!(is_http_url(url), "{url}");
        }
    }
}
