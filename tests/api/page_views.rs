//! Issue 20 items 5-6: page views counted once per visitor and post in 30
//! minutes, never for bots, written a batch at a time; popular posts and
//! the dashboard follow them.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp};
use crate::posts::{draft, publish};

backend_tests!(views_are_batched_deduplicated_and_ranked, the_dashboard_counts_what_was_recorded);

fn browser(visitor: usize) -> String {
    format!("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 visitor-{visitor}")
}

async fn view(app: &TestApp, post: i64, user_agent: &str) -> StatusCode {
    let request = app.http.post(app.url("/_fn/recordPageView")).header("user-agent", user_agent).json(&json!({"postId": post}));
    request.send().await.unwrap().status()
}

async fn scalar(app: &TestApp, query: &'static str) -> i64 {
    flint::on_read!(&app.state.db, |pool| sqlx::query_scalar::<_, i64>(query).fetch_one(pool)).unwrap()
}

/// Waits for the open batch to leave (it does within a second) and be written.
async fn written(app: &TestApp, expected: i64) {
    let started = Instant::now();
    loop {
        app.settle().await;
        let rows = scalar(app, "SELECT COUNT(*) FROM page_views").await;
        if rows >= expected {
            assert_eq!(rows, expected, "no more than the distinct views");
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{rows} of {expected} views written");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn counts(app: &TestApp, slugs: &str) -> Value {
    let res = app.user().get(&format!("/_fn/getViewCounts?slugs={slugs}")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    res.body
}

async fn popular(app: &TestApp) -> Vec<String> {
    let res = app.user().get("/_fn/getPopularPosts?limit=3").await;
    res.body.as_array().unwrap().iter().map(|p| p["slug"].as_str().unwrap().to_owned()).collect()
}

/// Three published posts: alpha, beta, gamma (newest).
async fn posts(app: &TestApp, admin: &mut crate::helpers::Client<'_>) -> [i64; 3] {
    let mut ids = [0; 3];
    for (n, title) in ["Alpha", "Beta", "Gamma"].iter().enumerate() {
        ids[n] = draft(admin, json!({"title": title, "content": "Words to read."})).await;
        publish(app, admin, ids[n], "published").await;
        app.clock.advance(Duration::from_secs(1));
    }
    ids
}

async fn views_are_batched_deduplicated_and_ranked(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let [alpha, beta, _gamma] = posts(&app, &mut app.admin().await).await;
    assert_eq!(popular(&app).await, ["gamma", "beta", "alpha"], "without views, the newest");

    // 1,000 calls: 10 visitors, 2 posts, 50 times each.
    for round in 0..50 {
        for visitor in 0..10 {
            for post in [alpha, beta] {
                assert_eq!(view(&app, post, &browser(visitor)).await, StatusCode::OK, "round {round}");
            }
        }
    }
    // Bots, scripts, prefetches and unknown posts are not counted.
    for agent in ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "curl/8.5.0", ""] {
        assert_eq!(view(&app, alpha, agent).await, StatusCode::OK, "a bot is answered like anyone");
    }
    let prefetch = app.http.post(app.url("/_fn/recordPageView")).header("user-agent", browser(99)).header("sec-purpose", "prefetch");
    assert_eq!(prefetch.json(&json!({"postId": alpha})).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(view(&app, 99_999, &browser(1)).await, StatusCode::OK);
    written(&app, 20).await;
    let batches = scalar(&app, "SELECT COUNT(*) FROM workflow_runs WHERE name = 'page-views'").await;
    assert!((1..=5).contains(&batches), "1,000 calls arrive in a few inserts, not 1,000: {batches}");
    assert_eq!(counts(&app, "alpha,beta,gamma").await, json!({"alpha": 10, "beta": 10}));

    // The same visitor again: not within 30 minutes, but after.
    view(&app, alpha, &browser(0)).await;
    app.state.batches.flush::<flint::features::page_views::schema::PageView>(&app.state).await;
    app.settle().await;
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM page_views").await, 20, "a repeat within 30 minutes counts once");
    app.clock.advance(Duration::from_secs(31 * 60));
    view(&app, alpha, &browser(0)).await;
    written(&app, 21).await;
    assert_eq!(counts(&app, "alpha").await, json!({"alpha": 11}), "the counts follow each batch");

    // Popular posts follow the views: three more readers of beta.
    for visitor in 10..13 {
        view(&app, beta, &browser(visitor)).await;
    }
    written(&app, 24).await;
    assert_eq!(popular(&app).await, ["beta", "alpha", "gamma"], "by views, then the newest fill in");

    // Limits on what a stranger sends.
    let slugs = (0..51).map(|n| format!("s{n}")).collect::<Vec<_>>().join(",");
    assert_eq!(app.user().get(&format!("/_fn/getViewCounts?slugs={slugs}")).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad = app.http.post(app.url("/_fn/recordPageView")).header("user-agent", browser(1)).json(&json!({"postId": -1}));
    assert_eq!(bad.send().await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn the_dashboard_counts_what_was_recorded(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    let [alpha, beta, gamma] = posts(&app, &mut admin).await;
    draft(&mut admin, json!({"title": "Unfinished", "content": "Later."})).await;
    let mut reader = app.signed_up("reader@example.com", "Reader").await;
    // No AI endpoint: the comment waits for an admin.
    let res = reader.post("/_fn/createComment", json!({"postId": alpha, "content": "Nice"})).await;
    assert_eq!(res.body["status"], "pending", "{}", res.text);

    for (post, readers) in [(alpha, 4), (beta, 7), (gamma, 2)] {
        for visitor in 0..readers {
            view(&app, post, &browser(visitor)).await;
        }
    }
    written(&app, 13).await;
    let res = admin.post("/_fn/refreshDashboardCache", json!({})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let stats = &res.body["stats"];
    assert_eq!(stats["pendingComments"], 1);
    assert_eq!((stats["publishedPosts"].as_i64(), stats["drafts"].as_i64()), (Some(3), Some(1)), "{}", res.text);
    let day = &res.body["trafficByRange"]["24h"];
    assert_eq!(day["overview"]["pageViews"], json!({"value": 13, "prev": 0}), "{day}");
    assert_eq!(day["overview"]["visitors"]["value"], 7, "seven distinct readers");
    let by_hour: i64 = day["traffic"].as_array().unwrap().iter().map(|p| p["views"].as_i64().unwrap()).sum();
    assert_eq!(by_hour, 13);
    assert_eq!(day["topPages"][0], json!({"slug": "beta", "title": "Beta", "views": 7}));
    assert_eq!(res.body["trafficByRange"]["90d"]["overview"]["pageViews"]["value"], 13);
    let activities = res.body["activities"].as_array().unwrap();
    assert!(
        activities.len() <= 10
            && activities.iter().any(|a| a["type"] == "comment" && a["text"] == "Reader commented on \u{201c}Alpha\u{201d}")
    );

    // Cached until refreshed.
    view(&app, gamma, &browser(50)).await;
    written(&app, 14).await;
    let cached = admin.get("/_fn/getDashboardStats").await.body;
    assert_eq!(cached["trafficByRange"]["24h"]["overview"]["pageViews"]["value"], 13);
    let fresh = admin.post("/_fn/refreshDashboardCache", json!({})).await.body;
    assert_eq!(fresh["trafficByRange"]["24h"]["overview"]["pageViews"]["value"], 14);
    assert_eq!(reader.get("/_fn/getDashboardStats").await.status, StatusCode::FORBIDDEN);
}
