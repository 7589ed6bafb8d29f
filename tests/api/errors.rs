//! Every failure leaves as the JSON envelope with a real status, a request
//! id and cache headers; internals never leak.

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, read};

backend_tests!(
    unknown_route_and_wrong_method_are_json,
    malformed_json_is_400_and_bad_input_is_422,
    wrong_content_type_is_415_and_large_bodies_413,
    panics_are_opaque_500s_with_the_request_id,
    request_ids_are_echoed_or_made,
    foreign_origin_writes_are_refused,
    slow_requests_time_out_with_503,
);

async fn unknown_route_and_wrong_method_are_json(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app.user().get("/no/such/page").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.code(), "NOT_FOUND");
    assert!(res.body["error"]["requestId"].is_string());
    assert_eq!(res.header("cdn-cache-control"), Some("public, s-maxage=10"));

    let res = app.user().post("/healthz", json!({})).await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.code(), "METHOD_NOT_ALLOWED");
    assert!(res.header("content-type").unwrap().starts_with("application/json"));
    assert!(res.header("allow").is_some_and(|a| a.contains("GET")));
    assert_eq!(res.header("cache-control"), Some("private, no-store, no-cache, must-revalidate"));

    let res = app.user().get("/api/auth/sign-in/email").await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.header("allow"), Some("POST"));

    // A GET route answers HEAD, without a body.
    let head = app.http.head(app.url("/healthz")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.text().await.unwrap().is_empty());

    // A path parameter is percent-decoded; one that is not UTF-8 is a 400.
    let res = app.user().get("/api/post/%FF%FE").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.code(), "BAD_REQUEST");
    let res = app.user().get("/api/post/%E4%B8%8D%E5%AD%98%E5%9C%A8").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.code(), "POST_NOT_FOUND");
    // Unknown below a known prefix, and a trailing slash, are not routes.
    assert_eq!(app.user().get("/api/post/a/b/c").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.user().get("/api/tags/").await.status, StatusCode::NOT_FOUND);
}

async fn malformed_json_is_400_and_bad_input_is_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app
        .http
        .post(app.url("/api/auth/sign-up/email"))
        .header("content-type", "application/json")
        .body("{\"name\": \"Ann\",")
        .send()
        .await
        .unwrap();
    let res = read(res).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.code(), "BAD_REQUEST");

    let res = app.user().post("/api/auth/sign-up/email", json!({"name": " ", "email": "not-an-email", "password": "short"})).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.code(), "VALIDATION_FAILED");
    let fields = res.body["error"]["fields"].as_object().unwrap();
    let mut keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["email", "name", "password"]);

    let res = app.user().post("/api/auth/sign-up/email", json!({"name": "Ann", "email": "a@example.com"})).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body["error"]["fields"]["password"].is_array(), "{}", res.text);

    let res = app.user().post("/api/auth/sign-up/email", json!({"name": 5, "email": "a@example.com", "password": "long enough"})).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body["error"]["fields"]["name"].is_array(), "{}", res.text);

    let res = app.user().post("/api/auth/sign-in/email", json!({"email": "a@example.com", "password": "x", "admin": true})).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body["error"]["fields"]["admin"].is_array(), "unknown fields are refused: {}", res.text);
}

async fn wrong_content_type_is_415_and_large_bodies_413(backend: Backend) {
    let app = TestApp::spawn_with(backend.clone(), &[("FLINT_BODY_LIMIT", "4KiB")]).await;
    let res = read(app.http.post(app.url("/api/auth/sign-in/email")).body("email=a&password=b").send().await.unwrap()).await;
    assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(res.code(), "UNSUPPORTED_MEDIA_TYPE");

    let big = json!({"email": "a@example.com", "password": "x".repeat(8 * 1024)});
    let res = app.user().post("/api/auth/sign-in/email", big).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res.code(), "PAYLOAD_TOO_LARGE");

    // Without a Content-Length the limit is met while the body is read.
    let big = json!({"email": "a@example.com", "password": "x".repeat(8 * 1024)}).to_string();
    let answer = chunked_post(&app, "/api/auth/sign-in/email", &big).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("PAYLOAD_TOO_LARGE"), "{answer}");

    // A limit above axum's own 2 MB default is the one that applies.
    let app = TestApp::spawn_with(backend, &[("FLINT_BODY_LIMIT", "3MiB")]).await;
    let large = json!({"email": "a@example.com", "password": "x".repeat(2_500_000)}).to_string();
    let answer = chunked_post(&app, "/api/auth/sign-in/email", &large).await;
    assert!(!answer.starts_with("HTTP/1.1 413"), "{}", &answer[..answer.len().min(300)]);
}

/// POSTs `body` as JSON in one chunk of a chunked body (no Content-Length)
/// and returns the raw response.
async fn chunked_post(app: &TestApp, path: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer and close before the whole body is sent.
    let _ = stream.write_all(format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len()).as_bytes()).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

async fn panics_are_opaque_500s_with_the_request_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app.user().get("/_fn/testPanic").await;
    assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(res.code(), "INTERNAL");
    assert!(!res.text.contains("secret detail"), "{}", res.text);
    assert_eq!(res.body["error"]["requestId"].as_str(), res.header("x-request-id"));
    assert_eq!(res.header("cdn-cache-control"), Some("public, s-maxage=10"));
    // The server is still up.
    assert_eq!(app.user().get("/healthz").await.status, StatusCode::OK);
}

async fn request_ids_are_echoed_or_made(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = read(app.http.get(app.url("/nowhere")).header("x-request-id", "trace-abc-123").send().await.unwrap()).await;
    assert_eq!(res.header("x-request-id"), Some("trace-abc-123"));
    assert_eq!(res.body["error"]["requestId"], "trace-abc-123");

    let made = app.user().get("/healthz").await;
    let id = made.header("x-request-id").expect("a request id is made");
    assert_eq!(uuid::Uuid::parse_str(id).expect("a UUID").get_version_num(), 7);

    let res = read(app.http.get(app.url("/healthz")).header("x-request-id", "x".repeat(300)).send().await.unwrap()).await;
    assert_ne!(res.header("x-request-id").map(str::len), Some(300), "an oversized id is replaced");
}

async fn foreign_origin_writes_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut kim = app.signed_up("kim@example.com", "Kim").await;
    let cookie = kim.cookie.clone().unwrap();
    let body = json!({"name": "Hacked"});

    let forged =
        app.http.post(app.url("/api/auth/update-user")).header("cookie", &cookie).header("origin", "https://evil.example").json(&body);
    let res = kim.send(forged).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.code(), "CROSS_ORIGIN_REQUEST");

    let cross_site =
        app.http.post(app.url("/api/auth/update-user")).header("cookie", &cookie).header("sec-fetch-site", "cross-site").json(&body);
    assert_eq!(kim.send(cross_site).await.status, StatusCode::FORBIDDEN);

    let mut anon = app.user();
    let login = app
        .http
        .post(app.url("/api/auth/sign-in/email"))
        .header("origin", "https://evil.example")
        .json(&json!({"email": "kim@example.com", "password": "whatever"}));
    assert_eq!(anon.send(login).await.status, StatusCode::FORBIDDEN, "login CSRF is refused too");

    assert_eq!(kim.get("/_fn/getSession").await.body["user"]["name"], "Kim", "nothing changed");

    let same_origin = app
        .http
        .post(app.url("/api/auth/update-user"))
        .header("cookie", &cookie)
        .header("origin", &app.base)
        .json(&json!({"name": "Kimberly"}));
    let res = kim.send(same_origin).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let same_site_header = app
        .http
        .post(app.url("/api/auth/update-user"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"name": "Kim"}));
    assert_eq!(kim.send(same_site_header).await.status, StatusCode::OK);

    // Reads are never refused.
    let read_res = app.http.get(app.url("/_fn/getSession")).header("cookie", &cookie).header("origin", "https://evil.example");
    assert_eq!(kim.send(read_res).await.status, StatusCode::OK);

    // Bearer requests are exempt: a browser cannot attach a token by itself.
    let mut admin = app.admin().await;
    let token = admin.post("/_fn/createApiToken", json!({"name": "ci", "scopes": ["posts:write"]})).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut script = app.user();
    script.bearer = Some(token);
    let with_token = app
        .http
        .post(app.url("/_fn/testTokenWrite"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({}));
    let res = script.send(with_token).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["wrote"], "admin@example.com");
}

async fn slow_requests_time_out_with_503(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_REQUEST_TIMEOUT", "150ms")]).await;
    let res = app.user().get("/_fn/testSlow").await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.code(), "SERVICE_UNAVAILABLE");
    assert!(res.body["error"]["requestId"].is_string());
}
