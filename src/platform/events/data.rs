//! SQL for the delivery ledger: which subscriber handled which event, and
//! how many times (more than once only when a process died mid-delivery;
//! read by operators and tests with plain SQL).

use crate::execute;
use crate::platform::clock::Millis;
use crate::platform::db::Db;

pub async fn record(db: &Db, event_id: &str, subscriber: &str, now: Millis) -> sqlx::Result<()> {
    execute!(
        db,
        sqlx::query(
            "INSERT INTO event_deliveries (event_id, subscriber, executions, delivered_at) VALUES ($1, $2, 1, $3)
             ON CONFLICT (event_id, subscriber) DO UPDATE SET executions = event_deliveries.executions + 1, delivered_at = $3"
        )
        .bind(event_id)
        .bind(subscriber)
        .bind(now)
    )?;
    Ok(())
}

pub async fn prune(db: &Db, before: Millis) -> sqlx::Result<u64> {
    execute!(db, sqlx::query("DELETE FROM event_deliveries WHERE delivered_at < $1").bind(before))
}
