//! Email rules: every email is a message on the durable `email` queue
//! (retried with backoff while the server is unreachable or answers 4xx; a
//! 5xx or an unusable address fails at once and the run records why), sent
//! with the SMTP settings of the moment; unsubscribing by signed link (and
//! RFC 8058's one-click POST) or from one's account.

use serde::{Deserialize, Serialize};

use crate::features::settings::schema::{EmailSettings, SECRET_MASK};
use crate::features::settings::service as settings;
use crate::platform::db::{Tx, is_foreign_key_violation};
use crate::platform::http::{AdminCtx, AppError, AuthCtx};
use crate::platform::mail::{self, Email, MailError, SmtpServer};
use crate::platform::state::DbCtx;
use crate::platform::workflow::{CreateOptions, EngineError, Permanent};

use super::data;
use super::schema::{Availability, Enabled, TestEmailInput, UnsubscribeType};
use super::workflows::EmailMessage;

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("{0}")]
    SendFailed(String),
    #[error("email is not set up: the SMTP host, username, password and sender address are needed")]
    Disabled,
    #[error("this unsubscribe link is not valid")]
    InvalidToken,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for EmailError {
    fn from(error: sqlx::Error) -> Self {
        EmailError::Internal(anyhow::Error::new(error).context("email database error"))
    }
}

impl From<EngineError> for EmailError {
    fn from(error: EngineError) -> Self {
        EmailError::Internal(anyhow::Error::new(error).context("queueing an email"))
    }
}

impl From<settings::SettingsError> for EmailError {
    fn from(error: settings::SettingsError) -> Self {
        EmailError::Internal(anyhow::Error::new(error).context("reading the email settings"))
    }
}

impl From<EmailError> for AppError {
    fn from(error: EmailError) -> Self {
        use axum::http::StatusCode;
        let message = error.to_string();
        match error {
            EmailError::SendFailed(_) => AppError::new(StatusCode::BAD_GATEWAY, "SEND_FAILED", message),
            EmailError::Disabled => AppError::new(StatusCode::CONFLICT, "EMAIL_DISABLED", message),
            EmailError::InvalidToken => AppError::new(StatusCode::FORBIDDEN, "INVALID_OR_EXPIRED_TOKEN", message),
            EmailError::Internal(error) => AppError::Internal(error),
        }
    }
}

type Result<T> = std::result::Result<T, EmailError>;

/// An email about something a user may unsubscribe from.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Unsubscribable {
    pub user_id: String,
    pub kind: UnsubscribeType,
}

fn server_of(settings: &EmailSettings) -> SmtpServer {
    SmtpServer {
        host: settings.host.clone(),
        port: settings.port,
        username: settings.username.clone(),
        password: settings.password.clone(),
        sender_name: settings.sender_name.clone(),
        sender_address: settings.sender_address.clone(),
    }
}

/// Queues `email` in the caller's transaction (see `EmailMessage`), at most
/// once per `key`.
pub async fn queue_in(app: &DbCtx, tx: &mut Tx, email: Email, unsubscribable: Option<Unsubscribable>, key: String) -> Result<()> {
    let options = CreateOptions { key: Some(key), ..CreateOptions::default() };
    app.workflows.create_in::<crate::platform::workflow::Queue<EmailMessage>>(tx, &EmailMessage { email, unsubscribable }, options).await?;
    Ok(())
}

/// Sends a queued email (the queue's handler). An unsubscribed recipient
/// gets nothing; settings without a server, a 5xx or a bad address fail
/// for good; anything else is for the queue to retry.
pub async fn deliver(app: &DbCtx, message: &EmailMessage) -> anyhow::Result<()> {
    if let Some(Unsubscribable { user_id, kind }) = &message.unsubscribable
        && data::is_unsubscribed(&app.db, user_id, kind.as_str()).await?
    {
        tracing::info!(user_id, kind = kind.as_str(), "email skipped: the recipient unsubscribed");
        return Ok(());
    }
    let config = settings::settings(app).await?.config;
    if !config.email.is_complete() {
        return Err(Permanent(EmailError::Disabled.to_string()).into());
    }
    match mail::send(&server_of(&config.email), &message.email).await {
        Ok(()) => Ok(()),
        Err(error) if error.is_transient() => Err(anyhow::Error::new(error).context("the mail server did not take the email (retried)")),
        Err(error) => Err(Permanent(format!("the mail server refused the email: {error}")).into()),
    }
}

/// Whether the SMTP settings are complete.
pub async fn is_configured(ctx: &AdminCtx) -> Result<bool> {
    Ok(settings::settings(&ctx.app).await?.config.email.is_complete())
}

/// Sends a test email, now, to the admin address (`ADMIN_EMAIL`, else the
/// caller's); a failure carries the server's own words.
pub async fn test_connection(ctx: &AdminCtx, input: &TestEmailInput) -> Result<()> {
    let app = &ctx.app;
    let password =
        if input.password == SECRET_MASK { settings::settings(app).await?.config.email.password } else { input.password.clone() };
    let server = SmtpServer {
        host: input.host.trim().to_owned(),
        port: input.port,
        username: input.username.trim().to_owned(),
        password,
        sender_name: input.sender_name.clone().unwrap_or_default(),
        sender_address: input.sender_address.trim().to_owned(),
    };
    let to = app.config.admin_email.clone().unwrap_or_else(|| ctx.session.user.email.clone());
    let title = settings::site(app).await?.site.title;
    let (subject, body) = match app.config.locale {
        crate::platform::config::Locale::En => ("Test Connection", format!("This test email from {title} arrived: email works.")),
        crate::platform::config::Locale::Zh => ("测试连接", format!("这封来自 {title} 的测试邮件已送达：邮件功能正常。")),
    };
    let letter = mail::Letter { heading: subject.into(), paragraphs: vec![body], ..Default::default() };
    let (text, html) = mail::compose(&title, &letter).map_err(|e| EmailError::Internal(anyhow::Error::new(e)))?;
    let email = Email { to, subject: subject.into(), html, text, headers: Vec::new() };
    mail::send(&server, &email).await.map_err(|error| match error {
        MailError::Invalid(text) | MailError::Refused(text) | MailError::Unavailable(text) => EmailError::SendFailed(text),
    })
}

// ---- unsubscribing ------------------------------------------------------------------

/// The signed token of an unsubscribe link (an HMAC of the user and the
/// kind under the server secret; it never expires).
pub fn unsubscribe_token(app: &DbCtx, user_id: &str, kind: UnsubscribeType) -> String {
    app.secret.sign("unsubscribe", &format!("{user_id}:{}", kind.as_str()))
}

/// The link an email carries (a page with a button, and the one-click POST target).
pub fn unsubscribe_url(app: &DbCtx, user_id: &str, kind: UnsubscribeType) -> String {
    let mut url = app.config.base_url.join("unsubscribe").unwrap_or_else(|_| app.config.base_url.clone());
    url.query_pairs_mut()
        .clear()
        .append_pair("userId", user_id)
        .append_pair("type", kind.as_str())
        .append_pair("token", &unsubscribe_token(app, user_id, kind));
    url.to_string()
}

/// The headers that let mail clients offer (and perform) unsubscribing.
pub fn unsubscribe_headers(app: &DbCtx, user_id: &str, kind: UnsubscribeType) -> Vec<(String, String)> {
    vec![
        ("List-Unsubscribe".into(), format!("<{}>", unsubscribe_url(app, user_id, kind))),
        ("List-Unsubscribe-Post".into(), "List-Unsubscribe=One-Click".into()),
    ]
}

pub async fn unsubscribe_by_token(app: &DbCtx, user_id: &str, kind: UnsubscribeType, token: &str) -> Result<()> {
    if !app.secret.verify("unsubscribe", &format!("{user_id}:{}", kind.as_str()), token) {
        return Err(EmailError::InvalidToken);
    }
    match data::unsubscribe(&app.db, user_id, kind.as_str(), app.clock.now_ms()).await {
        Ok(()) => Ok(()),
        // The account is gone: nothing will be sent to it anyway.
        Err(error) if is_foreign_key_violation(&error) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

pub async fn reply_notification_status(ctx: &AuthCtx) -> Result<Enabled> {
    let unsubscribed = data::is_unsubscribed(&ctx.app.db, &ctx.session.user.id, UnsubscribeType::ReplyNotification.as_str()).await?;
    Ok(Enabled { enabled: !unsubscribed })
}

pub async fn toggle_reply_notification(ctx: &AuthCtx, enabled: bool) -> Result<()> {
    let (db, user, kind) = (&ctx.app.db, &ctx.session.user.id, UnsubscribeType::ReplyNotification.as_str());
    if enabled {
        data::resubscribe(db, user, kind).await?
    } else {
        data::unsubscribe(db, user, kind, ctx.app.clock.now_ms()).await?
    }
    Ok(())
}

pub async fn availability(ctx: &AuthCtx) -> Result<Availability> {
    Ok(Availability { email_enabled: settings::settings(&ctx.app).await?.config.notification.user.email_enabled })
}
