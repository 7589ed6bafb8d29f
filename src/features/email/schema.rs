//! Email types and inputs.

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a user may unsubscribe from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum UnsubscribeType {
    /// Emails about replies to one's comments.
    #[serde(rename = "reply_notification")]
    ReplyNotification,
}

impl UnsubscribeType {
    pub fn as_str(self) -> &'static str {
        match self {
            UnsubscribeType::ReplyNotification => "reply_notification",
        }
    }
}

/// `testEmailConnection`: the SMTP settings to try (a masked password is the stored one).
#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestEmailInput {
    #[garde(length(chars, min = 1, max = 253))]
    #[schemars(length(min = 1, max = 253))]
    pub host: String,
    #[garde(range(min = 1))]
    #[schemars(range(min = 1))]
    pub port: u16,
    #[garde(length(chars, min = 1, max = 256))]
    #[schemars(length(min = 1, max = 256))]
    pub username: String,
    #[garde(length(chars, min = 1, max = 256))]
    #[schemars(length(min = 1, max = 256))]
    pub password: String,
    #[garde(length(chars, max = 254), custom(email_address))]
    #[schemars(length(max = 254), regex(pattern = r"^[!-?A-~]+@[!-\-/-?A-~][!-?A-~]*\.[!-?A-~]*[!-\-/-?A-~]$"))]
    pub sender_address: String,
    #[garde(inner(length(chars, max = 100)))]
    #[schemars(length(max = 100))]
    pub sender_name: Option<String>,
}

fn email_address(value: &str, _: &()) -> garde::Result {
    if crate::platform::config::is_plausible_email(value) { Ok(()) } else { Err(garde::Error::new("must be an email address")) }
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnsubscribeInput {
    #[garde(length(chars, min = 1, max = 100))]
    #[schemars(length(min = 1, max = 100))]
    pub user_id: String,
    #[serde(rename = "type")]
    #[garde(skip)]
    pub kind: UnsubscribeType,
    #[garde(length(chars, min = 1, max = 200))]
    #[schemars(length(min = 1, max = 200))]
    pub token: String,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ToggleInput {
    #[garde(skip)]
    pub enabled: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Enabled {
    pub enabled: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Availability {
    pub email_enabled: bool,
}
