//! The public pages' routes, their forms (a comment, a friend link), the
//! theme's assets, and the styled pages for errors no page answered.
//!
//! Pages are session-level: an anonymous reader gets the shared, cached
//! page (public caching headers); a signed-in one gets a page rendered for
//! them alone, private.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use garde::Validate;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::features::comments::api::CREATE_PER_MINUTE;
use crate::features::comments::schema::CreateInput;
use crate::features::friend_links::api::SUBMIT_PER_HOUR;
use crate::features::friend_links::schema::SubmitInput;
use crate::platform::cache::CachedBody;
use crate::platform::http::{
    AppError, AuthCtx, CachePolicy, DbCtx, Endpoint, PageForm, PathParam, Routes, SessionCtx, TokenAccess, ValidQuery, cached_response,
};

use super::icons;
use super::service::{self, BlogError, CommentAttempt, LinkAttempt, Listing};

pub fn routes() -> Routes {
    // Shared by everyone when anonymous; a signed-in reader's page is theirs.
    // Post pages are `Public` (a CDN keeps them a minute), not `UntilPurged`:
    // a comment changes them, and comments purge nothing at the edge.
    let page = |method: Method, path: &str, name: &'static str, summary: &'static str, cache: CachePolicy| {
        Endpoint::page(method, path, name).tag("pages").summary(summary).tokens(TokenAccess::Never).cache(cache).shared_when_anonymous()
    };
    Routes::new()
        .route(
            page(Method::GET, "/", "homePage", "The home page: pinned posts, then the newest, by cursor", CachePolicy::Public)
                .input::<HomeQuery>()
                .handler(home),
        )
        .route(page(Method::GET, "/post/{slug}", "postPage", "A post's page, with its comments", CachePolicy::Public).handler(post))
        .route(
            Endpoint::page(Method::POST, "/post/{slug}/comments", "commentForm")
                .tag("pages")
                .summary("Comment on a post from its page (the form; JavaScript uses createComment)")
                .tokens(TokenAccess::Never)
                .rate_limit(CREATE_PER_MINUTE)
                .input::<CommentFormSchema>()
                .handler(comment_form),
        )
        .route(
            page(Method::GET, "/posts", "postsPage", "Every listed post, newest first, by cursor", CachePolicy::Public)
                .input::<HomeQuery>()
                .handler(all_posts),
        )
        .route(
            page(Method::GET, "/tag/{name}", "tagPage", "The listed posts with a tag, newest first, by cursor", CachePolicy::Public)
                .input::<HomeQuery>()
                .handler(tag),
        )
        .route(
            page(Method::GET, "/category/{name}", "categoryPage", "The listed posts of a category, newest first", CachePolicy::Public)
                .input::<HomeQuery>()
                .handler(category),
        )
        .route(page(Method::GET, "/tags", "tagsPage", "Every tag of a listed post, most used first", CachePolicy::Public).handler(tags))
        .route(page(Method::GET, "/archive", "archivePage", "Every listed post by year and month", CachePolicy::Public).handler(archive))
        .route(
            page(Method::GET, "/search", "searchPage", "Search the listed posts (words marked in the results)", CachePolicy::Public)
                .input::<SearchQuery>()
                .handler(search),
        )
        .route(
            page(Method::GET, "/friend-links", "friendLinksPage", "The approved friend links and the submission form", CachePolicy::Public)
                .handler(friend_links),
        )
        .route(
            Endpoint::page(Method::POST, "/friend-links", "friendLinkForm")
                .tag("pages")
                .summary("Submit a site to the friend links (the form)")
                .tokens(TokenAccess::Never)
                .rate_limit(SUBMIT_PER_HOUR)
                .input::<SubmitInput>()
                .handler(friend_link_form),
        )
        .route(
            Endpoint::rest(Method::GET, "/assets/{file}", "themeAsset")
                .tag("pages")
                .summary("The theme's stylesheet and script, named by their hash (cached for good)")
                .cache(CachePolicy::Immutable)
                .handler(asset),
        )
        .route(
            page(Method::GET, "/{slug}", "standalonePage", "A standalone page (a post of kind page), such as /about", CachePolicy::Public)
                .handler(standalone),
        )
        .merge(icon_routes())
        .error_pages(|state, status, request_id| error_page(DbCtx(state), status, request_id))
}

/// The icons the settings and the manifest name at the site's root.
fn icon_routes() -> Routes {
    let mut routes = Routes::new();
    for &(file, _, _, route_name) in icons::ICONS {
        routes = routes.route(
            Endpoint::rest(Method::GET, &format!("/{file}"), route_name)
                .tag("pages")
                .summary("A site icon: the one uploaded as the site asset favicon/<this name>, else the default")
                .cache(CachePolicy::Public)
                .handler(move |ctx: DbCtx| icon(ctx, file)),
        );
    }
    routes
}

/// Other parameters (`utm_source`, a sign-in's `error`, ...) are ignored:
/// links from elsewhere carry them.
#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HomeQuery {
    /// From the previous page's "Older posts" link.
    #[garde(range(min = 1))]
    #[schemars(range(min = 1))]
    pub cursor: Option<i64>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchQuery {
    /// The words to look for (all must match).
    #[garde(inner(length(chars, max = 200)))]
    #[schemars(length(max = 200))]
    pub q: Option<String>,
}

/// The comment form as read: leniently, so a refusal comes back beside it
/// (the post is the one in the path; `postId` is for the script).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentForm {
    pub content: Option<String>,
    pub root_id: Option<i64>,
    pub reply_to_comment_id: Option<i64>,
}

/// The comment form as documented, with the rules of `createComment`.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CommentFormSchema {
    #[schemars(range(min = 1))]
    post_id: Option<i64>,
    /// 1-5,000 characters, not blank.
    #[schemars(length(min = 1, max = 5000), regex(pattern = r"[^\s]"))]
    content: String,
    #[schemars(range(min = 1))]
    root_id: Option<i64>,
    #[schemars(range(min = 1))]
    reply_to_comment_id: Option<i64>,
}

/// A form that breaks the rules: 422, saying which field and why.
fn invalid(report: &garde::Report) -> AppError {
    let details: Vec<String> = report.iter().map(|(path, error)| format!("{path}: {}", error.message())).collect();
    AppError::validation_with_code("VALIDATION_FAILED", details.join("; "), Default::default())
}

fn html(body: CachedBody) -> Response {
    cached_response(HeaderValue::from_static("text/html; charset=utf-8"), body)
}

/// A page rendered for one reader: nobody may keep it.
fn private_html(status: StatusCode, body: CachedBody) -> Response {
    let mut response = (status, body.body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}

/// A missing post is the styled 404 page.
async fn page_or_not_found(ctx: &DbCtx, result: Result<CachedBody, BlogError>) -> Result<Response, AppError> {
    match result {
        Ok(body) => Ok(html(body)),
        Err(BlogError::NotFound) => Ok(not_found(ctx).await),
        Err(error) => Err(error.into()),
    }
}

/// The styled 404 page.
pub async fn not_found(ctx: &DbCtx) -> Response {
    let mut response = ctx.theme.page(StatusCode::NOT_FOUND, "not-found.html", service::not_found_fields(ctx).await);
    response.headers_mut().remove(header::CACHE_CONTROL);
    response
}

/// The styled page of an error no page answered (an unknown address, a
/// failure): what a browser shows instead of the JSON envelope.
pub async fn error_page(ctx: DbCtx, status: StatusCode, request_id: String) -> Response {
    if status == StatusCode::NOT_FOUND {
        return not_found(&ctx).await;
    }
    let (title, message) = if status == StatusCode::SERVICE_UNAVAILABLE {
        ("Back soon", "The blog cannot answer right now. Try again in a minute.")
    } else {
        ("Something went wrong", "The page could not be shown. The error is logged; try again in a moment.")
    };
    let fields = service::error_fields(&ctx, title, message, Some(&request_id)).await;
    let mut response = ctx.theme.page(status, "error.html", fields);
    response.headers_mut().remove(header::CACHE_CONTROL);
    response
}

async fn home(ctx: SessionCtx, ValidQuery(query): ValidQuery<HomeQuery>) -> Result<Response, AppError> {
    let result = service::home(&ctx.app, ctx.session.as_ref(), query.cursor).await;
    page_or_not_found(&ctx.app, result).await
}

async fn post(ctx: SessionCtx, PathParam(slug): PathParam) -> Result<Response, AppError> {
    let result = service::post(&ctx.app, ctx.session.as_ref(), &slug, None).await;
    page_or_not_found(&ctx.app, result).await
}

/// Posted: back to the post at the new comment (303, so a reload does not
/// post again). Refused: the post page with the words and the typed text.
async fn comment_form(ctx: AuthCtx, PathParam(slug): PathParam, PageForm(form): PageForm<CommentForm>) -> Result<Response, AppError> {
    let content = form.content.unwrap_or_default();
    let input = CreateInput { post_id: 1, content: content.clone(), root_id: form.root_id, reply_to_comment_id: form.reply_to_comment_id };
    let outcome = match input.validate() {
        Err(report) => Err(invalid(&report)),
        Ok(()) => service::comment(&ctx, &slug, input).await,
    };
    let refusal = match outcome {
        Ok(id) => {
            let encoded = form_urlencoded::byte_serialize(slug.as_bytes()).collect::<String>().replace('+', "%20");
            let mut response = StatusCode::SEE_OTHER.into_response();
            let location = HeaderValue::from_str(&format!("/post/{encoded}#comment-{id}"))
                .map_err(|e| AppError::internal(anyhow::anyhow!("comment location: {e}")))?;
            response.headers_mut().insert(header::LOCATION, location);
            return Ok(response);
        }
        Err(AppError::Client(client)) => client,
        Err(internal) => return Err(internal),
    };
    if refusal.status == StatusCode::NOT_FOUND {
        return Ok(not_found(&ctx.app).await);
    }
    let attempt = CommentAttempt { content: content.chars().take(5000).collect(), error: refusal.message.clone() };
    match service::post(&ctx.app, Some(&ctx.session), &slug, Some(&attempt)).await {
        Ok(body) => Ok(private_html(refusal.status, body)),
        Err(error) => page_or_not_found(&ctx.app, Err(error)).await,
    }
}

async fn all_posts(ctx: SessionCtx, ValidQuery(query): ValidQuery<HomeQuery>) -> Result<Response, AppError> {
    let result = service::list(&ctx.app, ctx.session.as_ref(), &Listing::All, query.cursor).await;
    page_or_not_found(&ctx.app, result).await
}

async fn tag(ctx: SessionCtx, PathParam(name): PathParam, ValidQuery(query): ValidQuery<HomeQuery>) -> Result<Response, AppError> {
    let result = service::list(&ctx.app, ctx.session.as_ref(), &Listing::Tag(name), query.cursor).await;
    page_or_not_found(&ctx.app, result).await
}

async fn category(ctx: SessionCtx, PathParam(name): PathParam, ValidQuery(query): ValidQuery<HomeQuery>) -> Result<Response, AppError> {
    let result = service::list(&ctx.app, ctx.session.as_ref(), &Listing::Category(name), query.cursor).await;
    page_or_not_found(&ctx.app, result).await
}

async fn tags(ctx: SessionCtx) -> Result<Response, AppError> {
    let result = service::tags(&ctx.app, ctx.session.as_ref()).await;
    page_or_not_found(&ctx.app, result).await
}

async fn archive(ctx: SessionCtx) -> Result<Response, AppError> {
    let result = service::archive(&ctx.app, ctx.session.as_ref()).await;
    page_or_not_found(&ctx.app, result).await
}

async fn search(ctx: SessionCtx, ValidQuery(query): ValidQuery<SearchQuery>) -> Result<Response, AppError> {
    let result = service::search_page(&ctx.app, ctx.session.as_ref(), query.q.as_deref().unwrap_or_default()).await;
    page_or_not_found(&ctx.app, result).await
}

async fn friend_links(ctx: SessionCtx) -> Result<Response, AppError> {
    let result = service::friend_links_page(&ctx.app, ctx.session.as_ref(), &LinkAttempt::default()).await;
    page_or_not_found(&ctx.app, result).await
}

/// The submission form is read leniently: a refusal comes back beside it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LinkForm {
    site_name: Option<String>,
    site_url: Option<String>,
    description: Option<String>,
    logo_url: Option<String>,
    contact_email: Option<String>,
}

async fn friend_link_form(ctx: AuthCtx, PageForm(form): PageForm<LinkForm>) -> Result<Response, AppError> {
    let optional = |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let input = SubmitInput {
        site_name: form.site_name.unwrap_or_default().trim().to_owned(),
        site_url: form.site_url.unwrap_or_default().trim().to_owned(),
        description: optional(form.description),
        logo_url: optional(form.logo_url),
        contact_email: form.contact_email.unwrap_or_default().trim().to_owned(),
    };
    let outcome = match input.validate() {
        Err(report) => Err(invalid(&report)),
        Ok(()) => service::submit_link(&ctx, &input).await,
    };
    let (status, attempt) = match outcome {
        Ok(()) => (StatusCode::OK, LinkAttempt { sent: true, ..LinkAttempt::default() }),
        Err(AppError::Client(client)) => {
            let echo = |value: &str, max: usize| value.chars().take(max).collect::<String>();
            let form = serde_json::json!({
                "siteName": echo(&input.site_name, 100),
                "siteUrl": echo(&input.site_url, 500),
                "description": echo(input.description.as_deref().unwrap_or_default(), 300),
                "logoUrl": echo(input.logo_url.as_deref().unwrap_or_default(), 500),
                "contactEmail": echo(&input.contact_email, 254),
            });
            (client.status, LinkAttempt { form: Some(form), error: Some(client.message.clone()), sent: false })
        }
        Err(internal) => return Err(internal),
    };
    match service::friend_links_page(&ctx.app, Some(&ctx.session), &attempt).await {
        Ok(body) => Ok(private_html(status, body)),
        Err(error) => page_or_not_found(&ctx.app, Err(error)).await,
    }
}

/// `/{slug}` takes every unknown one-segment address: when no page is
/// there, the answer is the usual not-found envelope, which a browser gets
/// as the styled 404 page (see `error_page`).
async fn standalone(ctx: SessionCtx, PathParam(slug): PathParam) -> Result<Response, AppError> {
    match service::standalone(&ctx.app, ctx.session.as_ref(), &slug).await {
        Ok(body) => Ok(html(body)),
        Err(BlogError::NotFound) => Err(AppError::not_found("NOT_FOUND", "There is nothing at this address")),
        Err(error) => Err(error.into()),
    }
}

async fn icon(ctx: DbCtx, file: &'static str) -> Result<Response, AppError> {
    let (bytes, content_type) = icons::icon(&ctx, file)
        .await
        .map_err(|e| AppError::internal(e.context(format!("reading the icon {file}"))))?
        .ok_or_else(|| AppError::not_found("ICON_NOT_FOUND", "No such icon"))?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // An uploaded SVG is the admin's file: it may draw, never run.
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}

async fn asset(ctx: DbCtx, PathParam(file): PathParam) -> Result<Response, AppError> {
    let asset = ctx.theme.asset(&file).ok_or_else(|| AppError::not_found("ASSET_NOT_FOUND", "The theme has no such file"))?;
    let mut response = asset.body.clone().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    Ok(response)
}
