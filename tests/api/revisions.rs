//! Post revisions: publish revisions, restore with backup, deletion, and the
//! automatic snapshots taken after an editor goes quiet.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, Client, TestApp};

async fn quiet(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await
}

async fn new_post(admin: &mut Client<'_>, title: &str) -> i64 {
    let id = admin.post("/_fn/createEmptyPost", json!({})).await.body["id"].as_i64().unwrap();
    let slug = title.to_lowercase().replace(' ', "-");
    let res =
        admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": title, "slug": slug, "content": format!("# {title}\n")}})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    id
}

async fn revisions(admin: &mut Client<'_>, post: i64) -> Vec<Value> {
    admin.get(&format!("/_fn/listPostRevisions?postId={post}")).await.body.as_array().unwrap().clone()
}

/// Lets every due workflow run (the manual clock decides what is due).
async fn settle(app: &TestApp) {
    app.settle().await;
}

backend_tests!(
    publishing_writes_a_revision_and_restore_keeps_a_backup,
    revisions_are_deleted_per_post_and_bad_snapshots_refused,
    auto_snapshots_wait_for_quiet_and_never_repeat,
    auto_snapshots_are_spaced_and_trimmed,
);

async fn publishing_writes_a_revision_and_restore_keeps_a_backup(backend: Backend) {
    let app = quiet(backend).await;
    let mut admin = app.admin().await;
    let id = new_post(&mut admin, "First Title").await;
    admin.post("/_fn/startPostProcessWorkflow", json!({"id": id, "status": "published"})).await;
    settle(&app).await;
    app.clock.advance(Duration::from_secs(1));
    admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": "Second Title"}})).await;
    admin.post("/_fn/startPostProcessWorkflow", json!({"id": id, "status": "published"})).await;
    settle(&app).await;
    let list = revisions(&mut admin, id).await;
    assert_eq!(list.len(), 2, "one publish revision each time");
    assert_eq!((list[0]["reason"].clone(), list[0]["title"].clone()), (json!("publish"), json!("Second Title")), "newest first");
    let first = list[1]["id"].as_i64().unwrap();

    let detail = admin.get(&format!("/_fn/getPostRevision?postId={id}&revisionId={first}")).await;
    assert_eq!(detail.body["snapshot"]["title"], "First Title");
    assert_eq!(detail.body["snapshot"]["status"], "published");

    app.clock.advance(Duration::from_secs(1));
    let restored = admin.post("/_fn/restorePostRevision", json!({"postId": id, "revisionId": first})).await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.text);
    assert_eq!(restored.body["restored"], true);
    assert_eq!(restored.body["post"]["title"], "First Title");
    let list = revisions(&mut admin, id).await;
    assert_eq!(list[0]["reason"], "restore_backup");
    assert_eq!(list[0]["title"], "Second Title", "the replaced state is kept");
    assert_eq!(list[0]["restoredFromRevisionId"], first);

    let again = admin.post("/_fn/restorePostRevision", json!({"postId": id, "revisionId": first})).await;
    assert_eq!(again.body["restored"], false, "already in that state: nothing written");
    assert_eq!(revisions(&mut admin, id).await.len(), 3);
    let missing = admin.post("/_fn/restorePostRevision", json!({"postId": id, "revisionId": 999999})).await;
    assert_eq!(missing.code(), "POST_REVISION_NOT_FOUND");
}

async fn revisions_are_deleted_per_post_and_bad_snapshots_refused(backend: Backend) {
    let app = quiet(backend).await;
    let mut admin = app.admin().await;
    let a = new_post(&mut admin, "Post A").await;
    let b = new_post(&mut admin, "Post B").await;
    for id in [a, b] {
        admin.post("/_fn/startPostProcessWorkflow", json!({"id": id, "status": "published"})).await;
    }
    settle(&app).await;
    let a_rev = revisions(&mut admin, a).await[0]["id"].as_i64().unwrap();
    let b_rev = revisions(&mut admin, b).await[0]["id"].as_i64().unwrap();
    let deleted = admin.post("/_fn/deletePostRevisions", json!({"postId": a, "revisionIds": [a_rev, b_rev, a_rev]})).await;
    assert_eq!(deleted.body, json!({"deletedIds": [a_rev], "deletedCount": 1}), "only the given post's revisions");
    assert_eq!(revisions(&mut admin, b).await.len(), 1);
    assert_eq!(
        admin.post("/_fn/deletePostRevisions", json!({"postId": a, "revisionIds": []})).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    flint::execute!(&app.state.db, sqlx::query("UPDATE post_revisions SET snapshot_json = '{\"title\": 5}' WHERE id = $1").bind(b_rev))
        .unwrap();
    let bad = admin.post("/_fn/restorePostRevision", json!({"postId": b, "revisionId": b_rev})).await;
    assert_eq!((bad.status, bad.code()), (StatusCode::UNPROCESSABLE_ENTITY, "POST_REVISION_INVALID_SNAPSHOT"));
}

async fn auto_snapshots_wait_for_quiet_and_never_repeat(backend: Backend) {
    let app = quiet(backend).await;
    let mut admin = app.admin().await;
    let id = new_post(&mut admin, "Draft One").await;
    settle(&app).await;
    app.clock.advance(Duration::from_secs(20));
    admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": "Draft Two"}})).await;
    settle(&app).await;
    let runs = app.state.workflows.count_by_status().await.unwrap();
    assert_eq!(
        runs.get("sleeping").copied().unwrap_or(0) + runs.get("queued").copied().unwrap_or(0),
        1,
        "edits join the waiting run: {runs:?}"
    );

    app.clock.advance(Duration::from_secs(10));
    settle(&app).await;
    assert!(revisions(&mut admin, id).await.is_empty(), "30 s after the first edit, but only 10 s after the last");
    app.clock.advance(Duration::from_secs(20));
    settle(&app).await;
    let list = revisions(&mut admin, id).await;
    assert_eq!(list.len(), 1);
    assert_eq!((list[0]["reason"].clone(), list[0]["title"].clone()), (json!("auto"), json!("Draft Two")), "the state after the last edit");
    let filter = flint::platform::workflow::ListFilter { name: Some("post-auto-snapshot".into()), limit: 10, ..Default::default() };
    let run = &app.state.workflows.list(&filter).await.unwrap()[0];
    let steps = app.state.workflows.get(&run.id).await.unwrap().unwrap().steps.unwrap();
    assert!(steps.iter().filter(|s| s.name.starts_with("wait for")).count() > 1, "it waited more than once: {steps:?}");

    // Touching the post without changing it takes no second snapshot.
    app.clock.advance(Duration::from_secs(300));
    admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": "Draft Two"}})).await;
    app.clock.advance(Duration::from_secs(60));
    settle(&app).await;
    assert_eq!(revisions(&mut admin, id).await.len(), 1);
}

async fn auto_snapshots_are_spaced_and_trimmed(backend: Backend) {
    let app = quiet(backend).await;
    let mut admin = app.admin().await;
    let id = new_post(&mut admin, "Busy").await;
    settle(&app).await;
    app.clock.advance(Duration::from_secs(31));
    settle(&app).await;
    assert_eq!(revisions(&mut admin, id).await.len(), 1);
    admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": "Busy 2"}})).await;
    settle(&app).await;
    app.clock.advance(Duration::from_secs(31));
    settle(&app).await;
    assert_eq!(revisions(&mut admin, id).await.len(), 1, "less than 2 minutes after the last automatic revision");

    for i in 0..32 {
        app.clock.advance(Duration::from_secs(120));
        admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": format!("Busy v{i}")}})).await;
        // Workers start a new run at once; its quiet window counts from then.
        settle(&app).await;
        app.clock.advance(Duration::from_secs(31));
        settle(&app).await;
    }
    let list = revisions(&mut admin, id).await;
    assert_eq!(list.len(), 30, "the newest 30 automatic revisions are kept");
    assert_eq!(list[0]["title"], "Busy v31");
}
