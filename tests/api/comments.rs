//! Issue 20 items 1-3: comment threads, what readers see of them,
//! moderation (rules, the AI reviewer on a loopback mock, admins winning
//! over it) and the notifications they send.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::email::{MailDev, configure_email};
use crate::helpers::{ADMIN_EMAIL, Backend, Client, TestApp};
use crate::posts::{draft, publish};

backend_tests!(
    threads_errors_and_what_readers_see,
    manual_review_hides_comments_until_an_admin_decides,
    the_ai_reviewer_publishes_safe_comments_and_holds_the_rest,
    an_ai_that_is_down_means_review_never_publication,
    an_admin_decision_during_the_ai_call_wins,
    a_published_reply_emails_whom_it_answers_until_they_unsubscribe,
);

async fn set_moderation(admin: &mut Client<'_>, comments: Value) {
    let mut config = admin.get("/_fn/getSystemConfig").await.body;
    config["comments"] = comments;
    let res = admin.post("/_fn/updateSystemConfig", config).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
}

/// A published post; returns its id.
async fn public_post(app: &TestApp, admin: &mut Client<'_>, title: &str) -> i64 {
    let id = draft(admin, json!({"title": title, "content": "A post worth discussing, with a few words in it."})).await;
    publish(app, admin, id, "published").await;
    id
}

async fn comment(client: &mut Client<'_>, body: Value) -> Value {
    let res = client.post("/_fn/createComment", body).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    res.body
}

async fn user_id(client: &mut Client<'_>) -> String {
    client.get("/_fn/getSession").await.body["user"]["id"].as_str().unwrap().to_owned()
}

async fn threads_errors_and_what_readers_see(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    set_moderation(&mut admin, json!({"moderation": "open"})).await;
    let post = public_post(&app, &mut admin, "Threads").await;
    let other_post = public_post(&app, &mut admin, "Elsewhere").await;
    let hidden = draft(&mut admin, json!({"title": "Draft", "content": "Not yet."})).await;
    let mut ann = app.signed_up("ann@example.com", "Ann").await;
    let mut bob = app.signed_up("bob@example.com", "Bob").await;

    let root = comment(&mut ann, json!({"postId": post, "content": "First *thoughts*"})).await;
    assert_eq!(root["status"], "published", "open moderation publishes what passes the rules");
    let root_id = root["id"].as_i64().unwrap();
    let reply = comment(&mut ann, json!({"postId": post, "content": "And more", "rootId": root_id})).await;
    assert_eq!(reply["replyToCommentId"], root_id, "a reply without a target answers the root");
    let reply_id = reply["id"].as_i64().unwrap();
    let answer =
        comment(&mut bob, json!({"postId": post, "content": "Replying to the reply", "rootId": root_id, "replyToCommentId": reply_id}))
            .await;
    assert_eq!((answer["rootId"].as_i64(), answer["replyToCommentId"].as_i64()), (Some(root_id), Some(reply_id)), "the same thread");

    let roots = app.user().get(&format!("/_fn/getRootCommentsByPostId?postId={post}")).await;
    assert_eq!(roots.status, StatusCode::OK, "{}", roots.text);
    assert_eq!(roots.body["total"], 1);
    assert_eq!(roots.body["items"][0]["replyCount"], 2);
    assert_eq!(roots.body["items"][0]["contentHtml"].as_str().map(str::trim), Some("<p>First <em>thoughts</em></p>"));
    assert_eq!(roots.body["items"][0]["user"]["name"], "Ann");
    let replies = app.user().get(&format!("/_fn/getRepliesByRootId?postId={post}&rootId={root_id}")).await;
    assert_eq!(replies.body["total"], 2, "{}", replies.text);
    assert_eq!(replies.body["items"][1]["replyTo"], json!({"id": reply_id, "name": "Ann"}));
    let page = app.user().get(&format!("/_fn/getRepliesByRootId?postId={post}&rootId={root_id}&offset=1&limit=1")).await;
    assert_eq!(
        (page.body["items"].as_array().unwrap().len(), page.body["items"][0]["id"].as_i64()),
        (1, Some(answer["id"].as_i64().unwrap()))
    );

    // Only the author (or an admin) deletes; readers then see a marker.
    let res = bob.post("/_fn/deleteComment", json!({"id": reply_id})).await;
    assert_eq!((res.status, res.code()), (StatusCode::FORBIDDEN, "PERMISSION_DENIED"));
    assert_eq!(ann.post("/_fn/deleteComment", json!({"id": reply_id})).await.status, StatusCode::OK);
    let replies = app.user().get(&format!("/_fn/getRepliesByRootId?postId={post}&rootId={root_id}")).await;
    let deleted = &replies.body["items"][0];
    assert_eq!((deleted["deleted"].as_bool(), deleted["contentHtml"].is_null()), (Some(true), true), "{}", replies.text);
    assert!(!replies.text.contains("And more"), "no content of a deleted comment: {}", replies.text);
    assert_eq!(ann.post("/_fn/deleteComment", json!({"id": 99999})).await.code(), "COMMENT_NOT_FOUND");

    // Scripts and javascript: links never reach readers; links are marked.
    let nasty = "<script>alert(1)</script>\n\n[click](javascript:alert(2)) and [site](https://ann.example) <img src=x onerror=alert(3)>";
    comment(&mut ann, json!({"postId": post, "content": nasty})).await;
    let roots = app.user().get(&format!("/_fn/getRootCommentsByPostId?postId={post}")).await;
    let html = roots.body["items"][0]["contentHtml"].as_str().unwrap();
    assert!(!html.contains("<script") && !html.contains("javascript:") && !html.contains("<img"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "raw HTML is shown as the text it is: {html}");
    assert!(html.contains(r#"<a href="https://ann.example" rel="nofollow ugc noopener">site</a>"#), "{html}");

    // The spec's errors, and a post readers cannot open (each client may
    // write ten a minute; every client here is 127.0.0.1).
    app.clock.advance(Duration::from_secs(61));
    let error = |res: crate::helpers::Res| (res.status, res.code().to_owned());
    let cases = [
        (json!({"postId": hidden, "content": "Hi"}), StatusCode::NOT_FOUND, "POST_NOT_FOUND"),
        (json!({"postId": 99999, "content": "Hi"}), StatusCode::NOT_FOUND, "POST_NOT_FOUND"),
        (json!({"postId": post, "content": "Hi", "rootId": 99999}), StatusCode::NOT_FOUND, "ROOT_COMMENT_NOT_FOUND"),
        (json!({"postId": post, "content": "Hi", "rootId": reply_id}), StatusCode::BAD_REQUEST, "INVALID_ROOT_ID"),
        (json!({"postId": other_post, "content": "Hi", "rootId": root_id}), StatusCode::BAD_REQUEST, "ROOT_COMMENT_POST_MISMATCH"),
        (
            json!({"postId": post, "content": "Hi", "rootId": root_id, "replyToCommentId": 99999}),
            StatusCode::NOT_FOUND,
            "REPLY_TO_COMMENT_NOT_FOUND",
        ),
        (
            json!({"postId": post, "content": "Hi", "replyToCommentId": root_id}),
            StatusCode::BAD_REQUEST,
            "ROOT_COMMENT_CANNOT_HAVE_REPLY_TO",
        ),
    ];
    for (body, status, code) in cases {
        assert_eq!(error(bob.post("/_fn/createComment", body.clone()).await), (status, code.to_owned()), "{body}");
    }
    app.clock.advance(Duration::from_secs(61)); // a new minute for Bob's rate limit
    let elsewhere = comment(&mut bob, json!({"postId": other_post, "content": "Other thread"})).await["id"].as_i64().unwrap();
    let res =
        bob.post("/_fn/createComment", json!({"postId": post, "content": "Hi", "rootId": root_id, "replyToCommentId": elsewhere})).await;
    assert_eq!(error(res), (StatusCode::BAD_REQUEST, "REPLY_TO_COMMENT_ROOT_MISMATCH".to_owned()));
    let long = "x".repeat(5001);
    assert_eq!(bob.post("/_fn/createComment", json!({"postId": post, "content": long})).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bob.post("/_fn/createComment", json!({"postId": post, "content": "   "})).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.user().post("/_fn/createComment", json!({"postId": post, "content": "anon"})).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.user().get(&format!("/_fn/getRootCommentsByPostId?postId={hidden}")).await.code(), "POST_NOT_FOUND");

    // Admin tools: listing with filters, stats, hard delete with the replies.
    let ann_id = user_id(&mut ann).await;
    let listed = admin.get("/_fn/getAllComments?userName=an&limit=100").await;
    assert_eq!(listed.body["total"], 3, "Ann's three comments: {}", listed.text);
    assert_eq!(listed.body["items"][0]["post"]["title"], "Threads");
    let stats = admin.get(&format!("/_fn/getUserStats?userId={ann_id}")).await;
    assert_eq!((stats.body["totalComments"].as_i64(), stats.body["rejectedComments"].as_i64()), (Some(3), Some(1)), "{}", stats.text);
    assert_eq!(ann.get("/_fn/getMyComments?status=deleted").await.body["total"], 1);
    assert_eq!(bob.get("/_fn/getAllComments").await.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.post("/_fn/adminDeleteComment", json!({"id": root_id})).await.status, StatusCode::OK);
    assert_eq!(admin.get(&format!("/_fn/getAllComments?postId={post}")).await.body["total"], 1, "the replies went with their root");
    assert_eq!(admin.post("/_fn/adminDeleteComment", json!({"id": root_id})).await.code(), "COMMENT_NOT_FOUND");

    // Ten a minute per client.
    app.clock.advance(Duration::from_secs(61));
    let mut carl = app.signed_up("carl@example.com", "Carl").await;
    for n in 0..10 {
        comment(&mut carl, json!({"postId": post, "content": format!("Comment {n}")})).await;
    }
    assert_eq!(
        carl.post("/_fn/createComment", json!({"postId": post, "content": "one too many"})).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

async fn roots(client: &mut Client<'_>, post: i64) -> Value {
    client.get(&format!("/_fn/getRootCommentsByPostId?postId={post}")).await.body
}

async fn manual_review_hides_comments_until_an_admin_decides(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    // No AI endpoint: manual review is the default.
    let post = public_post(&app, &mut admin, "Reviewed").await;
    let mut ann = app.signed_up("ann@example.com", "Ann").await;
    let mut bob = app.signed_up("bob@example.com", "Bob").await;
    let mine = comment(&mut ann, json!({"postId": post, "content": "Waiting"})).await;
    assert_eq!(mine["status"], "pending");
    assert_eq!(roots(&mut app.user(), post).await["total"], 0, "anonymous readers do not see it");
    assert_eq!(roots(&mut bob, post).await["total"], 0, "other readers do not see it");
    let own = roots(&mut ann, post).await;
    assert_eq!((own["total"].as_i64(), own["items"][0]["status"].as_str()), (Some(1), Some("pending")), "its author does");
    // An admin's comment is published at once.
    assert_eq!(comment(&mut admin, json!({"postId": post, "content": "From the owner"})).await["status"], "published");
    assert_eq!(roots(&mut app.user(), post).await["total"], 1);

    let pending = admin.get("/_fn/getAllComments?status=pending").await;
    assert_eq!(pending.body["total"], 1, "{}", pending.text);
    let res = admin.post("/_fn/moderateComment", json!({"id": mine["id"], "status": "published"})).await;
    assert_eq!(res.body["status"], "published", "{}", res.text);
    assert_eq!(roots(&mut app.user(), post).await["total"], 2, "the shared list is refreshed at once");
    // Rules still apply in open mode: too many links, or a blocked word.
    set_moderation(&mut admin, json!({"moderation": "open", "maxLinks": 1, "blockList": ["  Casino "]})).await;
    let links = comment(&mut bob, json!({"postId": post, "content": "https://a.example and https://b.example"})).await;
    assert_eq!((links["status"].as_str(), links["aiReason"].as_str()), (Some("pending"), Some("2 links (at most 1 without review)")));
    assert_eq!(comment(&mut bob, json!({"postId": post, "content": "Try the CASINO"})).await["status"], "pending");
    assert_eq!(comment(&mut bob, json!({"postId": post, "content": "Fine words"})).await["status"], "published");
}

/// A stand-in OpenAI-compatible endpoint: `{safe: false}` for comments
/// containing "spam", safe otherwise; or 503 when `down`. When `gate` is
/// given, each call waits for a permit after announcing itself.
struct MockAi {
    url: String,
    calls: Arc<AtomicUsize>,
}

async fn mock_ai(down: bool, gate: Option<(Arc<tokio::sync::Notify>, Arc<tokio::sync::Semaphore>)>) -> MockAi {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let handler = move |axum::Json(body): axum::Json<Value>| {
        let counter = counter.clone();
        let gate = gate.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            assert_eq!(body["response_format"]["type"], "json_schema", "structured output is asked for");
            let request: Value = serde_json::from_str(body["messages"][1]["content"].as_str().unwrap()).unwrap();
            assert_eq!(request["postTitle"], "Moderated", "the post is given as context: {request}");
            if let Some((called, permits)) = gate {
                called.notify_one();
                permits.acquire().await.unwrap().forget();
            }
            if down {
                return axum::response::IntoResponse::into_response((axum::http::StatusCode::SERVICE_UNAVAILABLE, "overloaded"));
            }
            let spam = request["comment"].as_str().unwrap().contains("spam");
            let verdict = json!({"safe": !spam, "reason": if spam { "Looks like spam" } else { "Civil" }});
            axum::response::IntoResponse::into_response(axum::Json(json!({"choices": [{"message": {"content": verdict.to_string()}}]})))
        }
    };
    let router = axum::Router::new().route("/v1/chat/completions", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    MockAi { url: format!("http://{addr}/v1"), calls }
}

async fn with_ai(backend: Backend, ai: &MockAi) -> TestApp {
    let vars = [
        ("FLINT_WORKFLOW_WORKERS", "0"),
        ("FLINT_AI_BASE_URL", ai.url.as_str()),
        ("FLINT_AI_API_KEY", "test-key"),
        ("FLINT_AI_MODEL", "test-model"),
    ];
    TestApp::spawn_with(backend, &vars).await
}

async fn status_of(admin: &mut Client<'_>, id: i64) -> (String, String) {
    let listed = admin.get("/_fn/getAllComments?limit=100").await.body;
    let item = listed["items"].as_array().unwrap().iter().find(|c| c["id"].as_i64() == Some(id)).cloned().expect("listed");
    (item["status"].as_str().unwrap().to_owned(), item["aiReason"].as_str().unwrap_or_default().to_owned())
}

async fn the_ai_reviewer_publishes_safe_comments_and_holds_the_rest(backend: Backend) {
    let maildev = MailDev::start().await;
    let ai = mock_ai(false, None).await;
    let app = with_ai(backend, &ai).await;
    let mut admin = app.admin().await;
    if let Some(maildev) = &maildev {
        configure_email(&mut admin, maildev.smtp_port, "maildev-password").await;
    }
    let post = public_post(&app, &mut admin, "Moderated").await;
    let mut ann = app.signed_up("ann@example.com", "Ann").await;

    let good = comment(&mut ann, json!({"postId": post, "content": "A thoughtful remark"})).await;
    assert_eq!(good["status"], "verifying", "AI moderation is the default when an AI endpoint is configured");
    assert_eq!(roots(&mut app.user(), post).await["total"], 0, "a comment waiting for the AI is hidden from readers");
    let own = roots(&mut ann, post).await;
    assert_eq!((own["total"].as_i64(), own["items"][0]["status"].as_str()), (Some(1), Some("verifying")), "but shown to its author");
    let bad = comment(&mut ann, json!({"postId": post, "content": "Buy spam now"})).await;
    app.settle().await;
    assert_eq!(status_of(&mut admin, good["id"].as_i64().unwrap()).await, ("published".to_owned(), "Civil".to_owned()));
    assert_eq!(status_of(&mut admin, bad["id"].as_i64().unwrap()).await, ("pending".to_owned(), "Looks like spam".to_owned()));
    assert_eq!(ai.calls.load(Ordering::SeqCst), 2);
    let roots = app.user().get(&format!("/_fn/getRootCommentsByPostId?postId={post}")).await;
    assert_eq!(roots.body["total"], 1, "only the safe one is public: {}", roots.text);

    // The rule check runs before the AI is asked.
    let links = comment(&mut ann, json!({"postId": post, "content": "https://a.example https://b.example https://c.example"})).await;
    assert_eq!(links["status"], "pending");
    app.settle().await;
    assert_eq!(ai.calls.load(Ordering::SeqCst), 2, "no AI call for a comment the rules hold");

    if let Some(maildev) = maildev {
        let emails = maildev.emails().await;
        let subjects: Vec<&str> = emails.iter().map(|e| e["subject"].as_str().unwrap()).collect();
        let review = subjects.iter().filter(|s| **s == "[Needs Review] Moderated").count();
        assert_eq!(review, 2, "the spam and the link-heavy comment wait for review: {subjects:?}");
        assert_eq!(subjects.iter().filter(|s| **s == "[New Comment] Moderated").count(), 3, "each new root comment: {subjects:?}");
        assert!(emails.iter().all(|e| e["to"][0]["address"] == ADMIN_EMAIL));
    }
}

async fn an_ai_that_is_down_means_review_never_publication(backend: Backend) {
    let ai = mock_ai(true, None).await;
    let app = with_ai(backend, &ai).await;
    let mut admin = app.admin().await;
    let post = public_post(&app, &mut admin, "Moderated").await;
    let mut ann = app.signed_up("ann@example.com", "Ann").await;
    let id = comment(&mut ann, json!({"postId": post, "content": "Hello there"})).await["id"].as_i64().unwrap();
    app.settle().await;
    for wait in [5, 10, 20] {
        assert_eq!(status_of(&mut admin, id).await.0, "verifying", "still retrying");
        app.clock.advance(Duration::from_secs(wait));
        app.settle().await;
    }
    assert_eq!(ai.calls.load(Ordering::SeqCst), 4, "one attempt and the spec's three retries");
    let (status, reason) = status_of(&mut admin, id).await;
    assert_eq!(status, "pending", "an unavailable reviewer never publishes");
    assert!(reason.contains("unavailable"), "{reason}");
    assert_eq!(app.user().get(&format!("/_fn/getRootCommentsByPostId?postId={post}")).await.body["total"], 0);
}

async fn an_admin_decision_during_the_ai_call_wins(backend: Backend) {
    let called = Arc::new(tokio::sync::Notify::new());
    let permits = Arc::new(tokio::sync::Semaphore::new(0));
    let ai = mock_ai(false, Some((called.clone(), permits.clone()))).await;
    let app = with_ai(backend, &ai).await;
    let mut admin = app.admin().await;
    let post = public_post(&app, &mut admin, "Moderated").await;
    let mut ann = app.signed_up("ann@example.com", "Ann").await;
    let id = comment(&mut ann, json!({"postId": post, "content": "Some spam, says the AI"})).await["id"].as_i64().unwrap();

    let state = app.state.clone();
    let running = tokio::spawn(async move {
        loop {
            if state.workflows.run_due().await.unwrap() == 0 {
                break;
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(20), called.notified()).await.expect("the AI is asked");
    // While the AI thinks, an admin approves.
    let res = admin.post("/_fn/moderateComment", json!({"id": id, "status": "published"})).await;
    assert_eq!(res.body["status"], "published", "{}", res.text);
    permits.add_permits(1);
    running.await.unwrap();
    app.settle().await;
    assert_eq!(status_of(&mut admin, id).await.0, "published", "the AI's later \"unsafe\" does not overwrite the admin");
}

async fn a_published_reply_emails_whom_it_answers_until_they_unsubscribe(backend: Backend) {
    let Some(maildev) = MailDev::start().await else { return };
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    configure_email(&mut admin, maildev.smtp_port, "maildev-password").await;
    set_moderation(&mut admin, json!({"moderation": "manual"})).await;
    let post = public_post(&app, &mut admin, "Replies").await;
    let mut ann = app.signed_up("ann@example.com", "Ann").await;
    let mut bob = app.signed_up("bob@example.com", "Bob").await;
    let root = comment(&mut ann, json!({"postId": post, "content": "My view"})).await["id"].as_i64().unwrap();
    admin.post("/_fn/moderateComment", json!({"id": root, "status": "published"})).await;
    let reply = comment(&mut bob, json!({"postId": post, "content": "I disagree, politely", "rootId": root})).await["id"].as_i64().unwrap();
    app.settle().await;
    let to_ann = |emails: &[Value]| emails.iter().filter(|e| e["to"][0]["address"] == "ann@example.com").cloned().collect::<Vec<_>>();
    assert!(to_ann(&maildev.emails().await).is_empty(), "not while the reply waits for review");

    admin.post("/_fn/moderateComment", json!({"id": reply, "status": "published"})).await;
    app.settle().await;
    let emails = to_ann(&maildev.emails().await);
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0]["subject"], "[Comment Reply] Bob replied to your comment on \u{201c}Replies\u{201d}");
    let text = emails[0]["text"].as_str().unwrap();
    assert!(text.contains("I disagree, politely") && text.contains("/unsubscribe?"), "{text}");

    assert_eq!(ann.post("/_fn/toggleReplyNotification", json!({"enabled": false})).await.status, StatusCode::OK);
    let second = comment(&mut bob, json!({"postId": post, "content": "Another reply", "rootId": root})).await["id"].as_i64().unwrap();
    admin.post("/_fn/moderateComment", json!({"id": second, "status": "published"})).await;
    app.settle().await;
    assert_eq!(to_ann(&maildev.emails().await).len(), 1, "no email after unsubscribing");
}
