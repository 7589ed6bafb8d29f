//! SQL for unsubscriptions. SQL only.

use crate::platform::clock::Millis;
use crate::platform::db::Db;
use crate::{execute, on_read};

pub async fn unsubscribe(db: &Db, user_id: &str, kind: &str, now: Millis) -> sqlx::Result<()> {
    execute!(
        db,
        sqlx::query("INSERT INTO user_unsubscriptions (user_id, type, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(user_id)
            .bind(kind)
            .bind(now)
    )?;
    Ok(())
}

pub async fn resubscribe(db: &Db, user_id: &str, kind: &str) -> sqlx::Result<()> {
    execute!(db, sqlx::query("DELETE FROM user_unsubscriptions WHERE user_id = $1 AND type = $2").bind(user_id).bind(kind))?;
    Ok(())
}

pub async fn is_unsubscribed(db: &Db, user_id: &str, kind: &str) -> sqlx::Result<bool> {
    on_read!(db, |pool| sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM user_unsubscriptions WHERE user_id = $1 AND type = $2)"
    )
    .bind(user_id)
    .bind(kind)
    .fetch_one(pool))
}
