//! Rendering and caching the public pages.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::features::publishing::schema::{ListQuery, POSTS_DETAIL, POSTS_LIST, PublicPostItem};
use crate::features::publishing::service::{self as publishing, PublishError};
use crate::features::settings::service::{self as settings, SettingsError};
use crate::platform::cache::{CachedBody, Key, Namespace};
use crate::platform::clock::Timestamp;
use crate::platform::http::AppError;
use crate::platform::state::DbCtx;

/// Every cached page. Nothing bumps it today: a page's key already holds
/// the versions of what it shows; the namespace is there for a purge-all.
pub const BLOG: Namespace = Namespace::versioned("blog");

/// Posts per page of the home page.
pub const HOME_PAGE_SIZE: u32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum BlogError {
    #[error("no such page")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<PublishError> for BlogError {
    fn from(error: PublishError) -> Self {
        match error {
            PublishError::NotFound => BlogError::NotFound,
            other => BlogError::Internal(anyhow::Error::new(other).context("reading posts for a page")),
        }
    }
}

impl From<SettingsError> for BlogError {
    fn from(error: SettingsError) -> Self {
        BlogError::Internal(anyhow::Error::new(error).context("reading the site settings for a page"))
    }
}

impl From<minijinja::Error> for BlogError {
    fn from(error: minijinja::Error) -> Self {
        BlogError::Internal(anyhow::anyhow!("rendering a page: {error:#}"))
    }
}

impl From<BlogError> for AppError {
    fn from(error: BlogError) -> Self {
        match error {
            BlogError::NotFound => AppError::not_found("PAGE_NOT_FOUND", "No such page"),
            BlogError::Internal(error) => AppError::Internal(error),
        }
    }
}

type Result<T> = std::result::Result<T, BlogError>;

const WEEK: Duration = Duration::from_secs(7 * 86_400);

/// The key of a page: its kind and argument, the theme, the settings
/// version, and the current version of each namespace it reads. `None` when
/// the cache cannot say a version (the page is then rendered uncached).
async fn page_key(ctx: &DbCtx, page: &str, argument: &str, settings_version: i64, reads: &[Namespace]) -> Option<Key<CachedBody>> {
    let mut key = Key::body(BLOG, WEEK).part(page).part(argument).part(ctx.theme.fingerprint.as_str()).part(settings_version);
    for namespace in reads {
        key = key.part(ctx.cache.version(*namespace).await.ok()?);
    }
    Some(key)
}

/// What every page shows of the site.
#[derive(Serialize)]
struct Frame {
    site: String,
    description: String,
    lang: String,
    canonical: String,
}

async fn frame(ctx: &DbCtx, path: &str) -> Result<(Frame, i64)> {
    let view = settings::site(ctx).await?;
    let lang = match ctx.config.locale {
        crate::platform::config::Locale::En => "en",
        crate::platform::config::Locale::Zh => "zh-CN",
    };
    let canonical = ctx.config.base_url.join(path.trim_start_matches('/')).map(|u| u.to_string()).unwrap_or_default();
    Ok((
        Frame { site: view.site.title.clone(), description: view.site.description.clone(), lang: lang.to_owned(), canonical },
        view.version,
    ))
}

/// "28 Nov 2026", in UTC.
fn date(at: Timestamp) -> String {
    jiff::Timestamp::from_millisecond(at.0).map(|t| t.strftime("%-d %b %Y").to_string()).unwrap_or_default()
}

/// A post as templates see it: its fields (camelCase) and `date`.
fn post_view(item: &PublicPostItem) -> Value {
    let mut value = serde_json::to_value(item).unwrap_or_default();
    value["date"] = json!(date(item.published_at));
    value
}

fn with_frame(frame: &Frame, mut fields: Value) -> Value {
    if let (Value::Object(map), Ok(Value::Object(frame))) = (&mut fields, serde_json::to_value(frame)) {
        map.extend(frame);
    }
    fields
}

/// The home page: pinned posts (on the first page), then the newest, by cursor.
pub async fn home(ctx: &DbCtx, cursor: Option<i64>) -> Result<CachedBody> {
    let path = cursor.map_or_else(|| "/".to_owned(), |c| format!("/?cursor={c}"));
    let (frame, version) = frame(ctx, &path).await?;
    let argument = cursor.map(|c| c.to_string()).unwrap_or_default();
    let render = || async {
        let pinned = if cursor.is_none() { publishing::pinned(ctx).await? } else { Vec::new() };
        let query = ListQuery { cursor, limit: HOME_PAGE_SIZE, tag_name: None, category: None, exclude_pinned: true };
        let page = publishing::load_page(ctx, &query).await?;
        let fields = json!({
            "title": if cursor.is_some() { "Older posts" } else { "" },
            "cursor": cursor,
            "pinned": pinned.iter().map(post_view).collect::<Vec<_>>(),
            "posts": page.items.iter().map(post_view).collect::<Vec<_>>(),
            "next_cursor": page.next_cursor,
        });
        let html = ctx.theme.render("home.html", with_frame(&frame, fields))?;
        Ok::<_, BlogError>(CachedBody::tagged(html))
    };
    match page_key(ctx, "home", &argument, version, &[POSTS_LIST]).await {
        Some(key) => ctx.cache.get_or_load(&key, render).await,
        None => render().await,
    }
}

/// Which listed posts a list page shows.
#[derive(Clone, Debug)]
pub enum Listing {
    /// Every listed post, pinned ones in their place by date.
    All,
    Tag(String),
    Category(String),
}

impl Listing {
    fn path(&self) -> String {
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20");
        match self {
            Listing::All => "/posts".to_owned(),
            Listing::Tag(name) => format!("/tag/{}", encode(name)),
            Listing::Category(name) => format!("/category/{}", encode(name)),
        }
    }

    fn heading(&self) -> String {
        match self {
            Listing::All => "All posts".to_owned(),
            Listing::Tag(name) => format!("Posts tagged \u{201c}{name}\u{201d}"),
            Listing::Category(name) => format!("Posts in \u{201c}{name}\u{201d}"),
        }
    }
}

/// `/posts`, `/tag/{name}` and `/category/{name}`, newest first, by cursor.
/// A tag or category with no listed post is [`BlogError::NotFound`].
pub async fn list(ctx: &DbCtx, listing: &Listing, cursor: Option<i64>) -> Result<CachedBody> {
    let path = listing.path();
    let (frame, version) = frame(ctx, &path).await?;
    let render = || async {
        let (tag_name, category) = match listing {
            Listing::All => (None, None),
            Listing::Tag(name) => (Some(name.clone()), None),
            Listing::Category(name) => (None, Some(name.clone())),
        };
        let query = ListQuery { cursor, limit: HOME_PAGE_SIZE, tag_name, category, exclude_pinned: false };
        let page = publishing::load_page(ctx, &query).await?;
        if page.items.is_empty() && cursor.is_none() && !matches!(listing, Listing::All) {
            return Err(BlogError::NotFound);
        }
        let heading = listing.heading();
        let fields = json!({
            "title": heading,
            "heading": heading,
            "path": path,
            "posts": page.items.iter().map(post_view).collect::<Vec<_>>(),
            "next_cursor": page.next_cursor,
        });
        let html = ctx.theme.render("list.html", with_frame(&frame, fields))?;
        Ok::<_, BlogError>(CachedBody::tagged(html))
    };
    let argument = format!("{path}?{}", cursor.unwrap_or_default());
    match page_key(ctx, "list", &argument, version, &[POSTS_LIST]).await {
        Some(key) => ctx.cache.get_or_load(&key, render).await,
        None => render().await,
    }
}

/// A post's page; [`BlogError::NotFound`] unless readers may see it.
pub async fn post(ctx: &DbCtx, slug: &str) -> Result<CachedBody> {
    let (frame, version) = frame(ctx, &format!("/post/{slug}")).await?;
    let render = || async {
        let detail = publishing::load_detail(ctx, slug).await?.ok_or(BlogError::NotFound)?;
        let related = publishing::related(ctx, slug, 3).await?;
        let item = &detail.item;
        // JSON-LD inside <script>: `</` is written `<\/` so no text can close it.
        let json_ld = json!({
            "@context": "https://schema.org",
            "@type": "BlogPosting",
            "headline": item.title,
            "description": item.summary,
            "datePublished": item.published_at,
            "dateModified": item.updated_at,
            "url": frame.canonical,
            "keywords": item.tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", "),
            "publisher": {"@type": "Organization", "name": frame.site},
        })
        .to_string()
        .replace("</", "<\\/");
        let fields = json!({
            "title": item.title,
            "description": item.summary,
            "post": post_view(item),
            "toc": detail.toc,
            "content_html": detail.content_html,
            "related": related.iter().map(post_view).collect::<Vec<_>>(),
            "json_ld": json_ld,
        });
        let html = ctx.theme.render("post.html", with_frame(&frame, fields))?;
        Ok::<_, BlogError>(CachedBody::tagged(html))
    };
    match page_key(ctx, "post", slug, version, &[POSTS_DETAIL, POSTS_LIST]).await {
        Some(key) => ctx.cache.get_or_load(&key, render).await,
        None => render().await,
    }
}

/// The not-found page's fields.
pub async fn not_found_fields(ctx: &DbCtx) -> Value {
    let site = settings::site(ctx).await.map(|v| v.site.title.clone()).unwrap_or_else(|_| ctx.config.site.title.clone());
    json!({"site": site, "title": "Page not found", "message": "There is nothing at this address. It may have moved, or never existed.", "noindex": true})
}
