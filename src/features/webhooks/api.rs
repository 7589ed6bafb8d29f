//! Webhook endpoints for admins: a test delivery and the delivery log.

use axum::Json;

use crate::platform::http::{AdminCtx, AppError, Endpoint, Routes, TokenAccess, ValidJson, ValidQuery};

use super::schema::{EndpointIdInput, TestWebhookInput, TestWebhookResult, WebhookDelivery};
use super::service;

pub fn routes() -> Routes {
    Routes::new()
        .route(
            Endpoint::mutation("testWebhook")
                .tag("webhooks")
                .summary("Send an example event to a webhook endpoint now and report how it went")
                .tokens(TokenAccess::Never)
                .input::<TestWebhookInput>()
                .output::<TestWebhookResult>()
                .handler(test),
        )
        .route(
            Endpoint::query("getWebhookDeliveries")
                .tag("webhooks")
                .summary("The newest 50 delivery attempts of a webhook endpoint")
                .tokens(TokenAccess::Never)
                .input::<EndpointIdInput>()
                .output::<Vec<WebhookDelivery>>()
                .handler(deliveries),
        )
}

async fn test(ctx: AdminCtx, ValidJson(input): ValidJson<TestWebhookInput>) -> Result<Json<TestWebhookResult>, AppError> {
    Ok(Json(service::test(&ctx, &input.endpoint).await?))
}

async fn deliveries(ctx: AdminCtx, ValidQuery(input): ValidQuery<EndpointIdInput>) -> Result<Json<Vec<WebhookDelivery>>, AppError> {
    Ok(Json(service::deliveries(&ctx, &input.endpoint_id).await?))
}
