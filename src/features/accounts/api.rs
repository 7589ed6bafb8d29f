//! Account endpoints: the better-auth compatible REST paths under
//! `/api/auth/*` and the account server functions.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::platform::auth::User;
use crate::platform::auth::session::{self, ClientInfo, NewSession, SESSION_TTL};
use crate::platform::http::{
    AdminCtx, AppError, AuthCtx, DbCtx, Endpoint, PathParam, Route, Routes, SessionCtx, Success, TokenAccess, ValidJson, ValidQuery,
};
use crate::platform::rate_limit::RateLimit;

use super::schema::{
    AccountData, ApiTokenView, CallbackQuery, ChangePasswordInput, CreateApiTokenInput, CreateInviteInput, CreateUserInput,
    CreatedApiToken, CreatedInvite, CurrentSession, DeleteAccountInput, EmailInput, IdInput, InvitePage, ListUsersInput,
    ResetPasswordInput, SessionListItem, SetUserRoleInput, SetupInput, SignInInput, SignInOptions, SignUpInput, SignedUp, SocialSignIn,
    SocialSignInInput, Status, TokenQuery, UpdateUserInput, UserPage,
};
use super::service;

/// The original's auth limits (spec §3), per client and path.
const AUTH_PER_MINUTE: RateLimit = RateLimit::new(5, Duration::from_secs(60));
const AUTH_PER_HOUR: RateLimit = RateLimit::new(10, Duration::from_secs(3600));

pub fn routes() -> Routes {
    Routes::new()
        .route(
            Endpoint::rest(Method::POST, "/api/auth/sign-up/email", "signUpEmail")
                .turnstile()
                .rate_limit(AUTH_PER_MINUTE)
                .rate_limit(AUTH_PER_HOUR)
                .tag("auth")
                .summary("Create an account (as the registration policy allows); signed in at once, or after verifying the emailed link")
                .input::<SignUpInput>()
                .output::<SignedUp>()
                .handler(sign_up),
        )
        .route(
            Endpoint::rest(Method::POST, "/api/auth/sign-in/email", "signInEmail")
                .turnstile()
                .rate_limit(AUTH_PER_MINUTE)
                .rate_limit(AUTH_PER_HOUR)
                .tag("auth")
                .summary("Sign in with email and password; sets the session cookie")
                .input::<SignInInput>()
                .output::<CurrentSession>()
                .handler(sign_in),
        )
        .route(
            Endpoint::rest(Method::POST, "/api/auth/sign-out", "signOut")
                .rate_limit(AUTH_PER_MINUTE)
                .tag("auth")
                .summary("End this browser session and clear its cookie")
                .tokens(TokenAccess::Never)
                .output::<Success>()
                .handler(sign_out),
        )
        .route(get_session_endpoint(Endpoint::rest(Method::GET, "/api/auth/get-session", "getSessionAuth")))
        .route(
            Endpoint::rest(Method::GET, "/api/auth/verify-email", "verifyEmail")
                .rate_limit(AUTH_PER_MINUTE)
                .tag("auth")
                .summary("Open an emailed verification link: verifies the address and signs in (then redirects to callbackURL, if given)")
                .input::<TokenQuery>()
                .output::<CurrentSession>()
                .handler(verify_email),
        )
        .route(
            Endpoint::rest(Method::POST, "/api/auth/send-verification-email", "sendVerificationEmail")
                .turnstile()
                .rate_limit(AUTH_PER_MINUTE)
                .rate_limit(AUTH_PER_HOUR)
                .tag("auth")
                .summary("Email a new verification link to an unverified address (the same answer whether or not it has an account)")
                .input::<EmailInput>()
                .output::<Status>()
                .handler(send_verification_email),
        )
        .route(
            Endpoint::rest(Method::POST, "/api/auth/request-password-reset", "requestPasswordReset")
                .turnstile()
                .rate_limit(AUTH_PER_MINUTE)
                .rate_limit(AUTH_PER_HOUR)
                .tag("auth")
                .summary("Email a password-reset link (the same answer, in the same time, whether or not the address has an account)")
                .input::<EmailInput>()
                .output::<Status>()
                .handler(request_password_reset),
        )
        .route(
            Endpoint::rest(Method::POST, "/api/auth/reset-password", "resetPassword")
                .rate_limit(AUTH_PER_MINUTE)
                .tag("auth")
                .summary("Set a new password with the token of a reset link; every session of the account ends")
                .input::<ResetPasswordInput>()
                .output::<Status>()
                .handler(reset_password),
        )
        .route(
            Endpoint::rest(Method::POST, "/api/auth/sign-in/social", "signInSocial")
                .rate_limit(AUTH_PER_MINUTE)
                .rate_limit(AUTH_PER_HOUR)
                .tag("auth")
                .summary("Start signing in with GitHub or the OpenID Connect provider: where to send the browser")
                .input::<SocialSignInInput>()
                .output::<SocialSignIn>()
                .handler(sign_in_social),
        )
        .route(
            Endpoint::rest(Method::GET, "/api/auth/callback/{provider}", "socialCallback")
                .rate_limit(AUTH_PER_MINUTE)
                .tag("auth")
                .summary("Where the provider sends the browser back: signs in, then redirects to the callbackURL given at the start")
                .input::<CallbackQuery>()
                .handler(social_callback),
        )
        .route(
            Endpoint::rest(Method::POST, "/api/auth/setup", "completeSetup")
                .rate_limit(AUTH_PER_MINUTE)
                .rate_limit(AUTH_PER_HOUR)
                .tag("auth")
                .summary("Create the first admin with the one-time setup link `flint serve` logs while no admin exists")
                .input::<SetupInput>()
                .output::<CurrentSession>()
                .handler(complete_setup),
        )
        .route(
            Endpoint::rest(Method::POST, "/api/auth/change-password", "changePassword")
                .rate_limit(AUTH_PER_MINUTE)
                .tag("auth")
                .summary("Change the password, optionally signing out every other session")
                .tokens(TokenAccess::Never)
                .input::<ChangePasswordInput>()
                .output::<Success>()
                .handler(change_password),
        )
        .route(
            Endpoint::rest(Method::POST, "/api/auth/update-user", "updateUser")
                .rate_limit(AUTH_PER_MINUTE)
                .tag("auth")
                .summary("Change the caller's name or image")
                .tokens(TokenAccess::Never)
                .input::<UpdateUserInput>()
                .output::<User>()
                .handler(update_user),
        )
        .route(get_session_endpoint(Endpoint::query("getSession")))
        .route(
            Endpoint::query("getSignInOptions")
                .tag("auth")
                .summary("What sign-in and sign-up offer: providers, the registration policy, email verification, Turnstile")
                .output::<SignInOptions>()
                .handler(sign_in_options),
        )
        .route(
            Endpoint::query("userHasPassword")
                .tag("auth")
                .summary("Whether the caller can sign in with a password")
                .tokens(TokenAccess::Never)
                .output::<bool>()
                .handler(has_password),
        )
        .route(
            Endpoint::mutation("deleteAccount")
                .rate_limit(AUTH_PER_MINUTE)
                .tag("auth")
                .summary("Delete the caller's own account (confirmed with its password); comments stay, shown as a deleted user")
                .tokens(TokenAccess::Never)
                .input::<DeleteAccountInput>()
                .output::<Success>()
                .handler(delete_account),
        )
        .route(
            Endpoint::query("exportAccountData")
                .rate_limit(AUTH_PER_MINUTE)
                .tag("auth")
                .summary("Everything kept about the caller: profile, sessions, API tokens, linked sign-ins and comments")
                .tokens(TokenAccess::Never)
                .output::<AccountData>()
                .handler(export_account_data),
        )
        .route(
            Endpoint::query("listSessions")
                .tag("auth")
                .summary("The caller's live browser sessions, with device and last use")
                .tokens(TokenAccess::Never)
                .output::<Vec<SessionListItem>>()
                .handler(list_sessions),
        )
        .route(
            Endpoint::mutation("revokeSession")
                .tag("auth")
                .summary("Sign out one of the caller's sessions")
                .tokens(TokenAccess::Never)
                .input::<IdInput>()
                .output::<Success>()
                .handler(revoke_session),
        )
        .route(
            Endpoint::mutation("createApiToken")
                .tag("auth")
                .summary("Issue an API token (shown once) with scopes the caller may grant")
                .tokens(TokenAccess::Never)
                .input::<CreateApiTokenInput>()
                .output::<CreatedApiToken>()
                .handler(create_api_token),
        )
        .route(
            Endpoint::query("listApiTokens")
                .tag("auth")
                .summary("The caller's API tokens (without their secrets)")
                .tokens(TokenAccess::Never)
                .output::<Vec<ApiTokenView>>()
                .handler(list_api_tokens),
        )
        .route(
            Endpoint::mutation("revokeApiToken")
                .tag("auth")
                .summary("Revoke one of the caller's API tokens")
                .tokens(TokenAccess::Never)
                .input::<IdInput>()
                .output::<Success>()
                .handler(revoke_api_token),
        )
        .route(
            Endpoint::query("listUsers")
                .tag("users")
                .summary("Accounts, newest first, filtered by text and role")
                .tokens(TokenAccess::Never)
                .input::<ListUsersInput>()
                .output::<UserPage>()
                .handler(list_users),
        )
        .route(
            Endpoint::mutation("createUser")
                .tag("users")
                .summary("Create an account (its address counts as verified); the way in while registration is closed")
                .tokens(TokenAccess::Never)
                .input::<CreateUserInput>()
                .output::<User>()
                .handler(create_user),
        )
        .route(
            Endpoint::mutation("createInvite")
                .tag("users")
                .summary("A single-use invite link for registration by invitation (shown once)")
                .tokens(TokenAccess::Never)
                .input::<CreateInviteInput>()
                .output::<CreatedInvite>()
                .handler(create_invite),
        )
        .route(
            Endpoint::query("listInvites")
                .tag("users")
                .summary("Invite links not yet used or expired")
                .tokens(TokenAccess::Never)
                .output::<InvitePage>()
                .handler(list_invites),
        )
        .route(
            Endpoint::mutation("revokeInvite")
                .tag("users")
                .summary("Withdraw an invite link")
                .tokens(TokenAccess::Never)
                .input::<IdInput>()
                .output::<Success>()
                .handler(revoke_invite),
        )
        .route(
            Endpoint::mutation("setUserRole")
                .tag("users")
                .summary("Make a user an admin or a plain user (the last admin stays)")
                .tokens(TokenAccess::Never)
                .input::<SetUserRoleInput>()
                .output::<User>()
                .handler(set_user_role),
        )
}

/// `getSession` is served at the better-auth path and as a server function.
fn get_session_endpoint(endpoint: Endpoint) -> Route {
    endpoint
        .tag("auth")
        .summary("The caller's user and session, or null")
        .tokens(TokenAccess::Any)
        .output::<Option<CurrentSession>>()
        .handler(get_session)
}

/// Adds the session cookie of `new_session` to `response`.
fn with_cookie(ctx: &DbCtx, mut response: Response, new_session: &NewSession) -> Response {
    let cookie = session::set_cookie(ctx.config.is_https(), &new_session.token, SESSION_TTL);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The signed-in response: the body plus the session cookie.
fn signed_in(ctx: &DbCtx, user: User, new_session: NewSession) -> Response {
    let response = Json(service::signed_in_session(user, &new_session)).into_response();
    with_cookie(ctx, response, &new_session)
}

/// A redirect to `location` (a path on this site), signed in when `new_session` is given.
pub(super) fn redirect(ctx: &DbCtx, location: &str, new_session: Option<&NewSession>) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    // Header values are ASCII: anything else in the path is sent percent-encoded.
    let mut ascii = String::with_capacity(location.len());
    for c in location.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            let mut bytes = [0u8; 4];
            for byte in c.encode_utf8(&mut bytes).bytes() {
                ascii.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    if let Ok(value) = HeaderValue::from_str(&ascii) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    match new_session {
        Some(new_session) => with_cookie(ctx, response, new_session),
        None => response,
    }
}

async fn sign_up(ctx: DbCtx, client: ClientInfo, ValidJson(input): ValidJson<SignUpInput>) -> Result<Response, AppError> {
    let (signed_up, new_session) = service::sign_up(&ctx, &input, &client).await?;
    let response = Json(signed_up).into_response();
    Ok(match new_session {
        Some(new_session) => with_cookie(&ctx, response, &new_session),
        None => response,
    })
}

/// A refusal of a browser flow: back to `to` with `?error=CODE` (internal
/// errors stay the opaque 500).
fn back_with_error(ctx: &DbCtx, to: &str, error: AppError) -> Result<Response, AppError> {
    match error {
        AppError::Client(client) => {
            let separator = if to.contains('?') { '&' } else { '?' };
            Ok(redirect(ctx, &format!("{to}{separator}error={}", client.code), None))
        }
        internal => Err(internal),
    }
}

/// With `callbackURL`, a browser is sent there (signed in, or with
/// `?error=INVALID_TOKEN`); without, the answer is JSON.
async fn verify_email(ctx: DbCtx, client: ClientInfo, ValidQuery(input): ValidQuery<TokenQuery>) -> Result<Response, AppError> {
    match (service::verify_email(&ctx, &input.token, &client).await, input.callback_url.as_deref()) {
        (Ok((_, new_session)), Some(callback)) => Ok(redirect(&ctx, callback, Some(&new_session))),
        (Ok((user, new_session)), None) => Ok(signed_in(&ctx, user, new_session)),
        (Err(error), Some(callback)) => back_with_error(&ctx, callback, error.into()),
        (Err(error), None) => Err(error.into()),
    }
}

const EMAIL_SENT: Status = Status { status: true, message: "If this address has an account, an email is on its way." };

async fn send_verification_email(ctx: DbCtx, ValidJson(input): ValidJson<EmailInput>) -> Result<Json<Status>, AppError> {
    service::send_verification_email(&ctx, &input.email, input.callback_url.as_deref()).await?;
    Ok(Json(EMAIL_SENT))
}

async fn request_password_reset(ctx: DbCtx, ValidJson(input): ValidJson<EmailInput>) -> Result<Json<Status>, AppError> {
    service::request_password_reset(&ctx, &input.email).await?;
    Ok(Json(EMAIL_SENT))
}

async fn reset_password(ctx: DbCtx, ValidJson(input): ValidJson<ResetPasswordInput>) -> Result<Json<Status>, AppError> {
    service::reset_password(&ctx, &input).await?;
    Ok(Json(Status { status: true, message: "The password is changed; sign in with it." }))
}

async fn sign_in_social(ctx: DbCtx, ValidJson(input): ValidJson<SocialSignInInput>) -> Result<Json<SocialSignIn>, AppError> {
    Ok(Json(service::social_sign_in(&ctx, &input).await?))
}

/// Signed in: a redirect to where the attempt began. Refused: back there
/// with `?error=CODE` when the attempt is known, else the JSON error.
async fn social_callback(
    ctx: DbCtx,
    client: ClientInfo,
    PathParam(provider): PathParam,
    ValidQuery(query): ValidQuery<CallbackQuery>,
) -> Result<Response, AppError> {
    match service::social_callback(&ctx, &provider, &query, &client).await {
        Ok((new_session, to)) => Ok(redirect(&ctx, &to, Some(&new_session))),
        Err((error, Some(to))) => back_with_error(&ctx, &to, error.into()),
        Err((error, None)) => Err(error.into()),
    }
}

async fn complete_setup(ctx: DbCtx, client: ClientInfo, ValidJson(input): ValidJson<SetupInput>) -> Result<Response, AppError> {
    let (user, new_session) = service::complete_setup(&ctx, &input, &client).await?;
    Ok(signed_in(&ctx, user, new_session))
}

async fn delete_account(ctx: AuthCtx, ValidJson(input): ValidJson<DeleteAccountInput>) -> Result<Response, AppError> {
    service::delete_account(&ctx, &input).await?;
    let mut response = Json(Success { success: true }).into_response();
    if let Ok(value) = HeaderValue::from_str(&session::clear_cookie(ctx.app.config.is_https())) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

async fn export_account_data(ctx: AuthCtx) -> Result<Response, AppError> {
    let data = service::export_account_data(&ctx).await?;
    let mut response = Json(data).into_response();
    response.headers_mut().insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"account-data.json\""));
    Ok(response)
}

async fn create_user(ctx: AdminCtx, ValidJson(input): ValidJson<CreateUserInput>) -> Result<Json<User>, AppError> {
    Ok(Json(service::admin_create_user(&ctx, &input).await?))
}

async fn create_invite(ctx: AdminCtx, ValidJson(input): ValidJson<CreateInviteInput>) -> Result<Json<CreatedInvite>, AppError> {
    Ok(Json(service::create_invite(&ctx, &input).await?))
}

async fn list_invites(ctx: AdminCtx) -> Result<Json<InvitePage>, AppError> {
    Ok(Json(service::list_invites(&ctx).await?))
}

async fn revoke_invite(ctx: AdminCtx, ValidJson(input): ValidJson<IdInput>) -> Result<Json<Success>, AppError> {
    service::revoke_invite(&ctx, &input.id).await?;
    Ok(Json(Success { success: true }))
}

async fn sign_in(ctx: DbCtx, client: ClientInfo, ValidJson(input): ValidJson<SignInInput>) -> Result<Response, AppError> {
    let (user, new_session) = service::sign_in(&ctx, &input, &client).await?;
    Ok(signed_in(&ctx, user, new_session))
}

async fn sign_out(ctx: SessionCtx) -> Result<Response, AppError> {
    service::sign_out(&ctx.app, ctx.session.as_ref()).await?;
    let mut response = Json(Success { success: true }).into_response();
    if let Ok(value) = HeaderValue::from_str(&session::clear_cookie(ctx.app.config.is_https())) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

async fn sign_in_options(ctx: DbCtx) -> Result<Json<SignInOptions>, AppError> {
    Ok(Json(service::sign_in_options(&ctx).await?))
}

async fn get_session(ctx: SessionCtx) -> Json<Option<CurrentSession>> {
    Json(ctx.session.as_ref().map(service::current_session))
}

async fn change_password(ctx: AuthCtx, ValidJson(input): ValidJson<ChangePasswordInput>) -> Result<Json<Success>, AppError> {
    service::change_password(&ctx, &input).await?;
    Ok(Json(Success { success: true }))
}

async fn update_user(ctx: AuthCtx, ValidJson(input): ValidJson<UpdateUserInput>) -> Result<Json<User>, AppError> {
    Ok(Json(service::update_user(&ctx, &input).await?))
}

async fn has_password(ctx: AuthCtx) -> Result<Json<bool>, AppError> {
    Ok(Json(service::has_password(&ctx).await?))
}

async fn list_sessions(ctx: AuthCtx) -> Result<Json<Vec<SessionListItem>>, AppError> {
    Ok(Json(service::list_sessions(&ctx).await?))
}

async fn revoke_session(ctx: AuthCtx, ValidJson(input): ValidJson<IdInput>) -> Result<Json<Success>, AppError> {
    service::revoke_session(&ctx, &input.id).await?;
    Ok(Json(Success { success: true }))
}

async fn create_api_token(ctx: AuthCtx, ValidJson(input): ValidJson<CreateApiTokenInput>) -> Result<Json<CreatedApiToken>, AppError> {
    Ok(Json(service::create_api_token(&ctx, &input).await?))
}

async fn list_api_tokens(ctx: AuthCtx) -> Result<Json<Vec<ApiTokenView>>, AppError> {
    Ok(Json(service::list_api_tokens(&ctx).await?))
}

async fn revoke_api_token(ctx: AuthCtx, ValidJson(input): ValidJson<IdInput>) -> Result<Json<Success>, AppError> {
    service::revoke_api_token(&ctx, &input.id).await?;
    Ok(Json(Success { success: true }))
}

async fn list_users(ctx: AdminCtx, ValidQuery(input): ValidQuery<ListUsersInput>) -> Result<Json<UserPage>, AppError> {
    Ok(Json(service::list_users(&ctx, &input).await?))
}

async fn set_user_role(ctx: AdminCtx, ValidJson(input): ValidJson<SetUserRoleInput>) -> Result<Json<User>, AppError> {
    Ok(Json(service::set_user_role(&ctx, &input).await?))
}
