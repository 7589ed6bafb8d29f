//! Dashboard endpoints (admins).

use axum::Json;

use crate::platform::auth::Scope;
use crate::platform::http::{AdminCtx, AppError, Endpoint, Routes};

use super::schema::DashboardStats;
use super::service;

pub fn routes() -> Routes {
    Routes::new()
        .route(
            Endpoint::query("getDashboardStats")
                .tag("dashboard")
                .summary("Counts, the 10 latest activities and traffic by range")
                .scope(Scope::AnalyticsRead)
                .output::<DashboardStats>()
                .handler(stats),
        )
        .route(
            Endpoint::mutation("refreshDashboardCache")
                .tag("dashboard")
                .summary("Recompute the traffic figures now")
                .scope(Scope::AnalyticsRead)
                .output::<DashboardStats>()
                .handler(refresh),
        )
}

async fn stats(ctx: AdminCtx) -> Result<Json<DashboardStats>, AppError> {
    Ok(Json(service::stats(&ctx).await.map_err(AppError::Internal)?))
}

async fn refresh(ctx: AdminCtx) -> Result<Json<DashboardStats>, AppError> {
    Ok(Json(service::refresh(&ctx).await.map_err(AppError::Internal)?))
}
