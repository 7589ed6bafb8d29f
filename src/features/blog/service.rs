//! Rendering and caching the public pages.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::features::comments::schema::{COMMENTS, CommentStatus, CreateInput, RepliesInput, RootsInput, ThreadComment};
use crate::features::comments::service::{self as comments, CommentError};
use crate::features::friend_links::schema::{PublicFriendLink, SubmitInput};
use crate::features::friend_links::service::{self as friend_links, FRIEND_LINKS, FriendLinkError};
use crate::features::publishing::schema::{ListQuery, POSTS_DETAIL, POSTS_LIST, PostKind, PublicPostItem};
use crate::features::publishing::service::{self as publishing, PublishError};
use crate::features::search::schema::{SEARCH, SearchResult};
use crate::features::search::service::{self as search, SearchError};
use crate::features::settings::service::{self as settings, SETTINGS, SettingsError};
use crate::platform::auth::session::Session;
use crate::platform::cache::{CachedBody, Key, Namespace};
use crate::platform::clock::Timestamp;
use crate::platform::http::{AppError, AuthCtx, SessionCtx};
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

impl From<CommentError> for BlogError {
    fn from(error: CommentError) -> Self {
        match error {
            CommentError::PostNotFound => BlogError::NotFound,
            other => BlogError::Internal(anyhow::Error::new(other).context("reading a post's comments for its page")),
        }
    }
}

impl From<SearchError> for BlogError {
    fn from(error: SearchError) -> Self {
        BlogError::Internal(anyhow::Error::new(error).context("searching for the search page"))
    }
}

impl From<FriendLinkError> for BlogError {
    fn from(error: FriendLinkError) -> Self {
        BlogError::Internal(anyhow::Error::new(error).context("reading the friend links for their page"))
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

/// The key of a page: its kind and argument, the theme, and the current
/// version of the settings and of each namespace it reads (so a hit costs
/// a few version lookups; the settings are read only to render). `None` when
/// the cache cannot say a version (the page is then rendered uncached).
async fn page_key(ctx: &DbCtx, page: &str, argument: &str, reads: &[Namespace]) -> Option<Key<CachedBody>> {
    let mut key = Key::body(BLOG, WEEK).part(page).part(argument).part(ctx.theme.fingerprint.as_str());
    for namespace in std::iter::once(&SETTINGS).chain(reads) {
        key = key.part(ctx.cache.version(*namespace).await.ok()?);
    }
    Some(key)
}

/// The signed-in reader, as pages show them (never in a shared cache).
#[derive(Serialize)]
struct Viewer {
    name: String,
    admin: bool,
}

/// What every page shows of the site.
#[derive(Serialize)]
struct Frame {
    site: String,
    description: String,
    lang: String,
    canonical: String,
    viewer: Option<Viewer>,
    nav_links: Vec<crate::features::settings::schema::NavLink>,
}

/// A page for everyone (cached under `key`), or for one signed-in reader
/// (rendered for them alone, never stored).
async fn cached_unless_signed_in<F, Fut>(
    ctx: &DbCtx,
    viewer: Option<&Session>,
    key: impl std::future::Future<Output = Option<Key<CachedBody>>>,
    render: F,
) -> Result<CachedBody>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<CachedBody>>,
{
    if viewer.is_some() {
        return render().await;
    }
    match key.await {
        Some(key) => ctx.cache.get_or_load(&key, render).await,
        None => render().await,
    }
}

async fn frame(ctx: &DbCtx, path: &str, viewer: Option<&Session>) -> Result<Frame> {
    let view = settings::site(ctx).await?;
    let canonical = ctx.config.base_url.join(path.trim_start_matches('/')).map(|u| u.to_string()).unwrap_or_default();
    Ok(Frame {
        site: view.site.title.clone(),
        description: view.site.description.clone(),
        lang: view.site.lang(ctx.config.locale),
        canonical,
        viewer: viewer.map(|s| Viewer { name: s.user.name.clone(), admin: s.is_admin() }),
        nav_links: view.site.navigation.clone(),
    })
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
pub async fn home(ctx: &DbCtx, viewer: Option<&Session>, cursor: Option<i64>) -> Result<CachedBody> {
    let path = cursor.map_or_else(|| "/".to_owned(), |c| format!("/?cursor={c}"));
    let argument = cursor.map(|c| c.to_string()).unwrap_or_default();
    let render = || async {
        let frame = frame(ctx, &path, viewer).await?;
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
    cached_unless_signed_in(ctx, viewer, page_key(ctx, "home", &argument, &[POSTS_LIST]), render).await
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
pub async fn list(ctx: &DbCtx, viewer: Option<&Session>, listing: &Listing, cursor: Option<i64>) -> Result<CachedBody> {
    let path = listing.path();
    let render = || async {
        let frame = frame(ctx, &path, viewer).await?;
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
    cached_unless_signed_in(ctx, viewer, page_key(ctx, "list", &argument, &[POSTS_LIST]), render).await
}

/// What a signed-in reader typed in the comment form, and why it was refused.
pub struct CommentAttempt {
    pub content: String,
    pub error: String,
}

/// Root comments a post page shows (newest first), and replies per root.
const THREADS_SHOWN: u32 = 50;
const REPLIES_SHOWN: u32 = 100;

/// A comment as the post template sees it.
fn comment_view(comment: &ThreadComment) -> Value {
    let (author, admin) = match &comment.user {
        Some(user) => (user.name.clone(), user.role == "admin"),
        None => ("A former reader".to_owned(), false),
    };
    json!({
        "id": comment.id,
        "author": author,
        "admin": admin,
        "createdAt": comment.created_at,
        "date": date(comment.created_at),
        "contentHtml": comment.content_html,
        "deleted": comment.deleted,
        "pending": matches!(comment.status, CommentStatus::Pending | CommentStatus::Verifying),
        "replyTo": comment.reply_to.as_ref().filter(|target| Some(target.id) != comment.root_id).map(|target| json!({"id": target.id, "name": target.name})),
    })
}

/// The post's threads as `viewer` sees them (their own pending comments
/// too): up to [`THREADS_SHOWN`] roots with their replies, the number of
/// roots, and whether there are more.
async fn threads(ctx: &DbCtx, post_id: i64, viewer: Option<&Session>) -> Result<(Vec<Value>, i64, bool)> {
    let reader = SessionCtx { app: ctx.clone(), session: viewer.cloned() };
    let roots = comments::roots(&reader, &RootsInput { post_id, offset: None, limit: Some(THREADS_SHOWN) }).await?;
    let mut views = Vec::with_capacity(roots.items.len());
    for root in &roots.items {
        let mut view = comment_view(root);
        let count = root.reply_count.unwrap_or(0);
        if count > 0 {
            let input = RepliesInput { post_id, root_id: root.id, offset: None, limit: Some(REPLIES_SHOWN) };
            let replies = comments::replies(&reader, &input).await?;
            view["replies"] = Value::Array(replies.items.iter().map(comment_view).collect());
            view["moreReplies"] = json!((replies.total - replies.items.len() as i64).max(0));
        }
        views.push(view);
    }
    let more = roots.total > roots.items.len() as i64;
    Ok((views, roots.total, more))
}

/// A post's page; [`BlogError::NotFound`] unless readers may see it. A
/// signed-in reader gets the comment form (with `attempt` after a refusal).
pub async fn post(ctx: &DbCtx, viewer: Option<&Session>, slug: &str, attempt: Option<&CommentAttempt>) -> Result<CachedBody> {
    let render = || async {
        let frame = frame(ctx, &format!("/post/{slug}"), viewer).await?;
        let detail = publishing::load_detail(ctx, slug).await?.filter(|d| d.item.kind == PostKind::Post).ok_or(BlogError::NotFound)?;
        let related = publishing::related(ctx, slug, 3).await?;
        let item = &detail.item;
        let (comment_list, comment_total, more_comments) = threads(ctx, item.id, viewer).await?;
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
            "post_id": item.id,
            "toc": detail.toc,
            "content_html": detail.content_html,
            "related": related.iter().map(post_view).collect::<Vec<_>>(),
            "json_ld": json_ld,
            "image": first_image(ctx, &detail.content_html),
            "comments": comment_list,
            "comment_total": comment_total,
            "more_comments": more_comments,
            "comment_content": attempt.map(|a| a.content.as_str()),
            "comment_error": attempt.map(|a| a.error.as_str()),
        });
        let html = ctx.theme.render("post.html", with_frame(&frame, fields))?;
        Ok::<_, BlogError>(CachedBody::tagged(html))
    };
    let key = page_key(ctx, "post", slug, &[POSTS_DETAIL, POSTS_LIST, COMMENTS]);
    cached_unless_signed_in(ctx, viewer, key, render).await
}

/// A standalone page (`kind` page) at `/{slug}`; [`BlogError::NotFound`]
/// unless readers may see it.
pub async fn standalone(ctx: &DbCtx, viewer: Option<&Session>, slug: &str) -> Result<CachedBody> {
    let render = || async {
        let frame = frame(ctx, &format!("/{slug}"), viewer).await?;
        let detail = publishing::load_detail(ctx, slug).await?.filter(|d| d.item.kind == PostKind::Page).ok_or(BlogError::NotFound)?;
        let item = &detail.item;
        let fields = json!({
            "title": item.title,
            "description": item.summary,
            "page": post_view(item),
            "toc": detail.toc,
            "content_html": detail.content_html,
            "image": first_image(ctx, &detail.content_html),
        });
        Ok::<_, BlogError>(CachedBody::tagged(ctx.theme.render("page.html", with_frame(&frame, fields))?))
    };
    cached_unless_signed_in(ctx, viewer, page_key(ctx, "page", slug, &[POSTS_DETAIL]), render).await
}

/// The absolute address of the first image in `html`, for sharing cards.
fn first_image(ctx: &DbCtx, html: &str) -> Option<String> {
    let start = html.find("<img")?;
    let tag = &html[start..start + html[start..].find('>')?];
    let src = tag.split(" src=\"").nth(1)?.split('"').next()?;
    let src = src.replace("&amp;", "&");
    ctx.config.base_url.join(&src).ok().map(|url| url.to_string())
}

/// Posts a comment from the post page's form: the new comment's id.
pub async fn comment(ctx: &AuthCtx, slug: &str, input: CreateInput) -> std::result::Result<i64, AppError> {
    let detail = publishing::load_detail(&ctx.app, slug).await.map_err(BlogError::from)?.ok_or(BlogError::NotFound)?;
    let input = CreateInput { post_id: detail.item.id, ..input };
    Ok(comments::create(ctx, &input).await?.id)
}

/// `/tags`: every tag of a listed post, most used first.
pub async fn tags(ctx: &DbCtx, viewer: Option<&Session>) -> Result<CachedBody> {
    let render = || async {
        let frame = frame(ctx, "/tags", viewer).await?;
        let cloud = publishing::tag_cloud(ctx).await?;
        let tags: Value = serde_json::from_slice(&cloud.body).map_err(|e| anyhow::anyhow!("the tag cloud is not JSON: {e}"))?;
        let fields = json!({"title": "Tags", "tags": tags});
        Ok::<_, BlogError>(CachedBody::tagged(ctx.theme.render("tags.html", with_frame(&frame, fields))?))
    };
    cached_unless_signed_in(ctx, viewer, page_key(ctx, "tags", "", &[POSTS_LIST, POSTS_DETAIL]), render).await
}

/// Listed posts the archive page shows at most (its HTML stays bounded).
const ARCHIVE_LIMIT: u32 = 5000;

/// `/archive`: every listed post, by year and month, newest first.
pub async fn archive(ctx: &DbCtx, viewer: Option<&Session>) -> Result<CachedBody> {
    let render = || async {
        let frame = frame(ctx, "/archive", viewer).await?;
        let entries = publishing::archive(ctx, ARCHIVE_LIMIT).await?;
        let mut years: Vec<Value> = Vec::new();
        for (slug, title, published_at) in entries {
            let Ok(at) = jiff::Timestamp::from_millisecond(published_at) else { continue };
            let (year, month) = (at.strftime("%Y").to_string(), at.strftime("%m").to_string());
            let post =
                json!({"slug": slug, "title": title, "publishedAt": Timestamp(published_at), "day": at.strftime("%-d %b").to_string()});
            if years.last().is_none_or(|y| y["year"] != json!(year)) {
                years.push(json!({"year": year, "months": []}));
            }
            let months = years.last_mut().and_then(|y| y["months"].as_array_mut()).expect("a year was just pushed");
            if months.last().is_none_or(|m| m["number"] != json!(month)) {
                months.push(json!({"number": month, "name": at.strftime("%B").to_string(), "posts": []}));
            }
            if let Some(posts) = months.last_mut().and_then(|m| m["posts"].as_array_mut()) {
                posts.push(post);
            }
        }
        let fields = json!({"title": "Archive", "years": years});
        Ok::<_, BlogError>(CachedBody::tagged(ctx.theme.render("archive.html", with_frame(&frame, fields))?))
    };
    cached_unless_signed_in(ctx, viewer, page_key(ctx, "archive", "", &[POSTS_LIST]), render).await
}

/// Results the search page shows.
const SEARCH_RESULTS: u32 = 20;

/// `/search?q=`: listed posts matching every word, best first, with the
/// words marked in their title and a snippet.
pub async fn search_page(ctx: &DbCtx, viewer: Option<&Session>, query: &str) -> Result<CachedBody> {
    let query = query.trim();
    let path = if query.is_empty() {
        "/search".to_owned()
    } else {
        format!("/search?q={}", form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>())
    };
    let render = || async {
        let mut frame = frame(ctx, &path, viewer).await?;
        // Result pages are not for search engines; the empty form is.
        frame.canonical = ctx.config.base_url.join("search").map(|u| u.to_string()).unwrap_or_default();
        let results: Vec<SearchResult> = if query.is_empty() {
            Vec::new()
        } else {
            let body = search::search(ctx, query, SEARCH_RESULTS).await?;
            serde_json::from_slice(&body.body).map_err(|e| anyhow::anyhow!("search results are not JSON: {e}"))?
        };
        let title = if query.is_empty() { "Search".to_owned() } else { format!("Search: {query}") };
        let fields = json!({"title": title, "query": query, "results": results, "noindex": !query.is_empty()});
        Ok::<_, BlogError>(CachedBody::tagged(ctx.theme.render("search.html", with_frame(&frame, fields))?))
    };
    cached_unless_signed_in(ctx, viewer, page_key(ctx, "search", query, &[SEARCH, POSTS_LIST]), render).await
}

/// What the friend-links form holds after a refusal, and whether a
/// submission just went through.
#[derive(Default, Serialize)]
pub struct LinkAttempt {
    pub form: Option<Value>,
    pub error: Option<String>,
    pub sent: bool,
}

/// `/friend-links`: the approved links, and the submission form for a
/// signed-in reader.
pub async fn friend_links_page(ctx: &DbCtx, viewer: Option<&Session>, attempt: &LinkAttempt) -> Result<CachedBody> {
    let render = || async {
        let frame = frame(ctx, "/friend-links", viewer).await?;
        let links: Vec<PublicFriendLink> = friend_links::approved(ctx).await?;
        let fields = json!({
            "title": "Friends",
            "links": links,
            "form": attempt.form,
            "link_error": attempt.error,
            "link_sent": attempt.sent,
        });
        Ok::<_, BlogError>(CachedBody::tagged(ctx.theme.render("friend-links.html", with_frame(&frame, fields))?))
    };
    cached_unless_signed_in(ctx, viewer, page_key(ctx, "friend-links", "", &[FRIEND_LINKS]), render).await
}

/// Submits a site from the friend-links form.
pub async fn submit_link(ctx: &AuthCtx, input: &SubmitInput) -> std::result::Result<(), AppError> {
    friend_links::submit(ctx, input).await?;
    Ok(())
}

/// The fields of the not-found and error pages.
pub async fn error_fields(ctx: &DbCtx, title: &str, message: &str, request_id: Option<&str>) -> Value {
    let (site, lang) = site_and_lang(ctx).await;
    json!({"site": site, "lang": lang, "title": title, "message": message, "request_id": request_id, "noindex": true})
}

/// The site's title and `lang`, from the settings (else the configuration:
/// an error page must show even when the settings cannot be read).
pub async fn site_and_lang(ctx: &DbCtx) -> (String, String) {
    match settings::site(ctx).await {
        Ok(view) => (view.site.title.clone(), view.site.lang(ctx.config.locale)),
        Err(_) => (ctx.config.site.title.clone(), crate::features::settings::schema::SiteSettings::default().lang(ctx.config.locale)),
    }
}

/// The not-found page's fields.
pub async fn not_found_fields(ctx: &DbCtx) -> Value {
    let (site, lang) = site_and_lang(ctx).await;
    json!({"site": site, "lang": lang, "title": "Page not found", "message": "There is nothing at this address. It may have moved, or never existed.", "noindex": true})
}
