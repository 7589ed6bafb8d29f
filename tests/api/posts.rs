//! Posts and tags through the HTTP API: writing, the publish pipeline, the
//! public read path and its caches.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, Client, TestApp};

async fn quiet(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await
}

/// Creates a post with `fields` (title, content, ...) and returns its id.
pub async fn draft(admin: &mut Client<'_>, fields: Value) -> i64 {
    let id = admin.post("/_fn/createEmptyPost", json!({})).await.body["id"].as_i64().expect("an id");
    let mut data = fields;
    if data.get("slug").is_none() {
        let title = data["title"].as_str().unwrap_or_default().to_owned();
        let slug = admin.get(&format!("/_fn/generateSlug?title={}&excludeId={id}", urlencode(&title))).await.body["slug"]
            .as_str()
            .unwrap()
            .to_owned();
        data["slug"] = json!(slug);
    }
    let res = admin.post("/_fn/updatePost", json!({"id": id, "data": data})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    id
}

pub async fn publish(app: &TestApp, admin: &mut Client<'_>, id: i64, status: &str) -> Value {
    let res = admin.post("/_fn/startPostProcessWorkflow", json!({"id": id, "status": status})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    app.settle().await;
    res.body
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn list_slugs(client: &mut Client<'_>, query: &str) -> Vec<String> {
    let res = client.get(&format!("/api/posts{query}")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    res.body["items"].as_array().unwrap().iter().map(|i| i["slug"].as_str().unwrap().to_owned()).collect()
}

backend_tests!(
    publish_edit_republish_unpublish,
    future_posts_appear_at_their_time_without_help,
    cursor_pagination_visits_every_post_once,
    stale_edits_are_refused,
    drafts_and_unlisted_posts_are_never_listed,
    a_cached_detail_needs_no_database,
    with_the_cache_off_every_read_needs_the_database,
    renaming_a_published_slug_frees_the_old_one,
    slugs_are_generated_and_unique,
    tags_are_managed_and_counted,
    admin_lists_and_finds_posts,
    ai_summaries_are_used_and_fall_back,
    related_posts_rank_by_shared_tags_and_pins_are_listed,
    writing_a_post_takes_fewer_steps,
);

/// Issue 17 item 6: tags by name in `updatePost`, a slug from the first
/// title, `clientToday` accepted, and no publishing without a title.
async fn writing_a_post_takes_fewer_steps(backend: Backend) {
    let app = quiet(backend).await;
    let mut admin = app.admin().await;
    async fn new_post(admin: &mut Client<'_>) -> i64 {
        admin.post("/_fn/createEmptyPost", json!({})).await.body["id"].as_i64().unwrap()
    }
    let id = new_post(&mut admin).await;
    let res =
        admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": "Hello There", "tags": ["rust", "brand new", "rust"]}})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["slug"], "hello-there", "the first title names the slug");
    let mut names: Vec<&str> = res.body["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["brand new", "rust"]);
    assert!(admin.get("/_fn/getTagsAdmin").await.text.contains("\"brand new\""), "the missing tag was created");
    let res = admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": "Renamed", "tags": []}})).await;
    assert_eq!(res.body["slug"], "hello-there", "only the first title names the slug: {}", res.text);
    assert_eq!(res.body["tags"], json!([]));

    let by_hand = new_post(&mut admin).await;
    admin.post("/_fn/updatePost", json!({"id": by_hand, "data": {"slug": "chosen"}})).await;
    let res = admin.post("/_fn/updatePost", json!({"id": by_hand, "data": {"title": "Other"}})).await;
    assert_eq!(res.body["slug"], "chosen", "a slug set by hand stays: {}", res.text);

    let untitled = new_post(&mut admin).await;
    let res = admin.post("/_fn/startPostProcessWorkflow", json!({"id": untitled, "status": "published"})).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
    assert_eq!(res.code(), "POST_UNTITLED");
    assert!(res.body["error"]["fields"]["title"].is_array(), "{}", res.text);
    assert_eq!(admin.get(&format!("/_fn/findPostById?id={untitled}")).await.body["status"], "draft");

    let res = admin.post("/_fn/startPostProcessWorkflow", json!({"id": id, "status": "published", "clientToday": "2026-11-27"})).await;
    assert_eq!(res.status, StatusCode::OK, "clientToday is accepted: {}", res.text);
}

async fn publish_edit_republish_unpublish(backend: Backend) {
    let app = quiet(backend).await;
    let mut admin = app.admin().await;
    let mut reader = app.user();
    let rust = admin.post("/_fn/createTag", json!({"name": "rust"})).await.body["id"].as_i64().unwrap();
    let content = "# Hello\n\nSome **bold** text.\n\n## Code\n\n```rust\nfn main() {}\n```\n\n<script>alert(1)</script><img src=x onerror=alert(2)>\n";
    let id = draft(&mut admin, json!({"title": "Hello World", "content": content, "category": "notes"})).await;
    admin.post("/_fn/setPostTags", json!({"postId": id, "tagIds": [rust]})).await;
    assert!(list_slugs(&mut reader, "").await.is_empty(), "a draft is not public");

    let out = publish(&app, &mut admin, id, "published").await;
    assert!(out["publishedAt"].is_string());
    let detail = reader.get("/api/post/hello-world").await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
    assert_eq!(detail.body["title"], "Hello World");
    assert_eq!(detail.body["category"], "notes");
    assert_eq!(detail.body["tags"], json!([{"id": rust, "name": "rust"}]));
    assert_eq!(
        detail.body["toc"],
        json!([{"id": "user-content-hello", "text": "Hello", "level": 1}, {"id": "user-content-code", "text": "Code", "level": 2}])
    );
    let html = detail.body["contentHtml"].as_str().unwrap();
    assert!(html.contains("<strong>bold</strong>") && html.contains("<span class="), "{html}");
    assert!(!html.contains("<script") && !html.contains("onerror"), "sanitised: {html}");
    assert_eq!(detail.body["summary"], "Hello Some bold text. Code fn main() {}", "an extractive summary of the plain text");
    assert_eq!(detail.header("cache-control"), Some("public, max-age=0, must-revalidate"));
    let etag = detail.header("etag").unwrap().to_owned();
    let again = reader.send(app.http.get(app.url("/api/post/hello-world")).header("if-none-match", &etag)).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(list_slugs(&mut reader, "").await, ["hello-world"]);
    let via_fn = reader.get("/_fn/findPostBySlug?slug=hello-world").await;
    assert_eq!(via_fn.body["id"], id);

    // Editing alone changes nothing public; republishing does.
    admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": "Hello Again", "content": "# Changed\n"}})).await;
    assert_eq!(reader.get("/api/post/hello-world").await.body["title"], "Hello World");
    publish(&app, &mut admin, id, "published").await;
    let changed = reader.get("/api/post/hello-world").await;
    assert_eq!(changed.body["title"], "Hello Again");
    assert_eq!(changed.body["toc"][0]["text"], "Changed");
    let run_list = admin.get("/_fn/listWorkflowRuns?name=post-process").await;
    assert_eq!(run_list.body.as_array().unwrap().len(), 2);

    // Renaming the tag shows at once.
    admin.post("/_fn/updateTag", json!({"id": rust, "data": {"name": "rustlang"}})).await;
    assert_eq!(reader.get("/api/posts").await.body["items"][0]["tags"][0]["name"], "rustlang");
    assert_eq!(
        reader.get("/api/tags").await.body,
        json!([{"id": rust, "name": "rustlang", "createdAt": admin.get("/_fn/getTagsAdmin").await.body[0]["createdAt"], "postCount": 1}])
    );

    publish(&app, &mut admin, id, "draft").await;
    let gone = reader.get("/api/post/hello-world").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.code(), "POST_NOT_FOUND");
    assert!(list_slugs(&mut reader, "").await.is_empty());
    assert_eq!(reader.get("/api/tags").await.body, json!([]));
}

async fn future_posts_appear_at_their_time_without_help(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "2")]).await;
    let mut admin = app.admin().await;
    let mut reader = app.user();
    let at = app.clock.now_ms() + 3_600_000;
    let at_text = flint::platform::clock::to_rfc3339(at);
    let id = draft(&mut admin, json!({"title": "Tomorrow", "content": "soon", "publishedAt": at_text})).await;
    let out = admin.post("/_fn/startPostProcessWorkflow", json!({"id": id, "status": "published"})).await.body;
    let scheduled = out["scheduledRunId"].as_str().expect("a scheduled run").to_owned();
    let process = out["runId"].as_str().unwrap().to_owned();
    let wait_for = |id: String| {
        let engine = app.state.workflows.clone();
        async move {
            for _ in 0..200 {
                if engine.get(&id).await.unwrap().unwrap().status == "completed" {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            panic!("run {id} did not complete");
        }
    };
    wait_for(process).await;
    assert!(list_slugs(&mut reader, "").await.is_empty(), "not yet");
    assert_eq!(reader.get("/api/post/tomorrow").await.status, StatusCode::NOT_FOUND);

    app.clock.advance(Duration::from_millis(3_600_000));
    wait_for(scheduled).await;
    assert_eq!(list_slugs(&mut reader, "").await, ["tomorrow"], "the cached empty list was refreshed at the publish time");
    assert_eq!(reader.get("/api/post/tomorrow").await.status, StatusCode::OK);
}

async fn cursor_pagination_visits_every_post_once(backend: Backend) {
    let app = quiet(backend).await;
    let mut admin = app.admin().await;
    let base = app.clock.now_ms() - 1_000_000;
    for i in 0..100i64 {
        // Pairs share a publish time, so the id breaks ties.
        let at = flint::platform::clock::to_rfc3339(base + (i / 2) * 1000);
        let id = draft(&mut admin, json!({"title": format!("Post {i}"), "content": "x", "publishedAt": at})).await;
        admin.post("/_fn/startPostProcessWorkflow", json!({"id": id, "status": "published"})).await;
    }
    while app.state.workflows.run_due().await.unwrap() > 0 {}
    let mut reader = app.user();
    let mut seen = Vec::new();
    let mut cursor: Option<i64> = None;
    loop {
        let query = match cursor {
            Some(c) => format!("?limit=7&cursor={c}"),
            None => "?limit=7".to_owned(),
        };
        let page = reader.get(&format!("/api/posts{query}")).await;
        for item in page.body["items"].as_array().unwrap() {
            seen.push(item["title"].as_str().unwrap().to_owned());
        }
        match page.body["nextCursor"].as_i64() {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let expected: Vec<String> = (0..100).rev().map(|i| format!("Post {i}")).collect();
    assert_eq!(seen, expected, "every post once, newest first (id breaks ties)");
    assert_eq!(reader.get("/api/posts?limit=51").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reader.get("/api/posts?excludePinned=true&limit=50").await.body["items"].as_array().unwrap().len(), 50);
}

async fn stale_edits_are_refused(backend: Backend) {
    let app = quiet(backend).await;
    let mut admin = app.admin().await;
    let id = draft(&mut admin, json!({"title": "Shared"})).await;
    let loaded = admin.get(&format!("/_fn/findPostById?id={id}")).await.body["updatedAt"].clone();
    app.clock.advance(Duration::from_millis(5));
    let first = admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": "Editor A"}, "expectedUpdatedAt": loaded})).await;
    assert_eq!(first.status, StatusCode::OK);
    let second = admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": "Editor B"}, "expectedUpdatedAt": loaded})).await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert_eq!(second.code(), "POST_EDIT_CONFLICT");
    assert_eq!(admin.get(&format!("/_fn/findPostById?id={id}")).await.body["title"], "Editor A");
    assert_eq!(admin.post("/_fn/updatePost", json!({"id": 999999, "data": {}})).await.code(), "POST_NOT_FOUND");
}

async fn drafts_and_unlisted_posts_are_never_listed(backend: Backend) {
    let app = quiet(backend).await;
    let mut admin = app.admin().await;
    let tag = admin.post("/_fn/createTag", json!({"name": "t"})).await.body["id"].as_i64().unwrap();
    let listed = draft(&mut admin, json!({"title": "Listed", "content": "a"})).await;
    let unlisted = draft(&mut admin, json!({"title": "Secret", "content": "b", "visibility": "unlisted"})).await;
    let _draft = draft(&mut admin, json!({"title": "Draft", "content": "c"})).await;
    for id in [listed, unlisted] {
        admin.post("/_fn/setPostTags", json!({"postId": id, "tagIds": [tag]})).await;
        publish(&app, &mut admin, id, "published").await;
    }
    let mut reader = app.user();
    assert_eq!(list_slugs(&mut reader, "").await, ["listed"]);
    assert_eq!(list_slugs(&mut reader, "?tagName=t").await, ["listed"]);
    assert_eq!(reader.get("/api/post/secret").await.status, StatusCode::OK, "unlisted: reachable by slug");
    assert_eq!(reader.get("/api/post/draft").await.status, StatusCode::NOT_FOUND);
    assert_eq!(reader.get("/api/tags").await.body[0]["postCount"], 1, "unlisted posts are not counted");
    let related = reader.get("/api/post/secret/related").await;
    assert_eq!(related.body.as_array().unwrap().len(), 1);
    assert_eq!(reader.get("/api/post/listed/related").await.body, json!([]), "unlisted posts are never suggested");
}

async fn a_cached_detail_needs_no_database(backend: Backend) {
    let app = quiet(backend).await;
    let mut admin = app.admin().await;
    let id = draft(&mut admin, json!({"title": "Cached", "content": "body"})).await;
    publish(&app, &mut admin, id, "published").await;
    let mut reader = app.user();
    assert_eq!(reader.get("/api/post/cached").await.status, StatusCode::OK);
    let key = flint::features::publishing::schema::detail_key("cached");
    for _ in 0..100 {
        if app.state.cache.get(&key, || async { Err::<Option<flint::platform::cache::CachedBody>, _>("not cached yet") }).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.state.db.close().await;
    let res = reader.get("/api/post/cached").await;
    assert_eq!(res.status, StatusCode::OK, "served from the cache with the database closed: {}", res.text);
    assert_eq!(res.body["title"], "Cached");
    let res = reader.get("/api/post/uncached").await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "the probe: a miss needs the database");
    assert_eq!(res.code(), "DATABASE_UNAVAILABLE");
}

async fn with_the_cache_off_every_read_needs_the_database(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0"), ("FLINT_CACHE", "off")]).await;
    let mut admin = app.admin().await;
    let id = draft(&mut admin, json!({"title": "Fresh", "content": "body"})).await;
    publish(&app, &mut admin, id, "published").await;
    let mut reader = app.user();
    for _ in 0..3 {
        assert_eq!(reader.get("/api/post/fresh").await.body["title"], "Fresh");
        assert_eq!(reader.get("/api/tags").await.status, StatusCode::OK);
    }
    app.state.workflows.run_due().await.unwrap();
    assert_eq!(app.state.cache.backend_name(), "disabled");
    assert_eq!(app.state.cache.memory_entries().await, 0);
    app.state.db.close().await;
    let res = reader.get("/api/post/fresh").await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "nothing was cached: {}", res.text);
    assert_eq!(res.code(), "DATABASE_UNAVAILABLE");
}

async fn renaming_a_published_slug_frees_the_old_one(backend: Backend) {
    let app = quiet(backend).await;
    let mut admin = app.admin().await;
    let id = draft(&mut admin, json!({"title": "Old Name", "content": "x"})).await;
    publish(&app, &mut admin, id, "published").await;
    let mut reader = app.user();
    assert_eq!(reader.get("/api/post/old-name").await.status, StatusCode::OK);
    admin.post("/_fn/updatePost", json!({"id": id, "data": {"slug": "new-name"}})).await;
    assert_eq!(reader.get("/api/post/old-name").await.status, StatusCode::OK, "unchanged until republished");
    publish(&app, &mut admin, id, "published").await;
    assert_eq!(reader.get("/api/post/old-name").await.status, StatusCode::NOT_FOUND, "the old slug's cached detail is gone");
    assert_eq!(reader.get("/api/post/new-name").await.status, StatusCode::OK);
    let other = draft(&mut admin, json!({"title": "Other"})).await;
    let taken = admin.post("/_fn/updatePost", json!({"id": other, "data": {"slug": "new-name"}})).await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    let bad = admin.post("/_fn/updatePost", json!({"id": other, "data": {"slug": "Not A Slug"}})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body["error"]["fields"]["data.slug"].is_array(), "{}", bad.text);
}

async fn slugs_are_generated_and_unique(backend: Backend) {
    let app = quiet(backend).await;
    let mut admin = app.admin().await;
    let slug = |title: &str| format!("/_fn/generateSlug?title={}", urlencode(title));
    assert_eq!(admin.get(&slug("你好 World!")).await.body["slug"], "你好-world");
    assert_eq!(admin.get(&slug("")).await.body["slug"], "untitled", "no post holds it yet");
    let first = admin.post("/_fn/createEmptyPost", json!({})).await.body["id"].as_i64().unwrap();
    admin.post("/_fn/createEmptyPost", json!({})).await;
    assert_eq!(admin.get(&slug("")).await.body["slug"], "untitled-2");
    assert_eq!(
        admin.get(&format!("/_fn/generateSlug?title=&excludeId={first}")).await.body["slug"],
        "untitled",
        "its own slug is no collision"
    );
    draft(&mut admin, json!({"title": "Same"})).await;
    draft(&mut admin, json!({"title": "Same"})).await;
    assert_eq!(admin.get(&slug("Same")).await.body["slug"], "same-2");
}

async fn tags_are_managed_and_counted(backend: Backend) {
    let app = quiet(backend).await;
    let mut admin = app.admin().await;
    let a = admin.post("/_fn/createTag", json!({"name": "  alpha "})).await.body.clone();
    assert_eq!(a["name"], "alpha");
    let dup = admin.post("/_fn/createTag", json!({"name": "alpha"})).await;
    assert_eq!((dup.status, dup.code()), (StatusCode::CONFLICT, "TAG_NAME_ALREADY_EXISTS"));
    let b = admin.post("/_fn/createTag", json!({"name": "beta"})).await.body["id"].as_i64().unwrap();
    assert_eq!(admin.post("/_fn/updateTag", json!({"id": b, "data": {"name": "alpha"}})).await.code(), "TAG_NAME_ALREADY_EXISTS");
    assert_eq!(admin.post("/_fn/updateTag", json!({"id": 999, "data": {"name": "x"}})).await.code(), "TAG_NOT_FOUND");
    let id = draft(&mut admin, json!({"title": "Tagged", "content": "x"})).await;
    let set = admin.post("/_fn/setPostTags", json!({"postId": id, "tagIds": [b, a["id"], b]})).await;
    assert_eq!(set.body.as_array().unwrap().len(), 2);
    assert_eq!(admin.get(&format!("/_fn/getTagsByPostId?postId={id}")).await.body[0]["name"], "alpha");
    let counts = admin.get("/_fn/getTagsWithCountAdmin?sortBy=postCount&sortDir=desc").await;
    assert_eq!(counts.body[0]["postCount"], 1);
    let public_counts = admin.get("/_fn/getTagsWithCountAdmin?publicOnly=true").await;
    assert!(public_counts.body.as_array().unwrap().iter().all(|t| t["postCount"] == 0), "a draft counts only as a post, not a public one");
    publish(&app, &mut admin, id, "published").await;
    assert_eq!(app.user().get("/_fn/getTags").await.body.as_array().unwrap().len(), 2);
    assert_eq!(admin.post("/_fn/deleteTag", json!({"id": b})).await.status, StatusCode::OK);
    app.settle().await;
    assert_eq!(app.user().get("/api/tags").await.body.as_array().unwrap().len(), 1, "deleting shows once publishing handled it");
    assert_eq!(app.user().get("/api/posts").await.body["items"][0]["tags"].as_array().unwrap().len(), 1);
    assert_eq!(app.user().get("/_fn/getTagsAdmin").await.status, StatusCode::UNAUTHORIZED);
}

async fn admin_lists_and_finds_posts(backend: Backend) {
    let app = quiet(backend).await;
    let mut admin = app.admin().await;
    let a = draft(&mut admin, json!({"title": "Alpha Post", "content": "# A\n\ntext"})).await;
    let b = draft(&mut admin, json!({"title": "Beta 100%", "content": "b"})).await;
    publish(&app, &mut admin, a, "published").await;
    assert_eq!(admin.get("/_fn/getPostsCount").await.body, 2);
    assert_eq!(admin.get("/_fn/getPostsCount?status=published").await.body, 1);
    assert_eq!(admin.get("/_fn/getPostsCount?publicOnly=true").await.body, 1);
    let found = admin.get("/_fn/getPosts?search=100%25").await;
    assert_eq!(found.body.as_array().unwrap().len(), 1);
    assert_eq!(found.body[0]["id"], b);
    assert!(found.body[0]["content"].is_null(), "lists carry no content");
    let synced = admin.get(&format!("/_fn/findPostById?id={a}")).await;
    assert_eq!((synced.body["isSynced"].clone(), synced.body["hasPublicCache"].clone()), (json!(true), json!(true)));
    admin.post("/_fn/updatePost", json!({"id": a, "data": {"title": "Alpha Edited"}})).await;
    assert_eq!(admin.get(&format!("/_fn/findPostById?id={a}")).await.body["isSynced"], false);
    let by_slug = admin.get("/_fn/findPostBySlugAdmin?slug=beta-100").await;
    assert_eq!(by_slug.body["id"], b, "{}", by_slug.text);
    assert_eq!(admin.get("/_fn/findPostBySlugAdmin?slug=alpha-post").await.body["toc"][0]["text"], "A");
    let summary = admin.post("/_fn/previewSummary", json!({"content": "# Title\n\nFirst sentence. Second one."})).await;
    assert_eq!(summary.body["summary"], "Title First sentence. Second one.");
    assert_eq!(admin.post("/_fn/deletePost", json!({"id": a})).await.status, StatusCode::OK);
    assert_eq!(app.user().get("/api/post/alpha-post").await.status, StatusCode::NOT_FOUND, "deleting a published post unpublishes it");
    assert_eq!(admin.post("/_fn/deletePost", json!({"id": a})).await.code(), "POST_NOT_FOUND");
}

/// A stand-in OpenAI-compatible endpoint on loopback: answers with a fixed
/// summary, or fails; counts calls and checks the API key.
async fn mock_ai(fail: bool) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let calls = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let handler = move |headers: axum::http::HeaderMap, axum::Json(body): axum::Json<Value>| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            assert_eq!(headers.get("authorization").unwrap(), "Bearer test-key");
            assert_eq!(body["model"], "test-model");
            assert!(body["messages"][1]["content"].as_str().unwrap().contains("paragraph"));
            if fail {
                axum::response::IntoResponse::into_response((axum::http::StatusCode::SERVICE_UNAVAILABLE, "overloaded"))
            } else {
                axum::response::IntoResponse::into_response(axum::Json(
                    json!({"choices": [{"message": {"content": "  An AI summary.  "}}]}),
                ))
            }
        }
    };
    let router = axum::Router::new().route("/v1/chat/completions", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}/v1"), calls)
}

const LONG: &str = "A first paragraph that is long enough to be worth summarising by a model, with several clauses. \
                    A second sentence adds more words so the text passes the hundred-character threshold easily.";

async fn ai_summaries_are_used_and_fall_back(backend: Backend) {
    use std::sync::atomic::Ordering;
    let (url, calls) = mock_ai(false).await;
    let vars = [
        ("FLINT_WORKFLOW_WORKERS", "0"),
        ("FLINT_AI_BASE_URL", url.as_str()),
        ("FLINT_AI_API_KEY", "test-key"),
        ("FLINT_AI_MODEL", "test-model"),
    ];
    let app = TestApp::spawn_with(backend.clone(), &vars).await;
    let mut admin = app.admin().await;
    let id = draft(&mut admin, json!({"title": "Long", "content": LONG})).await;
    publish(&app, &mut admin, id, "published").await;
    assert_eq!(app.user().get("/api/post/long").await.body["summary"], "An AI summary.");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let short = draft(&mut admin, json!({"title": "Short", "content": "Tiny post."})).await;
    publish(&app, &mut admin, short, "published").await;
    assert_eq!(app.user().get("/api/post/short").await.body["summary"], "Tiny post.", "short texts are their own summary");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(admin.post("/_fn/previewSummary", json!({"content": LONG})).await.body["summary"], "An AI summary.");

    let (url, calls) = mock_ai(true).await;
    let vars = [
        ("FLINT_WORKFLOW_WORKERS", "0"),
        ("FLINT_AI_BASE_URL", url.as_str()),
        ("FLINT_AI_API_KEY", "test-key"),
        ("FLINT_AI_MODEL", "test-model"),
    ];
    let app = TestApp::spawn_with(backend, &vars).await;
    let mut admin = app.admin().await;
    let id = draft(&mut admin, json!({"title": "Down", "content": LONG})).await;
    publish(&app, &mut admin, id, "published").await;
    for wait in [5, 10, 20] {
        assert_eq!(app.user().get("/api/post/down").await.status, StatusCode::NOT_FOUND, "not published while retrying");
        app.clock.advance(Duration::from_secs(wait));
        app.state.workflows.run_due().await.unwrap();
    }
    assert_eq!(calls.load(Ordering::SeqCst), 4, "1 attempt + the spec's 3 retries");
    let summary = app.user().get("/api/post/down").await.body["summary"].as_str().unwrap().to_owned();
    assert!(summary.starts_with("A first paragraph that is long enough"), "the extractive fallback: {summary}");
    let preview = admin.post("/_fn/previewSummary", json!({"content": LONG})).await;
    assert!(preview.body["summary"].as_str().unwrap().starts_with("A first paragraph"));
}

async fn related_posts_rank_by_shared_tags_and_pins_are_listed(backend: Backend) {
    let app = quiet(backend).await;
    let mut admin = app.admin().await;
    let mut tags = Vec::new();
    for name in ["a", "b", "c"] {
        tags.push(admin.post("/_fn/createTag", json!({"name": name})).await.body["id"].as_i64().unwrap());
    }
    let posts = [
        ("Main", vec![0, 1, 2]),
        ("Two Shared", vec![0, 1]),
        ("One Shared", vec![2]),
        ("None Shared", vec![]),
        ("Draft Shared", vec![0, 1, 2]),
    ];
    let mut ids = Vec::new();
    for (title, tag_idx) in &posts {
        let id = draft(&mut admin, json!({"title": title, "content": "x"})).await;
        let tag_ids: Vec<i64> = tag_idx.iter().map(|i| tags[*i]).collect();
        admin.post("/_fn/setPostTags", json!({"postId": id, "tagIds": tag_ids})).await;
        if *title != "Draft Shared" {
            publish(&app, &mut admin, id, "published").await;
        }
        ids.push(id);
    }
    let mut reader = app.user();
    let related = reader.get("/api/post/main/related?limit=5").await;
    let titles: Vec<&str> = related.body.as_array().unwrap().iter().map(|p| p["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Two Shared", "One Shared"], "ranked by shared tags; drafts and unrelated posts excluded");
    assert_eq!(reader.get("/_fn/getRelatedPosts?slug=main&limit=1").await.body.as_array().unwrap().len(), 1);
    assert_eq!(reader.get("/api/post/nothing/related").await.body, json!([]));

    assert_eq!(reader.get("/_fn/getPinnedPosts").await.body, json!([]));
    let pin_at = flint::platform::clock::to_rfc3339(app.clock.now_ms());
    admin.post("/_fn/updatePost", json!({"id": ids[2], "data": {"pinnedAt": pin_at}})).await;
    publish(&app, &mut admin, ids[2], "published").await;
    let pinned = reader.get("/_fn/getPinnedPosts").await;
    assert_eq!(pinned.body[0]["title"], "One Shared");
    let unpinned: Vec<String> = list_slugs(&mut reader, "?excludePinned=true").await;
    assert!(!unpinned.contains(&"one-shared".to_owned()));
    assert_eq!(reader.get("/_fn/getPopularPosts?limit=2").await.body.as_array().unwrap().len(), 2);
}
