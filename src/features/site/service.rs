//! Builds and caches the site documents in the `site` namespace, which the
//! `PublicPostsChanged` subscriber drops whenever what readers see changes.

use std::time::Duration;

use crate::features::publishing::service::{self as publishing, PublishError};
use crate::features::settings::service::{self as settings, SettingsError};
use crate::platform::cache::{CachedBody, Key, Namespace};
use crate::platform::http::AppError;
use crate::platform::invalidation::{self, Invalidation};
use crate::platform::state::DbCtx;

use super::render::{self, Links};

/// Every cached site document (feeds, sitemaps).
pub const SITE: Namespace = Namespace::versioned("site");

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<PublishError> for SiteError {
    fn from(error: PublishError) -> Self {
        SiteError::Internal(anyhow::Error::new(error).context("reading public posts for a site document"))
    }
}

impl From<SettingsError> for SiteError {
    fn from(error: SettingsError) -> Self {
        SiteError::Internal(anyhow::Error::new(error).context("reading the site settings for a site document"))
    }
}

impl From<SiteError> for AppError {
    fn from(error: SiteError) -> Self {
        match error {
            SiteError::Internal(error) => AppError::Internal(error),
        }
    }
}

/// The documents are stale: what readers see changed.
pub async fn invalidate(app: &DbCtx) {
    invalidation::apply(app, Invalidation::default().bump(SITE)).await;
}

/// URLs per sitemap file (the sitemaps.org limit).
pub const SITEMAP_PART_SIZE: u64 = 50_000;
/// The fixed URLs every sitemap starts with: home and the posts index.
const FIXED_URLS: u64 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feed {
    Rss,
    Atom,
    Json,
}

impl Feed {
    fn name(self) -> &'static str {
        match self {
            Feed::Rss => "rss",
            Feed::Atom => "atom",
            Feed::Json => "json",
        }
    }
}

fn key(kind: &str, part: u64) -> Key<CachedBody> {
    Key::body(SITE, Duration::from_secs(7 * 86_400)).part("site").part(kind).part(part)
}

fn body(text: String) -> CachedBody {
    CachedBody::tagged(text)
}

fn links(app: &DbCtx) -> Links {
    Links { base: app.config.base_url.clone() }
}

async fn cached(
    app: &DbCtx,
    key: Key<CachedBody>,
    build: impl Future<Output = Result<String, SiteError>>,
) -> Result<CachedBody, SiteError> {
    app.cache.get_or_load(&key, || async { build.await.map(body) }).await
}

/// A feed, cached under the settings version it shows (a new title is a
/// new feed, on every process, at its next request).
pub async fn feed(app: &DbCtx, kind: Feed) -> Result<CachedBody, SiteError> {
    let site = settings::site(app).await?;
    cached(app, key(kind.name(), 0).part(site.version), async {
        let items = publishing::newest_for_feeds(app, app.config.site.feed_limit).await?;
        let now = app.clock.now_ms();
        Ok(match kind {
            Feed::Rss => render::rss(&site, &links(app), &items, now),
            Feed::Atom => render::atom(&site, &links(app), &items, now),
            Feed::Json => render::json_feed(&site, &links(app), &items).to_string(),
        })
    })
    .await
}

/// `/sitemap.xml`: every URL, or an index of parts when there are more than
/// one file may hold.
pub async fn sitemap(app: &DbCtx) -> Result<CachedBody, SiteError> {
    sitemap_in_parts_of(app, SITEMAP_PART_SIZE).await
}

/// `sitemap` with a chosen part size (tests use small ones).
pub async fn sitemap_in_parts_of(app: &DbCtx, part_size: u64) -> Result<CachedBody, SiteError> {
    cached(app, key("sitemap", part_size), async {
        let total = publishing::count_listed(app).await? + FIXED_URLS;
        if total <= part_size {
            return urlset(app, 1, part_size).await;
        }
        let parts = total.div_ceil(part_size);
        let urls: Vec<String> = (1..=parts).map(|n| links(app).at(&format!("sitemap/{n}.xml"))).collect();
        let newest = publishing::listed_slugs(app, 0, 1).await?.first().map(|(_, at)| *at);
        Ok(render::sitemap_index(&urls, newest))
    })
    .await
}

/// `/sitemap/<n>.xml`: part `n` (from 1) of a sitemap index; `None` past the end.
pub async fn sitemap_part(app: &DbCtx, part: u64) -> Result<Option<CachedBody>, SiteError> {
    sitemap_part_in_parts_of(app, part, SITEMAP_PART_SIZE).await
}

/// `sitemap_part` with a chosen part size (tests use small ones).
pub async fn sitemap_part_in_parts_of(app: &DbCtx, part: u64, part_size: u64) -> Result<Option<CachedBody>, SiteError> {
    let total = publishing::count_listed(app).await? + FIXED_URLS;
    if part == 0 || part > total.div_ceil(part_size).max(1) {
        return Ok(None);
    }
    cached(app, key(&format!("sitemap-part-{part_size}"), part), urlset(app, part, part_size)).await.map(Some)
}

/// The URLs of part `part`: the fixed pages first, then listed posts, newest first.
async fn urlset(app: &DbCtx, part: u64, part_size: u64) -> Result<String, SiteError> {
    let links = links(app);
    let start = (part - 1) * part_size;
    let mut entries = Vec::new();
    if start == 0 {
        entries.push((links.home(), None, "daily", "1.0"));
        entries.push((links.at("posts"), None, "weekly", "0.8"));
    }
    let offset = start.saturating_sub(FIXED_URLS);
    let room = part_size - entries.len() as u64;
    for (slug, updated_at) in publishing::listed_slugs(app, offset, room).await? {
        entries.push((links.post(&slug), Some(updated_at), "weekly", "0.7"));
    }
    Ok(render::urlset(&entries))
}

pub fn robots(app: &DbCtx) -> String {
    render::robots(&links(app))
}

pub async fn manifest(app: &DbCtx) -> Result<String, SiteError> {
    Ok(render::manifest(&settings::site(app).await?))
}
