//! Signing in with GitHub or an OpenID Connect provider: the protocol side.
//!
//! Every login carries `state` and PKCE (S256); OpenID Connect adds a
//! `nonce`, and its ID token is checked here: the signature with a key from
//! the provider's JWKS (RS256, PS256 or ES256 only, through ring; never
//! `none` or a shared secret), then issuer, audience, expiry and nonce.
//! GitHub is not OpenID Connect: its `/user` and `/user/emails` say who
//! signed in, and which addresses GitHub has verified.
//!
//! Who the person becomes in flint (linking, new accounts) is the accounts
//! feature's business; this module only says who the provider vouches for.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::RwLock;

use crate::platform::clock::Millis;
use crate::platform::config::{Config, GithubConfig, OidcConfig};

use super::token;

/// Whom a provider vouches for.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The provider's stable id of the person.
    pub subject: String,
    pub email: Option<String>,
    /// Whether the provider says it verified `email`.
    pub email_verified: bool,
    pub name: Option<String>,
    pub image: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExternalError {
    /// The provider could not be reached, or answered what it should not.
    #[error("the sign-in provider failed: {0}")]
    Provider(String),
    /// What came back does not prove anything (bad signature, wrong
    /// audience, expired, nonce mismatch...).
    #[error("the sign-in could not be verified: {0}")]
    Invalid(String),
}

type Result<T> = std::result::Result<T, ExternalError>;

fn provider_error(what: &str) -> impl FnOnce(reqwest::Error) -> ExternalError + '_ {
    move |error| ExternalError::Provider(format!("{what}: {error}"))
}

/// A PKCE pair (RFC 7636, S256).
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub fn pkce() -> Pkce {
    let verifier = token::random_token();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    Pkce { verifier, challenge }
}

/// The providers this server is configured for.
pub struct LoginProviders {
    pub github: Option<GithubClient>,
    pub oidc: Option<OidcClient>,
}

impl LoginProviders {
    pub fn new(config: &Config) -> Self {
        let http = || {
            crate::platform::ai::install_crypto_provider();
            // No redirects: a provider's endpoint that redirects is a
            // misconfiguration, and following one is how SSRF starts.
            reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("flint/", env!("CARGO_PKG_VERSION")))
                .build()
                .unwrap_or_default()
        };
        LoginProviders {
            github: config.github.clone().map(|config| GithubClient { config, http: http() }),
            oidc: config.oidc.clone().map(|config| OidcClient {
                config,
                http: http(),
                discovery: RwLock::new(None),
                keys: RwLock::new(None),
            }),
        }
    }
}

/// Answers bigger than this are refused (a JWKS or a user is a few KiB).
const MAX_ANSWER: usize = 256 * 1024;

async fn json_of(response: reqwest::Response, what: &str) -> Result<Value> {
    let status = response.status();
    let bytes = response.bytes().await.map_err(provider_error(what))?;
    if bytes.len() > MAX_ANSWER {
        return Err(ExternalError::Provider(format!("{what}: the answer is too large")));
    }
    if !status.is_success() {
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
        return Err(ExternalError::Provider(format!("{what} answered {status}: {text}")));
    }
    serde_json::from_slice(&bytes).map_err(|e| ExternalError::Provider(format!("{what} is not JSON: {e}")))
}

// ---- GitHub ---------------------------------------------------------------

pub struct GithubClient {
    config: GithubConfig,
    http: reqwest::Client,
}

impl GithubClient {
    pub fn authorize_url(&self, redirect_uri: &str, state: &str, challenge: &str) -> String {
        let mut url = url::Url::parse(&format!("{}/login/oauth/authorize", self.config.url)).expect("a checked URL");
        url.query_pairs_mut()
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "read:user user:email")
            .append_pair("state", state)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("allow_signup", "true");
        url.to_string()
    }

    /// Exchanges the code and asks GitHub who it was.
    pub async fn finish(&self, redirect_uri: &str, code: &str, verifier: &str) -> Result<Identity> {
        let form = [
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.expose_secret()),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        let body = serde_urlencoded::to_string(form).map_err(|e| ExternalError::Provider(e.to_string()))?;
        let response = self
            .http
            .post(format!("{}/login/oauth/access_token", self.config.url))
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(provider_error("GitHub's token endpoint"))?;
        let answer = json_of(response, "GitHub's token endpoint").await?;
        let Some(access_token) = answer["access_token"].as_str() else {
            // GitHub answers 200 with `error` for a bad or used code.
            let reason = answer["error_description"].as_str().or(answer["error"].as_str()).unwrap_or("no access token");
            return Err(ExternalError::Invalid(format!("GitHub refused the code: {reason}")));
        };
        let get = |path: &str| {
            self.http
                .get(format!("{}{path}", self.config.api_url))
                .bearer_auth(access_token)
                .header("accept", "application/vnd.github+json")
                .header("x-github-api-version", "2022-11-28")
                .send()
        };
        let user = json_of(get("/user").await.map_err(provider_error("GitHub's /user"))?, "GitHub's /user").await?;
        let subject = match &user["id"] {
            Value::Number(id) => id.to_string(),
            _ => return Err(ExternalError::Provider("GitHub's /user has no id".into())),
        };
        let emails = json_of(get("/user/emails").await.map_err(provider_error("GitHub's /user/emails"))?, "GitHub's /user/emails").await?;
        let verified: Vec<&Value> = emails.as_array().map(|all| all.iter().filter(|e| e["verified"] == true).collect()).unwrap_or_default();
        // The primary address if GitHub verified it, else any verified one.
        let chosen = verified.iter().find(|e| e["primary"] == true).or(verified.first()).and_then(|e| e["email"].as_str());
        let (email, email_verified) = match chosen {
            Some(email) => (Some(email.to_owned()), true),
            None => (user["email"].as_str().map(str::to_owned), false),
        };
        let text = |v: &Value| v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        Ok(Identity {
            subject,
            email,
            email_verified,
            name: text(&user["name"]).or_else(|| text(&user["login"])),
            image: text(&user["avatar_url"]),
        })
    }
}

// ---- OpenID Connect -------------------------------------------------------

#[derive(Clone, Debug, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    userinfo_endpoint: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// The discovery document and keys are kept this long.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// On a key id the cached JWKS lacks (the provider rotated its keys), the
/// JWKS is fetched again, but not more often than this.
const KEY_REFRESH_GAP: Duration = Duration::from_secs(30);
/// Clock difference allowed between the provider and this server.
const SKEW_MS: Millis = 120_000;

pub struct OidcClient {
    config: OidcConfig,
    http: reqwest::Client,
    discovery: RwLock<Option<(Discovery, Instant)>>,
    keys: RwLock<Option<(Vec<Jwk>, Instant)>>,
}

impl OidcClient {
    pub fn name(&self) -> &str {
        &self.config.name
    }

    async fn discovery(&self) -> Result<Discovery> {
        if let Some((discovery, at)) = self.discovery.read().await.as_ref()
            && at.elapsed() < METADATA_TTL
        {
            return Ok(discovery.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", self.config.issuer.trim_end_matches('/'));
        let response = self.http.get(&url).send().await.map_err(provider_error("the provider's discovery document"))?;
        let value = json_of(response, "the provider's discovery document").await?;
        let discovery: Discovery =
            serde_json::from_value(value).map_err(|e| ExternalError::Provider(format!("the discovery document lacks a field: {e}")))?;
        // OpenID Connect Discovery 4.3: the document is the issuer's own.
        if discovery.issuer != self.config.issuer {
            return Err(ExternalError::Provider(format!(
                "the discovery document names issuer {:?}, not FLINT_OIDC_ISSUER {:?}",
                discovery.issuer, self.config.issuer
            )));
        }
        *self.discovery.write().await = Some((discovery.clone(), Instant::now()));
        Ok(discovery)
    }

    pub async fn authorize_url(&self, redirect_uri: &str, state: &str, nonce: &str, challenge: &str) -> Result<String> {
        let discovery = self.discovery().await?;
        let mut url = url::Url::parse(&discovery.authorization_endpoint)
            .map_err(|e| ExternalError::Provider(format!("the authorization endpoint is not a URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid email profile")
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(url.to_string())
    }

    /// Exchanges the code, checks the ID token, and adds what the userinfo
    /// endpoint says of the same subject.
    pub async fn finish(&self, redirect_uri: &str, code: &str, verifier: &str, nonce: &str, now: Millis) -> Result<Identity> {
        let discovery = self.discovery().await?;
        let form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect_uri), ("code_verifier", verifier)];
        let body = serde_urlencoded::to_string(form).map_err(|e| ExternalError::Provider(e.to_string()))?;
        // client_secret_basic: both parts form-encoded first (RFC 6749 2.3.1).
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let credentials =
            STANDARD.encode(format!("{}:{}", encode(&self.config.client_id), encode(self.config.client_secret.expose_secret())));
        let response = self
            .http
            .post(&discovery.token_endpoint)
            .header("authorization", format!("Basic {credentials}"))
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(provider_error("the provider's token endpoint"))?;
        let tokens = match json_of(response, "the provider's token endpoint").await {
            Ok(tokens) => tokens,
            // A used, expired or foreign code: 400 invalid_grant.
            Err(ExternalError::Provider(reason)) if reason.contains("invalid_grant") => return Err(ExternalError::Invalid(reason)),
            Err(error) => return Err(error),
        };
        let id_token = tokens["id_token"].as_str().ok_or_else(|| ExternalError::Invalid("the token answer has no id_token".into()))?;
        let claims = self.verify_id_token(id_token, nonce, now).await?;
        let subject = claims["sub"].as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        let subject = subject.ok_or_else(|| ExternalError::Invalid("the ID token has no subject".into()))?;
        let mut merged = claims;
        if let (Some(endpoint), Some(access_token)) = (&discovery.userinfo_endpoint, tokens["access_token"].as_str()) {
            let response = self.http.get(endpoint).bearer_auth(access_token).header("accept", "application/json").send().await;
            let info = json_of(response.map_err(provider_error("the userinfo endpoint"))?, "the userinfo endpoint").await?;
            // OpenID Connect Core 5.3.2: a different subject means the answer is not to be used.
            if info["sub"].as_str() != Some(subject.as_str()) {
                return Err(ExternalError::Invalid("the userinfo endpoint speaks of another subject".into()));
            }
            for claim in ["email", "email_verified", "name", "preferred_username", "picture"] {
                if merged.get(claim).is_none_or(Value::is_null) {
                    merged[claim] = info[claim].clone();
                }
            }
        }
        let text = |v: &Value| v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        // Some providers send the flag as a string.
        let email_verified = merged["email_verified"] == true || merged["email_verified"] == "true";
        Ok(Identity {
            subject,
            email: text(&merged["email"]),
            email_verified,
            name: text(&merged["name"]).or_else(|| text(&merged["preferred_username"])),
            image: text(&merged["picture"]),
        })
    }

    async fn jwks(&self, refresh: bool) -> Result<Vec<Jwk>> {
        if let Some((keys, at)) = self.keys.read().await.as_ref() {
            let fresh = at.elapsed() < METADATA_TTL;
            let may_refresh = at.elapsed() >= KEY_REFRESH_GAP;
            if fresh && !(refresh && may_refresh) {
                return Ok(keys.clone());
            }
        }
        let discovery = self.discovery().await?;
        let response = self.http.get(&discovery.jwks_uri).send().await.map_err(provider_error("the provider's JWKS"))?;
        let value = json_of(response, "the provider's JWKS").await?;
        let keys: Vec<Jwk> = serde_json::from_value(value["keys"].clone())
            .map_err(|e| ExternalError::Provider(format!("the provider's JWKS does not decode: {e}")))?;
        *self.keys.write().await = Some((keys.clone(), Instant::now()));
        Ok(keys)
    }

    /// The claims of a valid ID token.
    async fn verify_id_token(&self, id_token: &str, nonce: &str, now: Millis) -> Result<Value> {
        let invalid = |why: &str| ExternalError::Invalid(why.to_owned());
        let mut parts = id_token.split('.');
        let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(invalid("the ID token is not a signed JWT"));
        };
        let decode = |part: &str| URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).map_err(|_| invalid("the ID token is not base64url"));
        let header: Value = serde_json::from_slice(&decode(header)?).map_err(|_| invalid("the ID token's header is not JSON"))?;
        let alg = header["alg"].as_str().unwrap_or_default();
        if !matches!(alg, "RS256" | "PS256" | "ES256") {
            return Err(ExternalError::Invalid(format!("the ID token is signed with {alg:?}, which flint does not accept")));
        }
        let kid = header["kid"].as_str();
        let signed = format!("{}.{}", id_token.split('.').next().unwrap_or_default(), payload);
        let signature = decode(signature)?;
        let mut verified = false;
        for refresh in [false, true] {
            let keys = self.jwks(refresh).await?;
            let candidates: Vec<&Jwk> = keys
                .iter()
                .filter(|k| kid.is_none_or(|kid| k.kid.as_deref() == Some(kid)))
                .filter(|k| k.usage.as_deref().is_none_or(|u| u == "sig") && k.alg.as_deref().is_none_or(|a| a == alg))
                .collect();
            if candidates.is_empty() {
                continue;
            }
            verified = candidates.iter().any(|key| verify_signature(key, alg, signed.as_bytes(), &signature));
            break;
        }
        if !verified {
            return Err(invalid("the ID token's signature does not match the provider's keys"));
        }

        let claims: Value = serde_json::from_slice(&decode(payload)?).map_err(|_| invalid("the ID token's claims are not JSON"))?;
        let iss = claims["iss"].as_str().unwrap_or_default();
        // Google's tokens may say `accounts.google.com` for `https://accounts.google.com`.
        if iss != self.config.issuer && format!("https://{iss}") != self.config.issuer {
            return Err(ExternalError::Invalid(format!("the ID token was issued by {iss:?}")));
        }
        let audiences: Vec<&str> = match &claims["aud"] {
            Value::String(aud) => vec![aud.as_str()],
            Value::Array(all) => all.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !audiences.contains(&self.config.client_id.as_str()) {
            return Err(invalid("the ID token is for another client"));
        }
        if audiences.len() > 1 && claims["azp"].as_str().is_some_and(|azp| azp != self.config.client_id) {
            return Err(invalid("the ID token was issued to another party"));
        }
        let seconds = |name: &str| claims[name].as_i64().map(|s| s.saturating_mul(1000));
        match seconds("exp") {
            Some(exp) if now < exp + SKEW_MS => {}
            _ => return Err(invalid("the ID token has expired")),
        }
        if seconds("iat").is_some_and(|iat| iat > now + SKEW_MS) {
            return Err(invalid("the ID token was issued in the future"));
        }
        let token_nonce = claims["nonce"].as_str().unwrap_or_default();
        if !constant_time_eq(token_nonce.as_bytes(), nonce.as_bytes()) {
            return Err(invalid("the ID token's nonce is not this login's"));
        }
        Ok(claims)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

fn verify_signature(key: &Jwk, alg: &str, message: &[u8], signature_bytes: &[u8]) -> bool {
    let decode = |v: &Option<String>| v.as_deref().and_then(|s| URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok());
    match (alg, key.kty.as_str()) {
        ("RS256" | "PS256", "RSA") => {
            let (Some(n), Some(e)) = (decode(&key.n), decode(&key.e)) else { return false };
            let params = if alg == "RS256" { &signature::RSA_PKCS1_2048_8192_SHA256 } else { &signature::RSA_PSS_2048_8192_SHA256 };
            signature::RsaPublicKeyComponents { n: &n, e: &e }.verify(params, message, signature_bytes).is_ok()
        }
        ("ES256", "EC") if key.crv.as_deref() == Some("P-256") => {
            let (Some(x), Some(y)) = (decode(&key.x), decode(&key.y)) else { return false };
            if x.len() != 32 || y.len() != 32 {
                return false;
            }
            let mut point = Vec::with_capacity(65);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &point).verify(message, signature_bytes).is_ok()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

    fn ec_key() -> (EcdsaKeyPair, Jwk) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let public = pair.public_key().as_ref();
        let jwk = Jwk {
            kty: "EC".into(),
            kid: Some("k1".into()),
            usage: Some("sig".into()),
            alg: Some("ES256".into()),
            n: None,
            e: None,
            crv: Some("P-256".into()),
            x: Some(URL_SAFE_NO_PAD.encode(&public[1..33])),
            y: Some(URL_SAFE_NO_PAD.encode(&public[33..65])),
        };
        (pair, jwk)
    }

    #[test]
    fn an_es256_signature_verifies_with_its_key_only() {
        let (pair, jwk) = ec_key();
        let (_, other) = ec_key();
        let message = b"header.payload";
        let signed = pair.sign(&SystemRandom::new(), message).unwrap();
        assert!(verify_signature(&jwk, "ES256", message, signed.as_ref()));
        assert!(!verify_signature(&other, "ES256", message, signed.as_ref()), "another key");
        assert!(!verify_signature(&jwk, "ES256", b"header.tampered", signed.as_ref()), "another message");
        assert!(!verify_signature(&jwk, "RS256", message, signed.as_ref()), "an algorithm the key is not for");
    }

    #[test]
    fn pkce_challenge_is_the_s256_of_the_verifier() {
        let pair = pkce();
        assert_eq!(pair.verifier.len(), 43);
        assert_eq!(pair.challenge, URL_SAFE_NO_PAD.encode(Sha256::digest(pair.verifier.as_bytes())));
    }
}
