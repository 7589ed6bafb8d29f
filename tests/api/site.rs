//! Site documents over HTTP: feeds parsed by a real feed parser, sitemap,
//! robots, manifest, HEAD, cache headers, and what is (not) in them.

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, Client, TestApp};

async fn publish(app: &TestApp, admin: &mut Client<'_>, fields: serde_json::Value) -> i64 {
    let id = admin.post("/_fn/createEmptyPost", json!({})).await.body["id"].as_i64().unwrap();
    let res = admin.post("/_fn/updatePost", json!({"id": id, "data": fields})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    admin.post("/_fn/startPostProcessWorkflow", json!({"id": id, "status": "published"})).await;
    app.state.workflows.run_due().await.unwrap();
    id
}

fn parse(text: &str) -> feed_rs::model::Feed {
    feed_rs::parser::parse(text.as_bytes()).unwrap_or_else(|e| panic!("not a valid feed ({e}):\n{text}"))
}

backend_tests!(feeds_and_sitemap_list_public_posts, robots_manifest_and_head, large_sitemaps_become_an_index_of_parts);

async fn large_sitemaps_become_an_index_of_parts(backend: Backend) {
    use flint::features::site::service::{sitemap_in_parts_of, sitemap_part_in_parts_of};
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0"), ("FLINT_BASE_URL", "https://blog.example")]).await;
    let mut admin = app.admin().await;
    for i in 0..7 {
        publish(&app, &mut admin, json!({"title": format!("P{i}"), "slug": format!("p{i}"), "content": "x"})).await;
    }
    let text = |body: flint::platform::cache::CachedBody| String::from_utf8(body.body.to_vec()).unwrap();
    // 2 fixed pages + 7 posts = 9 URLs: in parts of 4 that is 3 parts.
    let index = text(sitemap_in_parts_of(&app.ctx(), 4).await.unwrap());
    assert!(index.contains("<sitemapindex"), "{index}");
    let parts: Vec<&str> = index.split("<loc>").skip(1).map(|s| s.split("</loc>").next().unwrap()).collect();
    assert_eq!(parts, ["https://blog.example/sitemap/1.xml", "https://blog.example/sitemap/2.xml", "https://blog.example/sitemap/3.xml"]);
    let mut urls = Vec::new();
    for n in 1..=3 {
        let part = text(sitemap_part_in_parts_of(&app.ctx(), n, 4).await.unwrap().expect("a part"));
        assert!(part.contains("<urlset"));
        urls.extend(part.split("<loc>").skip(1).map(|s| s.split("</loc>").next().unwrap().to_owned()));
    }
    assert_eq!(urls.len(), 9, "every URL exactly once across the parts: {urls:?}");
    assert_eq!(urls[..2], ["https://blog.example/", "https://blog.example/posts"]);
    let distinct: std::collections::HashSet<_> = urls.iter().collect();
    assert_eq!(distinct.len(), 9);
    assert!(sitemap_part_in_parts_of(&app.ctx(), 4, 4).await.unwrap().is_none());
}

async fn feeds_and_sitemap_list_public_posts(backend: Backend) {
    let vars = [
        ("FLINT_WORKFLOW_WORKERS", "0"),
        ("FLINT_BASE_URL", "https://blog.example"),
        ("FLINT_SITE_TITLE", "Example & Co"),
        ("FLINT_SITE_DESCRIPTION", "Notes <and> more"),
    ];
    let app = TestApp::spawn_with(backend, &vars).await;
    let mut admin = app.admin().await;
    // Writes from the configured https origin pass the CSRF check; this client sends no Origin at all.
    let tag = admin.post("/_fn/createTag", json!({"name": "rust & co"})).await.body["id"].as_i64().unwrap();
    let first =
        publish(&app, &mut admin, json!({"title": "First <post>", "slug": "first", "content": "# Hi\n\nBody with `<code>` & more."})).await;
    admin.post("/_fn/setPostTags", json!({"postId": first, "tagIds": [tag]})).await;
    admin.post("/_fn/startPostProcessWorkflow", json!({"id": first, "status": "published"})).await;
    app.state.workflows.run_due().await.unwrap();
    publish(&app, &mut admin, json!({"title": "中文文章", "slug": "中文", "content": "你好"})).await;
    publish(&app, &mut admin, json!({"title": "Hidden", "slug": "hidden", "content": "x", "visibility": "unlisted"})).await;
    let later = flint::platform::clock::to_rfc3339(app.clock.now_ms() + 86_400_000);
    publish(&app, &mut admin, json!({"title": "Future", "slug": "future", "content": "x", "publishedAt": later})).await;
    admin.post("/_fn/createEmptyPost", json!({})).await;

    let mut reader = app.user();
    for (path, content_type) in
        [("/rss.xml", "application/rss+xml"), ("/atom.xml", "application/atom+xml"), ("/feed.json", "application/feed+json")]
    {
        let res = reader.get(path).await;
        assert_eq!(res.status, StatusCode::OK, "{path}");
        assert!(res.header("content-type").unwrap().starts_with(content_type), "{path}");
        assert_eq!(res.header("cache-control"), Some("public, max-age=3600, s-maxage=3600"));
        assert_eq!(res.header("cdn-cache-control"), Some("public, s-maxage=3600"), "{path}: the route's CachePolicy, not a raw header");
        let feed = parse(&res.text);
        assert_eq!(feed.title.as_ref().unwrap().content, "Example & Co", "{path}");
        let titles: Vec<_> = feed.entries.iter().map(|e| e.title.as_ref().unwrap().content.clone()).collect();
        assert_eq!(titles, ["中文文章", "First <post>"], "{path}: newest first; drafts, unlisted and future posts left out");
        let entry = &feed.entries[1];
        assert_eq!(entry.links[0].href, "https://blog.example/post/first", "{path}");
        assert_eq!(feed.entries[0].links[0].href, "https://blog.example/post/%E4%B8%AD%E6%96%87", "{path}");
        assert_eq!(entry.categories.iter().map(|c| c.term.as_str()).collect::<Vec<_>>(), ["rust & co"], "{path}");
        let html = entry.content.as_ref().and_then(|c| c.body.clone()).unwrap_or_default();
        assert!(html.contains("<code>&lt;code&gt;</code>"), "{path}: the sanitised HTML: {html}");
        assert!(entry.summary.as_ref().unwrap().content.contains("Body with"), "{path}");
    }
    let rss = reader.get("/rss.xml").await.text;
    assert!(rss.contains("<atom:link href=\"https://blog.example/rss.xml\" rel=\"self\""));
    assert!(
        reader.get("/atom.xml").await.text.contains("rel=\"self\" type=\"application/atom+xml\" href=\"https://blog.example/atom.xml\"")
    );

    let sitemap = reader.get("/sitemap.xml").await;
    assert!(sitemap.header("content-type").unwrap().starts_with("application/xml"));
    let locs: Vec<&str> = sitemap.text.split("<loc>").skip(1).map(|s| s.split("</loc>").next().unwrap()).collect();
    assert_eq!(
        locs,
        [
            "https://blog.example/",
            "https://blog.example/posts",
            "https://blog.example/post/%E4%B8%AD%E6%96%87",
            "https://blog.example/post/first"
        ]
    );
    assert_eq!(sitemap.text.matches("<lastmod>").count(), 2);
    assert_eq!(reader.get("/sitemap/1.xml").await.text, sitemap.text, "part 1 of a one-part sitemap is the whole of it");
    assert_eq!(reader.get("/sitemap/2.xml").await.status, StatusCode::NOT_FOUND);

    // A publish refreshes the cached feeds and sitemap.
    publish(&app, &mut admin, json!({"title": "Third", "slug": "third", "content": "x"})).await;
    assert_eq!(parse(&reader.get("/rss.xml").await.text).entries.len(), 3);
    assert!(reader.get("/sitemap.xml").await.text.contains("/post/third"));
}

async fn robots_manifest_and_head(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_BASE_URL", "https://blog.example"), ("FLINT_SITE_TITLE", "My Blog")]).await;
    let mut reader = app.user();
    let robots = reader.get("/robots.txt").await;
    assert_eq!(robots.header("cache-control"), Some("public, max-age=86400, s-maxage=86400"));
    assert_eq!(robots.header("cdn-cache-control"), Some("public, s-maxage=86400"));
    assert!(robots.header("content-type").unwrap().starts_with("text/plain"));
    assert!(robots.text.starts_with("User-agent: *\nAllow: /\nDisallow: /admin\n"));
    assert!(robots.text.ends_with("Sitemap: https://blog.example/sitemap.xml\n"));
    let manifest = reader.get("/site.webmanifest").await;
    assert!(manifest.header("content-type").unwrap().starts_with("application/manifest+json"));
    assert_eq!(manifest.body["name"], "My Blog");
    assert_eq!(manifest.body["display"], "standalone");
    assert!(manifest.text.contains("\n  \"name\""), "pretty-printed with 2 spaces");

    let head = app.http.head(app.url("/rss.xml")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.headers()["content-type"].to_str().unwrap().starts_with("application/rss+xml"));
    assert!(head.text().await.unwrap().is_empty(), "HEAD has no body");
    let etag = reader.get("/feed.json").await.header("etag").unwrap().to_owned();
    let again = reader.send(app.http.get(app.url("/feed.json")).header("if-none-match", etag)).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
}
