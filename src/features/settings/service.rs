//! Settings rules: one stored `SystemConfig`, normalised on every read and
//! write, cached in the versioned `settings` namespace (so with Redis a save
//! on one process is seen by every other at its next read), secrets never
//! sent back, and `SiteSettingsChanged` when what pages show changed.
//! Before the first save, the site's title, description and author come
//! from `FLINT_SITE_*`.

use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::platform::cache::{Key, Namespace};
use crate::platform::http::{AdminCtx, AppError};
use crate::platform::invalidation::{self, Invalidation};
use crate::platform::state::DbCtx;
use crate::platform::workflow::EngineError;

use super::data;
use super::events::SiteSettingsChanged;
use super::schema::{SECRET_MASK, SiteSettings, SystemConfig};

/// The cached settings.
pub const SETTINGS: Namespace = Namespace::versioned("settings");

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for SettingsError {
    fn from(error: sqlx::Error) -> Self {
        SettingsError::Internal(anyhow::Error::new(error).context("settings database error"))
    }
}

impl From<EngineError> for SettingsError {
    fn from(error: EngineError) -> Self {
        SettingsError::Internal(anyhow::Error::new(error).context("writing a settings event's deliveries"))
    }
}

impl From<SettingsError> for AppError {
    fn from(error: SettingsError) -> Self {
        match error {
            SettingsError::Internal(error) => AppError::Internal(error),
        }
    }
}

type Result<T> = std::result::Result<T, SettingsError>;

/// The settings and the version they were saved as (0: never saved).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    pub version: i64,
    pub config: SystemConfig,
}

/// What pages show of the site, and the settings version it comes from
/// (caches of pages built from it are keyed by the version).
#[derive(Clone, Debug)]
pub struct SiteView {
    pub version: i64,
    pub site: SiteSettings,
}

impl SiteView {
    /// The author, or the title when none is set.
    pub fn author(&self) -> &str {
        if self.site.author.is_empty() { &self.site.title } else { &self.site.author }
    }
}

fn key() -> Key<Settings> {
    Key::json(SETTINGS, Duration::from_secs(3600)).part("system")
}

/// The settings (cached).
pub async fn settings(app: &DbCtx) -> Result<Settings> {
    app.cache.get_or_load(&key(), || stored(app)).await
}

/// What pages show of the site (cached).
pub async fn site(app: &DbCtx) -> Result<SiteView> {
    let Settings { version, config } = settings(app).await?;
    Ok(SiteView { version, site: config.site })
}

async fn stored(app: &DbCtx) -> Result<Settings> {
    match data::load(&app.db).await? {
        Some((json, version)) => Ok(Settings { version, config: parse(app, &json)? }),
        None => Ok(Settings { version: 0, config: defaults(app) }),
    }
}

fn parse(app: &DbCtx, json: &str) -> Result<SystemConfig> {
    let mut config: SystemConfig = serde_json::from_str(json).map_err(|e| anyhow::anyhow!("the stored settings do not decode: {e}"))?;
    normalize(app, &mut config);
    Ok(config)
}

/// The settings before the first save: the spec's defaults, with the
/// site's title, description and author from `FLINT_SITE_*`.
fn defaults(app: &DbCtx) -> SystemConfig {
    let mut config = SystemConfig::default();
    let site = &app.config.site;
    config.site.title = site.title.clone();
    config.site.description = site.description.clone();
    config.site.author = if site.author == site.title { String::new() } else { site.author.clone() };
    normalize(app, &mut config);
    config
}

/// The one shape settings are read and written in: texts trimmed, the
/// original's Resend key moved into the SMTP fields, an empty title back to
/// the default, and every webhook with a secret.
pub fn normalize(app: &DbCtx, config: &mut SystemConfig) {
    let email = &mut config.email;
    if let Some(api_key) = email.api_key.take().filter(|k| !k.trim().is_empty()) {
        if email.host.trim().is_empty() {
            email.host = "smtp.resend.com".into();
        }
        if email.username.trim().is_empty() {
            email.username = "resend".into();
        }
        if email.password.is_empty() {
            email.password = api_key;
        }
    }
    for text in [&mut email.host, &mut email.username, &mut email.sender_name, &mut email.sender_address] {
        *text = text.trim().to_owned();
    }
    let site = &mut config.site;
    for text in [&mut site.title, &mut site.author, &mut site.description, &mut site.theme.default.nav_bar_name] {
        *text = text.trim().to_owned();
    }
    if site.title.is_empty() {
        site.title = app.config.site.title.clone();
    }
    let comments = &mut config.comments;
    comments.block_list = comments.block_list.iter().map(|w| w.trim().to_lowercase()).filter(|w| !w.is_empty()).collect();
    comments.block_list.sort();
    comments.block_list.dedup();
    for webhook in &mut config.notification.webhooks {
        webhook.name = webhook.name.trim().to_owned();
        webhook.events.sort_by_key(|t| t.as_str());
        webhook.events.dedup();
        if webhook.secret.trim().is_empty() {
            webhook.secret = new_webhook_secret();
        }
    }
}

/// A Standard Webhooks secret: `whsec_` and 24 random bytes in base64.
pub fn new_webhook_secret() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the OS has randomness");
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The settings as an admin sees them: the SMTP password and webhook
/// secrets replaced by the mask.
pub async fn for_admin(ctx: &AdminCtx) -> Result<SystemConfig> {
    let mut config = settings(&ctx.app).await?.config;
    if !config.email.password.is_empty() {
        config.email.password = SECRET_MASK.into();
    }
    for webhook in &mut config.notification.webhooks {
        webhook.secret = SECRET_MASK.into();
    }
    Ok(config)
}

/// Saves the settings. A masked secret keeps the stored one (a webhook's,
/// by its id); a site change is announced, so pages cached anywhere go.
pub async fn update(ctx: &AdminCtx, input: SystemConfig) -> Result<()> {
    let app = &ctx.app;
    let mut config = input;
    let mut tx = app.db.begin().await?;
    let previous = match data::load_for_update(&mut tx).await? {
        Some((json, version)) => Settings { version, config: parse(app, &json)? },
        None => Settings { version: 0, config: defaults(app) },
    };
    if config.email.password == SECRET_MASK {
        config.email.password = previous.config.email.password.clone();
    }
    for webhook in &mut config.notification.webhooks {
        if webhook.secret == SECRET_MASK {
            let kept = previous.config.notification.webhooks.iter().find(|w| w.id == webhook.id).map(|w| w.secret.clone());
            webhook.secret = kept.unwrap_or_default();
        }
    }
    normalize(app, &mut config);
    let version = previous.version + 1;
    let json = serde_json::to_string(&config).map_err(|e| anyhow::anyhow!("the settings do not encode: {e}"))?;
    data::save(&mut tx, &json, version, app.clock.now_ms()).await?;
    let emitted =
        if config.site != previous.config.site { Some(app.events.emit_in(&mut tx, &SiteSettingsChanged { version }).await?) } else { None };
    tx.commit().await?;
    invalidation::apply(app, Invalidation::default().bump(SETTINGS)).await;
    if let Some(emitted) = emitted {
        app.events.release(emitted).await;
    }
    Ok(())
}

/// The blog's host name (the original's `DOMAIN`).
pub fn domain(app: &DbCtx) -> String {
    app.config.base_url.host_str().unwrap_or_default().to_owned()
}
