//! Email endpoints: the admin's connection test, unsubscribing (by signed
//! link, RFC 8058 one-click, or from one's account).

use axum::Json;
use axum::http::{Method, StatusCode};
use axum::response::Response;

use crate::platform::http::{AdminCtx, AppError, AuthCtx, DbCtx, Endpoint, Routes, Success, TokenAccess, ValidJson, ValidQuery};

use super::schema::{Availability, Enabled, TestEmailInput, ToggleInput, UnsubscribeInput};
use super::service;

pub fn routes() -> Routes {
    Routes::new()
        .route(
            Endpoint::mutation("testEmailConnection")
                .tag("email")
                .summary("Send a test email to the admin now with these SMTP settings (SEND_FAILED carries the server's words)")
                .tokens(TokenAccess::Never)
                .input::<TestEmailInput>()
                .output::<Success>()
                .handler(test_connection),
        )
        .route(
            Endpoint::query("getIsEmailConfigured")
                .tag("email")
                .summary("Whether the SMTP settings are complete")
                .tokens(TokenAccess::Never)
                .output::<bool>()
                .handler(is_configured),
        )
        .route(
            Endpoint::mutation("unsubscribeByToken")
                .tag("email")
                .summary("Unsubscribe with the signed token of an email's link")
                .input::<UnsubscribeInput>()
                .output::<Success>()
                .handler(unsubscribe_by_token),
        )
        .route(
            Endpoint::query("getReplyNotificationStatus")
                .tag("email")
                .summary("Whether the caller gets emails about replies to their comments")
                .tokens(TokenAccess::Never)
                .output::<Enabled>()
                .handler(reply_status),
        )
        .route(
            Endpoint::mutation("toggleReplyNotification")
                .tag("email")
                .summary("Turn emails about replies to the caller's comments on or off")
                .tokens(TokenAccess::Never)
                .input::<ToggleInput>()
                .output::<Success>()
                .handler(toggle_reply),
        )
        .route(
            Endpoint::query("getUserNotificationAvailability")
                .tag("email")
                .summary("Whether the blog sends users emails at all")
                .tokens(TokenAccess::Never)
                .output::<Availability>()
                .handler(availability),
        )
        .route(
            Endpoint::page(Method::GET, "/unsubscribe", "unsubscribePage")
                .tag("email")
                .summary("The page an email's unsubscribe link opens: one button")
                .input::<UnsubscribeInput>()
                .handler(unsubscribe_page),
        )
        .route(
            Endpoint::rest(Method::POST, "/unsubscribe", "unsubscribeOneClick")
                .tag("email")
                .summary("RFC 8058 one-click unsubscribe (the link's query; the body is `List-Unsubscribe=One-Click`)")
                .query_input::<UnsubscribeInput>()
                .handler(unsubscribe_one_click),
        )
}

async fn test_connection(ctx: AdminCtx, ValidJson(input): ValidJson<TestEmailInput>) -> Result<Json<Success>, AppError> {
    service::test_connection(&ctx, &input).await?;
    Ok(Json(Success { success: true }))
}

async fn is_configured(ctx: AdminCtx) -> Result<Json<bool>, AppError> {
    Ok(Json(service::is_configured(&ctx).await?))
}

async fn unsubscribe_by_token(ctx: DbCtx, ValidJson(input): ValidJson<UnsubscribeInput>) -> Result<Json<Success>, AppError> {
    service::unsubscribe_by_token(&ctx, &input.user_id, input.kind, &input.token).await?;
    Ok(Json(Success { success: true }))
}

async fn reply_status(ctx: AuthCtx) -> Result<Json<Enabled>, AppError> {
    Ok(Json(service::reply_notification_status(&ctx).await?))
}

async fn toggle_reply(ctx: AuthCtx, ValidJson(input): ValidJson<ToggleInput>) -> Result<Json<Success>, AppError> {
    service::toggle_reply_notification(&ctx, input.enabled).await?;
    Ok(Json(Success { success: true }))
}

async fn availability(ctx: AuthCtx) -> Result<Json<Availability>, AppError> {
    Ok(Json(service::availability(&ctx).await?))
}

/// The unsubscribe page of the theme (`account/unsubscribe.html`): one
/// button while `action` is set, else the outcome.
async fn page(ctx: &DbCtx, title: &str, message: &str, action: Option<String>) -> Response {
    let site =
        crate::features::settings::service::site(ctx).await.map(|v| v.site.title.clone()).unwrap_or_else(|_| ctx.config.site.title.clone());
    let fields = serde_json::json!({
        "site": site, "title": title, "message": message, "action": action, "done": action.is_none(), "noindex": true,
    });
    ctx.theme.page(StatusCode::OK, "account/unsubscribe.html", fields)
}

/// A page with one button (a link must not unsubscribe by itself: mail
/// scanners open links).
async fn unsubscribe_page(ctx: DbCtx, ValidQuery(input): ValidQuery<UnsubscribeInput>) -> Response {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("userId", &input.user_id)
        .append_pair("type", input.kind.as_str())
        .append_pair("token", &input.token)
        .finish();
    let message = "You will no longer get emails about replies to your comments. You can turn them on again in your account.";
    page(&ctx, "Stop these emails?", message, Some(format!("/unsubscribe?{query}"))).await
}

async fn unsubscribe_one_click(ctx: DbCtx, ValidQuery(input): ValidQuery<UnsubscribeInput>) -> Result<Response, AppError> {
    service::unsubscribe_by_token(&ctx, &input.user_id, input.kind, &input.token).await?;
    Ok(page(&ctx, "Unsubscribed", "You will no longer get emails about replies to your comments.", None).await)
}
