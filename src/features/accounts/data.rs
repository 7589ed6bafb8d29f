//! SQL for the `users` table. SQL only: no rules here.

use sqlx::FromRow;

use crate::platform::auth::{Role, User};
use crate::platform::clock::Millis;
use crate::platform::db::{Db, Tx};
use crate::{execute, execute_tx, on_read, on_tx, on_write};

const USER_COLUMNS: &str = "id, email, name, image, role, email_verified, banned, created_at, updated_at";

fn sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    /// `None` for an account that signs in only through GitHub or OIDC.
    pub password_hash: Option<&'a str>,
    pub email_verified: bool,
    pub image: Option<&'a str>,
    pub now: Millis,
}

pub async fn insert_user(tx: &mut Tx, user: &NewUser<'_>) -> sqlx::Result<User> {
    let text = format!(
        "INSERT INTO users (id, email, name, role, password_hash, email_verified, image, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {USER_COLUMNS}"
    );
    on_tx!(tx, |conn| sqlx::query_as::<_, User>(sql(text.clone()))
        .bind(user.id)
        .bind(user.email)
        .bind(user.name)
        .bind(user.role.as_str())
        .bind(user.password_hash)
        .bind(user.email_verified)
        .bind(user.image)
        .bind(user.now)
        .fetch_one(conn))
}

/// Whether any account is an admin.
pub async fn admin_exists(tx: &mut Tx) -> sqlx::Result<bool> {
    on_tx!(tx, |conn| sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin')").fetch_one(conn))
}

/// The account with this address (any case), read in `tx`.
pub async fn find_by_email_in(tx: &mut Tx, email: &str) -> sqlx::Result<Option<User>> {
    let text = format!("SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower($1)");
    on_tx!(tx, |conn| sqlx::query_as::<_, User>(sql(text.clone())).bind(email).fetch_optional(conn))
}

/// Marks `email` verified for the account, if it is still the account's
/// address (a link for an old address proves nothing about the new one).
pub async fn mark_verified(tx: &mut Tx, user_id: &str, email: &str, now: Millis) -> sqlx::Result<Option<User>> {
    let text = format!(
        "UPDATE users SET email_verified = TRUE, updated_at = $3 WHERE id = $1 AND lower(email) = lower($2) RETURNING {USER_COLUMNS}"
    );
    on_tx!(tx, |conn| sqlx::query_as::<_, User>(sql(text.clone())).bind(user_id).bind(email).bind(now).fetch_optional(conn))
}

pub async fn set_role_in(tx: &mut Tx, user_id: &str, role: Role, now: Millis) -> sqlx::Result<Option<User>> {
    let text = format!("UPDATE users SET role = $2, updated_at = $3 WHERE id = $1 RETURNING {USER_COLUMNS}");
    on_tx!(tx, |conn| sqlx::query_as::<_, User>(sql(text.clone())).bind(user_id).bind(role.as_str()).bind(now).fetch_optional(conn))
}

pub async fn update_password_in(tx: &mut Tx, user_id: &str, password_hash: &str, now: Millis) -> sqlx::Result<()> {
    execute_tx!(
        tx,
        sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1").bind(user_id).bind(password_hash).bind(now)
    )?;
    Ok(())
}

/// Removes an account's password (it then signs in only through a provider, or after a reset).
pub async fn clear_password_in(tx: &mut Tx, user_id: &str, now: Millis) -> sqlx::Result<()> {
    execute_tx!(tx, sqlx::query("UPDATE users SET password_hash = NULL, updated_at = $2 WHERE id = $1").bind(user_id).bind(now))?;
    Ok(())
}

pub async fn delete_sessions_in(tx: &mut Tx, user_id: &str) -> sqlx::Result<u64> {
    execute_tx!(tx, sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id))
}

/// Deletes an account; its sessions, tokens and links go with it, and its
/// comments stay without an author (`ON DELETE SET NULL`).
pub async fn delete_user(db: &Db, user_id: &str) -> sqlx::Result<bool> {
    Ok(execute!(db, sqlx::query("DELETE FROM users WHERE id = $1").bind(user_id))? > 0)
}

// ---- single-use links ----------------------------------------------------

/// What a link is for; the `purpose` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Setup,
    VerifyEmail,
    ResetPassword,
    Invite,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Setup => "setup",
            Purpose::VerifyEmail => "verify-email",
            Purpose::ResetPassword => "reset-password",
            Purpose::Invite => "invite",
        }
    }
}

pub struct NewAccountToken<'a> {
    pub id: &'a str,
    pub token_hash: &'a str,
    pub purpose: Purpose,
    pub user_id: Option<&'a str>,
    pub email: Option<&'a str>,
    pub created_by: Option<&'a str>,
    pub expires_at: Millis,
    pub now: Millis,
}

pub async fn insert_token(tx: &mut Tx, token: &NewAccountToken<'_>) -> sqlx::Result<()> {
    execute_tx!(
        tx,
        sqlx::query(
            "INSERT INTO account_tokens (id, token_hash, purpose, user_id, email, created_by, expires_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )
        .bind(token.id)
        .bind(token.token_hash)
        .bind(token.purpose.as_str())
        .bind(token.user_id)
        .bind(token.email)
        .bind(token.created_by)
        .bind(token.expires_at)
        .bind(token.now)
    )?;
    Ok(())
}

/// Locks the account's row until `tx` ends, so two links made for it at
/// once are made one after the other (and the second replaces the first).
pub async fn lock_user(tx: &mut Tx, user_id: &str) -> sqlx::Result<()> {
    execute_tx!(tx, sqlx::query("UPDATE users SET updated_at = updated_at WHERE id = $1").bind(user_id))?;
    Ok(())
}

/// Deletes the links of a purpose (of one account, or all of them when
/// `user_id` is `None`): a new link replaces the old ones.
pub async fn delete_tokens(tx: &mut Tx, purpose: Purpose, user_id: Option<&str>) -> sqlx::Result<u64> {
    execute_tx!(
        tx,
        sqlx::query("DELETE FROM account_tokens WHERE purpose = $1 AND ($2 IS NULL OR user_id = $2)").bind(purpose.as_str()).bind(user_id)
    )
}

#[derive(Debug, FromRow)]
pub struct TakenToken {
    pub user_id: Option<String>,
    pub email: Option<String>,
}

/// Uses a link: deletes it and answers what it was for, in one statement,
/// so two requests with the same link cannot both succeed. `None` for an
/// unknown, used or expired link (or one made for another purpose).
pub async fn take_token(tx: &mut Tx, token_hash: &str, purpose: Purpose, now: Millis) -> sqlx::Result<Option<TakenToken>> {
    on_tx!(tx, |conn| sqlx::query_as::<_, TakenToken>(
        "DELETE FROM account_tokens WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3 RETURNING user_id, email"
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(conn))
}

#[derive(Debug, FromRow)]
pub struct InviteRow {
    pub id: String,
    pub created_by: Option<String>,
    pub expires_at: Millis,
    pub created_at: Millis,
}

pub async fn list_invites(db: &Db, now: Millis) -> sqlx::Result<Vec<InviteRow>> {
    on_read!(db, |pool| sqlx::query_as::<_, InviteRow>(
        "SELECT id, created_by, expires_at, created_at FROM account_tokens
         WHERE purpose = 'invite' AND expires_at > $1 ORDER BY created_at DESC, id DESC LIMIT 500"
    )
    .bind(now)
    .fetch_all(pool))
}

pub async fn count_invites(db: &Db, now: Millis) -> sqlx::Result<i64> {
    on_read!(db, |pool| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM account_tokens WHERE purpose = 'invite' AND expires_at > $1")
        .bind(now)
        .fetch_one(pool))
}

pub async fn delete_invite(db: &Db, id: &str) -> sqlx::Result<bool> {
    Ok(execute!(db, sqlx::query("DELETE FROM account_tokens WHERE purpose = 'invite' AND id = $1").bind(id))? > 0)
}

/// Removes links and login attempts past their time.
pub async fn delete_expired_links(db: &Db, now: Millis) -> sqlx::Result<u64> {
    let tokens = execute!(db, sqlx::query("DELETE FROM account_tokens WHERE expires_at <= $1").bind(now))?;
    let logins = execute!(db, sqlx::query("DELETE FROM external_logins WHERE expires_at <= $1").bind(now))?;
    Ok(tokens + logins)
}

// ---- external accounts (GitHub, OpenID Connect) --------------------------

pub async fn find_external(db: &Db, provider: &str, subject: &str) -> sqlx::Result<Option<User>> {
    on_read!(db, |pool| sqlx::query_as::<_, User>(
        "SELECT u.id, u.email, u.name, u.image, u.role, u.email_verified, u.banned, u.created_at, u.updated_at
         FROM external_accounts e JOIN users u ON u.id = e.user_id WHERE e.provider = $1 AND e.subject = $2"
    )
    .bind(provider)
    .bind(subject)
    .fetch_optional(pool))
}

pub async fn insert_external(
    tx: &mut Tx,
    provider: &str,
    subject: &str,
    user_id: &str,
    email: Option<&str>,
    now: Millis,
) -> sqlx::Result<()> {
    execute_tx!(
        tx,
        sqlx::query("INSERT INTO external_accounts (provider, subject, user_id, email, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(provider)
            .bind(subject)
            .bind(user_id)
            .bind(email)
            .bind(now)
    )?;
    Ok(())
}

#[derive(Debug, FromRow)]
pub struct ExternalAccountRow {
    pub provider: String,
    pub email: Option<String>,
    pub created_at: Millis,
}

pub async fn list_external(db: &Db, user_id: &str) -> sqlx::Result<Vec<ExternalAccountRow>> {
    on_read!(db, |pool| sqlx::query_as::<_, ExternalAccountRow>(
        "SELECT provider, email, created_at FROM external_accounts WHERE user_id = $1 ORDER BY created_at"
    )
    .bind(user_id)
    .fetch_all(pool))
}

pub struct NewExternalLogin<'a> {
    pub state_hash: &'a str,
    pub provider: &'a str,
    pub code_verifier: &'a str,
    pub nonce: &'a str,
    pub redirect_to: &'a str,
    pub expires_at: Millis,
    pub now: Millis,
}

pub async fn insert_external_login(db: &Db, login: &NewExternalLogin<'_>) -> sqlx::Result<()> {
    execute!(
        db,
        sqlx::query(
            "INSERT INTO external_logins (state_hash, provider, code_verifier, nonce, redirect_to, expires_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(login.state_hash)
        .bind(login.provider)
        .bind(login.code_verifier)
        .bind(login.nonce)
        .bind(login.redirect_to)
        .bind(login.expires_at)
        .bind(login.now)
    )?;
    Ok(())
}

#[derive(Debug, FromRow)]
pub struct ExternalLoginRow {
    pub code_verifier: String,
    pub nonce: String,
    pub redirect_to: String,
}

/// Uses a login attempt's `state` (once; only for the provider it was made for).
pub async fn take_external_login(db: &Db, state_hash: &str, provider: &str, now: Millis) -> sqlx::Result<Option<ExternalLoginRow>> {
    on_write!(db, |pool| sqlx::query_as::<_, ExternalLoginRow>(
        "DELETE FROM external_logins WHERE state_hash = $1 AND provider = $2 AND expires_at > $3
         RETURNING code_verifier, nonce, redirect_to"
    )
    .bind(state_hash)
    .bind(provider)
    .bind(now)
    .fetch_optional(pool))
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
