//! Health, readiness, metrics, OpenAPI, HTTP caching, compression, sliding
//! sessions and graceful shutdown.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, read};

backend_tests!(
    health_readiness_and_metrics,
    openapi_lists_every_endpoint,
    public_reads_have_etags_and_304s,
    responses_are_compressed_on_request,
    sessions_slide_and_expire,
    shutdown_finishes_in_flight_requests,
);

async fn health_readiness_and_metrics(backend: Backend) {
    let expected_backend = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres { .. } => "postgres",
    };
    let app = TestApp::spawn(backend).await;
    let mut client = app.user();
    assert_eq!(client.get("/healthz").await.body, json!({"status": "ok"}));
    let ready = client.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.body["database"]["backend"], expected_backend);
    assert_eq!(ready.body["database"]["ok"], true);

    client.get("/no-such-thing").await;
    let metrics = client.get("/metrics").await;
    assert!(metrics.header("content-type").unwrap().starts_with("text/plain"));
    assert!(metrics.text.contains("http_requests_total{route=\"/readyz\",method=\"GET\",status=\"200\"}"), "{}", metrics.text);
    assert!(metrics.text.contains("status=\"404\""));
    assert!(metrics.text.contains("http_request_duration_seconds_bucket"));
}

async fn openapi_lists_every_endpoint(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc = app.user().get("/api/openapi.json").await;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(doc.body["openapi"], "3.1.0");
    for endpoint in flint::features::routes().endpoints() {
        let method = endpoint.method.as_str().to_ascii_lowercase();
        let op = &doc.body["paths"][&endpoint.openapi_path()][&method];
        assert_eq!(op["operationId"], endpoint.name, "{} {} missing from OpenAPI", endpoint.method, endpoint.path);
    }
    let list_users = &doc.body["paths"]["/_fn/listUsers"]["get"];
    assert_eq!(list_users["x-flint-access"], "admin");
    assert!(list_users["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "limit" && p["in"] == "query"));
    let sign_up = &doc.body["paths"]["/api/auth/sign-up/email"]["post"];
    let schema_ref = sign_up["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str().unwrap();
    let schema_name = schema_ref.rsplit('/').next().unwrap();
    let schema = &doc.body["components"]["schemas"][schema_name];
    assert_eq!(schema["properties"]["password"]["minLength"], 8, "{schema}");
    assert!(doc.body["components"]["schemas"]["ErrorEnvelope"].is_object());
    // Uploads are forms; an image's key may hold `/`.
    let upload = &doc.body["paths"]["/_fn/uploadImage"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"];
    let form = &doc.body["components"]["schemas"][upload.as_str().unwrap().rsplit('/').next().unwrap()];
    assert_eq!(form["properties"]["image"]["format"], "binary", "{form}");
    let image = &doc.body["paths"]["/images/{key}"]["get"]["parameters"];
    assert!(image.as_array().unwrap().iter().any(|p| p["name"] == "key" && p["in"] == "path"), "{image}");
}

async fn public_reads_have_etags_and_304s(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.user();
    let first = client.get("/_fn/testPublic").await;
    assert_eq!(first.header("cache-control"), Some("public, max-age=0, must-revalidate"));
    assert_eq!(
        first.header("cdn-cache-control"),
        Some("public, s-maxage=60, stale-while-revalidate=300"),
        "no purge: a minute at the edge"
    );
    let etag = first.header("etag").expect("public GETs carry an ETag").to_owned();
    let again = client.send(app.http.get(app.url("/_fn/testPublic")).header("if-none-match", &etag)).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.text.is_empty());
    let changed = client.send(app.http.get(app.url("/_fn/testPublic")).header("if-none-match", "W/\"other\"")).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_eq!(changed.body["hello"], "world");
    // Private responses never get one.
    assert!(client.get("/_fn/getSession").await.header("etag").is_none());
}

async fn responses_are_compressed_on_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for encoding in ["gzip", "br"] {
        let res = app.http.get(app.url("/api/openapi.json")).header("accept-encoding", encoding).send().await.unwrap();
        assert_eq!(res.headers().get("content-encoding").and_then(|v| v.to_str().ok()), Some(encoding));
        assert_eq!(res.headers().get_all("vary").iter().filter(|v| *v == "accept-encoding").count(), 1);
    }
    // Uncompressed for a client that asks for nothing, yet marked as varying,
    // so a shared cache never hands it a compressed copy (or the reverse).
    let plain = app.http.get(app.url("/api/openapi.json")).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.headers().get("vary").and_then(|v| v.to_str().ok()), Some("accept-encoding"));
    let document: serde_json::Value = plain.json().await.unwrap();
    assert!(document["paths"].is_object());
}

async fn sessions_slide_and_expire(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut lee = app.signed_up("lee@example.com", "Lee").await;
    let first = lee.get("/_fn/getSession").await;
    assert!(first.header("set-cookie").is_none(), "a fresh session is not re-sent");
    let expires = first.body["session"]["expiresAt"].as_str().unwrap().to_owned();

    app.clock.advance(Duration::from_secs(3 * 86_400));
    let later = lee.get("/_fn/getSession").await;
    let cookie = later.header("set-cookie").expect("an active session slides and its cookie is re-sent");
    assert!(cookie.contains("Max-Age=604800"));
    assert!(later.body["session"]["expiresAt"].as_str().unwrap() > expires.as_str());

    app.clock.advance(Duration::from_secs(6 * 86_400));
    assert!(lee.get("/_fn/getSession").await.body["user"].is_object(), "still inside 7 days of the last use");
    app.clock.advance(Duration::from_secs(8 * 86_400));
    assert!(lee.get("/_fn/getSession").await.body.is_null(), "idle for more than 7 days: expired");
}

async fn shutdown_finishes_in_flight_requests(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let http = app.http.clone();
    let url = app.url("/_fn/testSlow");
    let in_flight = tokio::spawn(async move { read(http.get(url).send().await.expect("answered")).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.trigger_shutdown();
    let res = in_flight.await.unwrap();
    assert_eq!(res.status, StatusCode::OK, "the in-flight request completes: {}", res.text);
    assert_eq!(res.body["finished"], true);
    let addr = app.addr;
    app.stop().await.expect("clean stop");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "no longer accepting");
}
