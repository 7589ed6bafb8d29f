//! CDN purges against a local stand-in for Cloudflare's purge-by-URL API:
//! what a publish, a slug change and a delete purge, and the edge lifetimes
//! sent with and without purging.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, Client, TestApp};

backend_tests!(publishes_slug_changes_and_deletes_purge_the_post_urls);

/// Every purge call the stand-in received: `(zone, authorization, files)`.
type Calls = Arc<Mutex<Vec<(String, String, Vec<String>)>>>;

/// Answers like Cloudflare's `POST /zones/{zone}/purge_cache`; the first
/// `fail_first` calls get a 500.
async fn fake_cloudflare(fail_first: usize) -> (String, Calls) {
    let calls: Calls = Arc::default();
    let failures = Arc::new(Mutex::new(fail_first));
    let router = axum::Router::new()
        .route(
            "/client/v4/zones/{zone}/purge_cache",
            post(
                |State((calls, failures)): State<(Calls, Arc<Mutex<usize>>)>,
                 Path(zone): Path<String>,
                 headers: HeaderMap,
                 body: String| async move {
                    {
                        let mut left = failures.lock().unwrap();
                        if *left > 0 {
                            *left -= 1;
                            return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({"success": false, "errors": [{"code": 1}]})));
                        }
                    }
                    let body: Value = serde_json::from_str(&body).unwrap();
                    let files = body["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_owned()).collect();
                    let auth = headers.get("authorization").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
                    calls.lock().unwrap().push((zone, auth, files));
                    (StatusCode::OK, axum::Json(json!({"success": true, "errors": [], "messages": [], "result": {"id": "x"}})))
                },
            ),
        )
        .with_state((calls.clone(), failures));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}/client/v4"), calls)
}

fn urls(slug: &str) -> Vec<String> {
    vec![format!("https://blog.example/_fn/findPostBySlug?slug={slug}"), format!("https://blog.example/api/post/{slug}")]
}

/// The files of every purge since the last look, sorted.
fn purged(calls: &Calls) -> Vec<String> {
    let mut calls = calls.lock().unwrap();
    for (zone, auth, _) in calls.iter() {
        assert_eq!((zone.as_str(), auth.as_str()), ("zone0123", "Bearer purge-token"));
    }
    let mut files: Vec<String> = calls.drain(..).flat_map(|(_, _, files)| files).collect();
    files.sort();
    files
}

async fn publish(app: &TestApp, admin: &mut Client<'_>, id: i64) {
    let res = admin.post("/_fn/startPostProcessWorkflow", json!({"id": id, "status": "published"})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    app.settle().await;
}

async fn publishes_slug_changes_and_deletes_purge_the_post_urls(backend: Backend) {
    let (api, calls) = fake_cloudflare(1).await;
    let app = TestApp::spawn_with(
        backend,
        &[
            ("FLINT_WORKFLOW_WORKERS", "0"),
            ("FLINT_BASE_URL", "https://blog.example"),
            ("FLINT_CDN_PURGE", "cloudflare"),
            ("FLINT_CDN_ZONE_ID", "zone0123"),
            ("FLINT_CDN_API_TOKEN", "purge-token"),
            ("FLINT_CDN_API_URL", &api),
        ],
    )
    .await;
    let mut admin = app.admin().await;
    let id = admin.post("/_fn/createEmptyPost", json!({})).await.body["id"].as_i64().unwrap();
    admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": "First", "slug": "first", "content": "text"}})).await;
    publish(&app, &mut admin, id).await;
    assert!(purged(&calls).is_empty(), "the stand-in refused the first call");
    app.clock.advance(std::time::Duration::from_secs(15));
    app.settle().await;
    assert_eq!(purged(&calls), urls("first"), "retried, then the new post's URLs");

    // With purges, a detail is kept at the edge until purged; a list is not.
    let detail = app.user().get("/api/post/first").await;
    assert_eq!(detail.header("cdn-cache-control"), Some("public, s-maxage=31536000"));
    let list = app.user().get("/api/posts").await;
    assert_eq!(list.header("cdn-cache-control"), Some("public, s-maxage=60, stale-while-revalidate=300"));

    admin.post("/_fn/updatePost", json!({"id": id, "data": {"slug": "second"}})).await;
    assert!(purged(&calls).is_empty(), "an edit alone changes nothing readers see");
    publish(&app, &mut admin, id).await;
    let mut both = urls("first");
    both.extend(urls("second"));
    both.sort();
    assert_eq!(purged(&calls), both, "a slug change purges the old and the new address");

    admin.post("/_fn/deletePost", json!({"id": id})).await;
    app.settle().await;
    assert_eq!(purged(&calls), urls("second"), "a delete purges where the post was");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_purges_nothing_stays_at_the_edge_longer_than_a_minute() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    let id = admin.post("/_fn/createEmptyPost", json!({})).await.body["id"].as_i64().unwrap();
    admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": "Only", "slug": "only", "content": "text"}})).await;
    publish(&app, &mut admin, id).await;
    for path in ["/api/post/only", "/_fn/findPostBySlug?slug=only", "/api/posts", "/api/tags", "/_fn/getPinnedPosts"] {
        let res = app.user().get(path).await;
        assert_eq!(res.status, StatusCode::OK, "{path}");
        assert_eq!(res.header("cdn-cache-control"), Some("public, s-maxage=60, stale-while-revalidate=300"), "{path}");
    }
}
