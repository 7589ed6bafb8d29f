//! SQL for sessions, API tokens and server secrets. SQL only: no rules here.

use sqlx::FromRow;

use crate::platform::clock::{Millis, Timestamp};
use crate::platform::db::Db;
use crate::{execute, on_read, on_write};

use super::session::{Role, User};

pub struct NewSessionRow<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub expires_at: Millis,
    pub now: Millis,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

pub async fn insert_session(db: &Db, row: &NewSessionRow<'_>) -> sqlx::Result<()> {
    execute!(
        db,
        sqlx::query(
            "INSERT INTO sessions (id, user_id, expires_at, last_seen_at, ip, user_agent, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $4)"
        )
        .bind(row.id)
        .bind(row.user_id)
        .bind(row.expires_at)
        .bind(row.now)
        .bind(row.ip)
        .bind(row.user_agent)
    )?;
    Ok(())
}

#[derive(FromRow)]
pub struct LiveSessionRow {
    pub session_expires_at: Millis,
    pub session_last_seen_at: Millis,
    pub session_created_at: Millis,
    #[sqlx(flatten)]
    pub user: User,
}

const LIVE_SESSION: &str = "SELECT s.expires_at AS session_expires_at, s.last_seen_at AS session_last_seen_at,
            s.created_at AS session_created_at,
            u.id, u.email, u.name, u.image, u.role, u.email_verified, u.banned, u.created_at, u.updated_at
     FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.id = $1 AND s.expires_at > $2 AND u.banned = FALSE";

/// A session that has not expired, of a user who is not banned.
pub async fn find_live_session(db: &Db, id: &str, now: Millis) -> sqlx::Result<Option<LiveSessionRow>> {
    match db {
        // Read on every signed-in request: run on the calling thread (see `db/inline.rs`).
        Db::Sqlite(sqlite) => sqlite.inline.optional(LIVE_SESSION, &[&id, &now], live_session_row),
        Db::Postgres(pg) => sqlx::query_as::<_, LiveSessionRow>(LIVE_SESSION).bind(id).bind(now).fetch_optional(pg).await,
    }
}

/// A row of [`LIVE_SESSION`] read by SQLite's point readers; the same
/// columns sqlx's `FromRow` maps on PostgreSQL.
fn live_session_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<LiveSessionRow> {
    let role: String = row.get("role")?;
    let role = Role::try_from(role).map_err(|e| {
        let index = row.as_ref().column_index("role").unwrap_or_default();
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e.into())
    })?;
    Ok(LiveSessionRow {
        session_expires_at: row.get("session_expires_at")?,
        session_last_seen_at: row.get("session_last_seen_at")?,
        session_created_at: row.get("session_created_at")?,
        user: User {
            id: row.get("id")?,
            email: row.get("email")?,
            name: row.get("name")?,
            image: row.get("image")?,
            role,
            email_verified: row.get("email_verified")?,
            banned: row.get("banned")?,
            created_at: Timestamp(row.get("created_at")?),
            updated_at: Timestamp(row.get("updated_at")?),
        },
    })
}

pub async fn touch_session(db: &Db, id: &str, now: Millis, expires_at: Millis) -> sqlx::Result<()> {
    execute!(db, sqlx::query("UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id = $1").bind(id).bind(now).bind(expires_at))?;
    Ok(())
}

#[derive(Debug, FromRow)]
pub struct SessionRow {
    pub id: String,
    pub expires_at: Millis,
    pub last_seen_at: Millis,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: Millis,
}

pub async fn list_live_sessions(db: &Db, user_id: &str, now: Millis) -> sqlx::Result<Vec<SessionRow>> {
    on_read!(db, |pool| sqlx::query_as::<_, SessionRow>(
        "SELECT id, expires_at, last_seen_at, ip, user_agent, created_at FROM sessions
         WHERE user_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC, id"
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(pool))
}

/// Deletes one session of a user; returns whether it existed.
pub async fn delete_user_session(db: &Db, user_id: &str, id: &str) -> sqlx::Result<bool> {
    let done = execute!(db, sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id = $2").bind(user_id).bind(id))?;
    Ok(done > 0)
}

/// Deletes every session of a user except `keep` (pass `""` to keep none).
pub async fn delete_other_sessions(db: &Db, user_id: &str, keep: &str) -> sqlx::Result<u64> {
    let done = execute!(db, sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2").bind(user_id).bind(keep))?;
    Ok(done)
}

pub async fn delete_expired_sessions(db: &Db, now: Millis) -> sqlx::Result<u64> {
    let done = execute!(db, sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now))?;
    Ok(done)
}

pub struct NewApiTokenRow<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub token_hint: &'a str,
    pub scopes: &'a str,
    pub expires_at: Option<Millis>,
    pub now: Millis,
}

pub async fn insert_api_token(db: &Db, row: &NewApiTokenRow<'_>) -> sqlx::Result<()> {
    execute!(
        db,
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, token_hint, scopes, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )
        .bind(row.id)
        .bind(row.user_id)
        .bind(row.name)
        .bind(row.token_hash)
        .bind(row.token_hint)
        .bind(row.scopes)
        .bind(row.expires_at)
        .bind(row.now)
    )?;
    Ok(())
}

#[derive(FromRow)]
pub struct LiveApiTokenRow {
    pub token_id: String,
    pub token_name: String,
    pub token_scopes: String,
    pub token_expires_at: Option<Millis>,
    pub token_last_used_at: Option<Millis>,
    #[sqlx(flatten)]
    pub user: User,
}

pub async fn find_live_api_token(db: &Db, token_hash: &str, now: Millis) -> sqlx::Result<Option<LiveApiTokenRow>> {
    on_read!(db, |pool| sqlx::query_as::<_, LiveApiTokenRow>(
        "SELECT t.id AS token_id, t.name AS token_name, t.scopes AS token_scopes,
                t.expires_at AS token_expires_at, t.last_used_at AS token_last_used_at,
                u.id, u.email, u.name, u.image, u.role, u.email_verified, u.banned, u.created_at, u.updated_at
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND (t.expires_at IS NULL OR t.expires_at > $2) AND u.banned = FALSE"
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(pool))
}

pub async fn touch_api_token(db: &Db, id: &str, now: Millis) -> sqlx::Result<()> {
    execute!(db, sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1").bind(id).bind(now))?;
    Ok(())
}

#[derive(Debug, FromRow)]
pub struct ApiTokenRow {
    pub id: String,
    pub name: String,
    pub token_hint: String,
    pub scopes: String,
    pub expires_at: Option<Millis>,
    pub last_used_at: Option<Millis>,
    pub created_at: Millis,
}

pub async fn list_api_tokens(db: &Db, user_id: &str) -> sqlx::Result<Vec<ApiTokenRow>> {
    on_read!(db, |pool| sqlx::query_as::<_, ApiTokenRow>(
        "SELECT id, name, token_hint, scopes, expires_at, last_used_at, created_at FROM api_tokens
         WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
    )
    .bind(user_id)
    .fetch_all(pool))
}

pub async fn delete_api_token(db: &Db, user_id: &str, id: &str) -> sqlx::Result<bool> {
    let done = execute!(db, sqlx::query("DELETE FROM api_tokens WHERE user_id = $1 AND id = $2").bind(user_id).bind(id))?;
    Ok(done > 0)
}

/// Read on the writer: at start-up it must see the row another process may
/// have inserted an instant ago.
pub async fn find_secret(db: &Db, name: &str) -> sqlx::Result<Option<String>> {
    on_write!(db, |pool| sqlx::query_scalar::<_, String>("SELECT value FROM server_secrets WHERE name = $1")
        .bind(name)
        .fetch_optional(pool))
}

pub async fn insert_secret_if_absent(db: &Db, name: &str, value: &str, now: Millis) -> sqlx::Result<()> {
    execute!(
        db,
        sqlx::query("INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(value)
            .bind(now)
    )?;
    Ok(())
}
