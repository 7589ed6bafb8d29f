//! Account rules: who becomes admin, how credentials are checked, what a
//! token may be granted, and that the site always keeps one admin.

use std::time::Duration;

use axum::http::StatusCode;

use crate::platform::auth::session::{self, ClientInfo, NewSession};
use crate::platform::auth::{Credential, Role, Scope, Session, User, data as auth_data, token};
use crate::platform::clock::Timestamp;
use crate::platform::db::is_unique_violation;
use crate::platform::http::error::FieldErrors;
use crate::platform::http::{AdminCtx, AppError, AuthCtx, DbCtx};
use crate::platform::rate_limit::{Limit, Verdict};

use super::data::{self, NewUser, UserFilter};
use super::schema::{
    ApiTokenView, ChangePasswordInput, CreateApiTokenInput, CreatedApiToken, CurrentSession, ListUsersInput, SessionInfo, SessionListItem,
    SetUserRoleInput, SignInInput, SignUpInput, UpdateUserInput, UserPage,
};

/// API tokens start with this, so they are recognisable in logs and by secret scanners.
pub const API_TOKEN_PREFIX: &str = "flint_";

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("this account is banned")]
    Banned,
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    #[error("no such session")]
    SessionNotFound,
    #[error("no such API token")]
    TokenNotFound,
    #[error("no such user")]
    UserNotFound,
    #[error("you may not grant the {0} scope")]
    ScopeNotGrantable(Scope),
    #[error("the last admin cannot be demoted")]
    LastAdmin,
    #[error("too many sign-up attempts for this email address")]
    TooManyAttempts { retry_after_ms: Option<u64> },
    #[error("too many sign-in attempts for this account; wait a little and try again")]
    TooManySignIns { retry_after_ms: Option<u64> },
    #[error("the rate limiter is unavailable")]
    LimiterUnavailable,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AccountError {
    fn from(error: sqlx::Error) -> Self {
        AccountError::Internal(anyhow::Error::new(error).context("accounts database error"))
    }
}

impl From<AccountError> for AppError {
    fn from(error: AccountError) -> Self {
        let message = error.to_string();
        match error {
            AccountError::EmailTaken => AppError::conflict("USER_ALREADY_EXISTS", message),
            AccountError::InvalidCredentials => AppError::new(StatusCode::UNAUTHORIZED, "INVALID_EMAIL_OR_PASSWORD", message),
            AccountError::Banned => AppError::new(StatusCode::FORBIDDEN, "USER_BANNED", message),
            AccountError::WrongCurrentPassword => AppError::validation_with_code(
                "INVALID_PASSWORD",
                message.clone(),
                FieldErrors::from([("currentPassword".to_owned(), vec![message])]),
            ),
            AccountError::SessionNotFound => AppError::not_found("SESSION_NOT_FOUND", message),
            AccountError::TokenNotFound => AppError::not_found("API_TOKEN_NOT_FOUND", message),
            AccountError::UserNotFound => AppError::not_found("USER_NOT_FOUND", message),
            AccountError::ScopeNotGrantable(_) => AppError::permission_denied(message),
            AccountError::LastAdmin => AppError::conflict("LAST_ADMIN", message),
            AccountError::TooManyAttempts { retry_after_ms } | AccountError::TooManySignIns { retry_after_ms } => {
                let mut error = AppError::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", message);
                if let AppError::Client(client) = &mut error {
                    client.retry_after_ms = retry_after_ms;
                }
                error
            }
            AccountError::LimiterUnavailable => AppError::new(StatusCode::SERVICE_UNAVAILABLE, "RATE_LIMITER_UNAVAILABLE", message),
            AccountError::Internal(error) => AppError::Internal(error),
        }
    }
}

type Result<T, E = AccountError> = std::result::Result<T, E>;

/// Creates an account. The configured `ADMIN_EMAIL` becomes admin; so does
/// anyone when `role` says so (the CLI).
pub async fn create_user(ctx: &DbCtx, input: &SignUpInput, role: Option<Role>) -> Result<User> {
    let email = input.email.trim().to_lowercase();
    let is_admin_email = ctx.config.admin_email.as_deref() == Some(email.as_str());
    let role = role.unwrap_or(if is_admin_email { Role::Admin } else { Role::User });
    let password_hash = ctx.passwords.hash(&input.password).await?;
    let id = uuid::Uuid::now_v7().to_string();
    let new_user =
        NewUser { id: &id, email: &email, name: input.name.trim(), role, password_hash: &password_hash, now: ctx.clock.now_ms() };
    match data::insert_user(&ctx.db, &new_user).await {
        Ok(user) => Ok(user),
        Err(error) if is_unique_violation(&error) => Err(AccountError::EmailTaken),
        Err(error) => Err(error.into()),
    }
}

/// Why [`limit_per_email`] refused.
enum Refusal {
    /// The bucket is empty; the client may try again after this long.
    Spent(Option<u64>),
    /// The limiter's store is down and it fails closed.
    LimiterDown,
}

impl Refusal {
    fn into_error(self, spent: impl FnOnce(Option<u64>) -> AccountError) -> AccountError {
        match self {
            Refusal::Spent(retry_after_ms) => spent(retry_after_ms),
            Refusal::LimiterDown => AccountError::LimiterUnavailable,
        }
    }
}

/// Takes a token of `email`'s bucket for `purpose`, whatever client asks.
async fn limit_per_email(ctx: &DbCtx, purpose: &str, email: &str, limit: Limit) -> std::result::Result<(), Refusal> {
    let email = email.trim().to_lowercase();
    match ctx.limiter.check(&format!("{purpose}:{email}"), limit).await {
        Verdict::Decided(decision) if !decision.allowed => Err(Refusal::Spent(decision.retry_after_ms)),
        Verdict::Unavailable => Err(Refusal::LimiterDown),
        Verdict::Decided(_) | Verdict::Unchecked => Ok(()),
    }
}

/// Sign-ups per email address (spec §3), whatever client they come from.
const SIGN_UPS_PER_EMAIL: Limit = Limit::new(3, Duration::from_secs(3600));

/// Sign-up: a new account and a browser session for it.
pub async fn sign_up(ctx: &DbCtx, input: &SignUpInput, client: &ClientInfo) -> Result<(User, NewSession)> {
    limit_per_email(ctx, "email-signup", &input.email, SIGN_UPS_PER_EMAIL)
        .await
        .map_err(|refusal| refusal.into_error(|retry_after_ms| AccountError::TooManyAttempts { retry_after_ms }))?;
    let user = create_user(ctx, input, None).await?;
    let session = session::open(&ctx.db, &ctx.clock, &user.id, client).await?;
    tracing::info!(user_id = %user.id, role = user.role.as_str(), "account created");
    Ok((user, session))
}

/// Sign-in attempts per account, whatever clients they come from: the
/// per-client limits alone let 10 addresses make 50 guesses a minute at
/// one password. A refilling bucket slows guessing to one per 90 s once
/// spent, and never locks the account until someone unlocks it.
const SIGN_INS_PER_ACCOUNT: Limit = Limit::new(10, Duration::from_secs(15 * 60));

/// Sign-in: an unknown email does the same password work as a wrong
/// password, and both answer the same error.
pub async fn sign_in(ctx: &DbCtx, input: &SignInInput, client: &ClientInfo) -> Result<(User, NewSession)> {
    limit_per_email(ctx, "email-signin", &input.email, SIGN_INS_PER_ACCOUNT)
        .await
        .map_err(|refusal| refusal.into_error(|retry_after_ms| AccountError::TooManySignIns { retry_after_ms }))?;
    let found = data::find_by_email(&ctx.db, input.email.trim()).await?;
    let stored_hash = found.as_ref().and_then(|f| f.password_hash.clone());
    let password_ok = ctx.passwords.verify(&input.password, stored_hash.as_deref()).await?;
    let user = match found {
        Some(found) if password_ok => found.user,
        _ => return Err(AccountError::InvalidCredentials),
    };
    if user.banned {
        return Err(AccountError::Banned);
    }
    // An account moved from the original keeps its scrypt hash until its
    // owner signs in; then it becomes Argon2id.
    if stored_hash.as_deref().is_some_and(crate::platform::auth::password::is_legacy) {
        let upgraded = ctx.passwords.hash(&input.password).await?;
        data::update_password(&ctx.db, &user.id, &upgraded, ctx.clock.now_ms()).await?;
    }
    let session = session::open(&ctx.db, &ctx.clock, &user.id, client).await?;
    Ok((user, session))
}

/// Ends the caller's browser session (nothing to do for anonymous callers).
pub async fn sign_out(ctx: &DbCtx, session: Option<&Session>) -> Result<()> {
    if let Some(session) = session
        && let Some(id) = session.cookie_session_id()
    {
        auth_data::delete_user_session(&ctx.db, &session.user.id, id).await?;
    }
    Ok(())
}

/// What sign-up and sign-in answer: the user and the session just opened.
pub fn signed_in_session(user: User, new_session: &NewSession) -> CurrentSession {
    CurrentSession { user, session: cookie_session_info(&new_session.id, new_session.expires_at) }
}

fn cookie_session_info(id: &str, expires_at: Timestamp) -> SessionInfo {
    SessionInfo { id: id.to_owned(), kind: "cookie", expires_at: Some(expires_at), scopes: None }
}

pub fn current_session(session: &Session) -> CurrentSession {
    let info = match &session.credential {
        Credential::Cookie { id, expires_at, .. } => cookie_session_info(id, *expires_at),
        Credential::Token { id, scopes, expires_at, .. } => {
            SessionInfo { id: id.clone(), kind: "token", expires_at: *expires_at, scopes: Some(scopes.clone()) }
        }
    };
    CurrentSession { user: session.user.clone(), session: info }
}

/// Whether the caller can sign in with a password (spec §7.2 `userHasPassword`).
pub async fn has_password(ctx: &AuthCtx) -> Result<bool> {
    Ok(data::find_password_hash(&ctx.app.db, &ctx.session.user.id).await?.is_some_and(|hash| !hash.is_empty()))
}

pub async fn change_password(ctx: &AuthCtx, input: &ChangePasswordInput) -> Result<()> {
    let user_id = &ctx.session.user.id;
    let stored = data::find_password_hash(&ctx.app.db, user_id).await?;
    if !ctx.app.passwords.verify(&input.current_password, stored.as_deref()).await? {
        return Err(AccountError::WrongCurrentPassword);
    }
    let hash = ctx.app.passwords.hash(&input.new_password).await?;
    data::update_password(&ctx.app.db, user_id, &hash, ctx.app.clock.now_ms()).await?;
    if input.revoke_other_sessions {
        let keep = ctx.session.cookie_session_id().unwrap_or_default();
        let revoked = auth_data::delete_other_sessions(&ctx.app.db, user_id, keep).await?;
        tracing::info!(user_id = %user_id, revoked, "password changed; other sessions revoked");
    }
    Ok(())
}

pub async fn update_user(ctx: &AuthCtx, input: &UpdateUserInput) -> Result<User> {
    let name = input.name.as_deref().map(str::trim);
    data::update_profile(&ctx.app.db, &ctx.session.user.id, name, input.image.as_deref(), ctx.app.clock.now_ms())
        .await?
        .ok_or(AccountError::UserNotFound)
}

pub async fn list_sessions(ctx: &AuthCtx) -> Result<Vec<SessionListItem>> {
    let current = ctx.session.cookie_session_id();
    let rows = auth_data::list_live_sessions(&ctx.app.db, &ctx.session.user.id, ctx.app.clock.now_ms()).await?;
    Ok(rows
        .into_iter()
        .map(|row| SessionListItem {
            current: current == Some(row.id.as_str()),
            id: row.id,
            created_at: Timestamp(row.created_at),
            last_seen_at: Timestamp(row.last_seen_at),
            expires_at: Timestamp(row.expires_at),
            ip: row.ip,
            user_agent: row.user_agent,
        })
        .collect())
}

pub async fn revoke_session(ctx: &AuthCtx, id: &str) -> Result<()> {
    if auth_data::delete_user_session(&ctx.app.db, &ctx.session.user.id, id).await? { Ok(()) } else { Err(AccountError::SessionNotFound) }
}

/// Issues an API token. A user may only hand out scopes their role allows.
pub async fn create_api_token(ctx: &AuthCtx, input: &CreateApiTokenInput) -> Result<CreatedApiToken> {
    let role = ctx.session.user.role;
    if let Some(scope) = input.scopes.iter().find(|s| !s.grantable_by(role)) {
        return Err(AccountError::ScopeNotGrantable(*scope));
    }
    let mut scopes = input.scopes.clone();
    scopes.sort();
    scopes.dedup();

    let secret = format!("{API_TOKEN_PREFIX}{}", token::random_token());
    let hint = secret[secret.len() - 4..].to_owned();
    let id = uuid::Uuid::now_v7().to_string();
    let now = ctx.app.clock.now_ms();
    let expires_at = input.expires_in_days.map(|days| now + i64::from(days) * 86_400_000);
    auth_data::insert_api_token(
        &ctx.app.db,
        &auth_data::NewApiTokenRow {
            id: &id,
            user_id: &ctx.session.user.id,
            name: input.name.trim(),
            token_hash: &token::hash_token(&secret),
            token_hint: &hint,
            scopes: &Scope::join(&scopes),
            expires_at,
            now,
        },
    )
    .await?;
    Ok(CreatedApiToken {
        token: secret,
        api_token: ApiTokenView {
            id,
            name: input.name.trim().to_owned(),
            hint,
            scopes,
            expires_at: expires_at.map(Timestamp),
            last_used_at: None,
            created_at: Timestamp(now),
        },
    })
}

pub async fn list_api_tokens(ctx: &AuthCtx) -> Result<Vec<ApiTokenView>> {
    let rows = auth_data::list_api_tokens(&ctx.app.db, &ctx.session.user.id).await?;
    Ok(rows
        .into_iter()
        .map(|row| ApiTokenView {
            id: row.id,
            name: row.name,
            hint: row.token_hint,
            scopes: Scope::split(&row.scopes),
            expires_at: row.expires_at.map(Timestamp),
            last_used_at: row.last_used_at.map(Timestamp),
            created_at: Timestamp(row.created_at),
        })
        .collect())
}

pub async fn revoke_api_token(ctx: &AuthCtx, id: &str) -> Result<()> {
    if auth_data::delete_api_token(&ctx.app.db, &ctx.session.user.id, id).await? { Ok(()) } else { Err(AccountError::TokenNotFound) }
}

pub async fn list_users(ctx: &AdminCtx, input: &ListUsersInput) -> Result<UserPage> {
    let pattern = input.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(crate::platform::db::like_substring);
    let filter = UserFilter { pattern: pattern.as_deref(), role: input.role };
    let limit = i64::from(input.limit.unwrap_or(20));
    let offset = i64::from(input.offset.unwrap_or(0));
    let db = &ctx.app.db;
    let (items, total) = tokio::try_join!(data::list_users(db, &filter, limit, offset), data::count_users(db, &filter))?;
    Ok(UserPage { items, total })
}

pub async fn set_user_role(ctx: &AdminCtx, input: &SetUserRoleInput) -> Result<User> {
    change_role(&ctx.app, &input.user_id, input.role).await
}

/// Sets a role by email (the CLI; whoever runs it already owns the database).
pub async fn set_role_by_email(ctx: &DbCtx, email: &str, role: Role) -> Result<User> {
    let user = data::find_by_email(&ctx.db, email.trim()).await?.ok_or(AccountError::UserNotFound)?.user;
    change_role(ctx, &user.id, role).await
}

async fn change_role(ctx: &DbCtx, user_id: &str, role: Role) -> Result<User> {
    if let Some(user) = data::set_role(&ctx.db, user_id, role, ctx.clock.now_ms()).await? {
        tracing::info!(user_id = %user.id, role = role.as_str(), "role changed");
        return Ok(user);
    }
    match data::find_by_id(&ctx.db, user_id).await? {
        Some(_) => Err(AccountError::LastAdmin),
        None => Err(AccountError::UserNotFound),
    }
}
