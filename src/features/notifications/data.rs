//! SQL for the ledger of fanned-out notifications. SQL only.

use crate::platform::clock::Millis;
use crate::platform::db::{Db, Tx};
use crate::{execute, execute_tx};

/// Records a notification; `false` when it was recorded before.
pub async fn record(tx: &mut Tx, id: &str, kind: &str, now: Millis) -> sqlx::Result<bool> {
    let inserted = execute_tx!(
        tx,
        sqlx::query("INSERT INTO notifications (id, type, deliveries, created_at) VALUES ($1, $2, 0, $3) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(kind)
            .bind(now)
    )?;
    Ok(inserted > 0)
}

pub async fn set_deliveries(tx: &mut Tx, id: &str, deliveries: i64) -> sqlx::Result<()> {
    execute_tx!(tx, sqlx::query("UPDATE notifications SET deliveries = $2 WHERE id = $1").bind(id).bind(deliveries))?;
    Ok(())
}

pub async fn prune(db: &Db, before: Millis) -> sqlx::Result<u64> {
    execute!(db, sqlx::query("DELETE FROM notifications WHERE created_at < $1").bind(before))
}
