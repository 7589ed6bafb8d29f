//! SQL for the `users` table. SQL only: no rules here.

use sqlx::FromRow;

use crate::platform::auth::{Role, User};
use crate::platform::clock::Millis;
use crate::platform::db::Db;
use crate::{execute, on_read, on_write};

pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
    pub now: Millis,
}

pub async fn insert_user(db: &Db, user: &NewUser<'_>) -> sqlx::Result<User> {
    on_write!(db, |pool| sqlx::query_as::<_, User>(
        "INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         RETURNING id, email, name, image, role, email_verified, banned, created_at, updated_at"
    )
    .bind(user.id)
    .bind(user.email)
    .bind(user.name)
    .bind(user.role.as_str())
    .bind(user.password_hash)
    .bind(user.now)
    .fetch_one(pool))
}

#[derive(FromRow)]
pub struct UserWithPassword {
    #[sqlx(flatten)]
    pub user: User,
    pub password_hash: Option<String>,
}

pub async fn find_by_email(db: &Db, email: &str) -> sqlx::Result<Option<UserWithPassword>> {
    on_read!(db, |pool| sqlx::query_as::<_, UserWithPassword>(
        "SELECT id, email, name, image, role, email_verified, banned, created_at, updated_at, password_hash
         FROM users WHERE lower(email) = lower($1)"
    )
    .bind(email)
    .fetch_optional(pool))
}

pub async fn find_password_hash(db: &Db, user_id: &str) -> sqlx::Result<Option<String>> {
    let row: Option<Option<String>> =
        on_read!(db, |pool| sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1").bind(user_id).fetch_optional(pool))?;
    Ok(row.flatten())
}

pub async fn update_password(db: &Db, user_id: &str, password_hash: &str, now: Millis) -> sqlx::Result<()> {
    execute!(
        db,
        sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1").bind(user_id).bind(password_hash).bind(now)
    )?;
    Ok(())
}

/// Sets the given profile fields (`None` keeps the current value; an empty
/// image is stored as NULL).
pub async fn update_profile(db: &Db, user_id: &str, name: Option<&str>, image: Option<&str>, now: Millis) -> sqlx::Result<Option<User>> {
    on_write!(db, |pool| sqlx::query_as::<_, User>(
        "UPDATE users SET
             name = COALESCE($2, name),
             image = CASE WHEN $3 IS NULL THEN image WHEN $3 = '' THEN NULL ELSE $3 END,
             updated_at = $4
         WHERE id = $1
         RETURNING id, email, name, image, role, email_verified, banned, created_at, updated_at"
    )
    .bind(user_id)
    .bind(name)
    .bind(image)
    .bind(now)
    .fetch_optional(pool))
}

/// Changes a role. A demotion only happens while another admin remains, so
/// the site can never be left without one; `None` means no row changed
/// (unknown user, or the last admin).
pub async fn set_role(db: &Db, user_id: &str, role: Role, now: Millis) -> sqlx::Result<Option<User>> {
    on_write!(db, |pool| sqlx::query_as::<_, User>(
        "UPDATE users SET role = $2, updated_at = $3
         WHERE id = $1
           AND ($2 = 'admin' OR role <> 'admin'
                OR (SELECT COUNT(*) FROM users WHERE role = 'admin' AND id <> $1) > 0)
         RETURNING id, email, name, image, role, email_verified, banned, created_at, updated_at"
    )
    .bind(user_id)
    .bind(role.as_str())
    .bind(now)
    .fetch_optional(pool))
}

pub async fn find_by_id(db: &Db, user_id: &str) -> sqlx::Result<Option<User>> {
    on_read!(db, |pool| sqlx::query_as::<_, User>(
        "SELECT id, email, name, image, role, email_verified, banned, created_at, updated_at FROM users WHERE id = $1"
    )
    .bind(user_id)
    .fetch_optional(pool))
}

pub struct UserFilter<'a> {
    /// A LIKE pattern (already escaped, lowercase), e.g. `%ann%`.
    pub pattern: Option<&'a str>,
    pub role: Option<Role>,
}

pub async fn list_users(db: &Db, filter: &UserFilter<'_>, limit: i64, offset: i64) -> sqlx::Result<Vec<User>> {
    let limit = crate::platform::db::limit(limit);
    on_read!(db, |pool| sqlx::query_as::<_, User>(sqlx::AssertSqlSafe(format!(
        "SELECT id, email, name, image, role, email_verified, banned, created_at, updated_at FROM users
         WHERE ($1 IS NULL OR lower(email) LIKE $1 ESCAPE '\\' OR lower(name) LIKE $1 ESCAPE '\\')
           AND ($2 IS NULL OR role = $2)
         ORDER BY created_at DESC, id DESC
         {limit} OFFSET $3"
    )))
    .bind(filter.pattern)
    .bind(filter.role.map(Role::as_str))
    .bind(offset)
    .fetch_all(pool))
}

pub async fn count_users(db: &Db, filter: &UserFilter<'_>) -> sqlx::Result<i64> {
    on_read!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM users
         WHERE ($1 IS NULL OR lower(email) LIKE $1 ESCAPE '\\' OR lower(name) LIKE $1 ESCAPE '\\')
           AND ($2 IS NULL OR role = $2)"
    )
    .bind(filter.pattern)
    .bind(filter.role.map(Role::as_str))
    .fetch_one(pool))
}
