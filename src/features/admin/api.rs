//! The admin's screens. Each is a page for a signed-in admin: anyone else
//! is sent to the sign-in page (303) with the address to come back to.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::features::settings::service as settings;
use crate::platform::http::{AdminCtx, AppError, AuthCtx, Endpoint, Routes, SessionCtx, TokenAccess, ValidQuery};

use super::service;

pub fn routes() -> Routes {
    Routes::new().route(
        Endpoint::page(Method::GET, "/admin", "adminDashboard")
            .tag("admin")
            .summary("The admin's dashboard: counts, the latest activity, and traffic by range")
            .tokens(TokenAccess::Never)
            .input::<DashboardQuery>()
            .handler(dashboard),
    )
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
