//! Issue 23: the admin in the browser. So far the dashboard and the posts
//! screen: who may see them (others are sent to sign in), what they show,
//! and that nobody keeps them.

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp};
use crate::posts::{draft, publish};

backend_tests!(
    the_dashboard_is_for_admins_and_sends_others_to_sign_in,
    the_dashboard_shows_the_counts_activity_and_traffic,
    the_posts_screen_lists_filters_and_pages,
);

async fn the_dashboard_is_for_admins_and_sends_others_to_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anonymous = app.user().get("/admin?range=30d").await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.header("location"), Some("/sign-in?next=%2Fadmin%3Frange%3D30d"));
    assert!(anonymous.header("cache-control").is_some_and(|c| c.starts_with("private, no-store")));

    let mut reader = app.signed_up("reader@example.com", "Rita").await;
    let refused = reader.get("/admin").await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert_eq!(refused.header("location"), Some("/sign-in?next=%2Fadmin%3Frange%3D7d&error=PERMISSION_DENIED"));
    let words = app.user().get("/sign-in?next=%2Fadmin&error=PERMISSION_DENIED").await;
    assert!(words.text.contains("for the blog&#x27;s admins"), "{}", words.text);

    let mut admin = app.admin().await;
    let page = admin.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(page.header("cache-control").is_some_and(|c| c.starts_with("private, no-store")), "never kept by anyone");
    assert!(page.text.contains("<h1>Dashboard</h1>") && page.text.contains("Admin"), "{}", page.text);
    assert_eq!(admin.get("/admin?range=1y").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    // An API token is for scripts, not for the admin's screens.
    let token = admin.post("/_fn/createApiToken", json!({"name": "script", "scopes": ["analytics:read"]})).await;
    let mut script = app.user();
    script.bearer = Some(token.body["token"].as_str().unwrap_or_else(|| panic!("{}", token.text)).to_owned());
    assert_eq!(script.get("/admin").await.status, StatusCode::FORBIDDEN);
}

async fn the_dashboard_shows_the_counts_activity_and_traffic(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    let id = draft(&mut admin, json!({"title": "Counted <post>", "content": "Words."})).await;
    publish(&app, &mut admin, id, "published").await;
    draft(&mut admin, json!({"title": "Still a draft"})).await;
    app.settle().await;

    let page = admin.get("/admin?range=24h").await;
    let html = &page.text;
    assert!(html.contains("<strong>1</strong> <span>published posts</span>"), "{html}");
    assert!(html.contains("<strong>1</strong> <span>drafts</span>"), "{html}");
    assert!(html.contains("Traffic: Last 24 hours") && html.contains(r#"aria-current="true">Last 24 hours"#), "{html}");
    assert!(html.contains(r#"<svg class="a-chart""#) && html.contains(r#"role="img""#), "a chart drawn on the server: {html}");
    assert!((24..=25).contains(&html.matches("<rect").count()), "one bar per hour (the ends are partial hours): {html}");
    assert!(html.contains("Published \u{201c}Counted &lt;post&gt;\u{201d}"), "the latest activity, escaped: {html}");
    let week = admin.get("/admin").await.text;
    assert!(week.contains("Traffic: Last 7 days") && week.matches("<rect").count() >= 7, "{week}");
}

async fn the_posts_screen_lists_filters_and_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anonymous = app.user().get("/admin/posts?q=x&status=draft").await;
    assert_eq!(anonymous.header("location"), Some("/sign-in?next=%2Fadmin%2Fposts%3Fq%3Dx%26status%3Ddraft%26page%3D1"));
    let mut admin = app.admin().await;
    let live = draft(&mut admin, json!({"title": "Live & well", "content": "Words.", "tags": ["Rust"], "category": "Notes"})).await;
    publish(&app, &mut admin, live, "published").await;
    let page = draft(&mut admin, json!({"title": "About", "slug": "about", "kind": "page"})).await;
    publish(&app, &mut admin, page, "published").await;
    for n in 0..20 {
        draft(&mut admin, json!({"title": format!("Draft {n:02}")})).await;
    }

    let first = admin.get("/admin/posts").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert!(first.header("cache-control").is_some_and(|c| c.starts_with("private, no-store")));
    let html = &first.text;
    assert!(html.contains("22 posts.") && html.matches("<tr>").count() == 21, "20 rows and the head: {html}");
    assert!(html.contains(r#"href="&#x2f;admin&#x2f;posts?page=2""#) || html.contains("page=2"), "{html}");
    let second = admin.get("/admin/posts?page=2").await.text;
    assert!(second.contains("Live &amp; well") && second.contains(r#"<span class="a-tag">page</span>"#), "{second}");
    assert!(second.contains("rel=\"prev\"") && !second.contains("rel=\"next\""), "{second}");

    let drafts = admin.get("/admin/posts?status=draft").await.text;
    assert!(drafts.contains("20 posts match") && !drafts.contains("Live &amp; well"), "{drafts}");
    let published = admin.get("/admin/posts?status=published").await.text;
    assert!(published.contains("2 posts match") && published.contains("Published "), "{published}");
    assert!(published.contains(r#"href="&#x2f;post&#x2f;live-well""#) && published.contains(r#"href="&#x2f;about""#), "{published}");
    let found = admin.get("/admin/posts?q=draft%2007").await.text;
    assert!(found.contains("1 post matches") && found.contains("Draft 07"), "{found}");
    assert!(admin.get("/admin/posts?status=").await.text.contains("22 posts."), "the empty choice is every status");
    assert_eq!(admin.get("/admin/posts?page=0").await.status, StatusCode::UNPROCESSABLE_ENTITY);

    // By tag (any case) and by category, alone or with the rest.
    let tagged = admin.get("/admin/posts?tag=rust").await.text;
    assert!(tagged.contains("1 post matches") && tagged.contains("Live &amp; well") && tagged.contains("<td>Notes</td>"), "{tagged}");
    let filed = admin.get("/admin/posts?category=Notes&status=published").await.text;
    assert!(filed.contains("1 post matches") && filed.contains(r#"name="category" value="Notes""#), "{filed}");
    assert!(admin.get("/admin/posts?category=Notes&status=draft").await.text.contains("0 posts match"));
    assert!(admin.get("/admin/posts?tag=nothing").await.text.contains("No posts here."));
    // The JSON list takes the same filters.
    let listed = admin.get("/_fn/getPosts?tag=RUST&category=Notes").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body.as_array().map(Vec::len), Some(1), "{}", listed.text);
}
