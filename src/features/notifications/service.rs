//! The fan-out: a notification becomes one email and one webhook delivery
//! per subscribed endpoint, as the settings say (spec §8.10). Everything is
//! queued in one transaction with the notification's ledger row, so
//! publishing the same notification again (a retried subscriber) queues
//! nothing twice, and each delivery is then retried on its own.

use serde_json::Value;

use crate::features::email::schema::UnsubscribeType;
use crate::features::email::service::{self as email, Unsubscribable};
use crate::features::settings::service as settings;
use crate::features::webhooks::schema::WebhookBody;
use crate::features::webhooks::workflows::WebhookMessage;
use crate::platform::clock::Millis;
use crate::platform::mail::{self, Email, Letter};
use crate::platform::state::DbCtx;
use crate::platform::workflow::{CreateOptions, Queue};

use super::data;
use super::schema::{Notification, NotificationType};
use super::templates;

/// Queues the deliveries of `notification`; returns how many (0 when it
/// was published before, or nobody is to hear of it).
pub async fn publish(app: &DbCtx, notification: &Notification) -> anyhow::Result<usize> {
    let config = settings::settings(app).await?.config;
    let site = config.site.title.clone();
    let data = Value::Object(notification.data.clone());
    let (subject, letter) = letter(app, notification, &data)?;
    let (text, html) = mail::compose(&site, &letter)?;

    let mut tx = app.db.begin().await?;
    if !data::record(&mut tx, &notification.id, notification.kind.as_str(), app.clock.now_ms()).await? {
        return Ok(0);
    }
    let mut deliveries = 0;
    let wants_email =
        if notification.kind.for_admins() { config.notification.admin.channels.email } else { config.notification.user.email_enabled };
    if wants_email && !notification.to.is_empty() {
        let unsubscribable = unsubscribable(notification);
        let headers = unsubscribable.as_ref().map(|u| email::unsubscribe_headers(app, &u.user_id, u.kind)).unwrap_or_default();
        let message = Email { to: notification.to.clone(), subject: subject.clone(), text: text.clone(), html: html.clone(), headers };
        email::queue_in(app, &mut tx, message, unsubscribable, format!("notify:{}:email", notification.id)).await?;
        deliveries += 1;
    }
    if notification.kind.for_admins() && config.notification.admin.channels.webhook {
        for endpoint in config.notification.webhooks.iter().filter(|w| w.enabled && w.events.contains(&notification.kind)) {
            let body = WebhookBody {
                id: delivery_id(&notification.id, &endpoint.id),
                event_type: notification.kind,
                timestamp: String::new(),
                source: "flint".into(),
                test: false,
                data: data.clone(),
                subject: subject.clone(),
                message: text.clone(),
                html: html.clone(),
            };
            let options = CreateOptions { key: Some(format!("notify:{}:webhook:{}", notification.id, endpoint.id)), ..Default::default() };
            let message = WebhookMessage { endpoint_id: endpoint.id.clone(), body };
            app.workflows.create_in::<Queue<WebhookMessage>>(&mut tx, &message, options).await?;
            deliveries += 1;
        }
    }
    data::set_deliveries(&mut tx, &notification.id, deliveries as i64).await?;
    tx.commit().await?;
    if deliveries > 0 {
        app.workflows.wake().await;
    }
    Ok(deliveries)
}

/// The subject and letter of a notification in `FLINT_LOCALE`, with the
/// unsubscribe link where the recipient may use one.
fn letter(app: &DbCtx, notification: &Notification, data: &Value) -> anyhow::Result<(String, Letter)> {
    let wording = templates::wording(notification.kind, app.config.locale);
    let subject = mail::fill(wording.subject, data)?;
    let heading = mail::fill(wording.heading, data)?;
    let paragraphs = wording.lines.iter().map(|line| mail::fill(line, data)).collect::<Result<Vec<_>, _>>()?;
    let action =
        wording.action.and_then(|(label, field)| data.get(field).and_then(Value::as_str).map(|url| (label.to_owned(), url.to_owned())));
    let footer = unsubscribable(notification)
        .map(|u| (templates::unsubscribe_label(app.config.locale).to_owned(), email::unsubscribe_url(app, &u.user_id, u.kind)));
    Ok((subject, Letter { heading, paragraphs: paragraphs.into_iter().filter(|p| !p.trim().is_empty()).collect(), action, footer }))
}

/// Reply notifications to a known account may be unsubscribed from.
fn unsubscribable(notification: &Notification) -> Option<Unsubscribable> {
    let reply = matches!(notification.kind, NotificationType::CommentReplyToAdminPublished | NotificationType::CommentReplyToUserPublished);
    notification.user_id.clone().filter(|_| reply).map(|user_id| Unsubscribable { user_id, kind: UnsubscribeType::ReplyNotification })
}

/// A delivery's `webhook-id`: the same for the same notification and endpoint.
fn delivery_id(notification: &str, endpoint: &str) -> String {
    let hash = |text: &str| xxhash_rust::xxh3::xxh3_64(text.as_bytes());
    format!("msg_{:016x}{:016x}", hash(notification), hash(&format!("{notification}\u{0}{endpoint}")))
}

/// Forgets ledger rows older than `before` (kept as long as finished runs).
pub async fn prune(app: &DbCtx, before: Millis) -> anyhow::Result<u64> {
    Ok(data::prune(&app.db, before).await?)
}
