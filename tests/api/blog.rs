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
    readers_comment_from_the_post_page_without_javascript,
    the_tags_archive_search_and_friend_links_pages,
    the_sign_in_verify_email_and_forgot_password_pages,
    a_browser_gets_styled_pages_for_unknown_addresses_and_failures,
    standalone_pages_live_at_their_slug_and_are_never_listed,
    every_link_of_the_feeds_sitemap_robots_and_manifest_answers,
    the_language_of_pages_comes_from_the_settings,
    named_front_ends_may_call_the_api_from_a_browser,
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

/// Posts an HTML form as `client` (`application/x-www-form-urlencoded`).
async fn form(client: &mut Client<'_>, path: &str, fields: &[(&str, &str)]) -> crate::helpers::Res {
    let body = serde_urlencoded::to_string(fields).unwrap();
    let request = client.app.http.post(client.app.url(path)).header("content-type", "application/x-www-form-urlencoded").body(body);
    client.send(request).await
}

async fn readers_comment_from_the_post_page_without_javascript(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    let mut config = admin.get("/_fn/getSystemConfig").await.body;
    config["comments"] = json!({"moderation": "manual"});
    assert_eq!(admin.post("/_fn/updateSystemConfig", config).await.status, StatusCode::OK);
    let slug = published(&app, &mut admin, "Talk to me", "Say something.").await;
    let path = format!("/post/{slug}");

    // Anonymous: the shared page, with a way to sign in and no form.
    let anonymous = app.user().get(&path).await;
    assert!(anonymous.header("cache-control").is_some_and(|c| c.starts_with("public")), "{:?}", anonymous.header("cache-control"));
    let page = html_of(&anonymous);
    assert!(page.contains(&format!("/sign-in?next=/post/{slug}%23comments")) && !page.contains("<textarea"), "{page}");
    assert!(page.contains("No comments yet.") && page.contains("data-post-id="), "{page}");
    assert_eq!(form(&mut app.user(), &format!("{path}/comments"), &[("content", "hi")]).await.status, StatusCode::UNAUTHORIZED);

    // Signed in: a page of one's own (never shared), with the form.
    let mut reader = app.signed_up("reader@example.com", "Rita Reader").await;
    let own = reader.get(&path).await;
    assert!(own.header("cache-control").is_some_and(|c| c.starts_with("private, no-store")), "a signed-in reader's page is theirs");
    let page = html_of(&own);
    assert!(page.contains(r#"<textarea id="comment-new" name="content""#) && page.contains("Rita Reader"), "{page}");

    // Posting: 303 back to the comment, which its author sees waiting.
    let posted = form(&mut reader, &format!("{path}/comments"), &[("postId", "999"), ("content", "Nice **post**")]).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.text);
    let location = posted.header("location").unwrap().to_owned();
    assert!(location.starts_with(&format!("{path}#comment-")), "{location}");
    let mine = reader.get(&path).await;
    assert!(mine.text.contains("Nice <strong>post</strong>") && mine.text.contains("awaiting moderation"), "{}", mine.text);
    let shared = app.user().get(&path).await;
    assert!(!shared.text.contains("Nice <strong>post</strong>"), "readers do not see it before it is approved");

    // Approved: the shared page shows it on the next request.
    let id: i64 = location.rsplit('-').next().unwrap().parse().unwrap();
    let res = admin.post("/_fn/moderateComment", json!({"id": id, "status": "published"})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let shared = app.user().get(&path).await;
    assert!(shared.text.contains("Nice <strong>post</strong>") && shared.text.contains("Rita Reader"), "{}", shared.text);
    assert!(shared.text.contains("Comments (1)"), "{}", shared.text);

    // A reply, through the thread's own form.
    let reply = form(
        &mut reader,
        &format!("{path}/comments"),
        &[("content", "And a reply"), ("rootId", &id.to_string()), ("replyToCommentId", &id.to_string())],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    assert!(reader.get(&path).await.text.contains("And a reply"));

    // Refused: the page again, with the words and what was typed.
    let blank = form(&mut reader, &format!("{path}/comments"), &[("content", "   ")]).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(blank.header("cache-control"), Some("private, no-store"));
    assert!(html_of(&blank).contains(r#"class="f-error" role="alert""#), "{}", blank.text);
    // Another site's form cannot post in the reader's name.
    let request = app
        .http
        .post(app.url(&format!("{path}/comments")))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://evil.example")
        .body("content=forged");
    assert_eq!(reader.send(request).await.status, StatusCode::FORBIDDEN);
    let request = app
        .http
        .post(app.url(&format!("{path}/comments")))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body("content=forged");
    assert_eq!(reader.send(request).await.status, StatusCode::FORBIDDEN);
    assert_eq!(form(&mut reader, "/post/no-such-post/comments", &[("content", "hello")]).await.status, StatusCode::NOT_FOUND);

    // The script that enhances the page is served, named by its hash.
    let src = page.split(r#"<script type="module" src=""#).nth(1).unwrap().split('"').next().unwrap().replace("&#x2f;", "/");
    let script = app.user().get(&src).await;
    assert_eq!(script.status, StatusCode::OK, "{src}");
    assert_eq!(script.header("content-type"), Some("text/javascript; charset=utf-8"));
    assert!(script.text.contains("/_fn/recordPageView") && script.text.contains("/_fn/createComment"));
}

async fn the_tags_archive_search_and_friend_links_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    let id =
        draft(&mut admin, json!({"title": "Rust lifetimes", "content": "Borrowing explained with lifetimes.", "tags": ["rust"]})).await;
    publish(&app, &mut admin, id, "published").await;
    published(&app, &mut admin, "Gardening", "Tomatoes & basil.").await;
    app.settle().await;

    let tags = app.user().get("/tags").await;
    assert!(html_of(&tags).contains(r#"<a href="/tag/rust">rust</a>"#), "{}", tags.text);
    let archive = app.user().get("/archive").await;
    let year = jiff::Timestamp::now().strftime("%Y").to_string();
    assert!(html_of(&archive).contains(&format!("<h2 id=\"year-{year}\">{year}</h2>")), "{}", archive.text);
    assert!(archive.text.contains("Rust lifetimes") && archive.text.contains("Gardening"), "{}", archive.text);

    let empty = app.user().get("/search").await;
    assert_eq!(empty.status, StatusCode::OK);
    let found = app.user().get("/search?q=lifetimes").await;
    let page = html_of(&found);
    assert!(page.contains("<mark>lifetimes</mark>") || page.contains("<mark>Lifetimes</mark>"), "{page}");
    assert!(page.contains(r#"href="/post/rust-lifetimes""#) && !page.contains("Gardening"), "{page}");
    assert!(page.contains(r#"<meta name="robots" content="noindex">"#), "{page}");
    let nothing = app.user().get("/search?q=%3Cscript%3Ezzz").await;
    assert!(html_of(&nothing).contains("Nothing matches") && !nothing.text.contains("<script>zzz"), "{}", nothing.text);
    assert_eq!(app.user().get(&format!("/search?q={}", "a".repeat(201))).await.status, StatusCode::UNPROCESSABLE_ENTITY);

    let links = app.user().get("/friend-links").await;
    assert!(html_of(&links).contains("/sign-in?next=/friend-links"), "{}", links.text);
    let mut friend = app.signed_up("friend@example.com", "Fran").await;
    let fields = [("siteName", "Fran's Garden"), ("siteUrl", "https://fran.example"), ("contactEmail", "friend@example.com")];
    let sent = form(&mut friend, "/friend-links", &fields).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    assert!(sent.text.contains("your site is submitted"), "{}", sent.text);
    let bad =
        form(&mut friend, "/friend-links", &[("siteName", "X"), ("siteUrl", "javascript:alert(1)"), ("contactEmail", "f@example.com")])
            .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert!(bad.text.contains("f-error") && bad.text.contains("value=\"javascript:alert(1)\""), "{}", bad.text);
    let pending = admin.get("/_fn/getAllFriendLinks").await;
    let link_id = pending.body["items"][0]["id"].as_i64().unwrap_or_else(|| panic!("{}", pending.text));
    assert_eq!(admin.post("/_fn/approveFriendLink", json!({"id": link_id})).await.status, StatusCode::OK);
    let listed = app.user().get("/friend-links").await;
    assert!(listed.text.contains(r#"<a href="https:&#x2f;&#x2f;fran.example" rel="noopener">Fran&#x27;s Garden</a>"#), "{}", listed.text);
}

async fn the_sign_in_verify_email_and_forgot_password_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signed_up("reader@example.com", "Rita").await;
    let page = app.user().get("/sign-in?next=/archive").await;
    assert!(html_of(&page).contains(r#"<form class="f-form" method="post" action="/sign-in">"#), "{}", page.text);
    assert!(page.text.contains(r#"name="next" value="&#x2f;archive""#), "{}", page.text);
    let refused = app.user().get("/sign-in?error=INVALID_TOKEN").await;
    assert!(refused.text.contains("invalid, used or expired"), "{}", refused.text);

    let mut reader = app.user();
    let wrong =
        form(&mut reader, "/sign-in", &[("email", "reader@example.com"), ("password", "not the password"), ("next", "/archive")]).await;
    assert!(wrong.status.is_client_error(), "{}", wrong.status);
    assert!(html_of(&wrong).contains("f-error") && wrong.text.contains(r#"value="reader@example.com""#), "{}", wrong.text);
    assert!(reader.cookie.is_none());
    let right =
        form(&mut reader, "/sign-in", &[("email", "reader@example.com"), ("password", crate::helpers::PASSWORD), ("next", "/archive")])
            .await;
    assert_eq!((right.status, right.header("location")), (StatusCode::SEE_OTHER, Some("/archive")), "{}", right.text);
    assert!(reader.cookie.is_some(), "signed in");
    let home = reader.get("/").await;
    assert!(home.text.contains(r#"action="/sign-out""#) && home.text.contains("Rita"), "{}", home.text);
    let out = form(&mut reader, "/sign-out", &[]).await;
    assert_eq!((out.status, out.header("location")), (StatusCode::SEE_OTHER, Some("/")));
    assert!(reader.cookie.is_none(), "signed out");

    // `next` never leads off the site.
    app.clock.advance(std::time::Duration::from_secs(61));
    let mut other = app.user();
    let away = form(
        &mut other,
        "/sign-in",
        &[("email", "reader@example.com"), ("password", crate::helpers::PASSWORD), ("next", "//evil.example/")],
    )
    .await;
    assert_eq!(away.header("location"), Some("/"), "{}", away.text);

    let verified = app.user().get("/verify-email?verified=true").await;
    assert!(html_of(&verified).contains("Your email address is confirmed"), "{}", verified.text);
    let expired = app.user().get("/verify-email?error=INVALID_TOKEN").await;
    assert!(expired.text.contains("invalid, used or expired") && expired.text.contains(r#"action="/verify-email""#), "{}", expired.text);
    // Without email set up, the page says so beside the form.
    let sent = form(&mut app.user(), "/verify-email", &[("email", "reader@example.com")]).await;
    assert!(sent.status.is_client_error() || sent.status.is_server_error(), "{}", sent.status);
    assert!(html_of(&sent).contains("email is not set up") && sent.text.contains(r#"value="reader@example.com""#), "{}", sent.text);
    let forgot = app.user().get("/forgot-password").await;
    assert!(html_of(&forgot).contains(r#"action="/forgot-password""#));
    let asked = form(&mut app.user(), "/forgot-password", &[("email", "nobody@example.com")]).await;
    assert!(html_of(&asked).contains("email is not set up") || asked.text.contains("an email with a link is on its way"), "{}", asked.text);
    let blank = form(&mut app.user(), "/forgot-password", &[("email", "")]).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn a_browser_gets_styled_pages_for_unknown_addresses_and_failures(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browse = |path: &str| app.http.get(app.url(path)).header("accept", "text/html,application/xhtml+xml,*/*;q=0.8");
    let mut client = app.user();
    let missing = client.send(browse("/no/such/page")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(html_of(&missing).contains("Page not found"), "{}", missing.text);
    assert!(missing.header("x-request-id").is_some());
    // Programs asking the API (or not asking for HTML) get the JSON envelope.
    assert_eq!(client.send(browse("/api/no-such-thing")).await.code(), "NOT_FOUND");
    assert_eq!(app.user().get("/no/such/page").await.code(), "NOT_FOUND");

    // A failure: the post table is gone, so the home page cannot be read.
    flint::execute!(&app.state.db, sqlx::query("ALTER TABLE public_posts RENAME TO public_posts_gone")).unwrap();
    let failed = client.send(browse("/")).await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    let request_id = failed.header("x-request-id").unwrap().to_owned();
    assert!(html_of(&failed).contains("Something went wrong") && failed.text.contains(&request_id), "{}", failed.text);
    assert_eq!(app.user().get("/").await.code(), "INTERNAL", "without Accept: text/html, the envelope");
}

async fn standalone_pages_live_at_their_slug_and_are_never_listed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    published(&app, &mut admin, "A dated post", "Words.").await;
    let id = draft(&mut admin, json!({"title": "About me", "content": "Who writes here.\n\n![Me](https://cdn.example/me.png)"})).await;
    let res = admin.post("/_fn/updatePost", json!({"id": id, "data": {"kind": "page", "slug": "about"}})).await;
    assert_eq!((res.status, res.body["kind"].as_str()), (StatusCode::OK, Some("page")), "{}", res.text);
    publish(&app, &mut admin, id, "published").await;
    app.settle().await;

    let page = app.user().get("/about").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(html_of(&page).contains("<h1>About me</h1>") && page.text.contains("Who writes here."), "{}", page.text);
    assert!(page.text.contains(r#"<meta property="og:image" content="https:&#x2f;&#x2f;cdn.example&#x2f;me.png">"#), "{}", page.text);
    assert_eq!(app.user().get("/post/about").await.status, StatusCode::NOT_FOUND, "a page is not a post");
    assert_eq!(app.user().get("/no-such-page").await.status, StatusCode::NOT_FOUND);
    for path in ["/", "/posts", "/archive", "/rss.xml", "/atom.xml", "/feed.json", "/sitemap.xml", "/api/posts"] {
        let listed = app.user().get(path).await;
        assert!(listed.text.contains("A dated post") || path == "/sitemap.xml", "{path}: {}", listed.text);
        assert!(!listed.text.contains("About me") && !listed.text.contains("/about\""), "{path} lists no page: {}", listed.text);
    }
    let searched = app.user().get("/search?q=writes").await;
    assert!(searched.text.contains("Nothing matches"), "pages are not searched: {}", searched.text);

    // Reached from the navigation links of the settings.
    let mut config = admin.get("/_fn/getSystemConfig").await.body;
    config["site"]["navigation"] = json!([{"label": "About", "url": "/about"}]);
    let res = admin.post("/_fn/updateSystemConfig", config.clone()).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(app.user().get("/").await.text.contains(r#"<a href="&#x2f;about">About</a>"#), "the next request shows the link");
    config["site"]["navigation"] = json!([{"label": "Bad", "url": "javascript:alert(1)"}]);
    assert_eq!(admin.post("/_fn/updateSystemConfig", config).await.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A page may not take an address of the site's own.
    let other = draft(&mut admin, json!({"title": "Archive page"})).await;
    for slug in ["archive", "rss.xml", "favicon.ico", "sign-in"] {
        let res = admin.post("/_fn/updatePost", json!({"id": other, "data": {"kind": "page", "slug": slug.replace('.', "-")}})).await;
        if slug.contains('.') {
            assert_eq!(res.status, StatusCode::OK, "{slug} as a slug is {}: {}", slug.replace('.', "-"), res.text);
            continue;
        }
        assert_eq!((res.status, res.code()), (StatusCode::CONFLICT, "POST_SLUG_RESERVED"), "{slug}: {}", res.text);
    }
    let unchanged = admin.get(&format!("/_fn/findPostById?id={other}")).await;
    assert_eq!(unchanged.body["kind"], "page", "the last accepted edit stands: {}", unchanged.text);
    let res = admin.post("/_fn/updatePost", json!({"id": other, "data": {"kind": "post", "slug": "archive"}})).await;
    assert_eq!(res.status, StatusCode::OK, "a post may use it (posts live under /post/): {}", res.text);

    // Every route's first segment is reserved, so no page can shadow one.
    for endpoint in flint::features::routes().endpoints() {
        let first = endpoint.path.trim_start_matches('/').split('/').next().unwrap_or_default();
        if first.is_empty() || first.starts_with('{') {
            continue;
        }
        assert!(flint::platform::web::is_reserved_path(first), "{} is not in RESERVED_PATHS", endpoint.path);
    }
}

async fn every_link_of_the_feeds_sitemap_robots_and_manifest_answers(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_BASE_URL", "https://blog.example")]).await;
    let mut admin = app.admin().await;
    let id = draft(&mut admin, json!({"title": "Tagged", "content": "Words.", "tags": ["rust", "two words"], "category": "Notes"})).await;
    publish(&app, &mut admin, id, "published").await;
    published(&app, &mut admin, "Plain", "More words.").await;
    app.settle().await;

    let mut links = Vec::new();
    for document in ["/rss.xml", "/atom.xml", "/feed.json", "/sitemap.xml", "/robots.txt", "/site.webmanifest"] {
        let res = app.user().get(document).await;
        assert_eq!(res.status, StatusCode::OK, "{document}");
        // Absolute links, and the manifest's icons (site paths).
        let mut found: Vec<String> = res
            .text
            .split(['"', '<', '>', ' ', '\n'])
            .filter_map(|s| s.strip_prefix("https://blog.example"))
            .map(|path| path.replace("&amp;", "&"))
            .collect();
        if document == "/site.webmanifest" {
            let manifest: Value = serde_json::from_str(&res.text).unwrap();
            found.extend(manifest["icons"].as_array().unwrap().iter().map(|icon| icon["src"].as_str().unwrap().to_owned()));
        }
        for path in found {
            if path.starts_with('/') && !links.contains(&path) {
                links.push(path);
            }
        }
    }
    let must =
        ["/", "/posts", "/post/tagged", "/post/plain", "/sitemap.xml", "/web-app-manifest-192x192.png", "/web-app-manifest-512x512.png"];
    for path in must {
        assert!(links.iter().any(|link| link == path), "{path} is named: {links:?}");
    }
    for link in &links {
        let res = app.user().get(link).await;
        assert_eq!(res.status, StatusCode::OK, "{link} answers: {}", res.text);
    }
    // The icons the settings name: the defaults, then an uploaded one.
    let config = admin.get("/_fn/getSystemConfig").await.body;
    for (key, icon) in config["site"]["icons"].as_object().unwrap() {
        let path = icon.as_str().unwrap();
        let res = app.user().get(path).await;
        assert_eq!(res.status, StatusCode::OK, "{key}: {path}");
        let expected = if path.ends_with(".svg") {
            "image/svg+xml"
        } else if path.ends_with(".ico") {
            "image/x-icon"
        } else {
            "image/png"
        };
        assert_eq!(res.header("content-type"), Some(expected), "{path}");
    }
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1 1\"><rect width=\"1\" height=\"1\"/></svg>".to_vec();
    let (content_type, body) = crate::media::form(&[
        ("assetPath", None, "text/plain", b"favicon/favicon.svg"),
        ("file", Some("favicon.svg"), "image/svg+xml", &svg),
    ]);
    let request = app.http.post(app.url("/_fn/uploadSiteAsset")).header("content-type", content_type).body(body);
    let res = admin.send(request).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let served = app.user().get("/favicon.svg").await;
    assert_eq!(served.text.as_bytes(), &svg[..], "the uploaded icon replaces the default");
    assert!(served.header("content-security-policy").is_some_and(|c| c.contains("default-src 'none'")));
}

async fn the_language_of_pages_comes_from_the_settings(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    assert!(app.user().get("/").await.text.contains(r#"<html lang="en">"#));
    let mut config = admin.get("/_fn/getSystemConfig").await.body;
    config["site"]["language"] = json!("de-CH");
    assert_eq!(admin.post("/_fn/updateSystemConfig", config.clone()).await.status, StatusCode::OK);
    for path in ["/", "/archive", "/sign-in", "/no-such-page"] {
        let res = app.user().send(app.http.get(app.url(path)).header("accept", "text/html")).await;
        assert!(res.text.contains(r#"<html lang="de-CH">"#), "{path}: {}", res.text);
    }
    config["site"]["language"] = json!("not a language");
    assert_eq!(admin.post("/_fn/updateSystemConfig", config).await.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn named_front_ends_may_call_the_api_from_a_browser(backend: Backend) {
    {
        // Without the variable, no origin is allowed.
        let plain = TestApp::spawn(backend.clone()).await;
        let res = plain.user().send(plain.http.get(plain.url("/api/posts")).header("origin", "https://front.example")).await;
        assert!(res.header("access-control-allow-origin").is_none());
    }
    let app = TestApp::spawn_with(backend, &[("FLINT_CORS_ORIGINS", "https://front.example, http://localhost:3000")]).await;
    let mut admin = app.admin().await;
    let id = draft(&mut admin, json!({"title": "Shared", "content": "Words."})).await;
    publish(&app, &mut admin, id, "published").await;

    let from = |origin: &str| app.http.get(app.url("/api/posts")).header("origin", origin);
    let allowed = app.user().send(from("https://front.example")).await;
    assert_eq!(allowed.header("access-control-allow-origin"), Some("https://front.example"));
    assert!(allowed.header("access-control-expose-headers").is_some_and(|h| h.contains("etag")));
    assert!(allowed.header("access-control-allow-credentials").is_none(), "cookies never cross");
    assert!(allowed.headers.get_all("vary").iter().any(|v| v.to_str().unwrap().contains("origin")));
    let other = app.user().send(from("https://evil.example")).await;
    assert_eq!(other.status, StatusCode::OK);
    assert!(other.header("access-control-allow-origin").is_none());
    let plain = app.user().get("/api/posts").await;
    assert!(plain.headers.get_all("vary").iter().any(|v| v.to_str().unwrap().contains("origin")), "shared caches keep them apart");

    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/_fn/recordPageView"))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type");
    let res = app.user().send(preflight).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    assert_eq!(res.header("access-control-allow-origin"), Some("http://localhost:3000"));
    assert!(res.header("access-control-allow-methods").is_some_and(|m| m.contains("POST")));
    assert!(res.header("access-control-allow-headers").is_some_and(|h| h.contains("content-type")));

    // The named front-end may call a public function from its pages; any
    // other site's pages are still refused.
    let beacon = |origin: &str| {
        app.http
            .post(app.url("/_fn/recordPageView"))
            .header("origin", origin)
            .header("sec-fetch-site", "cross-site")
            .json(&json!({"postId": id}))
    };
    let res = app.user().send(beacon("https://front.example")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.header("access-control-allow-origin"), Some("https://front.example"));
    assert_eq!(app.user().send(beacon("https://evil.example")).await.status, StatusCode::FORBIDDEN);

    // A malformed origin stops start-up.
    let lookup = |value: &'static str| {
        move |name: &str| match name {
            "FLINT_CORS_ORIGINS" => Some(value.to_owned()),
            "DATABASE_URL" => Some("sqlite::memory:".to_owned()),
            _ => None,
        }
    };
    assert!(flint::platform::config::Config::from_lookup(lookup("https://front.example/app")).is_err());
    assert!(flint::platform::config::Config::from_lookup(lookup("front.example")).is_err());
    let config = flint::platform::config::Config::from_lookup(lookup("https://Front.Example/, *")).unwrap();
    assert_eq!(config.cors_origins, ["https://front.example", "*"]);
}
