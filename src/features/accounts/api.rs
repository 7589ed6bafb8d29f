//! Account endpoints: the better-auth compatible REST paths under
//! `/api/auth/*` and the account server functions.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};

use crate::platform::auth::User;
use crate::platform::auth::session::{self, ClientInfo, NewSession, SESSION_TTL};
use crate::platform::http::{
    AdminCtx, AppError, AuthCtx, DbCtx, Endpoint, Route, Routes, SessionCtx, Success, TokenAccess, ValidJson, ValidQuery,
};
use crate::platform::rate_limit::RateLimit;

use super::schema::{
    ApiTokenView, ChangePasswordInput, CreateApiTokenInput, CreatedApiToken, CurrentSession, IdInput, ListUsersInput, SessionListItem,
    SetUserRoleInput, SignInInput, SignUpInput, UpdateUserInput, UserPage,
};
use super::service;

/// The original's auth limits (spec §3), per client and path.
const AUTH_PER_MINUTE: RateLimit = RateLimit::new(5, Duration::from_secs(60));
const AUTH_PER_HOUR: RateLimit = RateLimit::new(10, Duration::from_secs(3600));

pub fn routes() -> Routes {
    Routes::new()
        .route(
            Endpoint::rest(Method::POST, "/api/auth/sign-up/email", "signUpEmail")
                .rate_limit(AUTH_PER_MINUTE)
                .rate_limit(AUTH_PER_HOUR)
                .tag("auth")
                .summary("Create an account with email and password, and sign in")
                .input::<SignUpInput>()
                .output::<CurrentSession>()
                .handler(sign_up),
        )
        .route(
            Endpoint::rest(Method::POST, "/api/auth/sign-in/email", "signInEmail")
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
            Endpoint::query("userHasPassword")
                .tag("auth")
                .summary("Whether the caller can sign in with a password")
                .tokens(TokenAccess::Never)
                .output::<bool>()
                .handler(has_password),
        )
        .route(
            Endpoint::query("listSessions")
                .tag("auth")
                .summary("The caller's live browser sessions")
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

/// The signed-in response: the body plus the session cookie.
fn signed_in(ctx: &DbCtx, user: User, new_session: NewSession) -> Response {
    let cookie = session::set_cookie(ctx.config.is_https(), &new_session.token, SESSION_TTL);
    let mut response = Json(service::signed_in_session(user, &new_session)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn sign_up(ctx: DbCtx, client: ClientInfo, ValidJson(input): ValidJson<SignUpInput>) -> Result<Response, AppError> {
    let (user, new_session) = service::sign_up(&ctx, &input, &client).await?;
    Ok(signed_in(&ctx, user, new_session))
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
