//! Webhook deliveries: signed the Standard Webhooks way (and the original's
//! way, so its receivers keep working), sent with a 10 s timeout only to
//! public addresses (unless `FLINT_WEBHOOK_ALLOW_PRIVATE`), every attempt
//! logged (the newest 50 per endpoint).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::features::settings::schema::{NotificationType, SECRET_MASK, WebhookEndpoint};
use crate::features::settings::service as settings;
use crate::platform::http::{AdminCtx, AppError};
use crate::platform::state::DbCtx;

use super::data::{self, Attempt};
use super::schema::{TestWebhookResult, WebhookBody, WebhookDelivery};

const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The receiver refused or could not be reached (retried by the queue).
    #[error("{0}")]
    Delivery(String),
    #[error("no webhook endpoint with this id")]
    UnknownEndpoint,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for WebhookError {
    fn from(error: sqlx::Error) -> Self {
        WebhookError::Internal(anyhow::Error::new(error).context("webhook database error"))
    }
}

impl From<settings::SettingsError> for WebhookError {
    fn from(error: settings::SettingsError) -> Self {
        WebhookError::Internal(anyhow::Error::new(error).context("reading the webhook endpoints"))
    }
}

impl From<WebhookError> for AppError {
    fn from(error: WebhookError) -> Self {
        let message = error.to_string();
        match error {
            WebhookError::Delivery(_) => AppError::new(axum::http::StatusCode::BAD_GATEWAY, "WEBHOOK_DELIVERY_FAILED", message),
            WebhookError::UnknownEndpoint => AppError::not_found("WEBHOOK_NOT_FOUND", message),
            WebhookError::Internal(error) => AppError::Internal(error),
        }
    }
}

type Result<T> = std::result::Result<T, WebhookError>;

// ---- signatures -------------------------------------------------------------------

/// The HMAC key of a secret: the bytes after `whsec_` (base64), as Standard
/// Webhooks libraries read it; any other secret is used as it is written.
fn standard_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|encoded| base64::engine::general_purpose::STANDARD.decode(encoded).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`.
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let signed = hmac(&standard_key(secret), &[id.as_bytes(), b".", timestamp.to_string().as_bytes(), b".", body]);
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(signed))
}

/// `X-Flare-Signature`: `sha256=` and the hex HMAC-SHA256 of `timestamp.body`
/// keyed by the secret as written (the original's scheme).
pub fn flare_signature(secret: &str, iso_timestamp: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac(secret.as_bytes(), &[iso_timestamp.as_bytes(), b".", body])))
}

// ---- where a webhook may go ------------------------------------------------------------

/// Loopback, private, link-local, shared, unspecified, multicast or
/// documentation addresses: none is a place a public webhook lives.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b))
                || a == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Resolves names for webhook requests, dropping private addresses, so a
/// name cannot point the request inside the network (on every connection:
/// a second resolution cannot slip past a first check).
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = addresses.into_iter().filter(|a| !is_private(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves only to private addresses").into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

fn client(allow_private: bool) -> anyhow::Result<reqwest::Client> {
    crate::platform::ai::install_crypto_provider();
    let mut builder = reqwest::Client::builder().timeout(TIMEOUT).redirect(reqwest::redirect::Policy::none()).user_agent(concat!(
        "flint/",
        env!("CARGO_PKG_VERSION"),
        " webhook"
    ));
    if !allow_private {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    Ok(builder.build()?)
}

/// Refuses a URL whose host is a private address written out (names are
/// checked as they resolve).
fn check_destination(url: &str, allow_private: bool) -> std::result::Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("'{url}' is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("webhooks are http(s) only".into());
    }
    let private = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => is_private(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_private(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost") || name.ends_with(".localhost"),
        None => return Err("the URL has no host".into()),
    };
    if private && !allow_private {
        return Err(format!(
            "{} is a private address: webhooks go to public ones (FLINT_WEBHOOK_ALLOW_PRIVATE=true allows it)",
            parsed.host_str().unwrap_or_default()
        ));
    }
    Ok(())
}

// ---- delivering ------------------------------------------------------------------------

/// What one attempt came to.
pub struct Outcome {
    pub status: Option<u16>,
    pub duration: Duration,
    pub error: Option<String>,
}

/// Sends one attempt of a delivery to `endpoint` and logs it. The id stays
/// the same across attempts; the timestamp and signatures are made anew.
pub async fn attempt(app: &DbCtx, endpoint: &WebhookEndpoint, body: &mut WebhookBody) -> Result<Outcome> {
    let now = app.clock.now_ms();
    let timestamp = jiff::Timestamp::from_millisecond(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    body.timestamp = timestamp.to_string();
    let bytes = serde_json::to_vec(&body).map_err(|e| anyhow::anyhow!("encoding a webhook body: {e}"))?;
    let allow_private = app.config.webhook_allow_private;
    let started = Instant::now();
    let (status, error) = match check_destination(&endpoint.url, allow_private) {
        Err(refused) => (None, Some(refused)),
        Ok(()) => {
            let request = client(allow_private)?
                .post(&endpoint.url)
                .header("content-type", "application/json")
                .header("webhook-id", &body.id)
                .header("webhook-timestamp", (now / 1000).to_string())
                .header("webhook-signature", standard_signature(&endpoint.secret, &body.id, now / 1000, &bytes))
                .header("x-flare-event", body.event_type.as_str())
                .header("x-flare-timestamp", &body.timestamp)
                .header("x-flare-signature", flare_signature(&endpoint.secret, &body.timestamp, &bytes))
                .body(bytes);
            match request.send().await {
                Ok(response) if response.status().is_success() => (Some(response.status().as_u16()), None),
                Ok(response) => {
                    let status = response.status();
                    let text: String = response.text().await.unwrap_or_default().chars().take(1000).collect();
                    let error = if text.is_empty() {
                        format!("the receiver answered {status}")
                    } else {
                        format!("the receiver answered {status}: {text}")
                    };
                    (Some(status.as_u16()), Some(error))
                }
                Err(error) => (None, Some(describe(&error))),
            }
        }
    };
    let duration = started.elapsed();
    let outcome = Outcome { status, duration, error };
    record(app, endpoint, body, &outcome).await?;
    Ok(outcome)
}

fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if error.is_timeout() { format!("no answer within {} s ({text})", TIMEOUT.as_secs()) } else { text }
}

async fn record(app: &DbCtx, endpoint: &WebhookEndpoint, body: &WebhookBody, outcome: &Outcome) -> Result<()> {
    let attempt = data::attempts_of(&app.db, &body.id).await? + 1;
    data::record(
        &app.db,
        &Attempt {
            endpoint_id: &endpoint.id,
            delivery_id: &body.id,
            event_type: body.event_type.as_str(),
            attempt: attempt as i32,
            status: outcome.status.map(i32::from),
            ok: outcome.error.is_none(),
            duration_ms: outcome.duration.as_millis() as i64,
            error: outcome.error.as_deref(),
            test: body.test,
            created_at: app.clock.now_ms(),
        },
    )
    .await?;
    Ok(())
}

/// Delivers a queued notification to the endpoint with `endpoint_id`: an
/// endpoint since removed or disabled gets nothing; a failed attempt is an
/// error, for the queue to retry.
pub async fn deliver(app: &DbCtx, endpoint_id: &str, body: &mut WebhookBody) -> Result<()> {
    let config = settings::settings(app).await?.config;
    let Some(endpoint) = config.notification.webhooks.iter().find(|w| w.id == endpoint_id && w.enabled) else {
        tracing::info!(endpoint_id, delivery = %body.id, "webhook endpoint removed or disabled; delivery dropped");
        return Ok(());
    };
    match attempt(app, endpoint, body).await?.error {
        None => Ok(()),
        Some(error) => Err(WebhookError::Delivery(error)),
    }
}

/// Sends an example of the endpoint's first event type now, and says how it went.
pub async fn test(ctx: &AdminCtx, endpoint: &WebhookEndpoint) -> Result<TestWebhookResult> {
    let app = &ctx.app;
    let mut endpoint = endpoint.clone();
    if endpoint.secret == SECRET_MASK || endpoint.secret.is_empty() {
        let stored = settings::settings(app).await?.config.notification.webhooks.into_iter().find(|w| w.id == endpoint.id);
        endpoint.secret = stored.map(|w| w.secret).ok_or(WebhookError::UnknownEndpoint)?;
    }
    let event_type = endpoint.events.first().copied().unwrap_or(NotificationType::CommentAdminRootCreated);
    let mut body = WebhookBody {
        id: format!("msg_{}", uuid::Uuid::new_v4().simple()),
        event_type,
        timestamp: String::new(),
        source: "flint".into(),
        test: true,
        data: serde_json::json!({"to": "admin@example.com", "postTitle": "An example post", "commenterName": "A reader",
                                 "commentPreview": "This is what a notification looks like."}),
        subject: format!("[Test] {}", event_type.as_str()),
        message: "A test delivery from flint.".into(),
        html: "<p>A test delivery from flint.</p>".into(),
    };
    let outcome = attempt(app, &endpoint, &mut body).await?;
    Ok(TestWebhookResult {
        success: outcome.error.is_none(),
        status: outcome.status,
        duration_ms: outcome.duration.as_millis() as u64,
        error: outcome.error,
    })
}

/// The endpoint's newest 50 attempts, newest first.
pub async fn deliveries(ctx: &AdminCtx, endpoint_id: &str) -> Result<Vec<WebhookDelivery>> {
    Ok(data::list(&ctx.app.db, endpoint_id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_webhooks_test_vector() {
        // The Standard Webhooks specification's published example.
        let signature = standard_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn private_destinations_are_named() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "1.1.1.1"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
        assert!(check_destination("http://127.0.0.1:9/x", false).unwrap_err().contains("private"));
        assert!(check_destination("http://localhost/x", false).is_err());
        assert!(check_destination("http://127.0.0.1:9/x", true).is_ok());
        assert!(check_destination("https://hooks.example.com/x", false).is_ok());
    }
}
