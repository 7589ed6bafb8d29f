//! Webhook deliveries: the payload, the log, and inputs.

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::features::settings::schema::{NotificationType, WebhookEndpoint};
use crate::platform::clock::Timestamp;

/// What a receiver gets (the original's body, `source` naming flint).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookBody {
    /// The same on every attempt (also the `webhook-id` header).
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: NotificationType,
    /// When this attempt was made (ISO 8601).
    pub timestamp: String,
    pub source: String,
    pub test: bool,
    pub data: serde_json::Value,
    pub subject: String,
    /// A plain-text summary.
    pub message: String,
    /// The notification as the email shows it.
    pub html: String,
}

/// One attempt to deliver a webhook.
#[derive(Clone, Debug, Serialize, JsonSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub id: i64,
    pub endpoint_id: String,
    pub delivery_id: String,
    pub event_type: String,
    pub attempt: i32,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<i32>,
    pub ok: bool,
    pub duration_ms: i64,
    pub error: Option<String>,
    pub test: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointIdInput {
    #[garde(length(chars, min = 1, max = 64))]
    #[schemars(length(min = 1, max = 64))]
    pub endpoint_id: String,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestWebhookInput {
    /// As in the settings; a masked secret is the stored endpoint's.
    #[garde(dive)]
    pub endpoint: WebhookEndpoint,
}

/// How a test delivery went.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestWebhookResult {
    pub success: bool,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    pub duration_ms: u64,
    /// Why it failed.
    pub error: Option<String>,
}
