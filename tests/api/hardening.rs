//! What a hostile probe found (issue 27), one test per defect: each failed
//! before its fix. Database-related ones run on both backends.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, Client, TestApp};

backend_tests!(deep_or_heavy_markdown_gets_a_clean_answer_and_the_server_stays_up,);

async fn new_post(admin: &mut Client<'_>) -> i64 {
    let res = admin.post("/_fn/createEmptyPost", json!({})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    res.body["id"].as_i64().unwrap()
}

/// D1 and D10: 10,000 and 100,000 nested quotes overflowed a worker
/// thread's stack and killed the process; 200,000 nested `<div>`s rendered
/// for minutes. Each now gets a 422 at once, and nothing dies.
async fn deep_or_heavy_markdown_gets_a_clean_answer_and_the_server_stays_up(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    let id = new_post(&mut admin).await;
    let hostile = [format!("{} x", ">".repeat(10_000)), format!("{} x", ">".repeat(100_000)), "<div>".repeat(200_000)];
    for content in &hostile {
        let started = Instant::now();
        let res = admin.post("/_fn/previewSummary", json!({"content": content})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert_eq!(res.code(), "CONTENT_TOO_COMPLEX");
        let res = admin.post("/_fn/updatePost", json!({"id": id, "data": {"content": content}})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert_eq!(res.code(), "CONTENT_TOO_COMPLEX");
        assert!(started.elapsed() < Duration::from_secs(20), "{} bytes took {:?}", content.len(), started.elapsed());
    }
    // Nothing of it was stored, and the server still answers.
    let res = admin.get(&format!("/_fn/findPostById?id={id}")).await;
    assert_eq!(res.body["content"], json!(null), "{}", res.text);
    assert_eq!(app.user().get("/healthz").await.status, StatusCode::OK);

    // Ordinary nesting is fine.
    let fine = format!("{} quoted\n\n- a\n  - b\n    - c\n", ">".repeat(20));
    let res = admin.post("/_fn/updatePost", json!({"id": id, "data": {"content": fine, "title": "Fine"}})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let res = admin.post("/_fn/previewSummary", json!({"content": fine})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["summary"], "quoted a b c");
}
