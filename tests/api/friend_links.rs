//! Issue 20 item 4: friend links — readers ask, admins decide, the public
//! list never shows a contact address, and submitters hear the result.

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::email::{MailDev, configure_email};
use crate::helpers::{ADMIN_EMAIL, Backend, TestApp};

backend_tests!(requests_are_decided_and_the_public_list_keeps_addresses_private, submitters_and_admins_hear_by_email);

fn request(name: &str, url: &str) -> serde_json::Value {
    json!({"siteName": name, "siteUrl": url, "description": "Notes on Rust", "logoUrl": "", "contactEmail": "friend@example.com"})
}

async fn requests_are_decided_and_the_public_list_keeps_addresses_private(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    let mut friend = app.signed_up("friend@example.com", "Friend").await;
    let res = friend.post("/_fn/submitFriendLink", request("Friend's Blog", "https://friend.example")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["status"], "pending");
    let id = res.body["id"].as_i64().unwrap();
    let again = friend.post("/_fn/submitFriendLink", request("Again", "https://friend.example")).await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "DUPLICATE_URL"));
    assert_eq!(friend.get("/_fn/getMyFriendLinks").await.body.as_array().unwrap().len(), 1);
    assert_eq!(app.user().get("/_fn/getApprovedFriendLinks").await.body, json!([]), "pending links are not listed");
    // Readers cannot decide.
    assert_eq!(friend.post("/_fn/approveFriendLink", json!({"id": id})).await.status, StatusCode::FORBIDDEN);

    let res = admin.post("/_fn/approveFriendLink", json!({"id": id})).await;
    assert_eq!((res.status, res.body["status"].as_str()), (StatusCode::OK, Some("approved")), "{}", res.text);
    let public = app.user().get("/_fn/getApprovedFriendLinks").await;
    assert_eq!(public.body[0]["siteName"], "Friend's Blog", "{}", public.text);
    assert!(!public.text.contains("friend@example.com") && !public.text.contains("contactEmail"), "no address: {}", public.text);

    // Admin edits and their own links reach the (cached) list at once.
    admin.post("/_fn/updateFriendLink", json!({"id": id, "siteName": "Renamed"})).await;
    let own = admin.post("/_fn/createFriendLink", json!({"siteName": "Own", "siteUrl": "https://own.example"})).await;
    assert_eq!(own.body["status"], "approved", "{}", own.text);
    let names: Vec<String> = app
        .user()
        .get("/_fn/getApprovedFriendLinks")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["siteName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["Own", "Renamed"]);
    let page = admin.get("/_fn/getAllFriendLinks?limit=1").await;
    assert_eq!((page.body["total"].as_i64(), page.body["items"].as_array().unwrap().len()), (Some(2), 1), "{}", page.text);
    let res = admin.post("/_fn/rejectFriendLink", json!({"id": id, "rejectionReason": "Off topic"})).await;
    assert_eq!(res.body["rejectionReason"], "Off topic");
    assert_eq!(app.user().get("/_fn/getApprovedFriendLinks").await.body.as_array().unwrap().len(), 1, "a rejected link leaves the list");
    assert_eq!(admin.post("/_fn/deleteFriendLink", json!({"id": own.body["id"]})).await.status, StatusCode::OK);
    assert_eq!(app.user().get("/_fn/getApprovedFriendLinks").await.body, json!([]));
    assert_eq!(admin.post("/_fn/deleteFriendLink", json!({"id": 999})).await.code(), "NOT_FOUND");
    // A refused address may be asked for again.
    assert_eq!(friend.post("/_fn/submitFriendLink", request("Again", "https://friend.example")).await.status, StatusCode::OK);
}

async fn submitters_and_admins_hear_by_email(backend: Backend) {
    let Some(maildev) = MailDev::start().await else { return };
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    configure_email(&mut admin, maildev.smtp_port, "maildev-password").await;
    let mut friend = app.signed_up("friend@example.com", "Friend").await;
    let id = friend.post("/_fn/submitFriendLink", request("Friend's Blog", "https://friend.example")).await.body["id"].as_i64().unwrap();
    app.settle().await;
    let emails = maildev.emails().await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0]["subject"], "[Friend Link Request] Friend's Blog");
    assert_eq!(emails[0]["to"][0]["address"], ADMIN_EMAIL);

    admin.post("/_fn/rejectFriendLink", json!({"id": id, "rejectionReason": "Off topic, sorry"})).await;
    app.settle().await;
    let emails = maildev.emails().await;
    assert_eq!(emails.len(), 2, "{emails:?}");
    let rejection = &emails[1];
    assert_eq!(rejection["subject"], "[Friend Link Result] Friend's Blog");
    assert_eq!(rejection["to"][0]["address"], "friend@example.com");
    assert!(rejection["text"].as_str().unwrap().contains("Off topic, sorry"), "the reason is in the email: {}", rejection["text"]);
}
