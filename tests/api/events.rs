//! Domain events: each subscriber is its own retried run, a failing one
//! delays only itself, and an event written before a crash is delivered
//! once to every subscriber after the restart.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, Client, Server, TestApp, TestDatabase};

backend_tests!(a_failing_search_subscriber_delays_only_search, an_event_written_before_a_crash_is_delivered_once_to_each_subscriber);

async fn publish(app: &TestApp, admin: &mut Client<'_>, id: i64) {
    let res = admin.post("/_fn/startPostProcessWorkflow", json!({"id": id, "status": "published"})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    app.settle().await;
}

async fn found(app: &TestApp, word: &str) -> Vec<String> {
    let res = app.user().get(&format!("/api/search?q={word}")).await;
    res.body.as_array().unwrap().iter().map(|r| r["post"]["title"].as_str().unwrap().to_owned()).collect()
}

/// Makes every search index write fail (a real database error in the
/// subscriber's step), or lets it work again.
async fn break_search(app: &TestApp, broken: bool) {
    let statements: &[&str] = match (&app.state.db, broken) {
        (flint::platform::db::Db::Sqlite(_), true) => {
            &["CREATE TRIGGER search_down BEFORE UPDATE ON search_meta BEGIN SELECT RAISE(ABORT, 'search is down'); END"]
        }
        (flint::platform::db::Db::Sqlite(_), false) => &["DROP TRIGGER search_down"],
        (flint::platform::db::Db::Postgres(_), true) => &[
            "CREATE FUNCTION search_down() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'search is down'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER search_down BEFORE UPDATE ON search_meta FOR EACH ROW EXECUTE FUNCTION search_down()",
        ],
        (flint::platform::db::Db::Postgres(_), false) => &["DROP TRIGGER search_down ON search_meta", "DROP FUNCTION search_down()"],
    };
    for statement in statements {
        flint::execute!(&app.state.db, sqlx::query(*statement)).unwrap();
    }
}

/// `(status, attempts of its step)` of the search subscriber's newest delivery.
async fn search_delivery(app: &TestApp) -> (String, i32) {
    let filter = flint::platform::workflow::ListFilter { name: Some("event.deliver".into()), limit: 200, ..Default::default() };
    let runs = app.state.workflows.list(&filter).await.unwrap();
    let run = runs.iter().find(|r| r.params["subscriber"] == "search.index").expect("a search delivery");
    let run = app.state.workflows.get(&run.id).await.unwrap().unwrap();
    (run.status.clone(), run.steps.unwrap().first().map_or(0, |s| s.attempts))
}

async fn a_failing_search_subscriber_delays_only_search(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    let id = admin.post("/_fn/createEmptyPost", json!({})).await.body["id"].as_i64().unwrap();
    admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": "Old walrus", "slug": "walrus", "content": "tusks"}})).await;
    publish(&app, &mut admin, id).await;
    assert_eq!(found(&app, "walrus").await, ["Old walrus"]);

    break_search(&app, true).await;
    admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": "New zebra"}})).await;
    publish(&app, &mut admin, id).await;
    let detail = app.user().get("/api/post/walrus").await;
    assert_eq!(detail.body["title"], "New zebra", "readers see the publish at once; search's failure is its own");
    assert_eq!(app.user().get("/api/posts").await.body["items"][0]["title"], "New zebra");
    assert!(found(&app, "zebra").await.is_empty());
    assert_eq!(search_delivery(&app).await, ("sleeping".to_owned(), 1), "the first attempt failed and waits to retry");

    // Two more failures, at the retry policy's 10 s and 20 s.
    for (wait, attempts) in [(10, 2), (20, 3)] {
        app.clock.advance(Duration::from_secs(wait));
        app.settle().await;
        assert_eq!(search_delivery(&app).await, ("sleeping".to_owned(), attempts));
        assert!(found(&app, "zebra").await.is_empty());
    }
    break_search(&app, false).await;
    app.clock.advance(Duration::from_secs(40));
    app.settle().await;
    assert_eq!(search_delivery(&app).await, ("completed".to_owned(), 4), "delivered by the fourth attempt");
    assert_eq!(found(&app, "zebra").await, ["New zebra"], "search caught up after the retries");
    assert!(found(&app, "walrus").await.is_empty());
}

async fn call(base: &str, cookie: &str, name: &str, body: Value) -> Value {
    let res = reqwest::Client::new().post(format!("{base}/_fn/{name}")).header("cookie", cookie).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{name}");
    res.json().await.unwrap()
}

async fn get(base: &str, path: &str) -> Value {
    reqwest::get(format!("{base}{path}")).await.unwrap().json().await.unwrap()
}

/// `(status, count)` of the event deliveries.
async fn deliveries(db: &flint::platform::db::Db) -> Vec<(String, i64)> {
    flint::on_read!(db, |pool| sqlx::query_as::<_, (String, i64)>(
        "SELECT status, COUNT(*) FROM workflow_runs WHERE name = 'event.deliver' GROUP BY status ORDER BY status"
    )
    .fetch_all(pool))
    .unwrap()
}

async fn an_event_written_before_a_crash_is_delivered_once_to_each_subscriber(backend: Backend) {
    let database = TestDatabase::create(&backend).await;
    let url = database.url.clone();

    // Two published posts, one tagged, everything delivered.
    let server = Server::start_with(&url, "2", std::process::Stdio::null()).await;
    let cookie = server.admin_cookie().await;
    let mut ids = Vec::new();
    for (title, slug) in [("Gannets dive", "gannets"), ("Puffins nest", "puffins")] {
        let id = call(&server.base, &cookie, "createEmptyPost", json!({})).await["id"].as_i64().unwrap();
        let data = json!({"title": title, "slug": slug, "content": "seabirds", "tags": ["cliffs"]});
        call(&server.base, &cookie, "updatePost", json!({"id": id, "data": data})).await;
        call(&server.base, &cookie, "startPostProcessWorkflow", json!({"id": id, "status": "published"})).await;
        ids.push(id);
    }
    let started = Instant::now();
    while get(&server.base, "/api/search?q=seabirds").await.as_array().map_or(0, Vec::len) < 2 {
        assert!(started.elapsed() < Duration::from_secs(30), "both posts are searchable");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tag = get(&server.base, "/api/tags").await[0]["id"].as_i64().unwrap();
    server.kill();

    // Without workers: the changes commit with their events, nothing is
    // delivered, and the process is killed.
    let server = Server::start_with(&url, "0", std::process::Stdio::null()).await;
    let cookie = server.admin_cookie().await;
    call(&server.base, &cookie, "updateTag", json!({"id": tag, "data": {"name": "headlands"}})).await;
    call(&server.base, &cookie, "deletePost", json!({"id": ids[1]})).await;
    let mut child = server.child;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let config = flint::platform::config::Config::from_lookup(|name| (name == "DATABASE_URL").then(|| url.clone())).unwrap();
    let db = flint::platform::db::Db::connect(&config).await.unwrap();
    let pending = deliveries(&db).await;
    assert!(pending.iter().any(|(status, n)| status == "queued" && *n >= 4), "the events wait, undelivered: {pending:?}");
    let waiting: Vec<String> = flint::on_read!(&db, |pool| sqlx::query_scalar::<_, String>(
        "SELECT params FROM workflow_runs WHERE name = 'event.deliver' AND status = 'queued'"
    )
    .fetch_all(pool))
    .unwrap();
    let waiting: Vec<(String, String)> = waiting
        .iter()
        .map(|params| {
            let params: Value = serde_json::from_str(params).unwrap();
            (params["eventId"].as_str().unwrap().to_owned(), params["subscriber"].as_str().unwrap().to_owned())
        })
        .collect();

    // After a restart every subscriber gets each event, once.
    let server = Server::start_with(&url, "2", std::process::Stdio::null()).await;
    let started = Instant::now();
    loop {
        let states = deliveries(&db).await;
        if !states.iter().any(|(status, _)| matches!(status.as_str(), "queued" | "running" | "sleeping")) {
            assert!(!states.iter().any(|(status, _)| status == "failed"), "{states:?}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "deliveries finish: {states:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let executions: Vec<(String, String, i32)> = flint::on_read!(&db, |pool| sqlx::query_as::<_, (String, String, i32)>(
        "SELECT event_id, subscriber, executions FROM event_deliveries ORDER BY event_id, subscriber"
    )
    .fetch_all(pool))
    .unwrap();
    assert!(executions.iter().all(|(_, _, n)| *n == 1), "each subscriber handled each event once: {executions:?}");
    for (event, subscriber) in &waiting {
        assert!(
            executions.iter().any(|(e, s, n)| e == event && s == subscriber && *n == 1),
            "{subscriber} got event {event} once after the restart: {executions:?}"
        );
    }
    let subscribers: std::collections::BTreeSet<&str> = executions.iter().map(|(_, s, _)| s.as_str()).collect();
    for expected in ["publishing.tag-renamed", "search.index", "site.refresh", "cdn.purge", "revisions.auto-snapshot"] {
        assert!(subscribers.contains(expected), "{expected} got its events: {subscribers:?}");
    }
    // And their effects: the rename reached search, the deleted post left it.
    let started = Instant::now();
    while get(&server.base, "/api/search?q=headlands").await.as_array().map_or(0, Vec::len) != 1 {
        assert!(started.elapsed() < Duration::from_secs(30), "the renamed tag is searchable");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let left = get(&server.base, "/api/search?q=seabirds").await;
    assert_eq!(left.as_array().unwrap().len(), 1, "the deleted post left the index: {left}");
    assert_eq!(get(&server.base, "/api/tags").await[0]["name"], "headlands");
    server.kill();
    db.close().await;
}
