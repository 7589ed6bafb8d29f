//! Issue 22: the public blog as readers see it, server-rendered: the home
//! page, a post's page, the styled 404, the stylesheet, caching by ETag,
//! and changes showing on the next request.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, Client, TestApp};
use crate::posts::{draft, publish};

backend_tests!(
    the_home_page_lists_posts_and_a_post_page_shows_one,
    pages_are_cached_by_etag_and_change_on_the_next_request,
    a_theme_dir_post_template_is_used,
    lists_by_tag_category_and_all_posts,
);

const CODE_POST: &str = "Intro paragraph.\n\n## Setup\n\nSome words.\n\n```rust\nfn main() { println!(\"hi\"); }\n```\n\n## Next\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nA note.[^1]\n\n[^1]: The footnote.\n";

async fn published(app: &TestApp, admin: &mut Client<'_>, title: &str, content: &str) -> String {
    let id = draft(admin, json!({"title": title, "content": content, "summary": format!("About {title}.")})).await;
    publish(app, admin, id, "published").await;
    admin.get(&format!("/_fn/findPostById?id={id}")).await.body["slug"].as_str().unwrap().to_owned()
}

fn html_of(res: &crate::helpers::Res) -> &str {
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"), "{}", res.text);
    &res.text
}

async fn the_home_page_lists_posts_and_a_post_page_shows_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    let empty = app.user().get("/").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(html_of(&empty).contains("Nothing is published yet"), "{}", empty.text);

    let slug = published(&app, &mut admin, "Code & Tables", CODE_POST).await;
    published(&app, &mut admin, "Second <Post>", "Just text.").await;
    let home = app.user().get("/").await;
    let page = html_of(&home);
    assert!(page.contains(&format!("href=\"/post/{slug}\"")), "{page}");
    assert!(page.contains("Second &lt;Post&gt;"), "titles are escaped: {page}");
    assert_eq!(page.matches("<h1").count(), 1);
    let tracked = app.user().get("/?utm_source=feed&error=INVALID_TOKEN").await;
    assert_eq!(tracked.status, StatusCode::OK, "links from elsewhere carry parameters: {}", tracked.text);

    let res = app.user().get(&format!("/post/{slug}")).await;
    assert_eq!(res.status, StatusCode::OK);
    let post = html_of(&res);
    assert!(post.contains("<h1>Code &amp; Tables</h1>"), "{post}");
    assert!(post.contains(r#"<span class="source rust">"#), "code is highlighted: {post}");
    assert!(post.contains("<table>") && post.contains("The footnote."), "{post}");
    assert!(post.contains(r#"<nav class="f-toc""#) && post.contains("Setup"), "a table of contents: {post}");
    assert!(post.contains(r#""@type":"BlogPosting""#), "JSON-LD: {post}");
    assert!(post.contains(r#"<link rel="canonical""#) && post.contains(r#"property="og:title""#));
    assert!(post.contains(r#"rel="alternate" type="application/rss+xml""#));
    assert!(post.len() <= 40 * 1024, "a post page is at most 40 KB: {}", post.len());

    // The stylesheet the page links: one file, immutable, light and dark.
    let href = post.split(r#"rel="stylesheet" href=""#).nth(1).unwrap().split('"').next().unwrap().replace("&#x2f;", "/");
    assert!(href.starts_with("/assets/style.") && href.ends_with(".css"), "{href}");
    let css = app.user().get(&href).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.header("cache-control").is_some_and(|c| c.contains("immutable")), "{:?}", css.header("cache-control"));
    assert!(css.text.contains("prefers-color-scheme: dark") && css.text.contains(".source"), "highlighter colours");
    assert!(css.text.len() <= 30 * 1024, "the CSS is at most 30 KB: {}", css.text.len());
    assert_eq!(app.user().get("/assets/style.0000.css").await.status, StatusCode::NOT_FOUND);

    let missing = app.user().get("/post/no-such-post").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(html_of(&missing).contains("Page not found"), "a styled 404: {}", missing.text);
}

async fn pages_are_cached_by_etag_and_change_on_the_next_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    let slug = published(&app, &mut admin, "First", "Hello.").await;
    let first = app.user().get("/").await;
    let etag = first.header("etag").expect("an ETag").to_owned();
    let mut reader = app.user();
    let again = reader.send(app.http.get(app.url("/")).header("if-none-match", &etag)).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);

    // A publish shows on the next request.
    published(&app, &mut admin, "Fresh News", "New.").await;
    let after = app.user().get("/").await;
    assert!(after.text.contains("Fresh News"), "{}", after.text);
    assert_ne!(after.header("etag"), Some(etag.as_str()));

    // So does a settings change (the site's title).
    let mut config: Value = admin.get("/_fn/getSystemConfig").await.body;
    config["site"]["title"] = json!("Renamed Blog");
    assert_eq!(admin.post("/_fn/updateSystemConfig", config).await.status, StatusCode::OK);
    assert!(app.user().get("/").await.text.contains("Renamed Blog"));
    assert!(app.user().get(&format!("/post/{slug}")).await.text.contains("Renamed Blog"));

    // And an unpublished post leaves at once.
    let id = admin.get(&format!("/_fn/findPostBySlugAdmin?slug={slug}")).await.body["id"].as_i64().expect("the post's id");
    publish(&app, &mut admin, id, "draft").await;
    assert_eq!(app.user().get(&format!("/post/{slug}")).await.status, StatusCode::NOT_FOUND);
}

async fn a_theme_dir_post_template_is_used(backend: Backend) {
    let theme = tempfile::tempdir().unwrap();
    std::fs::write(
        theme.path().join("post.html"),
        "{% extends \"layout.html\" %}{% block content %}<h1>Custom: {{ post.title }}</h1>{{ content_html | safe }}{% endblock %}",
    )
    .unwrap();
    let dir = theme.path().display().to_string();
    let app = TestApp::spawn_with(backend, &[("FLINT_THEME_DIR", dir.as_str())]).await;
    let mut admin = app.admin().await;
    let slug = published(&app, &mut admin, "Themed", "Body text.").await;
    let page = app.user().get(&format!("/post/{slug}")).await;
    assert!(page.text.contains("<h1>Custom: Themed</h1>") && page.text.contains("Body text."), "{}", page.text);
}

async fn lists_by_tag_category_and_all_posts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    let tagged = draft(&mut admin, json!({"title": "Tagged One", "content": "x", "category": "Notes"})).await;
    let tag = admin.post("/_fn/createTag", json!({"name": "rust lang"})).await.body["id"].as_i64().unwrap();
    admin.post("/_fn/setPostTags", json!({"postId": tagged, "tagIds": [tag]})).await;
    publish(&app, &mut admin, tagged, "published").await;
    published(&app, &mut admin, "Untagged Two", "y").await;

    let all = app.user().get("/posts").await;
    assert!(html_of(&all).contains("Tagged One") && all.text.contains("Untagged Two"), "{}", all.text);
    let by_tag = app.user().get("/tag/rust%20lang").await;
    assert_eq!(by_tag.status, StatusCode::OK, "{}", by_tag.text);
    assert!(by_tag.text.contains("Tagged One") && !by_tag.text.contains("Untagged Two"), "{}", by_tag.text);
    assert!(by_tag.text.contains("rust lang"), "the heading names the tag");
    let by_category = app.user().get("/category/Notes").await;
    assert!(by_category.text.contains("Tagged One") && !by_category.text.contains("Untagged Two"), "{}", by_category.text);
    let unknown = app.user().get("/tag/nothing-here").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(html_of(&unknown).contains("Page not found"));
    // The post page links its tag and category pages.
    let slug = admin.get(&format!("/_fn/findPostById?id={tagged}")).await.body["slug"].as_str().unwrap().to_owned();
    let post = app.user().get(&format!("/post/{slug}")).await;
    assert!(post.text.contains("href=\"/tag/rust%20lang\"") && post.text.contains("href=\"/category/Notes\""), "{}", post.text);
}
