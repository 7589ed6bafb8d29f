//! Who is calling: users, sessions and the two credentials that prove them
//! (a browser session cookie or a bearer API token), plus the cookie format.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::platform::clock::{Clock, Millis, Timestamp};
use crate::platform::db::Db;

use super::scope::Scope;
use super::{data, token};

/// Sessions live this long after their last refresh (sliding expiry).
pub const SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// A session's `last_seen_at` and expiry are refreshed at most this often, so
/// a busy reader does not turn every request into a database write.
pub const SESSION_TOUCH_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
}

impl TryFrom<String> for Role {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role {other:?}")),
        }
    }
}

/// An account, as every feature sees it.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub image: Option<String>,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub email_verified: bool,
    pub banned: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: User,
    pub credential: Credential,
}

#[derive(Clone, Debug)]
pub enum Credential {
    /// A browser session; `id` is the SHA-256 of the cookie token.
    Cookie { id: String, expires_at: Timestamp, created_at: Timestamp },
    /// A bearer API token limited to `scopes`.
    Token { id: String, name: String, scopes: Vec<Scope>, expires_at: Option<Timestamp> },
}

impl Session {
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    pub fn is_token(&self) -> bool {
        matches!(self.credential, Credential::Token { .. })
    }

    /// Browser sessions may do everything the user may; tokens only what their scopes say.
    pub fn allows(&self, scope: Scope) -> bool {
        match &self.credential {
            Credential::Cookie { .. } => true,
            Credential::Token { scopes, .. } => scopes.contains(&scope),
        }
    }

    /// The browser-session id, when this is one.
    pub fn cookie_session_id(&self) -> Option<&str> {
        match &self.credential {
            Credential::Cookie { id, .. } => Some(id),
            Credential::Token { .. } => None,
        }
    }
}

/// Where a session was opened from (kept for the user's session list).
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A freshly opened session: the token goes into the cookie and nowhere else.
pub struct NewSession {
    pub token: String,
    pub id: String,
    pub expires_at: Timestamp,
}

/// Opens a browser session for `user_id`.
pub async fn open(db: &Db, clock: &Clock, user_id: &str, client: &ClientInfo) -> sqlx::Result<NewSession> {
    let token = token::random_token();
    let id = token::hash_token(&token);
    let now = clock.now_ms();
    let expires_at = now + ttl_ms();
    data::insert_session(
        db,
        &data::NewSessionRow { id: &id, user_id, expires_at, now, ip: client.ip.as_deref(), user_agent: client.user_agent.as_deref() },
    )
    .await?;
    Ok(NewSession { token, id, expires_at: Timestamp(expires_at) })
}

/// The result of looking a cookie up: the session, and whether its expiry
/// slid forward (the cookie must then be sent again with the new lifetime).
pub struct CookieLookup {
    pub session: Session,
    pub refreshed: bool,
}

/// Resolves a session cookie token; `None` for unknown, expired or banned.
pub async fn from_cookie(db: &Db, clock: &Clock, cookie_token: &str) -> sqlx::Result<Option<CookieLookup>> {
    let id = token::hash_token(cookie_token);
    let now = clock.now_ms();
    let Some(row) = data::find_live_session(db, &id, now).await? else {
        return Ok(None);
    };
    let mut expires_at = row.session_expires_at;
    let refreshed = now - row.session_last_seen_at >= touch_ms();
    if refreshed {
        expires_at = now + ttl_ms();
        data::touch_session(db, &id, now, expires_at).await?;
    }
    Ok(Some(CookieLookup {
        session: Session {
            user: row.user,
            credential: Credential::Cookie { id, expires_at: Timestamp(expires_at), created_at: Timestamp(row.session_created_at) },
        },
        refreshed,
    }))
}

/// Resolves a bearer API token; `None` for unknown, expired or banned.
pub async fn from_bearer(db: &Db, clock: &Clock, bearer: &str) -> sqlx::Result<Option<Session>> {
    let now = clock.now_ms();
    let Some(row) = data::find_live_api_token(db, &token::hash_token(bearer), now).await? else {
        return Ok(None);
    };
    if row.token_last_used_at.is_none_or(|at| now - at >= touch_ms()) {
        data::touch_api_token(db, &row.token_id, now).await?;
    }
    Ok(Some(Session {
        user: row.user,
        credential: Credential::Token {
            id: row.token_id,
            name: row.token_name,
            scopes: Scope::split(&row.token_scopes),
            expires_at: row.token_expires_at.map(Timestamp),
        },
    }))
}

fn ttl_ms() -> Millis {
    SESSION_TTL.as_millis() as Millis
}

fn touch_ms() -> Millis {
    SESSION_TOUCH_INTERVAL.as_millis() as Millis
}

/// The session cookie's name: `__Host-` prefixed on https (the browser then
/// insists on Secure, Path=/ and no Domain, so subdomains cannot plant one).
pub fn cookie_name(https: bool) -> &'static str {
    if https { "__Host-flint_session" } else { "flint_session" }
}

/// `Set-Cookie` value carrying a session token.
pub fn set_cookie(https: bool, token: &str, max_age: Duration) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!("{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", cookie_name(https), max_age.as_secs())
}

/// `Set-Cookie` value that deletes the session cookie.
pub fn clear_cookie(https: bool) -> String {
    set_cookie(https, "", Duration::ZERO)
}

/// Finds the session token in a `Cookie` header value.
pub fn token_from_cookie_header(header: &str, https: bool) -> Option<&str> {
    let name = cookie_name(https);
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_attributes() {
        let plain = set_cookie(false, "abc", SESSION_TTL);
        assert_eq!(plain, "flint_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=604800");
        let secure = set_cookie(true, "abc", SESSION_TTL);
        assert!(secure.starts_with("__Host-flint_session=abc;"));
        assert!(secure.ends_with("; Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
    }

    #[test]
    fn token_is_found_among_other_cookies() {
        let header = "theme=dark; flint_session=tok123; other=1";
        assert_eq!(token_from_cookie_header(header, false), Some("tok123"));
        assert_eq!(token_from_cookie_header(header, true), None);
        assert_eq!(token_from_cookie_header("flint_session=", false), None);
    }
}
