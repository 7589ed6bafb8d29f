//! HTTP caching strategies with the original's exact header values (spec
//! §5.3): `Cache-Control` for browsers, `CDN-Cache-Control` for the edge.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use schemars::JsonSchema;
use serde::Serialize;

pub static CDN_CACHE_CONTROL: HeaderName = HeaderName::from_static("cdn-cache-control");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum CachePolicy {
    /// Browsers revalidate every time; the CDN keeps it a minute and may
    /// serve it a little longer while it fetches a fresh copy. For responses
    /// a purge cannot reach (lists: every query string is its own URL).
    Public,
    /// Public, and at one exact URL a purge can reach (a post's detail):
    /// the CDN keeps it until purged when purging is configured
    /// (`FLINT_CDN_PURGE`), else as [`CachePolicy::Public`].
    UntilPurged,
    /// Like public, with a short CDN lifetime and a long stale window.
    Swr,
    /// Content-addressed: never changes.
    Immutable,
    /// Site documents (feeds, sitemaps, the manifest): browsers and the CDN
    /// keep them an hour.
    Hourly,
    /// Site documents that change with configuration only (robots.txt): a day.
    Daily,
    /// Per-user or sensitive: nobody stores it.
    Private,
    /// A 404: the CDN may keep it briefly.
    NotFound,
    /// A 5xx: the CDN may keep it briefly to shield the origin.
    ServerError,
}

impl CachePolicy {
    /// The policy for a response that did not succeed: 404 and 5xx may be
    /// cached briefly at the edge; every other status is private.
    pub fn for_error_status(status: StatusCode) -> CachePolicy {
        if status == StatusCode::NOT_FOUND {
            CachePolicy::NotFound
        } else if status.is_server_error() {
            CachePolicy::ServerError
        } else {
            CachePolicy::Private
        }
    }

    /// The policy as sent on this site: without CDN purges nothing may be
    /// kept at the edge until purged.
    pub fn on_site(self, purges: bool) -> CachePolicy {
        match self {
            CachePolicy::UntilPurged if !purges => CachePolicy::Public,
            other => other,
        }
    }

    /// Whether a successful GET of this policy gets an ETag and 304s.
    pub fn is_public(self) -> bool {
        !matches!(self, CachePolicy::Private | CachePolicy::NotFound | CachePolicy::ServerError)
    }

    /// Sets both headers, replacing any present.
    pub fn apply(self, headers: &mut HeaderMap) {
        // Validated at compile time: `from_static` outside a const checks
        // every byte on each call, and this runs on every response.
        const fn values(browser: &'static str, cdn: &'static str) -> [HeaderValue; 2] {
            [HeaderValue::from_static(browser), HeaderValue::from_static(cdn)]
        }
        const PUBLIC: [HeaderValue; 2] = values("public, max-age=0, must-revalidate", "public, s-maxage=60, stale-while-revalidate=300");
        const UNTIL_PURGED: [HeaderValue; 2] = values("public, max-age=0, must-revalidate", "public, s-maxage=31536000");
        const SWR: [HeaderValue; 2] = values("public, max-age=0, must-revalidate", "public, s-maxage=1, stale-while-revalidate=604800");
        const IMMUTABLE: [HeaderValue; 2] = values("public, max-age=31536000, immutable", "public, max-age=31536000, immutable");
        const HOURLY: [HeaderValue; 2] = values("public, max-age=3600, s-maxage=3600", "public, s-maxage=3600");
        const DAILY: [HeaderValue; 2] = values("public, max-age=86400, s-maxage=86400", "public, s-maxage=86400");
        const PRIVATE: [HeaderValue; 2] = values("private, no-store, no-cache, must-revalidate", "private, no-store");
        const BRIEF: [HeaderValue; 2] = values("public, max-age=0, must-revalidate", "public, s-maxage=10");
        let [browser, cdn] = match self {
            CachePolicy::Public => PUBLIC,
            CachePolicy::UntilPurged => UNTIL_PURGED,
            CachePolicy::Swr => SWR,
            CachePolicy::Immutable => IMMUTABLE,
            CachePolicy::Hourly => HOURLY,
            CachePolicy::Daily => DAILY,
            CachePolicy::Private => PRIVATE,
            CachePolicy::NotFound | CachePolicy::ServerError => BRIEF,
        };
        headers.insert(header::CACHE_CONTROL, browser);
        headers.insert(CDN_CACHE_CONTROL.clone(), cdn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_statuses_map_to_policies() {
        assert_eq!(CachePolicy::for_error_status(StatusCode::NOT_FOUND), CachePolicy::NotFound);
        assert_eq!(CachePolicy::for_error_status(StatusCode::BAD_GATEWAY), CachePolicy::ServerError);
        assert_eq!(CachePolicy::for_error_status(StatusCode::UNAUTHORIZED), CachePolicy::Private);
        assert_eq!(CachePolicy::for_error_status(StatusCode::OK), CachePolicy::Private);
    }

    #[test]
    fn policies_carry_the_original_values() {
        let cases = [
            (CachePolicy::Public, "public, max-age=0, must-revalidate", "public, s-maxage=60, stale-while-revalidate=300"),
            (CachePolicy::UntilPurged, "public, max-age=0, must-revalidate", "public, s-maxage=31536000"),
            (CachePolicy::Swr, "public, max-age=0, must-revalidate", "public, s-maxage=1, stale-while-revalidate=604800"),
            (CachePolicy::Immutable, "public, max-age=31536000, immutable", "public, max-age=31536000, immutable"),
            (CachePolicy::Hourly, "public, max-age=3600, s-maxage=3600", "public, s-maxage=3600"),
            (CachePolicy::Daily, "public, max-age=86400, s-maxage=86400", "public, s-maxage=86400"),
            (CachePolicy::NotFound, "public, max-age=0, must-revalidate", "public, s-maxage=10"),
            (CachePolicy::ServerError, "public, max-age=0, must-revalidate", "public, s-maxage=10"),
        ];
        for (policy, browser, cdn) in cases {
            let mut headers = HeaderMap::new();
            policy.apply(&mut headers);
            assert_eq!(headers[header::CACHE_CONTROL], browser, "{policy:?}");
            assert_eq!(headers[&CDN_CACHE_CONTROL], cdn, "{policy:?}");
        }
    }

    #[test]
    fn nothing_waits_for_a_purge_that_is_not_configured() {
        assert_eq!(CachePolicy::UntilPurged.on_site(false), CachePolicy::Public);
        assert_eq!(CachePolicy::UntilPurged.on_site(true), CachePolicy::UntilPurged);
        assert_eq!(CachePolicy::Hourly.on_site(false), CachePolicy::Hourly);
    }

    #[test]
    fn private_is_never_stored() {
        let mut headers = HeaderMap::new();
        CachePolicy::Private.apply(&mut headers);
        assert_eq!(headers[header::CACHE_CONTROL], "private, no-store, no-cache, must-revalidate");
        assert_eq!(headers[&CDN_CACHE_CONTROL], "private, no-store");
    }
}
