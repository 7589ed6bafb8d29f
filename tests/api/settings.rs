//! Issue 19 item 1: the site's settings in the database, seen at once by
//! pages and by every process, with secrets never sent back.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, Server, TestApp, test_redis_url, unique_prefix};

backend_tests!(
    a_new_title_is_in_the_feeds_at_once,
    secrets_never_leave_and_the_mask_keeps_them,
    invalid_settings_are_refused_by_field,
    another_process_sees_a_change_through_redis,
);

async fn rss(base: &str) -> String {
    reqwest::get(format!("{base}/rss.xml")).await.unwrap().text().await.unwrap()
}

async fn a_new_title_is_in_the_feeds_at_once(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_SITE_TITLE", "From The Environment"), ("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    // Before any save, the environment's title is the default.
    assert!(rss(&app.base).await.contains("<title>From The Environment</title>"));
    let mut config = admin.get("/_fn/getSystemConfig").await.body;
    assert_eq!(config["site"]["title"], "From The Environment");
    assert_eq!(config["email"]["port"], 465, "the spec's defaults: {config}");
    assert_eq!(config["notification"]["admin"]["channels"], json!({"email": true, "webhook": true}));

    config["site"]["title"] = json!("  A Better Name ");
    config["site"]["description"] = json!("Notes & essays");
    let res = admin.post("/_fn/updateSystemConfig", config).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    // No restart, no worker: the next request shows it.
    let feed = rss(&app.base).await;
    assert!(feed.contains("<title>A Better Name</title>"), "{feed}");
    assert!(feed.contains("<description>Notes &amp; essays</description>"));
    let manifest: Value = reqwest::get(app.url("/site.webmanifest")).await.unwrap().json().await.unwrap();
    assert_eq!(manifest["name"], "A Better Name");
    let public = app.user().get("/_fn/getSiteConfig").await;
    assert_eq!(public.body["title"], "A Better Name", "trimmed: {}", public.text);
    assert!(public.body.get("email").is_none(), "the public part is the site only");
    assert_eq!(app.user().get("/_fn/getSiteDomain").await.body, json!("127.0.0.1"));
    // Nobody else may read or write them.
    assert_eq!(app.user().get("/_fn/getSystemConfig").await.status, StatusCode::UNAUTHORIZED);
    let mut reader = app.signed_up("reader@example.com", "Reader").await;
    assert_eq!(reader.post("/_fn/updateSystemConfig", json!({})).await.status, StatusCode::FORBIDDEN);
}

async fn secrets_never_leave_and_the_mask_keeps_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    let mut config = admin.get("/_fn/getSystemConfig").await.body;
    config["email"] = json!({"host": "smtp.example.com", "port": 587, "username": "blog", "password": "smtp-password-91",
                             "senderName": "Blog", "senderAddress": "blog@example.com"});
    config["notification"]["webhooks"] = json!([
        {"id": "chat", "name": "Chat", "url": "https://hooks.example.com/a", "enabled": true,
         "secret": "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "events": ["comment.admin_root_created"]},
        {"id": "new", "name": "New", "url": "https://hooks.example.com/b", "enabled": false, "secret": "", "events": []}
    ]);
    let res = admin.post("/_fn/updateSystemConfig", config).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);

    let read = admin.get("/_fn/getSystemConfig").await;
    assert!(!read.text.contains("smtp-password-91"), "{}", read.text);
    assert!(!read.text.contains("whsec_"), "no webhook secret: {}", read.text);
    assert_eq!(read.body["email"]["password"], "********");
    assert_eq!(read.body["notification"]["webhooks"][0]["secret"], "********");

    // Saved back as read (with another change): every secret is kept.
    let mut config = read.body.clone();
    config["site"]["title"] = json!("Changed");
    assert_eq!(admin.post("/_fn/updateSystemConfig", config).await.status, StatusCode::OK);
    let stored = flint::features::settings::service::settings(&app.ctx()).await.unwrap().config;
    assert_eq!(stored.email.password, "smtp-password-91");
    assert_eq!(stored.notification.webhooks[0].secret, "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0");
    let made = &stored.notification.webhooks[1].secret;
    assert!(made.starts_with("whsec_") && made.len() > 30, "an empty secret was made: {made}");
    assert_eq!(stored.site.title, "Changed");
}

async fn invalid_settings_are_refused_by_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    let mut config = admin.get("/_fn/getSystemConfig").await.body;
    config["site"]["title"] = json!("");
    config["email"]["senderAddress"] = json!("not an address");
    config["site"]["icons"]["faviconIco"] = json!("https://elsewhere.example/favicon.ico");
    config["notification"]["webhooks"] =
        json!([{"id": "x", "name": "X", "url": "ftp://example.com", "enabled": true, "secret": "", "events": ["friend_link.approved"]}]);
    let res = admin.post("/_fn/updateSystemConfig", config).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
    let fields = res.body["error"]["fields"].as_object().unwrap();
    for field in
        ["site.title", "email.senderAddress", "site.icons.faviconIco", "notification.webhooks[0].url", "notification.webhooks[0].events"]
    {
        assert!(fields.contains_key(field), "{field} in {fields:?}");
    }
}

async fn another_process_sees_a_change_through_redis(backend: Backend) {
    let Some(redis) = test_redis_url() else { return };
    let prefix = unique_prefix();
    let vars = [("REDIS_URL", redis.as_str()), ("FLINT_REDIS_PREFIX", prefix.as_str())];
    let app = TestApp::spawn_with(backend, &vars).await;
    let other = Server::start_env(&app.database.url, "0", std::process::Stdio::null(), &vars).await;
    let title = |base: String| async move {
        reqwest::get(format!("{base}/_fn/getSiteConfig")).await.unwrap().json::<Value>().await.unwrap()["title"].clone()
    };
    // Both have read (and cached) the old settings.
    assert_eq!(title(other.base.clone()).await, json!("flint"));
    assert!(rss(&other.base).await.contains("<title>flint</title>"));
    let mut admin = app.admin().await;
    let mut config = admin.get("/_fn/getSystemConfig").await.body;
    config["site"]["title"] = json!("Seen Everywhere");
    assert_eq!(admin.post("/_fn/updateSystemConfig", config).await.status, StatusCode::OK);
    assert_eq!(title(other.base.clone()).await, json!("Seen Everywhere"), "the other process reads the new settings");
    assert!(rss(&other.base).await.contains("<title>Seen Everywhere</title>"));
    other.kill();
}
