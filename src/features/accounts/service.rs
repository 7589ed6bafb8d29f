//! Account rules: who becomes admin (the setup link, the CLI, or a
//! verified `ADMIN_EMAIL`), who may register (the registration policy),
//! how credentials are checked, the single-use links (verification,
//! password reset, invitations), what a token may be granted, and that the
//! site always keeps one admin.

use std::time::Duration;

use axum::http::StatusCode;

use crate::features::comments::service as comments;
use crate::features::email::service as email;
use crate::features::settings::schema::Registration;
use crate::features::settings::service as settings;
use crate::platform::auth::external::{self, ExternalError, Identity};
use crate::platform::auth::session::{self, ClientInfo, NewSession};
use crate::platform::auth::{Credential, Role, Scope, Session, User, data as auth_data, token};
use crate::platform::clock::{Millis, Timestamp};
use crate::platform::db::{Tx, is_unique_violation};
use crate::platform::http::error::FieldErrors;
use crate::platform::http::{AdminCtx, AppError, AuthCtx, DbCtx};
use crate::platform::rate_limit::{Limit, Verdict};

use super::data::{self, NewAccountToken, NewUser, Purpose, UserFilter};
use super::emails::{self, LinkEmail};
use super::schema::{
    AccountData, ApiTokenView, CallbackQuery, ChangePasswordInput, CreateApiTokenInput, CreateInviteInput, CreateUserInput,
    CreatedApiToken, CreatedInvite, CurrentSession, DeleteAccountInput, ExternalAccount, Invite, InvitePage, ListUsersInput, ProviderInfo,
    ResetPasswordInput, SessionInfo, SessionListItem, SetUserRoleInput, SetupInput, SignInInput, SignInOptions, SignUpInput, SignedUp,
    SocialSignIn, SocialSignInInput, UpdateUserInput, UserPage,
};

/// Verification, reset and setup links work this long (the original's hour).
pub const LINK_TTL: Duration = Duration::from_secs(3600);

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
    #[error("verify your email address first: open the link we emailed you, or ask for a new one")]
    EmailNotVerified,
    #[error("registration is closed: the admin creates accounts")]
    RegistrationClosed,
    #[error("registration is by invitation: this invite link is unknown, used or expired")]
    InvalidInvite,
    #[error("this link is unknown, used or expired")]
    InvalidLink,
    #[error("the password is wrong")]
    WrongPassword,
    #[error("confirm with the account's email address")]
    WrongConfirmation,
    #[error("too many emails asked for this address; wait a little and try again")]
    TooManyEmails { retry_after_ms: Option<u64> },
    #[error("email is not set up on this site, so no link can be sent")]
    EmailDisabled,
    #[error("this site does not offer sign-in with {0}")]
    UnknownProvider(String),
    #[error("this sign-in attempt is unknown, used or expired; start again")]
    InvalidState,
    #[error("the provider refused the sign-in: {0}")]
    ProviderRefused(String),
    #[error(transparent)]
    External(#[from] ExternalError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AccountError {
    fn from(error: sqlx::Error) -> Self {
        AccountError::Internal(anyhow::Error::new(error).context("accounts database error"))
    }
}

impl From<settings::SettingsError> for AccountError {
    fn from(error: settings::SettingsError) -> Self {
        AccountError::Internal(anyhow::Error::new(error).context("reading the settings"))
    }
}

impl From<email::EmailError> for AccountError {
    fn from(error: email::EmailError) -> Self {
        AccountError::Internal(anyhow::Error::new(error).context("queueing an account email"))
    }
}

impl From<comments::CommentError> for AccountError {
    fn from(error: comments::CommentError) -> Self {
        AccountError::Internal(anyhow::Error::new(error).context("reading the account's comments"))
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
            AccountError::EmailNotVerified => AppError::new(StatusCode::FORBIDDEN, "EMAIL_NOT_VERIFIED", message),
            AccountError::RegistrationClosed => AppError::new(StatusCode::FORBIDDEN, "REGISTRATION_CLOSED", message),
            AccountError::InvalidInvite => AppError::new(StatusCode::FORBIDDEN, "INVALID_INVITE", message),
            AccountError::InvalidLink => AppError::new(StatusCode::FORBIDDEN, "INVALID_TOKEN", message),
            // Well-formed but not the account's: a refusal, not bad input.
            AccountError::WrongPassword => AppError::new(StatusCode::FORBIDDEN, "INVALID_PASSWORD", message),
            AccountError::WrongConfirmation => AppError::new(StatusCode::FORBIDDEN, "INVALID_EMAIL", message),
            AccountError::TooManyEmails { retry_after_ms } => {
                let mut error = AppError::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", message);
                if let AppError::Client(client) = &mut error {
                    client.retry_after_ms = retry_after_ms;
                }
                error
            }
            AccountError::EmailDisabled => AppError::new(StatusCode::CONFLICT, "EMAIL_DISABLED", message),
            AccountError::UnknownProvider(_) => AppError::not_found("PROVIDER_NOT_FOUND", message),
            AccountError::InvalidState => AppError::new(StatusCode::FORBIDDEN, "INVALID_STATE", message),
            AccountError::ProviderRefused(_) => AppError::new(StatusCode::FORBIDDEN, "PROVIDER_REFUSED", message),
            AccountError::External(ExternalError::Invalid(_)) => AppError::new(StatusCode::FORBIDDEN, "EXTERNAL_SIGN_IN_INVALID", message),
            AccountError::External(ExternalError::Provider(_)) => {
                tracing::warn!(error = %message, "external sign-in failed at the provider");
                AppError::new(StatusCode::BAD_GATEWAY, "PROVIDER_UNAVAILABLE", message)
            }
            AccountError::Internal(error) => AppError::Internal(error),
        }
    }
}

type Result<T, E = AccountError> = std::result::Result<T, E>;

/// The registration policy and whether email is set up (then new
/// addresses are verified before their accounts sign in).
async fn registration(ctx: &DbCtx) -> Result<(Registration, bool)> {
    let config = settings::settings(ctx).await?.config;
    Ok((config.accounts.registration, config.email.is_complete()))
}

fn is_admin_email(ctx: &DbCtx, email: &str) -> bool {
    ctx.config.admin_email.as_deref().is_some_and(|admin| admin.eq_ignore_ascii_case(email.trim()))
}

/// An account about to be created; its password already hashed.
pub(super) struct NewAccount<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub password_hash: Option<&'a str>,
    pub role: Role,
    /// Whether someone vouches for the address (the operator, a provider, a link).
    pub email_verified: bool,
    pub image: Option<&'a str>,
}

/// Inserts an account in `tx`. `ADMIN_EMAIL` makes it admin only when its
/// address is verified: otherwise a stranger who guesses the address and
/// signs up first would own the blog.
pub(super) async fn insert_account(ctx: &DbCtx, tx: &mut Tx, account: &NewAccount<'_>) -> Result<User> {
    let email = account.email.trim().to_lowercase();
    let role = if account.email_verified && is_admin_email(ctx, &email) { Role::Admin } else { account.role };
    let id = uuid::Uuid::now_v7().to_string();
    let new_user = NewUser {
        id: &id,
        email: &email,
        name: account.name.trim(),
        role,
        password_hash: account.password_hash,
        email_verified: account.email_verified,
        image: account.image,
        now: ctx.clock.now_ms(),
    };
    match data::insert_user(tx, &new_user).await {
        Ok(user) => Ok(user),
        Err(error) if is_unique_violation(&error) => Err(AccountError::EmailTaken),
        Err(error) => Err(error.into()),
    }
}

/// Creates an account for whoever runs the server (`flint user create`,
/// the admin's `createUser`): the address counts as verified, since they
/// vouch for it.
pub async fn create_user(ctx: &DbCtx, input: &SignUpInput, role: Option<Role>) -> Result<User> {
    let password_hash = ctx.passwords.hash(&input.password).await?;
    let mut tx = ctx.db.begin().await?;
    let account = NewAccount {
        name: &input.name,
        email: &input.email,
        password_hash: Some(&password_hash),
        role: role.unwrap_or(Role::User),
        email_verified: true,
        image: None,
    };
    let user = insert_account(ctx, &mut tx, &account).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, role = user.role.as_str(), "account created by the operator");
    Ok(user)
}

/// The admin's `createUser` (the way in while registration is closed).
pub async fn admin_create_user(ctx: &AdminCtx, input: &CreateUserInput) -> Result<User> {
    let sign_up = SignUpInput {
        name: input.name.clone(),
        email: input.email.clone(),
        password: input.password.clone(),
        invite: None,
        callback_url: None,
    };
    create_user(&ctx.app, &sign_up, input.role).await
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

/// Sign-up, as the registration policy allows. With email set up the
/// account starts unverified and a verification link is queued in the
/// same transaction (so neither exists without the other); it signs in
/// once the link is opened. Without email, it is signed in at once.
pub async fn sign_up(ctx: &DbCtx, input: &SignUpInput, client: &ClientInfo) -> Result<(SignedUp, Option<NewSession>)> {
    limit_per_email(ctx, "email-signup", &input.email, SIGN_UPS_PER_EMAIL)
        .await
        .map_err(|refusal| refusal.into_error(|retry_after_ms| AccountError::TooManyAttempts { retry_after_ms }))?;
    let (policy, email_on) = registration(ctx).await?;
    let invite = match policy {
        Registration::Closed => return Err(AccountError::RegistrationClosed),
        Registration::Invite => Some(input.invite.as_deref().ok_or(AccountError::InvalidInvite)?),
        Registration::Open => None,
    };
    let password_hash = ctx.passwords.hash(&input.password).await?;
    let mut tx = ctx.db.begin().await?;
    if let Some(invite) = invite
        && data::take_token(&mut tx, &token::hash_token(invite), Purpose::Invite, ctx.clock.now_ms()).await?.is_none()
    {
        return Err(AccountError::InvalidInvite);
    }
    let account = NewAccount {
        name: &input.name,
        email: &input.email,
        password_hash: Some(&password_hash),
        role: Role::User,
        email_verified: false,
        image: None,
    };
    let user = insert_account(ctx, &mut tx, &account).await?;
    if email_on {
        queue_link_email(ctx, &mut tx, &user, LinkEmail::Verify, input.callback_url.as_deref()).await?;
    }
    tx.commit().await?;
    tracing::info!(user_id = %user.id, verification = email_on, "account created");
    if email_on {
        return Ok((SignedUp { user, session: None, verification_sent: true }, None));
    }
    let new_session = session::open(&ctx.db, &ctx.clock, &user.id, client).await?;
    let info = cookie_session_info(&new_session.id, new_session.expires_at);
    Ok((SignedUp { user, session: Some(info), verification_sent: false }, Some(new_session)))
}

/// Sign-in attempts per account, whatever clients they come from: the
/// per-client limits alone let 10 addresses make 50 guesses a minute at
/// one password. A refilling bucket slows guessing to one per 90 s once
/// spent, and never locks the account until someone unlocks it.
const SIGN_INS_PER_ACCOUNT: Limit = Limit::new(10, Duration::from_secs(15 * 60));

/// Sign-in: an unknown email does the same password work as a wrong
/// password, and both answer the same error. An unverified address (while
/// email is set up) is refused only after the password matched, so the
/// answer says nothing to someone without it.
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
    if !user.email_verified && registration(ctx).await?.1 {
        return Err(AccountError::EmailNotVerified);
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

/// What the sign-in and sign-up screens offer.
pub async fn sign_in_options(ctx: &DbCtx) -> Result<SignInOptions> {
    let (registration, email_verification) = registration(ctx).await?;
    let mut providers = Vec::new();
    if ctx.config.github.is_some() {
        providers.push(ProviderInfo { id: "github".into(), name: "GitHub".into() });
    }
    if let Some(oidc) = &ctx.config.oidc {
        providers.push(ProviderInfo { id: "oidc".into(), name: oidc.name.clone() });
    }
    Ok(SignInOptions {
        password: true,
        providers,
        registration,
        email_verification,
        turnstile_site_key: ctx.config.turnstile.as_ref().and_then(|t| t.site_key.clone()),
    })
}

// ---- single-use links ----------------------------------------------------

/// A link made by [`issue_token`]: its token in clear (for the link only) and its row.
struct IssuedLink {
    secret: String,
    id: String,
    expires_at: Millis,
    created_at: Millis,
}

/// A new random link token, stored hashed in `tx`.
async fn issue_token(
    ctx: &DbCtx,
    tx: &mut Tx,
    purpose: Purpose,
    user: Option<&User>,
    created_by: Option<&str>,
    ttl: Duration,
) -> Result<IssuedLink> {
    let secret = token::random_token();
    let now = ctx.clock.now_ms();
    let expires_at = now + ttl.as_millis() as Millis;
    let id = uuid::Uuid::now_v7().to_string();
    data::insert_token(
        tx,
        &NewAccountToken {
            id: &id,
            token_hash: &token::hash_token(&secret),
            purpose,
            user_id: user.map(|u| u.id.as_str()),
            email: user.map(|u| u.email.as_str()),
            created_by,
            expires_at,
            now,
        },
    )
    .await?;
    Ok(IssuedLink { secret, id, expires_at, created_at: now })
}

/// An absolute link to `path` on this site.
fn site_link(ctx: &DbCtx, path: &str, query: &[(&str, &str)]) -> String {
    let mut url = ctx.config.base_url.join(path.trim_start_matches('/')).unwrap_or_else(|_| ctx.config.base_url.clone());
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    url.to_string()
}

/// Makes a verification or reset link for `user` (replacing the older
/// ones) and queues its email in `tx`.
async fn queue_link_email(ctx: &DbCtx, tx: &mut Tx, user: &User, kind: LinkEmail, callback: Option<&str>) -> Result<()> {
    let purpose = match kind {
        LinkEmail::Verify => Purpose::VerifyEmail,
        LinkEmail::Reset => Purpose::ResetPassword,
    };
    data::lock_user(tx, &user.id).await?;
    data::delete_tokens(tx, purpose, Some(&user.id)).await?;
    let secret = issue_token(ctx, tx, purpose, Some(user), None, LINK_TTL).await?.secret;
    let url = match kind {
        LinkEmail::Verify => {
            let mut query = vec![("token", secret.as_str())];
            query.push(("callbackURL", callback.unwrap_or("/")));
            site_link(ctx, "/api/auth/verify-email", &query)
        }
        LinkEmail::Reset => site_link(ctx, "/reset-password", &[("token", secret.as_str())]),
    };
    let site = settings::settings(ctx).await?.config.site.title;
    let message = emails::compose(kind, ctx.config.locale, &site, &user.name, &user.email, &url)
        .map_err(|e| AccountError::Internal(anyhow::Error::new(e).context("composing an account email")))?;
    // One email per link: the key is the link's own (hashed) token.
    let key = format!("account-link:{}", token::hash_token(&secret));
    email::queue_in(ctx, tx, message, None, key).await?;
    Ok(())
}

/// Marks the address verified (when it is still the account's) and makes
/// a verified `ADMIN_EMAIL` admin, in `tx`.
async fn verified(ctx: &DbCtx, tx: &mut Tx, user_id: &str, email: &str) -> Result<Option<User>> {
    let now = ctx.clock.now_ms();
    let Some(user) = data::mark_verified(tx, user_id, email, now).await? else {
        return Ok(None);
    };
    if user.role != Role::Admin && is_admin_email(ctx, &user.email) {
        tracing::info!(user_id = %user.id, "ADMIN_EMAIL verified: the account becomes admin");
        return Ok(data::set_role_in(tx, &user.id, Role::Admin, now).await?);
    }
    Ok(Some(user))
}

/// Opens a verification link: the address is verified, a verified
/// `ADMIN_EMAIL` becomes admin, and the owner is signed in (as better-auth's
/// `autoSignInAfterVerification`).
pub async fn verify_email(ctx: &DbCtx, link_token: &str, client: &ClientInfo) -> Result<(User, NewSession)> {
    let mut tx = ctx.db.begin().await?;
    let taken = data::take_token(&mut tx, &token::hash_token(link_token), Purpose::VerifyEmail, ctx.clock.now_ms()).await?;
    let (Some(user_id), Some(address)) = taken.map(|t| (t.user_id, t.email)).unwrap_or_default() else {
        return Err(AccountError::InvalidLink);
    };
    let user = verified(ctx, &mut tx, &user_id, &address).await?.ok_or(AccountError::InvalidLink)?;
    tx.commit().await?;
    if user.banned {
        return Err(AccountError::Banned);
    }
    tracing::info!(user_id = %user.id, "email address verified");
    let new_session = session::open(&ctx.db, &ctx.clock, &user.id, client).await?;
    Ok((user, new_session))
}

/// Emails asked for per address (verification or reset), whatever client
/// asks: the original's 3 an hour.
const EMAILS_PER_ADDRESS: Limit = Limit::new(3, Duration::from_secs(3600));

/// Work whose answer must not depend on whether an address has an
/// account: it runs after the response, so both cases answer alike and in
/// the same time. Shutdown waits for it.
fn after_response<F>(ctx: &DbCtx, what: &'static str, work: F)
where
    F: Future<Output = Result<()>> + Send + 'static,
{
    ctx.tasks.spawn(async move {
        if let Err(error) = work.await {
            tracing::error!(error = ?error, what, "account email not queued");
        }
    });
}

/// Re-sends the verification link of an unverified account. The answer is
/// the same whether or not the address has one.
pub async fn send_verification_email(ctx: &DbCtx, address: &str, callback: Option<&str>) -> Result<()> {
    limit_per_email(ctx, "email-verify", address, EMAILS_PER_ADDRESS)
        .await
        .map_err(|refusal| refusal.into_error(|retry_after_ms| AccountError::TooManyEmails { retry_after_ms }))?;
    if !registration(ctx).await?.1 {
        return Err(AccountError::EmailDisabled);
    }
    let (app, address, callback) = (ctx.clone(), address.trim().to_owned(), callback.map(str::to_owned));
    after_response(ctx, "verification", async move {
        let Some(found) = data::find_by_email(&app.db, &address).await? else { return Ok(()) };
        if found.user.email_verified || found.user.banned {
            return Ok(());
        }
        let mut tx = app.db.begin().await?;
        queue_link_email(&app, &mut tx, &found.user, LinkEmail::Verify, callback.as_deref()).await?;
        tx.commit().await?;
        Ok(())
    });
    Ok(())
}

/// Emails a password-reset link, if the address has an account. The
/// answer is the same either way, and takes the same time (the work runs
/// after it).
pub async fn request_password_reset(ctx: &DbCtx, address: &str) -> Result<()> {
    limit_per_email(ctx, "password-reset", address, EMAILS_PER_ADDRESS)
        .await
        .map_err(|refusal| refusal.into_error(|retry_after_ms| AccountError::TooManyEmails { retry_after_ms }))?;
    let (app, address) = (ctx.clone(), address.trim().to_owned());
    after_response(ctx, "password reset", async move {
        let Some(found) = data::find_by_email(&app.db, &address).await? else { return Ok(()) };
        if found.user.banned || !registration(&app).await?.1 {
            return Ok(());
        }
        let mut tx = app.db.begin().await?;
        queue_link_email(&app, &mut tx, &found.user, LinkEmail::Reset, None).await?;
        tx.commit().await?;
        Ok(())
    });
    Ok(())
}

/// Sets a new password from a reset link. Every session of the account
/// ends; the link proves the address, so it counts as verified too.
pub async fn reset_password(ctx: &DbCtx, input: &ResetPasswordInput) -> Result<User> {
    let hash = ctx.passwords.hash(&input.new_password).await?;
    let mut tx = ctx.db.begin().await?;
    let now = ctx.clock.now_ms();
    let taken = data::take_token(&mut tx, &token::hash_token(&input.token), Purpose::ResetPassword, now).await?;
    let (Some(user_id), address) = taken.map(|t| (t.user_id, t.email)).unwrap_or_default() else {
        return Err(AccountError::InvalidLink);
    };
    data::update_password_in(&mut tx, &user_id, &hash, now).await?;
    let ended = data::delete_sessions_in(&mut tx, &user_id).await?;
    if let Some(address) = address {
        verified(ctx, &mut tx, &user_id, &address).await?;
    }
    tx.commit().await?;
    tracing::info!(user_id = %user_id, ended, "password reset; every session ended");
    data::find_by_id(&ctx.db, &user_id).await?.ok_or(AccountError::InvalidLink)
}

/// Removes links and external sign-in attempts past their time (the sweeper).
pub async fn delete_expired_links(ctx: &DbCtx) -> Result<u64> {
    Ok(data::delete_expired_links(&ctx.db, ctx.clock.now_ms()).await?)
}

// ---- GitHub and OpenID Connect -------------------------------------------

/// A login attempt lasts this long, from the button to the callback.
const EXTERNAL_LOGIN_TTL: Duration = Duration::from_secs(600);

fn callback_uri(ctx: &DbCtx, provider: &str) -> String {
    site_link(ctx, &format!("/api/auth/callback/{provider}"), &[])
}

/// Starts a sign-in with `github` or `oidc`: where to send the browser.
/// The attempt's `state` (stored hashed), PKCE verifier and nonce wait for
/// the callback, which uses them once.
pub async fn social_sign_in(ctx: &DbCtx, input: &SocialSignInInput) -> Result<SocialSignIn> {
    let state = token::random_token();
    let nonce = token::random_token();
    let pkce = external::pkce();
    let redirect_uri = callback_uri(ctx, &input.provider);
    let url = match input.provider.as_str() {
        "github" if let Some(github) = &ctx.logins.github => github.authorize_url(&redirect_uri, &state, &pkce.challenge),
        "oidc" if let Some(oidc) = &ctx.logins.oidc => oidc.authorize_url(&redirect_uri, &state, &nonce, &pkce.challenge).await?,
        other => return Err(AccountError::UnknownProvider(other.to_owned())),
    };
    let now = ctx.clock.now_ms();
    data::insert_external_login(
        &ctx.db,
        &data::NewExternalLogin {
            state_hash: &token::hash_token(&state),
            provider: &input.provider,
            code_verifier: &pkce.verifier,
            nonce: &nonce,
            redirect_to: input.callback_url.as_deref().unwrap_or("/"),
            expires_at: now + EXTERNAL_LOGIN_TTL.as_millis() as Millis,
            now,
        },
    )
    .await?;
    Ok(SocialSignIn { url, redirect: true })
}

/// The end of an external sign-in; `Err` carries where the browser should
/// go when the attempt was known (its `callbackURL`).
pub async fn social_callback(
    ctx: &DbCtx,
    provider: &str,
    query: &CallbackQuery,
    client: &ClientInfo,
) -> std::result::Result<(NewSession, String), (AccountError, Option<String>)> {
    let known = matches!(provider, "github" if ctx.logins.github.is_some()) || matches!(provider, "oidc" if ctx.logins.oidc.is_some());
    if !known {
        return Err((AccountError::UnknownProvider(provider.to_owned()), None));
    }
    let state = query.state.as_deref().unwrap_or_default();
    let attempt = data::take_external_login(&ctx.db, &token::hash_token(state), provider, ctx.clock.now_ms())
        .await
        .map_err(|e| (AccountError::from(e), None))?
        .ok_or((AccountError::InvalidState, None))?;
    let back = Some(attempt.redirect_to.clone());
    let finish = async {
        if let Some(error) = &query.error {
            return Err(AccountError::ProviderRefused(error.clone()));
        }
        let code = query.code.as_deref().filter(|c| !c.is_empty()).ok_or(AccountError::ProviderRefused("no code".into()))?;
        let redirect_uri = callback_uri(ctx, provider);
        let identity = match provider {
            "github" => ctx.logins.github.as_ref().expect("checked above").finish(&redirect_uri, code, &attempt.code_verifier).await?,
            _ => {
                let oidc = ctx.logins.oidc.as_ref().expect("checked above");
                oidc.finish(&redirect_uri, code, &attempt.code_verifier, &attempt.nonce, ctx.clock.now_ms()).await?
            }
        };
        let user = external_account(ctx, provider, &identity).await?;
        if user.banned {
            return Err(AccountError::Banned);
        }
        tracing::info!(user_id = %user.id, provider, "signed in through a provider");
        Ok(session::open(&ctx.db, &ctx.clock, &user.id, client).await?)
    };
    match finish.await {
        Ok(new_session) => Ok((new_session, attempt.redirect_to)),
        Err(error) => Err((error, back)),
    }
}

/// The address a new account gets when the provider's is unusable (none,
/// or already another account's while the provider has not verified it):
/// `.invalid` never delivers (RFC 2606).
fn stand_in_address(provider: &str, subject: &str) -> String {
    let subject: String = subject.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(64).collect();
    format!("{provider}-{}@users.invalid", subject.to_lowercase())
}

/// The account an external identity signs in to. Known identities keep
/// theirs. An address the provider verified links to the account that has
/// it (an unverified account there loses its password and sessions:
/// whoever signed up with the address proved nothing). Anything else is a
/// new account, as the registration policy allows.
async fn external_account(ctx: &DbCtx, provider: &str, identity: &Identity) -> Result<User> {
    if let Some(user) = data::find_external(&ctx.db, provider, &identity.subject).await? {
        return Ok(user);
    }
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin().await?;
    let verified_email = identity.email.as_deref().filter(|_| identity.email_verified);
    if let Some(email) = verified_email
        && let Some(existing) = data::find_by_email_in(&mut tx, email).await?
    {
        if !existing.email_verified {
            data::clear_password_in(&mut tx, &existing.id, now).await?;
            data::delete_sessions_in(&mut tx, &existing.id).await?;
        }
        data::insert_external(&mut tx, provider, &identity.subject, &existing.id, Some(email), now).await?;
        let user = verified(ctx, &mut tx, &existing.id, &existing.email).await?.ok_or(AccountError::UserNotFound)?;
        tx.commit().await?;
        tracing::info!(user_id = %user.id, provider, "a provider's verified address linked to its account");
        return Ok(user);
    }
    if registration(ctx).await?.0 != Registration::Open {
        return Err(AccountError::RegistrationClosed);
    }
    let address = match identity.email.as_deref() {
        Some(email) if identity.email_verified => email.to_owned(),
        Some(email) if data::find_by_email_in(&mut tx, email).await?.is_none() => email.to_owned(),
        _ => stand_in_address(provider, &identity.subject),
    };
    let fallback = address.split('@').next().unwrap_or("reader").to_owned();
    let name: String = identity.name.clone().unwrap_or(fallback).chars().filter(|c| !c.is_control()).take(80).collect();
    let name = if name.trim().is_empty() { "Reader".to_owned() } else { name };
    let image = identity.image.as_deref().filter(|url| url.starts_with("https://") && url.len() <= 2048);
    let account = NewAccount {
        name: &name,
        email: &address,
        password_hash: None,
        role: Role::User,
        email_verified: identity.email_verified && identity.email.is_some(),
        image,
    };
    let user = insert_account(ctx, &mut tx, &account).await?;
    data::insert_external(&mut tx, provider, &identity.subject, &user.id, identity.email.as_deref(), now).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, provider, "account created through a provider");
    Ok(user)
}

// ---- the first admin -----------------------------------------------------

/// While no admin exists: a fresh setup link (the older one stops
/// working), to be shown once, by whoever starts the server. `None` once
/// an admin exists.
pub async fn issue_setup_link(ctx: &DbCtx) -> Result<Option<String>> {
    let mut tx = ctx.db.begin().await?;
    data::delete_tokens(&mut tx, Purpose::Setup, None).await?;
    if data::admin_exists(&mut tx).await? {
        tx.commit().await?;
        return Ok(None);
    }
    let secret = issue_token(ctx, &mut tx, Purpose::Setup, None, None, LINK_TTL).await?.secret;
    tx.commit().await?;
    Ok(Some(site_link(ctx, "/setup", &[("token", &secret)])))
}

/// Uses the setup link: the first admin. An account that already has the
/// address becomes that admin, with this password, and its sessions end
/// (whoever signed up with it first proved nothing).
pub async fn complete_setup(ctx: &DbCtx, input: &SetupInput, client: &ClientInfo) -> Result<(User, NewSession)> {
    let hash = ctx.passwords.hash(&input.password).await?;
    let mut tx = ctx.db.begin().await?;
    let now = ctx.clock.now_ms();
    if data::take_token(&mut tx, &token::hash_token(&input.token), Purpose::Setup, now).await?.is_none() {
        return Err(AccountError::InvalidLink);
    }
    let user = match data::find_by_email_in(&mut tx, input.email.trim()).await? {
        Some(existing) => {
            let id = existing.id;
            data::update_password_in(&mut tx, &id, &hash, now).await?;
            data::delete_sessions_in(&mut tx, &id).await?;
            data::mark_verified(&mut tx, &id, &existing.email, now).await?;
            data::set_role_in(&mut tx, &id, Role::Admin, now).await?.ok_or(AccountError::UserNotFound)?
        }
        None => {
            let account = NewAccount {
                name: &input.name,
                email: &input.email,
                password_hash: Some(&hash),
                role: Role::Admin,
                email_verified: true,
                image: None,
            };
            insert_account(ctx, &mut tx, &account).await?
        }
    };
    tx.commit().await?;
    tracing::info!(user_id = %user.id, "first admin created with the setup link");
    let new_session = session::open(&ctx.db, &ctx.clock, &user.id, client).await?;
    Ok((user, new_session))
}

// ---- invitations ---------------------------------------------------------

fn invite_view(row: data::InviteRow) -> Invite {
    Invite { id: row.id, created_by: row.created_by, expires_at: Timestamp(row.expires_at), created_at: Timestamp(row.created_at) }
}

/// At most this many open invitations at once.
const MAX_OPEN_INVITES: i64 = 500;

pub async fn create_invite(ctx: &AdminCtx, input: &CreateInviteInput) -> Result<CreatedInvite> {
    let app = &ctx.app;
    if data::count_invites(&app.db, app.clock.now_ms()).await? >= MAX_OPEN_INVITES {
        return Err(AccountError::Internal(anyhow::anyhow!("too many open invitations")));
    }
    let days = u64::from(input.expires_in_days.unwrap_or(7));
    let mut tx = app.db.begin().await?;
    let created_by = ctx.session.user.id.clone();
    let link = issue_token(app, &mut tx, Purpose::Invite, None, Some(&created_by), Duration::from_secs(days * 86_400)).await?;
    tx.commit().await?;
    let invite = Invite {
        id: link.id,
        created_by: Some(created_by),
        expires_at: Timestamp(link.expires_at),
        created_at: Timestamp(link.created_at),
    };
    Ok(CreatedInvite { url: site_link(app, "/register", &[("invite", &link.secret)]), invite })
}

pub async fn list_invites(ctx: &AdminCtx) -> Result<InvitePage> {
    let now = ctx.app.clock.now_ms();
    let (rows, total) = tokio::try_join!(data::list_invites(&ctx.app.db, now), data::count_invites(&ctx.app.db, now))?;
    Ok(InvitePage { items: rows.into_iter().map(invite_view).collect(), total })
}

pub async fn revoke_invite(ctx: &AdminCtx, id: &str) -> Result<()> {
    if data::delete_invite(&ctx.app.db, id).await? { Ok(()) } else { Err(AccountError::InvalidInvite) }
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
    // Whoever knew the old password may hold a session: every other one ends.
    let keep = ctx.session.cookie_session_id().unwrap_or_default();
    let revoked = auth_data::delete_other_sessions(&ctx.app.db, user_id, keep).await?;
    tracing::info!(user_id = %user_id, revoked, "password changed; other sessions revoked");
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
            device: device_label(row.user_agent.as_deref().unwrap_or_default()),
            id: row.id,
            created_at: Timestamp(row.created_at),
            last_seen_at: Timestamp(row.last_seen_at),
            expires_at: Timestamp(row.expires_at),
            ip: row.ip,
            user_agent: row.user_agent,
        })
        .collect())
}

/// "Firefox on Linux", from a user agent: enough for someone to recognise
/// their own devices in the session list (the full string is beside it).
pub fn device_label(user_agent: &str) -> String {
    let has = |needle: &str| user_agent.contains(needle);
    let browser = if has("Edg/") {
        "Edge"
    } else if has("OPR/") || has("Opera") {
        "Opera"
    } else if has("Firefox/") {
        "Firefox"
    } else if has("Chrome/") || has("CriOS/") {
        "Chrome"
    } else if has("Safari/") {
        "Safari"
    } else if has("curl/") {
        "curl"
    } else if user_agent.is_empty() {
        return "Unknown device".to_owned();
    } else {
        "Another browser"
    };
    let system = if has("iPhone") || has("iPad") {
        Some("iOS")
    } else if has("Android") {
        Some("Android")
    } else if has("Windows") {
        Some("Windows")
    } else if has("Mac OS X") || has("Macintosh") {
        Some("macOS")
    } else if has("CrOS") {
        Some("ChromeOS")
    } else if has("Linux") {
        Some("Linux")
    } else {
        None
    };
    match system {
        Some(system) => format!("{browser} on {system}"),
        None => browser.to_owned(),
    }
}

/// Deletes the caller's own account, confirmed with its password (or, for
/// an account without one, its address). Comments stay, without an
/// author; the last admin stays.
pub async fn delete_account(ctx: &AuthCtx, input: &DeleteAccountInput) -> Result<()> {
    let user = &ctx.session.user;
    let stored = data::find_password_hash(&ctx.app.db, &user.id).await?.filter(|hash| !hash.is_empty());
    match (&stored, &input.password) {
        (Some(_), Some(password)) => {
            if !ctx.app.passwords.verify(password, stored.as_deref()).await? {
                return Err(AccountError::WrongPassword);
            }
        }
        (Some(_), None) => return Err(AccountError::WrongPassword),
        (None, _) => {
            if !input.email.as_deref().is_some_and(|email| email.trim().eq_ignore_ascii_case(&user.email)) {
                return Err(AccountError::WrongConfirmation);
            }
        }
    }
    if user.role == Role::Admin && data::count_users(&ctx.app.db, &UserFilter { pattern: None, role: Some(Role::Admin) }).await? <= 1 {
        return Err(AccountError::LastAdmin);
    }
    if !data::delete_user(&ctx.app.db, &user.id).await? {
        return Err(AccountError::UserNotFound);
    }
    tracing::info!(user_id = %user.id, "account deleted by its owner");
    Ok(())
}

/// Everything kept about the caller, as one JSON document.
pub async fn export_account_data(ctx: &AuthCtx) -> Result<AccountData> {
    let app = &ctx.app;
    let user_id = &ctx.session.user.id;
    let profile = data::find_by_id(&app.db, user_id).await?.ok_or(AccountError::UserNotFound)?;
    let external_accounts = data::list_external(&app.db, user_id)
        .await?
        .into_iter()
        .map(|row| ExternalAccount { provider: row.provider, email: row.email, created_at: Timestamp(row.created_at) })
        .collect();
    Ok(AccountData {
        exported_at: Timestamp(app.clock.now_ms()),
        has_password: has_password(ctx).await?,
        external_accounts,
        sessions: list_sessions(ctx).await?,
        api_tokens: list_api_tokens(ctx).await?,
        comments: comments::all_of_user(app, user_id).await?,
        profile,
    })
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
