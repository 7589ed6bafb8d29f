//! SQL for friend links. SQL only.

use crate::platform::clock::Millis;
use crate::platform::db::{Db, Tx};
use crate::{execute_tx, on_read, on_tx};

use super::schema::{FriendLink, LinkStatus};

const COLUMNS: &str =
    "id, site_name, site_url, description, logo_url, contact_email, status, rejection_reason, user_id, created_at, updated_at";

fn sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

pub struct NewLink<'a> {
    pub site_name: &'a str,
    pub site_url: &'a str,
    pub description: Option<&'a str>,
    pub logo_url: Option<&'a str>,
    pub contact_email: Option<&'a str>,
    pub status: LinkStatus,
    pub user_id: Option<&'a str>,
    pub now: Millis,
}

pub async fn insert(tx: &mut Tx, new: &NewLink<'_>) -> sqlx::Result<FriendLink> {
    let text = format!(
        "INSERT INTO friend_links (site_name, site_url, description, logo_url, contact_email, status, user_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {COLUMNS}"
    );
    on_tx!(tx, |conn| sqlx::query_as::<_, FriendLink>(sql(text.clone()))
        .bind(new.site_name)
        .bind(new.site_url)
        .bind(new.description)
        .bind(new.logo_url)
        .bind(new.contact_email)
        .bind(new.status.as_str())
        .bind(new.user_id)
        .bind(new.now)
        .fetch_one(conn))
}

/// Whether this user already asked for this URL (and was not refused).
pub async fn has_open_request(tx: &mut Tx, user_id: &str, site_url: &str) -> sqlx::Result<bool> {
    on_tx!(tx, |conn| sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM friend_links WHERE user_id = $1 AND site_url = $2 AND status <> 'rejected')"
    )
    .bind(user_id)
    .bind(site_url)
    .fetch_one(conn))
}

pub async fn find(tx: &mut Tx, id: i64) -> sqlx::Result<Option<FriendLink>> {
    on_tx!(tx, |conn| sqlx::query_as::<_, FriendLink>(sql(format!("SELECT {COLUMNS} FROM friend_links WHERE id = $1")))
        .bind(id)
        .fetch_optional(conn))
}

pub async fn approved(db: &Db) -> sqlx::Result<Vec<FriendLink>> {
    on_read!(db, |pool| sqlx::query_as::<_, FriendLink>(sql(format!(
        "SELECT {COLUMNS} FROM friend_links WHERE status = 'approved' ORDER BY created_at DESC, id DESC"
    )))
    .fetch_all(pool))
}

pub async fn of_user(db: &Db, user_id: &str) -> sqlx::Result<Vec<FriendLink>> {
    on_read!(db, |pool| sqlx::query_as::<_, FriendLink>(sql(format!(
        "SELECT {COLUMNS} FROM friend_links WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
    )))
    .bind(user_id)
    .fetch_all(pool))
}

pub async fn page(db: &Db, status: Option<LinkStatus>, offset: i64, limit: i64) -> sqlx::Result<(Vec<FriendLink>, i64)> {
    let status = status.map(LinkStatus::as_str);
    let items = on_read!(db, |pool| sqlx::query_as::<_, FriendLink>(sql(format!(
        "SELECT {COLUMNS} FROM friend_links WHERE ($1 IS NULL OR status = $1) ORDER BY created_at DESC, id DESC {} OFFSET $2",
        crate::platform::db::limit(limit)
    )))
    .bind(status)
    .bind(offset)
    .fetch_all(pool))?;
    let total = on_read!(db, |pool| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM friend_links WHERE ($1 IS NULL OR status = $1)")
        .bind(status)
        .fetch_one(pool))?;
    Ok((items, total))
}

pub async fn save(tx: &mut Tx, link: &FriendLink) -> sqlx::Result<FriendLink> {
    let text = format!(
        "UPDATE friend_links SET site_name = $2, site_url = $3, description = $4, logo_url = $5, contact_email = $6,
             status = $7, rejection_reason = $8, updated_at = $9 WHERE id = $1 RETURNING {COLUMNS}"
    );
    on_tx!(tx, |conn| sqlx::query_as::<_, FriendLink>(sql(text.clone()))
        .bind(link.id)
        .bind(&link.site_name)
        .bind(&link.site_url)
        .bind(&link.description)
        .bind(&link.logo_url)
        .bind(&link.contact_email)
        .bind(link.status.as_str())
        .bind(&link.rejection_reason)
        .bind(link.updated_at.0)
        .fetch_one(conn))
}

pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<bool> {
    Ok(execute_tx!(tx, sqlx::query("DELETE FROM friend_links WHERE id = $1").bind(id))? > 0)
}
