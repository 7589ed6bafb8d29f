//! The admin's screens. Each is a page for a signed-in admin: anyone else
//! is sent to the sign-in page (303) with the address to come back to.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::features::posts::schema::PostStatus;
use crate::features::settings::service as settings;
use crate::platform::http::{AdminCtx, AppError, AuthCtx, Endpoint, Routes, SessionCtx, TokenAccess, ValidQuery};

use super::service;

pub fn routes() -> Routes {
    let screen = |path: &str, name: &'static str, summary: &'static str| {
        Endpoint::page(Method::GET, path, name).tag("admin").summary(summary).tokens(TokenAccess::Never)
    };
    Routes::new()
        .route(
            screen("/admin", "adminDashboard", "The admin's dashboard: counts, the latest activity, and traffic by range")
                .input::<DashboardQuery>()
                .handler(dashboard),
        )
        .route(
            screen("/admin/posts", "adminPosts", "Every post and page, newest edit first: search, status filter, pages of 20")
                .input::<PostsQuery>()
                .handler(posts),
        )
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostsQuery {
    /// Part of the title.
    #[garde(inner(length(chars, max = 200)))]
    #[schemars(length(max = 200))]
    pub q: Option<String>,
    /// `draft` or `published`; empty: both.
    #[garde(skip)]
    pub status: Option<StatusFilter>,
    /// A tag's name.
    #[garde(inner(length(chars, max = 50)))]
    #[schemars(length(max = 50))]
    pub tag: Option<String>,
    /// A category.
    #[garde(inner(length(chars, max = 50)))]
    #[schemars(length(max = 50))]
    pub category: Option<String>,
    /// 1-based.
    #[garde(inner(range(min = 1, max = 50_000)))]
    #[schemars(range(min = 1, max = 50_000))]
    pub page: Option<u32>,
}

/// The status filter of the posts screen (its select's empty choice is "all").
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StatusFilter {
    #[serde(rename = "")]
    All,
    Draft,
    Published,
}

/// The traffic range the dashboard shows.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema)]
pub enum Range {
    #[serde(rename = "24h")]
    Day,
    #[default]
    #[serde(rename = "7d")]
    Week,
    #[serde(rename = "30d")]
    Month,
    #[serde(rename = "90d")]
    Quarter,
}

impl Range {
    fn as_str(self) -> &'static str {
        match self {
            Range::Day => "24h",
            Range::Week => "7d",
            Range::Month => "30d",
            Range::Quarter => "90d",
        }
    }
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DashboardQuery {
    /// `24h`, `7d` (the default), `30d` or `90d`.
    #[garde(skip)]
    pub range: Option<Range>,
}

/// The caller as an admin, or the redirect a browser gets instead: to the
/// sign-in page, and back to `path` afterwards (with a word for a reader
/// who is signed in but not an admin).
fn admin_or_sign_in(ctx: SessionCtx, path: &str) -> Result<AdminCtx, Box<Response>> {
    let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
    let location = match ctx.session {
        Some(session) if session.is_admin() => return Ok(AdminCtx(AuthCtx { app: ctx.app, session })),
        Some(_) => format!("/sign-in?next={next}&error=PERMISSION_DENIED"),
        None => format!("/sign-in?next={next}"),
    };
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Err(Box::new(response))
}

/// What every admin screen shows around its content.
#[derive(Serialize)]
struct Frame {
    site: String,
    lang: String,
    admin: String,
    /// The screen, for the navigation's `aria-current`.
    screen: &'static str,
    noindex: bool,
}

async fn render(ctx: &AdminCtx, screen: &'static str, template: &str, mut fields: serde_json::Value) -> Response {
    let (site, lang) = match settings::site(&ctx.app).await {
        Ok(view) => (view.site.title.clone(), view.site.lang(ctx.app.config.locale)),
        Err(_) => {
            (ctx.app.config.site.title.clone(), crate::features::settings::schema::SiteSettings::default().lang(ctx.app.config.locale))
        }
    };
    let frame = Frame { site, lang, admin: ctx.session.user.name.clone(), screen, noindex: true };
    if let (serde_json::Value::Object(map), Ok(serde_json::Value::Object(frame))) = (&mut fields, serde_json::to_value(frame)) {
        map.extend(frame);
    }
    ctx.app.theme.page(StatusCode::OK, template, fields)
}

async fn posts(ctx: SessionCtx, ValidQuery(query): ValidQuery<PostsQuery>) -> Result<Response, AppError> {
    let given = |value: &Option<String>| value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let filter = service::PostFilter { search: given(&query.q), tag: given(&query.tag), category: given(&query.category), status: None };
    let status = match query.status {
        Some(StatusFilter::Draft) => Some(PostStatus::Draft),
        Some(StatusFilter::Published) => Some(PostStatus::Published),
        Some(StatusFilter::All) | None => None,
    };
    let filter = service::PostFilter { status, ..filter };
    let page = query.page.unwrap_or(1);
    let path = service::posts_path(&filter, page);
    let admin = match admin_or_sign_in(ctx, &path) {
        Ok(admin) => admin,
        Err(redirect) => return Ok(*redirect),
    };
    let fields = service::posts(&admin, &filter, page).await?;
    Ok(render(&admin, "posts", "admin/posts.html", fields).await)
}

async fn dashboard(ctx: SessionCtx, ValidQuery(query): ValidQuery<DashboardQuery>) -> Result<Response, AppError> {
    let range = query.range.unwrap_or_default();
    let path = format!("/admin?range={}", range.as_str());
    let admin = match admin_or_sign_in(ctx, &path) {
        Ok(admin) => admin,
        Err(redirect) => return Ok(*redirect),
    };
    let fields = service::dashboard(&admin, range.as_str()).await.map_err(AppError::Internal)?;
    Ok(render(&admin, "dashboard", "admin/dashboard.html", fields).await)
}
