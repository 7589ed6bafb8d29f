//! Cloudflare Turnstile (spec §2.1, §7.4): with `FLINT_TURNSTILE_SECRET`
//! set, the endpoints that ask for it need an `X-Turnstile-Token` header
//! whose token the verify endpoint accepts. Checked before rate limits, as
//! the original does, so a bot without a token spends nobody's bucket.

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::StatusCode;
use secrecy::ExposeSecret;

use super::config::TurnstileConfig;
use super::http::AppError;

pub const HEADER: &str = "x-turnstile-token";

/// Tokens are at most 2048 characters (Cloudflare's documented limit).
const MAX_TOKEN_LEN: usize = 2048;

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        super::ai::install_crypto_provider();
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("flint/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default()
    })
}

/// 400 without a token, 403 when the verify endpoint does not accept it
/// (or cannot be reached: failing closed, as the check exists to stop bots).
pub async fn check(config: &TurnstileConfig, token: Option<&str>) -> Result<(), AppError> {
    let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
        return Err(AppError::new(StatusCode::BAD_REQUEST, "TURNSTILE_MISSING_TOKEN", "Missing Turnstile token"));
    };
    let failed = || AppError::new(StatusCode::FORBIDDEN, "TURNSTILE_VERIFICATION_FAILED", "Turnstile verification failed");
    if token.len() > MAX_TOKEN_LEN {
        return Err(failed());
    }
    let body = serde_json::json!({ "secret": config.secret.expose_secret(), "response": token });
    let response = match client().post(&config.verify_url).json(&body).send().await {
        Ok(response) => response,
        Err(error) => {
            tracing::warn!(%error, "Turnstile's verify endpoint is unreachable; refusing");
            return Err(failed());
        }
    };
    let verdict: serde_json::Value = response.json().await.unwrap_or_default();
    if verdict["success"] == serde_json::Value::Bool(true) { Ok(()) } else { Err(failed()) }
}
