//! SQL for the settings row. SQL only.

use crate::platform::clock::Millis;
use crate::platform::db::{Db, Tx};
use crate::{execute_tx, on_read};

/// The stored settings JSON and its version, if ever saved.
pub async fn load(db: &Db) -> sqlx::Result<Option<(String, i64)>> {
    on_read!(db, |pool| sqlx::query_as::<_, (String, i64)>("SELECT config_json, version FROM system_config WHERE id = 1")
        .fetch_optional(pool))
}

/// Locks the row for a save (PostgreSQL; SQLite's writer is one).
pub async fn load_for_update(tx: &mut Tx) -> sqlx::Result<Option<(String, i64)>> {
    match tx {
        Tx::Sqlite(tx) => {
            sqlx::query_as::<_, (String, i64)>("SELECT config_json, version FROM system_config WHERE id = 1")
                .fetch_optional(&mut **tx)
                .await
        }
        Tx::Postgres(tx) => {
            sqlx::query_as::<_, (String, i64)>("SELECT config_json, version FROM system_config WHERE id = 1 FOR UPDATE")
                .fetch_optional(&mut **tx)
                .await
        }
    }
}

/// Saves the settings as `version`.
pub async fn save(tx: &mut Tx, json: &str, version: i64, now: Millis) -> sqlx::Result<()> {
    execute_tx!(
        tx,
        sqlx::query(
            "INSERT INTO system_config (id, config_json, version, updated_at) VALUES (1, $1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET config_json = excluded.config_json, version = excluded.version, updated_at = excluded.updated_at"
        )
        .bind(json)
        .bind(version)
        .bind(now)
    )?;
    Ok(())
}
