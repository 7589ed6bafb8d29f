//! Settings endpoints: the whole configuration for admins (secrets masked),
//! the site's public part for everyone.

use axum::Json;

use crate::platform::http::{AdminCtx, AppError, CachePolicy, DbCtx, Endpoint, Routes, Success, TokenAccess, ValidJson};

use super::schema::{SiteSettings, SystemConfig};
use super::service;

pub fn routes() -> Routes {
    Routes::new()
        .route(
            Endpoint::query("getSystemConfig")
                .tag("settings")
                .summary("Every setting (the SMTP password and webhook secrets come back masked)")
                .tokens(TokenAccess::Never)
                .output::<SystemConfig>()
                .handler(system_config),
        )
        .route(
            Endpoint::mutation("updateSystemConfig")
                .tag("settings")
                .summary("Save every setting (a masked secret keeps the stored one)")
                .tokens(TokenAccess::Never)
                .input::<SystemConfig>()
                .output::<Success>()
                .handler(update),
        )
        .route(
            Endpoint::query("getSiteConfig")
                .tag("settings")
                .summary("The site's title, author, description, links, icons and theme")
                .cache(CachePolicy::Public)
                .output::<SiteSettings>()
                .handler(site_config),
        )
        .route(
            Endpoint::query("getSiteDomain")
                .tag("settings")
                .summary("The blog's host name")
                .cache(CachePolicy::Public)
                .output::<String>()
                .handler(site_domain),
        )
}

async fn system_config(ctx: AdminCtx) -> Result<Json<SystemConfig>, AppError> {
    Ok(Json(service::for_admin(&ctx).await?))
}

async fn update(ctx: AdminCtx, ValidJson(input): ValidJson<SystemConfig>) -> Result<Json<Success>, AppError> {
    service::update(&ctx, input).await?;
    Ok(Json(Success { success: true }))
}

async fn site_config(ctx: DbCtx) -> Result<Json<SiteSettings>, AppError> {
    Ok(Json(service::site(&ctx).await?.site))
}

async fn site_domain(ctx: DbCtx) -> Json<String> {
    Json(service::domain(&ctx))
}
