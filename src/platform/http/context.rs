//! The context chain: `DbCtx -> SessionCtx -> AuthCtx (401) -> AdminCtx (403)`.
//!
//! Each extractor builds on the previous one, so a handler's signature says
//! what it requires. The session is resolved at most once per request and
//! memoised in the request extensions. Credentials: the session cookie, or
//! `Authorization: Bearer <api token>` where the endpoint accepts tokens.

use std::ops::Deref;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};

use crate::platform::auth::session::{self, ClientInfo, Session};
use crate::platform::state::AppState;
pub use crate::platform::state::DbCtx;

use super::client_ip::client_ip;
use super::endpoint::{EndpointMeta, TokenAccess};
use super::error::AppError;

/// `DbCtx` plus the caller's session, if any.
pub struct SessionCtx {
    pub app: DbCtx,
    pub session: Option<Session>,
}

/// `DbCtx` plus a session that must be present (else 401 `UNAUTHENTICATED`).
pub struct AuthCtx {
    pub app: DbCtx,
    pub session: Session,
}

/// `AuthCtx` whose user is an admin (else 403 `PERMISSION_DENIED`).
pub struct AdminCtx(pub AuthCtx);

impl Deref for AdminCtx {
    type Target = AuthCtx;

    fn deref(&self) -> &AuthCtx {
        &self.0
    }
}

impl FromRequestParts<AppState> for DbCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(DbCtx(state.clone()))
    }
}

impl FromRequestParts<AppState> for SessionCtx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let session = resolve_session(parts, state).await?;
        Ok(SessionCtx { app: DbCtx(state.clone()), session })
    }
}

impl FromRequestParts<AppState> for AuthCtx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let SessionCtx { app, session } = SessionCtx::from_request_parts(parts, state).await?;
        let session = session.ok_or_else(AppError::unauthenticated)?;
        Ok(AuthCtx { app, session })
    }
}

impl FromRequestParts<AppState> for AdminCtx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let auth = AuthCtx::from_request_parts(parts, state).await?;
        if !auth.session.is_admin() {
            return Err(AppError::permission_denied("Only an admin may do this"));
        }
        Ok(AdminCtx(auth))
    }
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientInfo {
            ip: client_ip(parts, &state.config.trusted_proxies).map(|ip| ip.to_string()),
            user_agent: parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|ua| ua.chars().take(512).collect()),
        })
    }
}

/// The memoised outcome of session resolution for this request.
#[derive(Clone)]
struct ResolvedSession(Option<Session>);

/// A `Set-Cookie` value to send because the session's expiry slid forward.
#[derive(Clone)]
pub(crate) struct CookieRefresh(pub String);

/// Resolves the caller once per request. A bearer token that is unknown or
/// expired is a 401 (a script should learn its token is bad, not be served
/// as anonymous); a valid one is refused with 403 where the endpoint does not
/// accept tokens or lacks the needed scope. A bad cookie is simply anonymous.
pub(crate) async fn resolve_session(parts: &mut Parts, state: &AppState) -> Result<Option<Session>, AppError> {
    if let Some(resolved) = parts.extensions.get::<ResolvedSession>() {
        return Ok(resolved.0.clone());
    }
    let token_access = parts.extensions.get::<std::sync::Arc<EndpointMeta>>().map(|m| m.token).unwrap_or(TokenAccess::Never);
    let session = if let Some(bearer) = bearer_token(parts)? {
        let session = session::from_bearer(&state.db, &state.clock, bearer)
            .await?
            .ok_or_else(|| AppError::new(StatusCode::UNAUTHORIZED, "INVALID_TOKEN", "The API token is unknown, revoked or expired"))?;
        match token_access {
            TokenAccess::Never => {
                return Err(AppError::new(
                    StatusCode::FORBIDDEN,
                    "TOKEN_NOT_ACCEPTED",
                    "This endpoint needs a signed-in browser session, not an API token",
                ));
            }
            TokenAccess::Any => {}
            TokenAccess::Scope(scope) if session.allows(scope) => {}
            TokenAccess::Scope(scope) => {
                return Err(AppError::new(StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE", format!("The API token lacks the {scope} scope")));
            }
        }
        Some(session)
    } else if let Some(token) = cookie_token(parts, state.config.is_https()) {
        match session::from_cookie(&state.db, &state.clock, &token).await? {
            Some(lookup) => {
                if lookup.refreshed {
                    let cookie = session::set_cookie(state.config.is_https(), &token, session::SESSION_TTL);
                    parts.extensions.insert(CookieRefresh(cookie));
                }
                Some(lookup.session)
            }
            None => None,
        }
    } else {
        None
    };
    parts.extensions.insert(ResolvedSession(session.clone()));
    Ok(session)
}

fn bearer_token(parts: &Parts) -> Result<Option<&str>, AppError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else { return Ok(None) };
    let value = value.to_str().map_err(|_| AppError::bad_request("The Authorization header is not valid text"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(Some(token.trim())),
        _ => Err(AppError::new(StatusCode::UNAUTHORIZED, "INVALID_TOKEN", "Use `Authorization: Bearer <api token>`")),
    }
}

fn cookie_token(parts: &Parts, https: bool) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| session::token_from_cookie_header(v, https).map(str::to_owned))
}

/// True when the request carries a bearer token (exempt from the CSRF check:
/// browsers never attach one on their own).
pub(crate) fn has_bearer(parts: &Parts) -> bool {
    parts.headers.contains_key(header::AUTHORIZATION)
}
