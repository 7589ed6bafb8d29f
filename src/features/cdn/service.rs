//! Which URLs a change makes stale, and the call that purges them.

use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::platform::config::CdnPurgeConfig;
use crate::platform::state::DbCtx;

/// URLs per purge call (Cloudflare's limit on the smallest plans).
pub const URLS_PER_CALL: usize = 30;

/// The cacheable URLs of the public post at `slug` a purge can reach (its
/// detail at both of the API's addresses), absolute under the site's base.
pub fn post_urls(base: &url::Url, slug: &str) -> Vec<String> {
    let mut detail = base.clone();
    detail
        .path_segments_mut()
        .map(|mut p| {
            p.pop_if_empty().extend(["api", "post", slug]);
        })
        .ok();
    let mut by_query = base.clone();
    by_query
        .path_segments_mut()
        .map(|mut p| {
            p.pop_if_empty().extend(["_fn", "findPostBySlug"]);
        })
        .ok();
    by_query.query_pairs_mut().clear().append_pair("slug", slug);
    vec![detail.to_string(), by_query.to_string()]
}

/// Purges the URLs of the posts at `slugs`; does nothing without a purge
/// configured. An error (the API refused or was unreachable) is for the
/// caller to retry: the URLs stay stale at the edge until it succeeds.
pub async fn purge_posts(app: &DbCtx, slugs: &[String]) -> anyhow::Result<usize> {
    let Some(config) = &app.config.cdn_purge else { return Ok(0) };
    let mut urls: Vec<String> = slugs.iter().flat_map(|slug| post_urls(&app.config.base_url, slug)).collect();
    urls.sort_unstable();
    urls.dedup();
    for chunk in urls.chunks(URLS_PER_CALL) {
        purge(config, chunk).await?;
    }
    Ok(urls.len())
}

/// Purges everything cached for the zone; `false` without a purge configured.
pub async fn purge_everything(app: &DbCtx) -> anyhow::Result<bool> {
    let Some(config) = &app.config.cdn_purge else { return Ok(false) };
    call(config, &json!({ "purge_everything": true })).await?;
    Ok(true)
}

async fn purge(config: &CdnPurgeConfig, urls: &[String]) -> anyhow::Result<()> {
    call(config, &json!({ "files": urls })).await
}

async fn call(config: &CdnPurgeConfig, body: &Value) -> anyhow::Result<()> {
    crate::platform::ai::install_crypto_provider();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .user_agent(concat!("flint/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the CDN purge client")?;
    let endpoint = format!("{}/zones/{}/purge_cache", config.api_url, config.zone_id);
    let response =
        http.post(&endpoint).bearer_auth(config.api_token.expose_secret()).json(body).send().await.context("calling the CDN purge API")?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() || body["success"] != Value::Bool(true) {
        let errors = body["errors"].to_string();
        anyhow::bail!("the CDN purge API answered {status}: {errors}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_has_two_purgeable_urls() {
        let base = url::Url::parse("https://blog.example/").unwrap();
        assert_eq!(
            post_urls(&base, "hello-世界"),
            [
                "https://blog.example/api/post/hello-%E4%B8%96%E7%95%8C",
                "https://blog.example/_fn/findPostBySlug?slug=hello-%E4%B8%96%E7%95%8C"
            ]
        );
        let nested = url::Url::parse("https://example.org/blog/").unwrap();
        assert_eq!(post_urls(&nested, "a")[0], "https://example.org/blog/api/post/a");
    }
}
