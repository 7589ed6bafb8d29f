//! Issue 19 item 5: webhooks signed so any Standard Webhooks library (and a
//! receiver written for the original) verifies them, retried with the same
//! id, logged, and never sent inside the network unless allowed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use flint::features::settings::schema::NotificationType;
use flint::features::webhooks::schema::WebhookBody;
use flint::features::webhooks::workflows::WebhookMessage;

use crate::backend_tests;
use crate::helpers::{Backend, Client, TestApp};

backend_tests!(
    failed_deliveries_are_retried_with_the_same_id_and_logged,
    private_destinations_are_refused_unless_allowed,
    a_publish_reaches_the_endpoints_subscribed_to_it_once,
);

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A request as the receiver got it.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Received>>>;

/// A receiver on 127.0.0.1 that answers 500 to its first `failures`
/// requests, then 204.
async fn receiver(failures: usize) -> (String, Log) {
    let log: Log = Arc::default();
    let left = Arc::new(Mutex::new(failures));
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post({
            let log = log.clone();
            move |headers: HeaderMap, body: axum::body::Bytes| async move {
                log.lock().unwrap().push(Received { headers, body: body.to_vec() });
                let mut left = left.lock().unwrap();
                if *left > 0 {
                    *left -= 1;
                    (StatusCode::INTERNAL_SERVER_ERROR, "not now")
                } else {
                    (StatusCode::NO_CONTENT, "")
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}/hook"), log)
}

/// Checks a delivery as two independent receivers would: the Standard
/// Webhooks library, and the original's `X-Flare-Signature` recomputed.
fn verify(received: &Received) -> Value {
    let header = |name: &str| received.headers.get(name).unwrap_or_else(|| panic!("{name} header")).to_str().unwrap().to_owned();
    // (The library also refuses timestamps 5 minutes from its real clock;
    // the test's clock starts at the real time and moves 90 s at most.)
    standardwebhooks::Webhook::new(SECRET)
        .unwrap()
        .verify(&received.body, &received.headers)
        .unwrap_or_else(|e| panic!("Standard Webhooks verification failed: {e:?}"));
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{}.", header("x-flare-timestamp")).as_bytes());
    mac.update(&received.body);
    assert_eq!(header("x-flare-signature"), format!("sha256={}", hex::encode(mac.finalize().into_bytes())));
    assert_eq!(header("content-type"), "application/json");
    let body: Value = serde_json::from_slice(&received.body).unwrap();
    assert_eq!(header("x-flare-event"), body["type"].as_str().unwrap());
    assert_eq!(header("webhook-id"), body["id"].as_str().unwrap());
    body
}

async fn with_endpoint(admin: &mut Client<'_>, url: &str) {
    let mut config = admin.get("/_fn/getSystemConfig").await.body;
    config["notification"]["webhooks"] = json!([{"id": "receiver", "name": "Receiver", "url": url, "enabled": true,
        "secret": SECRET, "events": ["comment.admin_root_created", "post.published"]}]);
    let res = admin.post("/_fn/updateSystemConfig", config).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
}

async fn failed_deliveries_are_retried_with_the_same_id_and_logged(backend: Backend) {
    let (url, log) = receiver(2).await;
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0"), ("FLINT_WEBHOOK_ALLOW_PRIVATE", "true")]).await;
    let mut admin = app.admin().await;
    with_endpoint(&mut admin, &url).await;

    let body = WebhookBody {
        id: "msg_retried".into(),
        event_type: NotificationType::CommentAdminRootCreated,
        timestamp: String::new(),
        source: "flint".into(),
        test: false,
        data: json!({"to": "admin@example.com", "postTitle": "Hello"}),
        subject: "[New Comment] Hello".into(),
        message: "A reader commented.".into(),
        html: "<p>A reader commented.</p>".into(),
    };
    app.state.workflows.send(&WebhookMessage { endpoint_id: "receiver".into(), body }).await.unwrap();
    app.settle().await;
    assert_eq!(log.lock().unwrap().len(), 1, "the first attempt failed");
    for wait in [30, 60] {
        app.clock.advance(Duration::from_secs(wait));
        app.settle().await;
    }
    let received = log.lock().unwrap().clone();
    assert_eq!(received.len(), 3, "delivered on the third attempt");
    let bodies: Vec<Value> = received.iter().map(verify).collect();
    assert!(bodies.iter().all(|b| b["id"] == "msg_retried" && b["type"] == "comment.admin_root_created" && b["test"] == false));
    assert_ne!(bodies[0]["timestamp"], bodies[2]["timestamp"], "each attempt is signed anew");
    assert_eq!(bodies[2]["data"]["postTitle"], "Hello");

    let logged = admin.get("/_fn/getWebhookDeliveries?endpointId=receiver").await;
    let attempts = logged.body.as_array().unwrap_or_else(|| panic!("{}", logged.text));
    assert_eq!(attempts.len(), 3);
    assert_eq!(
        attempts
            .iter()
            .map(|a| (a["attempt"].as_i64().unwrap(), a["status"].as_i64().unwrap(), a["ok"].as_bool().unwrap()))
            .collect::<Vec<_>>(),
        [(3, 204, true), (2, 500, false), (1, 500, false)],
        "newest first"
    );
    assert!(attempts[1]["error"].as_str().unwrap().contains("not now"), "the receiver's answer is kept: {}", logged.text);

    // A test delivery goes at once and says how it went.
    let mut config = admin.get("/_fn/getSystemConfig").await.body;
    let endpoint = config["notification"]["webhooks"][0].take();
    let res = admin.post("/_fn/testWebhook", json!({"endpoint": endpoint})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!((res.body["success"].as_bool(), res.body["status"].as_i64()), (Some(true), Some(204)), "{}", res.text);
    let received = log.lock().unwrap().clone();
    assert_eq!(received.len(), 4);
    let test = verify(&received[3]);
    assert_eq!((test["test"].as_bool(), test["type"].as_str()), (Some(true), Some("comment.admin_root_created")));
}

async fn private_destinations_are_refused_unless_allowed(backend: Backend) {
    let (url, log) = receiver(0).await;
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    with_endpoint(&mut admin, &url).await;
    let mut config = admin.get("/_fn/getSystemConfig").await.body;
    let endpoint = config["notification"]["webhooks"][0].take();
    let res = admin.post("/_fn/testWebhook", json!({"endpoint": endpoint})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["success"], false);
    assert!(res.body["error"].as_str().unwrap().contains("private address"), "{}", res.text);
    let mut localhost = endpoint.clone();
    localhost["url"] = json!(url.replace("127.0.0.1", "localhost"));
    let res = admin.post("/_fn/testWebhook", json!({"endpoint": localhost})).await;
    assert_eq!(res.body["success"], false, "{}", res.text);
    assert!(log.lock().unwrap().is_empty(), "nothing reached the receiver");
    let attempts = admin.get("/_fn/getWebhookDeliveries?endpointId=receiver").await;
    assert_eq!(attempts.body.as_array().unwrap().len(), 2, "refusals are logged too: {}", attempts.text);
}

async fn a_publish_reaches_the_endpoints_subscribed_to_it_once(backend: Backend) {
    let (subscribed, got) = receiver(0).await;
    let (other, other_got) = receiver(0).await;
    let (disabled, disabled_got) = receiver(0).await;
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0"), ("FLINT_WEBHOOK_ALLOW_PRIVATE", "true")]).await;
    let mut admin = app.admin().await;
    let mut config = admin.get("/_fn/getSystemConfig").await.body;
    config["notification"]["webhooks"] = json!([
        {"id": "subscribed", "name": "A", "url": subscribed, "enabled": true, "secret": SECRET, "events": ["post.published"]},
        {"id": "other", "name": "B", "url": other, "enabled": true, "secret": SECRET, "events": ["friend_link.submitted"]},
        {"id": "disabled", "name": "C", "url": disabled, "enabled": false, "secret": SECRET, "events": ["post.published"]}
    ]);
    assert_eq!(admin.post("/_fn/updateSystemConfig", config.clone()).await.status, StatusCode::OK);

    let id = admin.post("/_fn/createEmptyPost", json!({})).await.body["id"].as_i64().unwrap();
    admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": "Out Now", "content": "text", "summary": "A summary."}})).await;
    admin.post("/_fn/startPostProcessWorkflow", json!({"id": id, "status": "published"})).await;
    app.settle().await;
    let received = got.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "the subscribed endpoint got the publish");
    let body = verify(&received[0]);
    assert_eq!((body["type"].as_str(), body["data"]["postTitle"].as_str()), (Some("post.published"), Some("Out Now")));
    assert_eq!(body["subject"], "[Published] Out Now");
    assert!(body["html"].as_str().unwrap().contains("A summary.") && body["message"].as_str().unwrap().contains("A summary."));
    assert!(other_got.lock().unwrap().is_empty() && disabled_got.lock().unwrap().is_empty());

    // The same publish again (the subscriber retried) queues nothing more.
    let event = flint::features::publishing::events::PostPublished {
        post_id: id,
        slug: "out-now".into(),
        previous_slug: None,
        post: flint::features::posts::service::row(&app.ctx(), id).await.unwrap().unwrap(),
        tag_ids: vec![],
    };
    use flint::platform::events::Subscriber;
    flint::features::notifications::workflows::NotifyPublished.handle(&app.ctx(), event).await.unwrap();
    app.settle().await;
    assert_eq!(got.lock().unwrap().len(), 1, "delivered once");

    // With the admin's webhook channel off, nothing goes out.
    config["notification"]["admin"]["channels"]["webhook"] = json!(false);
    for webhook in config["notification"]["webhooks"].as_array_mut().unwrap() {
        webhook["secret"] = json!("********");
    }
    assert_eq!(admin.post("/_fn/updateSystemConfig", config).await.status, StatusCode::OK);
    admin.post("/_fn/updatePost", json!({"id": id, "data": {"content": "changed"}})).await;
    admin.post("/_fn/startPostProcessWorkflow", json!({"id": id, "status": "published"})).await;
    app.settle().await;
    assert_eq!(got.lock().unwrap().len(), 1, "the channel is off");
}
