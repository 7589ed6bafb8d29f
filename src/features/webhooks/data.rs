//! SQL for the webhook delivery log. SQL only.

use crate::platform::db::Db;
use crate::{execute, on_read};

use super::schema::WebhookDelivery;

/// Attempts kept per endpoint.
pub const KEPT: i64 = 50;

pub struct Attempt<'a> {
    pub endpoint_id: &'a str,
    pub delivery_id: &'a str,
    pub event_type: &'a str,
    pub attempt: i32,
    pub status: Option<i32>,
    pub ok: bool,
    pub duration_ms: i64,
    pub error: Option<&'a str>,
    pub test: bool,
    pub created_at: i64,
}

/// Records an attempt and forgets the endpoint's attempts beyond the newest 50.
pub async fn record(db: &Db, a: &Attempt<'_>) -> sqlx::Result<()> {
    execute!(
        db,
        sqlx::query(
            "INSERT INTO webhook_deliveries (endpoint_id, delivery_id, event_type, attempt, status, ok, duration_ms, error, test, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )
        .bind(a.endpoint_id)
        .bind(a.delivery_id)
        .bind(a.event_type)
        .bind(a.attempt)
        .bind(a.status)
        .bind(a.ok)
        .bind(a.duration_ms)
        .bind(a.error)
        .bind(a.test)
        .bind(a.created_at)
    )?;
    execute!(
        db,
        sqlx::query(
            "DELETE FROM webhook_deliveries WHERE endpoint_id = $1 AND id < (
                 SELECT MIN(id) FROM (SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2) AS newest)"
        )
        .bind(a.endpoint_id)
        .bind(KEPT)
    )?;
    Ok(())
}

/// How many attempts this delivery had before.
pub async fn attempts_of(db: &Db, delivery_id: &str) -> sqlx::Result<i64> {
    on_read!(db, |pool| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM webhook_deliveries WHERE delivery_id = $1")
        .bind(delivery_id)
        .fetch_one(pool))
}

/// The endpoint's newest attempts first.
pub async fn list(db: &Db, endpoint_id: &str) -> sqlx::Result<Vec<WebhookDelivery>> {
    on_read!(db, |pool| sqlx::query_as::<_, WebhookDelivery>(
        "SELECT id, endpoint_id, delivery_id, event_type, attempt, status, ok, duration_ms, error, test, created_at
         FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2"
    )
    .bind(endpoint_id)
    .bind(KEPT)
    .fetch_all(pool))
}
