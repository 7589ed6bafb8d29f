//! Configuration: environment variables -> a typed, validated `Config`.
//!
//! Read once at start-up (main loads `.env` first); nothing reads the
//! environment afterwards. Every variable, its default and its meaning is
//! listed in `VARIABLES`, which also feeds `flint check-config` and is kept in
//! step with `.env.example` by a test. May use: `platform::{duration, rate_limit}` (value types only).

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};

use crate::platform::duration::parse_duration;
use crate::platform::rate_limit::FailureMode;
use crate::platform::storage::{S3Credentials, StorageUrl};

/// One documented configuration variable.
pub struct Variable {
    pub name: &'static str,
    pub default: &'static str,
    pub help: &'static str,
    pub secret: bool,
}

/// Every variable flint reads. `.env.example` documents the same list.
pub const VARIABLES: &[Variable] = &[
    Variable { name: "FLINT_LISTEN", default: "127.0.0.1:8080", help: "Address and port the HTTP server listens on.", secret: false },
    Variable {
        name: "FLINT_BASE_URL",
        default: "http://<FLINT_LISTEN>",
        help: "Public URL of the blog (scheme, host, optional port). https enables Secure/__Host- cookies; its origin is the only one allowed to send cookie-authenticated writes.",
        secret: false,
    },
    Variable {
        name: "DATABASE_URL",
        default: "sqlite://data/flint.db",
        help: "sqlite://PATH (folder and file are created) or postgres://USER:PASS@HOST:PORT/DB.",
        secret: false,
    },
    Variable {
        name: "REDIS_URL",
        default: "",
        help: "redis://HOST:PORT for the shared cache and rate limiter when running several processes. Empty: in-process.",
        secret: false,
    },
    Variable {
        name: "STORAGE_URL",
        default: "file://./data/media",
        help: "Where uploaded media lives: file://PATH (a folder, created), or s3://BUCKET[/PREFIX]?endpoint=URL&region=R&path_style=true for any S3-compatible store. Checked at start-up.",
        secret: false,
    },
    Variable { name: "AWS_ACCESS_KEY_ID", default: "", help: "Access key of the s3:// STORAGE_URL.", secret: false },
    Variable { name: "AWS_SECRET_ACCESS_KEY", default: "", help: "Secret key of the s3:// STORAGE_URL.", secret: true },
    Variable {
        name: "FLINT_MEDIA_MAX_BYTES",
        default: "10MiB",
        help: "Largest image upload (bytes, or a number with KiB/MiB); a larger one is refused with 413 before it is read.",
        secret: false,
    },
    Variable {
        name: "FLINT_MEDIA_MAX_PIXELS",
        default: "50000000",
        help: "Most pixels (width × height) an uploaded image may have; more is refused with 422 before it is decoded (1000000-500000000).",
        secret: false,
    },
    Variable {
        name: "FLINT_MEDIA_RESIZE_WORKERS",
        default: "<cores>",
        help: "Image resizes run at once (1-64); more requests for new variants wait their turn.",
        secret: false,
    },
    Variable {
        name: "FLINT_MEDIA_MEMORY_CACHE",
        default: "32MiB",
        help: "Memory for the image variants served lately (0 turns it off; they are always stored beside the original).",
        secret: false,
    },
    Variable {
        name: "FLINT_WEBHOOK_ALLOW_PRIVATE",
        default: "false",
        help: "true lets webhooks go to loopback, private and link-local addresses (refused otherwise, so a webhook cannot reach inside your network).",
        secret: false,
    },
    Variable { name: "FLINT_LOCALE", default: "en", help: "Language of emails and webhook messages: en or zh.", secret: false },
    Variable {
        name: "ADMIN_EMAIL",
        default: "",
        help: "The account with this address becomes admin once the address is verified (by the emailed link, a password reset, or a provider that vouches for it).",
        secret: false,
    },
    Variable {
        name: "FLINT_SECRET_KEY",
        default: "",
        help: "Server secret (at least 32 characters) for signed links. Empty: generated once and stored in the database.",
        secret: true,
    },
    Variable {
        name: "FLINT_TRUSTED_PROXIES",
        default: "",
        help: "Comma-separated IPs/CIDRs of reverse proxies whose X-Forwarded-For / X-Real-IP / CF-Connecting-IP headers are believed.",
        secret: false,
    },
    Variable {
        name: "FLINT_LOG_FORMAT",
        default: "pretty",
        help: "Log output: pretty (human) or json (one object per line).",
        secret: false,
    },
    Variable { name: "FLINT_LOG", default: "info", help: "Log filter, tracing EnvFilter syntax (e.g. info,flint=debug).", secret: false },
    Variable {
        name: "FLINT_BODY_LIMIT",
        default: "2MiB",
        help: "Largest accepted request body: bytes, or a number with KiB/MiB/GiB.",
        secret: false,
    },
    Variable {
        name: "FLINT_REQUEST_TIMEOUT",
        default: "30s",
        help: "Longest time a request may take before it is answered 503 (ms, s, m, h, d).",
        secret: false,
    },
    Variable {
        name: "FLINT_SHUTDOWN_TIMEOUT",
        default: "30s",
        help: "How long shutdown waits for in-flight requests and background tasks.",
        secret: false,
    },
    Variable {
        name: "FLINT_HEADER_TIMEOUT",
        default: "10s",
        help: "Longest a client may take to send a request's headers, and to start the next request on a kept-alive connection; then it is closed.",
        secret: false,
    },
    Variable {
        name: "FLINT_MAX_CONNECTIONS",
        default: "1024",
        help: "Most client connections open at once (16-1000000); further ones wait in the listen backlog until one closes.",
        secret: false,
    },
    Variable {
        name: "FLINT_DB_MAX_CONNECTIONS",
        default: "10",
        help: "PostgreSQL: connections in this process's pool (1-1000).",
        secret: false,
    },
    Variable {
        name: "FLINT_DB_STATEMENT_TIMEOUT",
        default: "30s",
        help: "PostgreSQL: statement_timeout for every connection.",
        secret: false,
    },
    Variable {
        name: "FLINT_DB_ACQUIRE_TIMEOUT",
        default: "5s",
        help: "How long a request waits for a free database connection.",
        secret: false,
    },
    Variable {
        name: "FLINT_SQLITE_READERS",
        default: "4",
        help: "SQLite: read-only connections beside the single writer (1-64).",
        secret: false,
    },
    Variable { name: "FLINT_SQLITE_BUSY_TIMEOUT", default: "5s", help: "SQLite: how long a connection waits for a lock.", secret: false },
    Variable {
        name: "FLINT_REDIS_PREFIX",
        default: "flint:",
        help: "Prefix of every Redis key, so several sites can share one Redis.",
        secret: false,
    },
    Variable {
        name: "FLINT_REDIS_TIMEOUT",
        default: "250ms",
        help: "Longest wait for Redis; a slower answer counts as a cache miss (or a limiter failure).",
        secret: false,
    },
    Variable {
        name: "FLINT_CACHE",
        default: "on",
        help: "on, or off to send every read to the database (benchmarks, debugging).",
        secret: false,
    },
    Variable {
        name: "FLINT_CACHE_MEMORY_LIMIT",
        default: "64MiB",
        help: "In-process cache size without REDIS_URL; with it, the size of this process's copies of large cached bodies (re-validated against Redis on every read).",
        secret: false,
    },
    Variable {
        name: "FLINT_SEARCH_RANKED_MATCHES",
        default: "1000",
        help: "SQLite: search ranks at most this many matching posts, the newest first (100-1000000); a word found in more posts ranks only the newest of them. Higher: exact ranking over a larger archive, slower searches.",
        secret: false,
    },
    Variable {
        name: "FLINT_RATE_LIMIT_FAILURE",
        default: "open",
        help: "When the limiter's Redis fails: open (allow the request, log it) or closed (refuse with 503).",
        secret: false,
    },
    Variable {
        name: "FLINT_RATE_LIMIT_MAX_BUCKETS",
        default: "100000",
        help: "In-process limiter: most client buckets held at once (1000-10000000).",
        secret: false,
    },
    Variable {
        name: "FLINT_WORKFLOW_WORKERS",
        default: "2",
        help: "Workflow runs this process executes at once (0: none; `flint worker` needs at least 1).",
        secret: false,
    },
    Variable {
        name: "FLINT_WORKFLOW_LEASE",
        default: "30s",
        help: "How long a claimed workflow run stays with its worker without a heartbeat.",
        secret: false,
    },
    Variable {
        name: "FLINT_WORKFLOW_RETENTION",
        default: "7d",
        help: "Completed and cancelled workflow runs older than this are pruned (failed runs stay).",
        secret: false,
    },
    Variable {
        name: "FLINT_AI_BASE_URL",
        default: "",
        help: "OpenAI-compatible API for post summaries (with FLINT_AI_API_KEY and FLINT_AI_MODEL, or none).",
        secret: false,
    },
    Variable { name: "FLINT_AI_API_KEY", default: "", help: "API key of FLINT_AI_BASE_URL.", secret: true },
    Variable { name: "FLINT_AI_MODEL", default: "", help: "Model name for summaries.", secret: false },
    Variable {
        name: "FLINT_CDN_PURGE",
        default: "",
        help: "`cloudflare`: purge changed post URLs through Cloudflare's API (with FLINT_CDN_ZONE_ID and FLINT_CDN_API_TOKEN); post details are then kept at the edge until purged. Empty: no purges, and the edge keeps public responses at most 60 s.",
        secret: false,
    },
    Variable {
        name: "FLINT_CDN_ZONE_ID",
        default: "",
        help: "The Cloudflare zone of FLINT_BASE_URL (with FLINT_CDN_PURGE).",
        secret: false,
    },
    Variable {
        name: "FLINT_CDN_API_TOKEN",
        default: "",
        help: "A Cloudflare API token with the zone's Cache Purge permission (with FLINT_CDN_PURGE).",
        secret: true,
    },
    Variable {
        name: "FLINT_CDN_API_URL",
        default: "https://api.cloudflare.com/client/v4",
        help: "Cloudflare's API (a stand-in's in tests).",
        secret: false,
    },
    Variable {
        name: "FLINT_SITE_TITLE",
        default: "flint",
        help: "Blog title until the settings are first saved (then the stored settings rule).",
        secret: false,
    },
    Variable { name: "FLINT_SITE_DESCRIPTION", default: "", help: "Blog description until the settings are first saved.", secret: false },
    Variable { name: "FLINT_SITE_AUTHOR", default: "", help: "Author name until the settings are first saved.", secret: false },
    Variable {
        name: "FLINT_FEED_LIMIT",
        default: "50",
        help: "Newest public posts in /rss.xml, /atom.xml and /feed.json (1-500).",
        secret: false,
    },
    Variable {
        name: "FLINT_TURNSTILE_SECRET",
        default: "",
        help: "Cloudflare Turnstile secret: sign-up, sign-in, request-password-reset and send-verification-email then need an X-Turnstile-Token header.",
        secret: true,
    },
    Variable { name: "FLINT_TURNSTILE_SITE_KEY", default: "", help: "Turnstile site key the pages show the widget with.", secret: false },
    Variable {
        name: "FLINT_TURNSTILE_VERIFY_URL",
        default: "https://challenges.cloudflare.com/turnstile/v0/siteverify",
        help: "Where Turnstile tokens are checked (a stand-in's in tests).",
        secret: false,
    },
    Variable {
        name: "FLINT_GITHUB_CLIENT_ID",
        default: "",
        help: "GitHub OAuth app: sign in with GitHub (with FLINT_GITHUB_CLIENT_SECRET; callback /api/auth/callback/github).",
        secret: false,
    },
    Variable { name: "FLINT_GITHUB_CLIENT_SECRET", default: "", help: "Secret of the GitHub OAuth app.", secret: true },
    Variable {
        name: "FLINT_GITHUB_URL",
        default: "https://github.com",
        help: "GitHub's web address, where people authorize (GitHub Enterprise: its address).",
        secret: false,
    },
    Variable {
        name: "FLINT_GITHUB_API_URL",
        default: "https://api.github.com",
        help: "GitHub's API (GitHub Enterprise: https://HOST/api/v3).",
        secret: false,
    },
    Variable {
        name: "FLINT_OIDC_ISSUER",
        default: "",
        help: "OpenID Connect provider to sign in with, by issuer URL (Google, GitLab, Keycloak, Authentik...; with FLINT_OIDC_CLIENT_ID and _SECRET; callback /api/auth/callback/oidc).",
        secret: false,
    },
    Variable { name: "FLINT_OIDC_CLIENT_ID", default: "", help: "Client id registered with FLINT_OIDC_ISSUER.", secret: false },
    Variable { name: "FLINT_OIDC_CLIENT_SECRET", default: "", help: "Client secret registered with FLINT_OIDC_ISSUER.", secret: true },
    Variable {
        name: "FLINT_OIDC_NAME",
        default: "OpenID Connect",
        help: "The provider's name on the sign-in button, e.g. Google or Keycloak.",
        secret: false,
    },
    Variable {
        name: "FLINT_THEME_DIR",
        default: "",
        help: "A folder whose files replace the embedded theme's by path (templates, e.g. account/setup.html).",
        secret: false,
    },
    Variable {
        name: "FLINT_CORS_ORIGINS",
        default: "",
        help: "Origins (https://app.example, comma-separated; * for any) whose pages may call the public API from a browser, without cookies.",
        secret: false,
    },
];

/// One `FLINT_CORS_ORIGINS` entry: `*`, or an origin as browsers send it
/// (`scheme://host[:port]`, no path), lowercased.
fn cors_origin(value: &str) -> Result<String, String> {
    if value == "*" {
        return Ok(value.to_owned());
    }
    let url = url::Url::parse(value).map_err(|e| format!("'{value}' is not an origin: {e}"))?;
    let plain = matches!(url.scheme(), "http" | "https") && url.host().is_some() && url.path() == "/" && url.query().is_none();
    if !plain || url.fragment().is_some() || !url.username().is_empty() || value.trim_end_matches('/').contains("/#") {
        return Err(format!("'{value}' is not an origin (scheme://host[:port], nothing after)"));
    }
    Ok(url.origin().ascii_serialization())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite { path: String },
    Postgres,
}

/// The blog's identity in feeds and the manifest (until site settings exist).
#[derive(Clone, Debug)]
pub struct SiteConfig {
    pub title: String,
    pub description: String,
    pub author: String,
    pub feed_limit: u32,
}

/// Where CDN purges go (`FLINT_CDN_PURGE=cloudflare`).
#[derive(Clone)]
pub struct CdnPurgeConfig {
    pub api_url: String,
    pub zone_id: String,
    pub api_token: SecretString,
}

/// Turnstile checks on the auth forms (`FLINT_TURNSTILE_SECRET`).
#[derive(Clone)]
pub struct TurnstileConfig {
    pub secret: SecretString,
    pub site_key: Option<String>,
    pub verify_url: String,
}

/// An OAuth app at GitHub (or GitHub Enterprise).
#[derive(Clone)]
pub struct GithubConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    /// Web address (authorize and token endpoints), without a trailing slash.
    pub url: String,
    /// API address, without a trailing slash.
    pub api_url: String,
}

/// A client registered with an OpenID Connect provider.
#[derive(Clone)]
pub struct OidcConfig {
    /// Exactly as the provider's discovery document and ID tokens state it.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub name: String,
}

/// The OpenAI-compatible endpoint for summaries.
#[derive(Clone)]
pub struct AiConfig {
    pub base_url: String,
    pub api_key: SecretString,
    pub model: String,
}

#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub base_url: url::Url,
    pub database_url: String,
    pub database: DatabaseKind,
    pub redis_url: Option<String>,
    pub storage: StorageUrl,
    pub media: MediaConfig,
    /// Webhooks may go to loopback, private and link-local addresses.
    pub webhook_allow_private: bool,
    pub locale: Locale,
    pub s3_credentials: Option<S3Credentials>,
    pub redis_prefix: String,
    pub redis_timeout: Duration,
    pub cache_memory_limit: u64,
    /// `FLINT_CACHE=off`: every read goes to the database (benchmarks, debugging).
    pub cache_enabled: bool,
    /// How many of the newest matching posts a search ranks.
    pub search_ranked_matches: u32,
    pub rate_limit_failure: FailureMode,
    pub rate_limit_max_buckets: usize,
    pub workflow_workers: usize,
    pub workflow_lease: Duration,
    pub workflow_retention: Duration,
    pub ai: Option<AiConfig>,
    pub cdn_purge: Option<CdnPurgeConfig>,
    pub site: SiteConfig,
    pub admin_email: Option<String>,
    pub secret_key: Option<SecretString>,
    pub turnstile: Option<TurnstileConfig>,
    pub github: Option<GithubConfig>,
    pub oidc: Option<OidcConfig>,
    pub theme_dir: Option<std::path::PathBuf>,
    /// Origins allowed to read the API from a browser (`*`: any).
    pub cors_origins: Vec<String>,
    pub trusted_proxies: Vec<IpNet>,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub body_limit: usize,
    pub request_timeout: Duration,
    pub shutdown_timeout: Duration,
    pub header_timeout: Duration,
    pub max_connections: usize,
    pub db_max_connections: u32,
    pub db_statement_timeout: Duration,
    pub db_acquire_timeout: Duration,
    pub sqlite_readers: u32,
    pub sqlite_busy_timeout: Duration,
}

/// The language of emails and webhook messages (`FLINT_LOCALE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Locale {
    En,
    Zh,
}

impl Locale {
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Zh => "zh",
        }
    }
}

/// Uploads and image variants (`FLINT_MEDIA_*`).
#[derive(Clone, Debug)]
pub struct MediaConfig {
    pub max_bytes: u64,
    pub max_pixels: u64,
    pub resize_workers: usize,
    /// Bytes of recently served variants kept in memory.
    pub memory_cache: u64,
}

/// Every invalid variable, each with the reason.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError(pub Vec<(String, String)>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for (name, reason) in &self.0 {
            writeln!(f, "  {name}: {reason}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the process environment (after `.env` was loaded by the caller).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any name -> value lookup (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut reader = Reader { lookup: &lookup, errors: Vec::new() };

        let listen: Option<SocketAddr> = reader.parse("FLINT_LISTEN", "127.0.0.1:8080", parse_listen);
        let base_url = reader.parse("FLINT_BASE_URL", "", |v| {
            if v.is_empty() {
                return Ok(default_base_url(listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)))));
            }
            let url = url::Url::parse(v).map_err(|e| format!("'{v}' is not a URL: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(format!("'{v}' must be an http(s) URL with a host"));
            }
            Ok(url)
        });
        let database_url = reader.raw("DATABASE_URL", "sqlite://data/flint.db");
        let database = reader.parse("DATABASE_URL", "sqlite://data/flint.db", parse_database_url);
        let redis_url = reader.optional("REDIS_URL", |v| {
            let url = url::Url::parse(v).map_err(|e| format!("not a URL: {e}"))?;
            match url.scheme() {
                "redis" => Ok(v.to_owned()),
                "rediss" => Err("rediss:// (TLS) is not supported yet; reach Redis over a private network or a TLS tunnel".to_owned()),
                other => Err(format!("scheme must be redis, not {other}")),
            }
        });
        let redis_prefix = reader.parse("FLINT_REDIS_PREFIX", "flint:", |v| {
            if v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()) {
                Ok(v.to_owned())
            } else {
                Err(format!("'{v}' must be at most 64 printable characters without spaces"))
            }
        });
        let redis_timeout = reader.parse("FLINT_REDIS_TIMEOUT", "250ms", parse_positive_duration);
        let cache_memory_limit = reader.parse("FLINT_CACHE_MEMORY_LIMIT", "64MiB", |v| parse_size(v).map(|n| n as u64));
        let cache_enabled = reader.parse("FLINT_CACHE", "on", |v| match v {
            "on" => Ok(true),
            "off" => Ok(false),
            _ => Err(format!("'{v}' must be on or off")),
        });
        let search_ranked_matches = reader.parse("FLINT_SEARCH_RANKED_MATCHES", "1000", |v| parse_in_range(v, 100, 1_000_000));
        let rate_limit_failure = reader.parse("FLINT_RATE_LIMIT_FAILURE", "open", |v| match v {
            "open" => Ok(FailureMode::Open),
            "closed" => Ok(FailureMode::Closed),
            _ => Err(format!("'{v}' must be open or closed")),
        });
        let rate_limit_max_buckets =
            reader.parse("FLINT_RATE_LIMIT_MAX_BUCKETS", "100000", |v| parse_in_range(v, 1_000, 10_000_000).map(|n| n as usize));
        let storage = reader.parse("STORAGE_URL", "file://./data/media", StorageUrl::parse);
        let media_max_bytes = reader.parse("FLINT_MEDIA_MAX_BYTES", "10MiB", |v| match parse_size(v)? {
            n if (1024..=1 << 30).contains(&n) => Ok(n as u64),
            _ => Err(format!("'{v}' must be from 1KiB to 1GiB")),
        });
        let media_max_pixels = reader.parse("FLINT_MEDIA_MAX_PIXELS", "50000000", |v| match v.parse::<u64>() {
            Ok(n) if (1_000_000..=500_000_000).contains(&n) => Ok(n),
            _ => Err(format!("'{v}' must be a whole number from 1000000 to 500000000")),
        });
        let webhook_allow_private = reader.parse("FLINT_WEBHOOK_ALLOW_PRIVATE", "false", |v| match v {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(format!("'{v}' must be true or false")),
        });
        let locale = reader.parse("FLINT_LOCALE", "en", |v| match v {
            "en" => Ok(Locale::En),
            "zh" => Ok(Locale::Zh),
            _ => Err(format!("'{v}' must be en or zh")),
        });
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()).min(64).to_string();
        let media_resize_workers = reader.parse("FLINT_MEDIA_RESIZE_WORKERS", &cores, |v| parse_in_range(v, 1, 64).map(|n| n as usize));
        let media_memory_cache = reader.parse("FLINT_MEDIA_MEMORY_CACHE", "32MiB", |v| parse_size(v).map(|n| n as u64));
        let s3_access_key = reader.optional("AWS_ACCESS_KEY_ID", |v| Ok(v.to_owned()));
        let s3_secret_key = reader.optional("AWS_SECRET_ACCESS_KEY", |v| Ok(SecretString::from(v.to_owned())));
        let s3_credentials = match (s3_access_key, s3_secret_key) {
            (Some(access_key_id), Some(secret_access_key)) => Some(S3Credentials { access_key_id, secret_access_key }),
            (None, None) => None,
            _ => {
                reader.errors.push((
                    "AWS_ACCESS_KEY_ID".into(),
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together: set both or neither".into(),
                ));
                None
            }
        };
        let admin_email = reader.optional("ADMIN_EMAIL", |v| {
            let email = v.trim().to_lowercase();
            if is_plausible_email(&email) { Ok(email) } else { Err(format!("'{v}' is not an email address")) }
        });
        let secret_key = reader.optional("FLINT_SECRET_KEY", |v| {
            if v.chars().count() < 32 {
                Err("must be at least 32 characters (or empty to generate one)".to_owned())
            } else {
                Ok(SecretString::from(v.to_owned()))
            }
        });
        let trusted_proxies = reader.parse("FLINT_TRUSTED_PROXIES", "", |v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<IpNet>()
                        .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                        .map_err(|_| format!("'{s}' is not an IP address or CIDR"))
                })
                .collect()
        });
        let workflow_workers = reader.parse("FLINT_WORKFLOW_WORKERS", "2", |v| match v.parse::<usize>() {
            Ok(n) if n <= 64 => Ok(n),
            _ => Err(format!("'{v}' must be a whole number from 0 to 64")),
        });
        let workflow_lease = reader.parse("FLINT_WORKFLOW_LEASE", "30s", |v| {
            let lease = parse_duration(v)?;
            if lease < Duration::from_secs(1) { Err("must be at least 1s".to_owned()) } else { Ok(lease) }
        });
        let workflow_retention = reader.parse("FLINT_WORKFLOW_RETENTION", "7d", parse_positive_duration);
        let ai_base_url = reader.optional("FLINT_AI_BASE_URL", |v| {
            let url = url::Url::parse(v).map_err(|e| format!("'{v}' is not a URL: {e}"))?;
            if matches!(url.scheme(), "http" | "https") {
                Ok(v.trim_end_matches('/').to_owned())
            } else {
                Err(format!("'{v}' must be an http(s) URL"))
            }
        });
        let ai_api_key = reader.optional("FLINT_AI_API_KEY", |v| Ok(SecretString::from(v.to_owned())));
        let ai_model = reader.optional("FLINT_AI_MODEL", |v| Ok(v.to_owned()));
        let ai = match (ai_base_url, ai_api_key, ai_model) {
            (Some(base_url), Some(api_key), Some(model)) => Some(AiConfig { base_url, api_key, model }),
            (None, None, None) => None,
            _ => {
                reader.errors.push((
                    "FLINT_AI_BASE_URL".into(),
                    "FLINT_AI_BASE_URL, FLINT_AI_API_KEY and FLINT_AI_MODEL go together: set all three or none".into(),
                ));
                None
            }
        };
        let cdn_purge = reader.parse("FLINT_CDN_PURGE", "", |v| match v {
            "" => Ok(false),
            "cloudflare" => Ok(true),
            other => Err(format!("'{other}' is not a CDN flint can purge (cloudflare, or empty for none)")),
        });
        let cdn_zone_id = reader.optional("FLINT_CDN_ZONE_ID", |v| {
            if v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric()) {
                Ok(v.to_owned())
            } else {
                Err("must be the zone's id (letters and digits)".into())
            }
        });
        let cdn_api_token = reader.optional("FLINT_CDN_API_TOKEN", |v| Ok(SecretString::from(v.to_owned())));
        let cdn_api_url = reader.parse("FLINT_CDN_API_URL", "https://api.cloudflare.com/client/v4", |v| {
            let url = url::Url::parse(v).map_err(|e| format!("'{v}' is not a URL: {e}"))?;
            if matches!(url.scheme(), "http" | "https") {
                Ok(v.trim_end_matches('/').to_owned())
            } else {
                Err(format!("'{v}' must be an http(s) URL"))
            }
        });
        let cdn_purge = match (cdn_purge, cdn_zone_id, cdn_api_token) {
            (Some(true), Some(zone_id), Some(api_token)) => cdn_api_url.map(|api_url| CdnPurgeConfig { api_url, zone_id, api_token }),
            (Some(true), _, _) => {
                reader
                    .errors
                    .push(("FLINT_CDN_PURGE".into(), "FLINT_CDN_PURGE=cloudflare needs FLINT_CDN_ZONE_ID and FLINT_CDN_API_TOKEN".into()));
                None
            }
            _ => None,
        };
        let site_text = |max: usize| {
            move |v: &str| {
                if v.chars().count() > max || v.chars().any(char::is_control) {
                    Err(format!("must be at most {max} characters without control characters"))
                } else {
                    Ok(v.to_owned())
                }
            }
        };
        let site_title = reader.parse("FLINT_SITE_TITLE", "flint", site_text(100));
        let site_description = reader.parse("FLINT_SITE_DESCRIPTION", "", site_text(500));
        let site_author = reader.parse("FLINT_SITE_AUTHOR", "", site_text(100));
        let feed_limit = reader.parse("FLINT_FEED_LIMIT", "50", |v| parse_in_range(v, 1, 500));
        let log_format = reader.parse("FLINT_LOG_FORMAT", "pretty", |v| match v {
            "pretty" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("'{v}' must be pretty or json")),
        });
        let log_filter = reader.parse("FLINT_LOG", "info", |v| {
            tracing_subscriber::EnvFilter::try_new(v).map(|_| v.to_owned()).map_err(|e| format!("'{v}' is not a log filter: {e}"))
        });
        let body_limit = reader.parse("FLINT_BODY_LIMIT", "2MiB", parse_size);
        let request_timeout = reader.parse("FLINT_REQUEST_TIMEOUT", "30s", parse_positive_duration);
        let shutdown_timeout = reader.parse("FLINT_SHUTDOWN_TIMEOUT", "30s", parse_positive_duration);
        let header_timeout = reader.parse("FLINT_HEADER_TIMEOUT", "10s", parse_positive_duration);
        let max_connections = reader.parse("FLINT_MAX_CONNECTIONS", "1024", |v| parse_in_range(v, 16, 1_000_000).map(|n| n as usize));
        let db_max_connections = reader.parse("FLINT_DB_MAX_CONNECTIONS", "10", |v| parse_in_range(v, 1, 1000));
        let db_statement_timeout = reader.parse("FLINT_DB_STATEMENT_TIMEOUT", "30s", parse_positive_duration);
        let db_acquire_timeout = reader.parse("FLINT_DB_ACQUIRE_TIMEOUT", "5s", parse_positive_duration);
        let sqlite_readers = reader.parse("FLINT_SQLITE_READERS", "4", |v| parse_in_range(v, 1, 64));
        let sqlite_busy_timeout = reader.parse("FLINT_SQLITE_BUSY_TIMEOUT", "5s", parse_positive_duration);
        let web_url = |v: &str| {
            let url = url::Url::parse(v).map_err(|e| format!("'{v}' is not a URL: {e}"))?;
            if matches!(url.scheme(), "http" | "https") && url.host().is_some() {
                Ok(v.trim_end_matches('/').to_owned())
            } else {
                Err(format!("'{v}' must be an http(s) URL"))
            }
        };
        let turnstile_secret = reader.optional("FLINT_TURNSTILE_SECRET", |v| Ok(SecretString::from(v.to_owned())));
        let turnstile_site_key = reader.optional("FLINT_TURNSTILE_SITE_KEY", |v| Ok(v.to_owned()));
        let turnstile_verify_url =
            reader.parse("FLINT_TURNSTILE_VERIFY_URL", "https://challenges.cloudflare.com/turnstile/v0/siteverify", web_url);
        let turnstile = match (turnstile_secret, turnstile_verify_url) {
            (Some(secret), Some(verify_url)) => Some(TurnstileConfig { secret, site_key: turnstile_site_key, verify_url }),
            _ => None,
        };
        let github_client_id = reader.optional("FLINT_GITHUB_CLIENT_ID", |v| Ok(v.to_owned()));
        let github_client_secret = reader.optional("FLINT_GITHUB_CLIENT_SECRET", |v| Ok(SecretString::from(v.to_owned())));
        let github_url = reader.parse("FLINT_GITHUB_URL", "https://github.com", web_url);
        let github_api_url = reader.parse("FLINT_GITHUB_API_URL", "https://api.github.com", web_url);
        let github = match (github_client_id, github_client_secret) {
            (Some(client_id), Some(client_secret)) => match (github_url, github_api_url) {
                (Some(url), Some(api_url)) => Some(GithubConfig { client_id, client_secret, url, api_url }),
                _ => None,
            },
            (None, None) => None,
            _ => {
                reader.errors.push((
                    "FLINT_GITHUB_CLIENT_ID".into(),
                    "FLINT_GITHUB_CLIENT_ID and FLINT_GITHUB_CLIENT_SECRET go together: set both or neither".into(),
                ));
                None
            }
        };
        let oidc_issuer = reader.optional("FLINT_OIDC_ISSUER", |v| {
            let url = url::Url::parse(v).map_err(|e| format!("'{v}' is not a URL: {e}"))?;
            if matches!(url.scheme(), "http" | "https") && url.host().is_some() && url.query().is_none() {
                Ok(v.to_owned())
            } else {
                Err(format!("'{v}' must be the provider's issuer, an http(s) URL without a query"))
            }
        });
        let oidc_client_id = reader.optional("FLINT_OIDC_CLIENT_ID", |v| Ok(v.to_owned()));
        let oidc_client_secret = reader.optional("FLINT_OIDC_CLIENT_SECRET", |v| Ok(SecretString::from(v.to_owned())));
        let oidc_name = reader.parse("FLINT_OIDC_NAME", "OpenID Connect", site_text(40));
        let oidc = match (oidc_issuer, oidc_client_id, oidc_client_secret) {
            (Some(issuer), Some(client_id), Some(client_secret)) => {
                oidc_name.map(|name| OidcConfig { issuer, client_id, client_secret, name })
            }
            (None, None, None) => None,
            _ => {
                reader.errors.push((
                    "FLINT_OIDC_ISSUER".into(),
                    "FLINT_OIDC_ISSUER, FLINT_OIDC_CLIENT_ID and FLINT_OIDC_CLIENT_SECRET go together: set all three or none".into(),
                ));
                None
            }
        };
        let cors_origins = reader
            .optional("FLINT_CORS_ORIGINS", |v| v.split(',').map(str::trim).filter(|o| !o.is_empty()).map(cors_origin).collect())
            .unwrap_or_default();
        let theme_dir = reader.optional("FLINT_THEME_DIR", |v| {
            let path = std::path::PathBuf::from(v);
            if path.is_dir() { Ok(path) } else { Err(format!("'{v}' is not a folder")) }
        });

        if !reader.errors.is_empty() {
            return Err(ConfigError(reader.errors));
        }
        Ok(Config {
            listen: value(listen),
            base_url: value(base_url),
            database_url,
            database: value(database),
            redis_url,
            storage: value(storage),
            webhook_allow_private: value(webhook_allow_private),
            locale: value(locale),
            media: MediaConfig {
                max_bytes: value(media_max_bytes),
                max_pixels: value(media_max_pixels),
                resize_workers: value(media_resize_workers),
                memory_cache: value(media_memory_cache),
            },
            s3_credentials,
            redis_prefix: value(redis_prefix),
            redis_timeout: value(redis_timeout),
            cache_memory_limit: value(cache_memory_limit),
            cache_enabled: value(cache_enabled),
            search_ranked_matches: value(search_ranked_matches),
            rate_limit_failure: value(rate_limit_failure),
            rate_limit_max_buckets: value(rate_limit_max_buckets),
            workflow_workers: value(workflow_workers),
            workflow_lease: value(workflow_lease),
            workflow_retention: value(workflow_retention),
            ai,
            cdn_purge,
            site: {
                let title = value(site_title);
                let author = value(site_author);
                SiteConfig {
                    author: if author.is_empty() { title.clone() } else { author },
                    title,
                    description: value(site_description),
                    feed_limit: value(feed_limit),
                }
            },
            admin_email,
            secret_key,
            turnstile,
            github,
            oidc,
            theme_dir,
            cors_origins,
            trusted_proxies: value(trusted_proxies),
            log_format: value(log_format),
            log_filter: value(log_filter),
            body_limit: value(body_limit),
            request_timeout: value(request_timeout),
            shutdown_timeout: value(shutdown_timeout),
            header_timeout: value(header_timeout),
            max_connections: value(max_connections),
            db_max_connections: value(db_max_connections),
            db_statement_timeout: value(db_statement_timeout),
            db_acquire_timeout: value(db_acquire_timeout),
            sqlite_readers: value(sqlite_readers),
            sqlite_busy_timeout: value(sqlite_busy_timeout),
        })
    }

    /// True when cookies must be `Secure` (and use the `__Host-` prefix).
    pub fn is_https(&self) -> bool {
        self.base_url.scheme() == "https"
    }

    /// `scheme://host[:port]` of the public site, as browsers send in `Origin`.
    pub fn origin(&self) -> String {
        self.base_url.origin().ascii_serialization()
    }

    /// The effective configuration as `(name, value)` lines, secrets masked.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let duration = |d: Duration| format!("{}ms", d.as_millis());
        vec![
            ("FLINT_LISTEN", self.listen.to_string()),
            ("FLINT_BASE_URL", self.base_url.to_string()),
            ("DATABASE_URL", mask_url_password(&self.database_url)),
            (
                "REDIS_URL",
                self.redis_url.as_deref().map(mask_url_password).unwrap_or_else(|| "(none: in-process cache and limiter)".into()),
            ),
            (
                "STORAGE_URL",
                match &self.storage {
                    StorageUrl::File(path) => format!("file://{}", path.display()),
                    StorageUrl::S3 { bucket, prefix, endpoint, region, path_style } => format!(
                        "s3://{bucket}/{prefix} (endpoint {}, region {region}, path style {path_style})",
                        endpoint.as_deref().unwrap_or("AWS")
                    ),
                },
            ),
            ("AWS_ACCESS_KEY_ID", self.s3_credentials.as_ref().map_or_else(|| "(none)".into(), |c| c.access_key_id.clone())),
            ("AWS_SECRET_ACCESS_KEY", if self.s3_credentials.is_some() { "********".into() } else { "(none)".into() }),
            ("FLINT_MEDIA_MAX_BYTES", format!("{} bytes", self.media.max_bytes)),
            ("FLINT_MEDIA_MAX_PIXELS", self.media.max_pixels.to_string()),
            ("FLINT_MEDIA_RESIZE_WORKERS", self.media.resize_workers.to_string()),
            ("FLINT_MEDIA_MEMORY_CACHE", format!("{} bytes", self.media.memory_cache)),
            ("FLINT_WEBHOOK_ALLOW_PRIVATE", self.webhook_allow_private.to_string()),
            ("FLINT_LOCALE", self.locale.as_str().into()),
            ("ADMIN_EMAIL", self.admin_email.clone().unwrap_or_else(|| "(none)".into())),
            (
                "FLINT_SECRET_KEY",
                match &self.secret_key {
                    Some(key) if !key.expose_secret().is_empty() => "********".into(),
                    _ => "(generated and stored in the database)".into(),
                },
            ),
            (
                "FLINT_TRUSTED_PROXIES",
                if self.trusted_proxies.is_empty() {
                    "(none)".into()
                } else {
                    self.trusted_proxies.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
                },
            ),
            (
                "FLINT_LOG_FORMAT",
                match self.log_format {
                    LogFormat::Pretty => "pretty".into(),
                    LogFormat::Json => "json".into(),
                },
            ),
            ("FLINT_LOG", self.log_filter.clone()),
            ("FLINT_BODY_LIMIT", format!("{} bytes", self.body_limit)),
            ("FLINT_REQUEST_TIMEOUT", duration(self.request_timeout)),
            ("FLINT_SHUTDOWN_TIMEOUT", duration(self.shutdown_timeout)),
            ("FLINT_HEADER_TIMEOUT", duration(self.header_timeout)),
            ("FLINT_MAX_CONNECTIONS", self.max_connections.to_string()),
            ("FLINT_DB_MAX_CONNECTIONS", self.db_max_connections.to_string()),
            ("FLINT_DB_STATEMENT_TIMEOUT", duration(self.db_statement_timeout)),
            ("FLINT_DB_ACQUIRE_TIMEOUT", duration(self.db_acquire_timeout)),
            ("FLINT_SQLITE_READERS", self.sqlite_readers.to_string()),
            ("FLINT_SQLITE_BUSY_TIMEOUT", duration(self.sqlite_busy_timeout)),
            ("FLINT_REDIS_PREFIX", self.redis_prefix.clone()),
            ("FLINT_REDIS_TIMEOUT", duration(self.redis_timeout)),
            ("FLINT_CACHE", if self.cache_enabled { "on" } else { "off" }.into()),
            ("FLINT_CACHE_MEMORY_LIMIT", format!("{} bytes", self.cache_memory_limit)),
            ("FLINT_SEARCH_RANKED_MATCHES", self.search_ranked_matches.to_string()),
            (
                "FLINT_RATE_LIMIT_FAILURE",
                match self.rate_limit_failure {
                    FailureMode::Open => "open".into(),
                    FailureMode::Closed => "closed".into(),
                },
            ),
            ("FLINT_RATE_LIMIT_MAX_BUCKETS", self.rate_limit_max_buckets.to_string()),
            ("FLINT_WORKFLOW_WORKERS", self.workflow_workers.to_string()),
            ("FLINT_WORKFLOW_LEASE", duration(self.workflow_lease)),
            ("FLINT_WORKFLOW_RETENTION", duration(self.workflow_retention)),
            ("FLINT_AI_BASE_URL", self.ai.as_ref().map_or_else(|| "(none: extractive summaries)".into(), |ai| ai.base_url.clone())),
            ("FLINT_AI_API_KEY", if self.ai.is_some() { "********".into() } else { "(none)".into() }),
            ("FLINT_AI_MODEL", self.ai.as_ref().map_or_else(|| "(none)".into(), |ai| ai.model.clone())),
            ("FLINT_CDN_PURGE", if self.cdn_purge.is_some() { "cloudflare".into() } else { "(none: the edge keeps pages 60 s)".into() }),
            ("FLINT_CDN_ZONE_ID", self.cdn_purge.as_ref().map_or_else(|| "(none)".into(), |c| c.zone_id.clone())),
            ("FLINT_CDN_API_TOKEN", if self.cdn_purge.is_some() { "********".into() } else { "(none)".into() }),
            ("FLINT_CDN_API_URL", self.cdn_purge.as_ref().map_or_else(|| "(unused)".into(), |c| c.api_url.clone())),
            ("FLINT_SITE_TITLE", self.site.title.clone()),
            ("FLINT_SITE_DESCRIPTION", self.site.description.clone()),
            ("FLINT_SITE_AUTHOR", self.site.author.clone()),
            ("FLINT_FEED_LIMIT", self.site.feed_limit.to_string()),
            ("FLINT_TURNSTILE_SECRET", if self.turnstile.is_some() { "********".into() } else { "(none: no Turnstile checks)".into() }),
            ("FLINT_TURNSTILE_SITE_KEY", self.turnstile.as_ref().and_then(|t| t.site_key.clone()).unwrap_or_else(|| "(none)".into())),
            ("FLINT_TURNSTILE_VERIFY_URL", self.turnstile.as_ref().map_or_else(|| "(unused)".into(), |t| t.verify_url.clone())),
            ("FLINT_GITHUB_CLIENT_ID", self.github.as_ref().map_or_else(|| "(none: no GitHub sign-in)".into(), |g| g.client_id.clone())),
            ("FLINT_GITHUB_CLIENT_SECRET", if self.github.is_some() { "********".into() } else { "(none)".into() }),
            ("FLINT_GITHUB_URL", self.github.as_ref().map_or_else(|| "(unused)".into(), |g| g.url.clone())),
            ("FLINT_GITHUB_API_URL", self.github.as_ref().map_or_else(|| "(unused)".into(), |g| g.api_url.clone())),
            ("FLINT_OIDC_ISSUER", self.oidc.as_ref().map_or_else(|| "(none: no OpenID Connect sign-in)".into(), |o| o.issuer.clone())),
            ("FLINT_OIDC_CLIENT_ID", self.oidc.as_ref().map_or_else(|| "(none)".into(), |o| o.client_id.clone())),
            ("FLINT_OIDC_CLIENT_SECRET", if self.oidc.is_some() { "********".into() } else { "(none)".into() }),
            ("FLINT_OIDC_NAME", self.oidc.as_ref().map_or_else(|| "(unused)".into(), |o| o.name.clone())),
            ("FLINT_THEME_DIR", self.theme_dir.as_ref().map_or_else(|| "(none: the embedded theme)".into(), |d| d.display().to_string())),
            (
                "FLINT_CORS_ORIGINS",
                if self.cors_origins.is_empty() { "(none: same-origin only)".into() } else { self.cors_origins.join(",") },
            ),
        ]
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in self.describe() {
            map.entry(&name, &value);
        }
        map.finish()
    }
}

/// Every `parse` produced a value when no error was recorded.
fn value<T>(parsed: Option<T>) -> T {
    parsed.expect("a value is present when no error was recorded")
}

struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<(String, String)>,
}

impl Reader<'_> {
    /// The variable's value, or the default when unset or blank.
    fn raw(&self, name: &str, default: &str) -> String {
        match (self.lookup)(name) {
            Some(v) if !v.trim().is_empty() => v.trim().to_owned(),
            _ => default.to_owned(),
        }
    }

    fn parse<T>(&mut self, name: &str, default: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        let value = self.raw(name, default);
        match parse(&value) {
            Ok(v) => Some(v),
            Err(reason) => {
                self.errors.push((name.to_owned(), reason));
                None
            }
        }
    }

    fn optional<T>(&mut self, name: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        let value = self.raw(name, "");
        if value.is_empty() {
            return None;
        }
        self.parse(name, "", |_| parse(&value))
    }
}

/// `127.0.0.1:8080`, `[::1]:8080`, or a host name with a port
/// (`localhost:8080`), resolved now; an IPv4 address is preferred, as
/// `localhost` usually means 127.0.0.1 to whoever types it.
fn parse_listen(v: &str) -> Result<SocketAddr, String> {
    if let Ok(address) = v.parse() {
        return Ok(address);
    }
    let not_an_address = || format!("'{v}' is not an address like 127.0.0.1:8080 or localhost:8080");
    let (host, port) = v.rsplit_once(':').ok_or_else(not_an_address)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(not_an_address());
    }
    let addresses: Vec<SocketAddr> =
        std::net::ToSocketAddrs::to_socket_addrs(v).map_err(|e| format!("'{v}': cannot resolve {host}: {e}"))?.collect();
    addresses.iter().find(|a| a.is_ipv4()).or(addresses.first()).copied().ok_or_else(|| format!("'{v}': {host} has no address"))
}

fn default_base_url(listen: SocketAddr) -> url::Url {
    let host = if listen.ip().is_unspecified() { "localhost".to_owned() } else { listen.ip().to_string() };
    let host = if listen.is_ipv6() && host != "localhost" { format!("[{host}]") } else { host };
    url::Url::parse(&format!("http://{host}:{}", listen.port())).expect("a socket address forms a valid URL")
}

fn parse_database_url(v: &str) -> Result<DatabaseKind, String> {
    if let Some(rest) = v.strip_prefix("sqlite://").or_else(|| v.strip_prefix("sqlite:")) {
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err("sqlite URL needs a file path, e.g. sqlite://data/flint.db".into());
        }
        Ok(DatabaseKind::Sqlite { path: path.to_owned() })
    } else if v.starts_with("postgres://") || v.starts_with("postgresql://") {
        url::Url::parse(v).map_err(|e| format!("not a valid PostgreSQL URL: {e}"))?;
        Ok(DatabaseKind::Postgres)
    } else {
        Err(format!("'{}' must start with sqlite:// or postgres://", mask_url_password(v)))
    }
}

fn parse_size(v: &str) -> Result<usize, String> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let number: usize = number.parse().map_err(|_| format!("'{v}' is not a size like 2MiB or 1048576"))?;
    let factor = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "KB" | "K" => 1024,
        "MiB" | "MB" | "M" => 1024 * 1024,
        "GiB" | "GB" | "G" => 1024 * 1024 * 1024,
        other => return Err(format!("unknown size unit '{other}' (use KiB, MiB or GiB)")),
    };
    let bytes = number.checked_mul(factor).ok_or_else(|| format!("'{v}' is too large"))?;
    if bytes < 1024 {
        return Err(format!("'{v}' is smaller than the 1KiB minimum"));
    }
    Ok(bytes)
}

fn parse_positive_duration(v: &str) -> Result<Duration, String> {
    let d = parse_duration(v)?;
    if d.is_zero() { Err("must be greater than zero".into()) } else { Ok(d) }
}

fn parse_in_range(v: &str, min: u32, max: u32) -> Result<u32, String> {
    match v.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("'{v}' must be a whole number from {min} to {max}")),
    }
}

/// A deliberately simple shape check: one `@`, something before it, a dotted domain after it.
pub fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    !local.is_empty()
        && email.len() <= 254
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

/// Replaces the password of a URL with `****` so it can be printed.
pub fn mask_url_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("****"));
            url.to_string()
        }
        _ => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn zero_configuration_is_valid() {
        let config = load(&[]).expect("defaults are valid");
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.base_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(config.database, DatabaseKind::Sqlite { path: "data/flint.db".into() });
        assert_eq!(config.body_limit, 2 * 1024 * 1024);
        assert!(!config.is_https());
    }

    #[test]
    fn unspecified_listen_address_gives_localhost_base_url() {
        let config = load(&[("FLINT_LISTEN", "0.0.0.0:3000")]).unwrap();
        assert_eq!(config.origin(), "http://localhost:3000");
    }

    #[test]
    fn every_bad_value_is_reported_with_its_name() {
        let err = load(&[
            ("FLINT_LISTEN", "nowhere"),
            ("DATABASE_URL", "mysql://x"),
            ("FLINT_REQUEST_TIMEOUT", "soon"),
            ("FLINT_TRUSTED_PROXIES", "10.0.0.0/8, banana"),
            ("FLINT_SECRET_KEY", "short"),
            ("FLINT_LOG_FORMAT", "xml"),
        ])
        .expect_err("invalid");
        let names: Vec<&str> = err.0.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["FLINT_LISTEN", "DATABASE_URL", "FLINT_SECRET_KEY", "FLINT_TRUSTED_PROXIES", "FLINT_LOG_FORMAT", "FLINT_REQUEST_TIMEOUT"]
        );
        assert!(err.to_string().contains("banana"));
    }

    #[test]
    fn secrets_and_passwords_are_masked() {
        let config = load(&[
            ("DATABASE_URL", "postgres://flint:hunter2@db:5432/flint"),
            ("FLINT_SECRET_KEY", "0123456789abcdef0123456789abcdef-secret"),
        ])
        .unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(shown.contains("postgres://flint:****@db:5432/flint"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1_048_576));
        assert_eq!(parse_size("4MiB"), Ok(4 * 1024 * 1024));
        assert!(parse_size("12").is_err());
        assert!(parse_size("3 parsecs").is_err());
    }

    #[test]
    fn env_example_and_readme_document_every_variable() {
        let example = include_str!("../../.env.example");
        for var in VARIABLES {
            assert!(example.contains(&format!("{}=", var.name)), "{} missing from .env.example", var.name);
        }
        let readme = include_str!("../../README.md");
        for var in VARIABLES {
            assert!(readme.contains(&format!("`{}`", var.name)), "{} missing from README.md", var.name);
        }
        let described: Vec<&str> = load(&[]).unwrap().describe().iter().map(|(n, _)| *n).collect();
        let documented: Vec<&str> = VARIABLES.iter().map(|v| v.name).collect();
        assert_eq!(described, documented);
        // Every variable this file reads is listed (so `check-config` shows it).
        let source = include_str!("config.rs");
        for call in ["reader.parse(\"", "reader.optional(\"", "reader.raw(\""] {
            for read in source.split(call).skip(1).filter_map(|rest| rest.split('"').next()) {
                assert!(documented.contains(&read), "{read} is read but not listed in VARIABLES");
            }
        }
    }
}
