//! The rate-limiter behaviour suite (memory with a movable clock; Redis on
//! the server's clock with short intervals) and the HTTP 429 contract.

use std::sync::Arc;
use std::time::Duration;

use flint::platform::clock::Clock;
use flint::platform::rate_limit::{Decision, FailureMode, Limit, RateLimiter, Verdict};
use flint::platform::redis::Redis;
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, DEAD_REDIS, PASSWORD, TestApp, test_redis_url, unique_prefix};

fn redis_limiter(url: &str, mode: FailureMode) -> RateLimiter {
    RateLimiter::redis(Redis::connect(url, &unique_prefix(), Duration::from_millis(500)).unwrap(), mode)
}

async fn decide(limiter: &RateLimiter, id: &str, limit: Limit) -> Decision {
    match limiter.check(id, limit).await {
        Verdict::Decided(decision) => decision,
        other => panic!("the limiter did not decide: {other:?}"),
    }
}

#[tokio::test]
async fn memory_five_per_minute_then_refill() {
    let clock = Clock::manual(1_000_000);
    let limiter = RateLimiter::memory(clock.clone(), 10_000, FailureMode::Open);
    five_per_minute(&limiter).await;
    clock.advance(Duration::from_millis(11_900));
    assert!(!decide(&limiter, "client", Limit::per(5, "1m").unwrap()).await.allowed, "not yet refilled at 11.9 s");
    clock.advance(Duration::from_millis(200));
    assert!(decide(&limiter, "client", Limit::per(5, "1m").unwrap()).await.allowed, "one token back at 12.1 s");
}

#[tokio::test]
async fn redis_five_per_minute_then_refill() {
    let Some(url) = test_redis_url() else { return };
    let limiter = redis_limiter(&url, FailureMode::Open);
    five_per_minute(&limiter).await;
    // The server's clock cannot be moved: a short interval shows the refill.
    let fast = Limit::per(2, "400ms").unwrap();
    assert!(decide(&limiter, "fast", fast).await.allowed);
    assert!(decide(&limiter, "fast", fast).await.allowed);
    let denied = decide(&limiter, "fast", fast).await;
    assert!(!denied.allowed);
    assert!(denied.retry_after_ms.unwrap() <= 200);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(decide(&limiter, "fast", fast).await.allowed, "refilled");
}

async fn five_per_minute(limiter: &RateLimiter) {
    let limit = Limit::per(5, "1m").unwrap();
    let first = decide(limiter, "client", limit).await;
    assert!(first.allowed);
    assert_eq!((first.remaining, first.retry_after_ms), (4, Some(0)));
    for _ in 0..4 {
        assert!(decide(limiter, "client", limit).await.allowed);
    }
    let sixth = decide(limiter, "client", limit).await;
    assert!(!sixth.allowed);
    assert_eq!(sixth.remaining, 0);
    let retry = sixth.retry_after_ms.unwrap();
    assert!((11_950..=12_050).contains(&retry), "retryAfterMs {retry} is 12000 ± 50");
    assert!(decide(limiter, "someone-else", limit).await.allowed, "buckets are per identifier");
}

async fn concurrent_requests_take_exactly_the_capacity(limiter: RateLimiter) {
    let limit = Limit::per(10, "1h").unwrap();
    let limiter = Arc::new(limiter);
    let mut calls = Vec::new();
    for _ in 0..50 {
        let limiter = limiter.clone();
        calls.push(tokio::spawn(async move { decide(&limiter, "crowd", limit).await.allowed }));
    }
    let mut allowed = 0;
    for call in calls {
        allowed += usize::from(call.await.unwrap());
    }
    assert_eq!(allowed, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_concurrent_requests_take_exactly_the_capacity() {
    concurrent_requests_take_exactly_the_capacity(RateLimiter::memory(Clock::manual(0), 10_000, FailureMode::Open)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_concurrent_requests_take_exactly_the_capacity() {
    let Some(url) = test_redis_url() else { return };
    concurrent_requests_take_exactly_the_capacity(redis_limiter(&url, FailureMode::Open)).await;
}

async fn denials_do_not_consume_and_big_costs_never_pass(limiter: &RateLimiter) {
    let limit = Limit::per(3, "1h").unwrap();
    assert!(!decide(limiter, "c", limit.with_cost(4)).await.allowed);
    assert_eq!(decide(limiter, "c", limit.with_cost(4)).await.retry_after_ms, None, "never");
    assert!(decide(limiter, "c", limit.with_cost(2)).await.allowed, "the refused big request took nothing");
    for _ in 0..3 {
        assert!(!decide(limiter, "c", limit.with_cost(2)).await.allowed);
    }
    assert!(decide(limiter, "c", limit).await.allowed, "denials took nothing either");
}

#[tokio::test]
async fn memory_denials_do_not_consume() {
    denials_do_not_consume_and_big_costs_never_pass(&RateLimiter::memory(Clock::manual(0), 10_000, FailureMode::Open)).await;
}

#[tokio::test]
async fn redis_denials_do_not_consume() {
    let Some(url) = test_redis_url() else { return };
    denials_do_not_consume_and_big_costs_never_pass(&redis_limiter(&url, FailureMode::Open)).await;
}

#[tokio::test]
async fn a_store_that_is_down_fails_open_or_closed() {
    let limit = Limit::per(1, "1m").unwrap();
    assert_eq!(redis_limiter(DEAD_REDIS, FailureMode::Open).check("x", limit).await, Verdict::Unchecked);
    assert_eq!(redis_limiter(DEAD_REDIS, FailureMode::Closed).check("x", limit).await, Verdict::Unavailable);
}

backend_tests!(
    sign_in_is_limited_per_client_and_path,
    trusted_proxies_separate_clients,
    the_hourly_limit_applies_too,
    sign_ups_are_limited_per_email,
);

/// Five failed sign-ins from one address, then a sixth.
/// (Each call of a test uses its own email: an account also has a limit of its own.)
async fn exhaust_sign_in(app: &TestApp, spoof: bool, email: &str) -> crate::helpers::Res {
    let mut last = None;
    for attempt in 0..6 {
        let mut request = app.http.post(app.url("/api/auth/sign-in/email")).json(&json!({"email": email, "password": "wrong"}));
        if spoof {
            request =
                request.header("x-forwarded-for", format!("198.51.100.{attempt}")).header("x-real-ip", format!("203.0.113.{attempt}"));
        }
        let res = app.user().send(request).await;
        if attempt < 5 {
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {attempt}: {}", res.text);
            assert_eq!(res.header("ratelimit-limit"), Some("5"), "allowed responses carry the headers too");
        }
        last = Some(res);
    }
    last.unwrap()
}

async fn sign_in_is_limited_per_client_and_path(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let denied = exhaust_sign_in(&app, true, "who@example.com").await;
    assert_eq!(denied.status, StatusCode::TOO_MANY_REQUESTS, "spoofed forwarding headers from an untrusted peer are ignored");
    assert_eq!(denied.code(), "RATE_LIMITED");
    let retry = denied.body["error"]["retryAfterMs"].as_u64().unwrap();
    assert!((11_950..=12_050).contains(&retry), "{retry}");
    assert_eq!(denied.header("retry-after"), Some("12"));
    assert_eq!(denied.header("ratelimit-limit"), Some("5"));
    assert_eq!(denied.header("ratelimit-remaining"), Some("0"));
    assert_eq!(denied.header("ratelimit-reset"), Some("12"));
    assert_eq!(denied.header("cache-control"), Some("private, no-store, no-cache, must-revalidate"));

    // Another path has its own bucket; a correct password does not bypass the limit.
    app.signed_up("who@example.com", "Who").await;
    let res = app.user().post("/api/auth/sign-in/email", json!({"email": "who@example.com", "password": PASSWORD})).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);

    app.clock.advance(Duration::from_millis(12_100));
    let res = app.user().post("/api/auth/sign-in/email", json!({"email": "who@example.com", "password": PASSWORD})).await;
    assert_eq!(res.status, StatusCode::OK, "a token came back: {}", res.text);
}

async fn trusted_proxies_separate_clients(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let last = exhaust_sign_in(&app, true, "who@example.com").await;
    assert_eq!(last.status, StatusCode::UNAUTHORIZED, "behind a trusted proxy each forwarded client has its own bucket");
    let denied = exhaust_sign_in(&app, false, "other@example.com").await;
    assert_eq!(denied.status, StatusCode::TOO_MANY_REQUESTS, "the proxy itself is one client");
}

async fn the_hourly_limit_applies_too(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for round in 0..2 {
        for attempt in 0..5 {
            let res = app.user().post("/api/auth/sign-in/email", json!({"email": "h@example.com", "password": "wrong"})).await;
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "round {round} attempt {attempt}");
        }
        app.clock.advance(Duration::from_secs(61));
    }
    let denied = app.user().post("/api/auth/sign-in/email", json!({"email": "h@example.com", "password": "wrong"})).await;
    assert_eq!(denied.status, StatusCode::TOO_MANY_REQUESTS, "11th attempt within the hour");
    assert_eq!(denied.header("ratelimit-limit"), Some("10"));
    assert!(denied.body["error"]["retryAfterMs"].as_u64().unwrap() > 60_000);
}

async fn sign_ups_are_limited_per_email(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let attempt =
        || app.user().post_owned("/api/auth/sign-up/email", json!({"name": "Nia", "email": "nia@example.com", "password": PASSWORD}));
    assert_eq!(attempt().await.status, StatusCode::OK);
    assert_eq!(attempt().await.status, StatusCode::CONFLICT);
    assert_eq!(attempt().await.status, StatusCode::CONFLICT);
    let denied = attempt().await;
    assert_eq!(denied.status, StatusCode::TOO_MANY_REQUESTS, "{}", denied.text);
    assert_eq!(denied.code(), "RATE_LIMITED");
    assert!(denied.body["error"]["retryAfterMs"].as_u64().is_some());
    let other = app.user().post("/api/auth/sign-up/email", json!({"name": "Oz", "email": "oz@example.com", "password": PASSWORD})).await;
    assert_eq!(other.status, StatusCode::OK, "other addresses are unaffected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_redis_buckets_and_cache_versions() {
    let Some(url) = test_redis_url() else { return };
    let prefix = unique_prefix();
    let vars = [("REDIS_URL", url.as_str()), ("FLINT_REDIS_PREFIX", prefix.as_str())];
    let one = TestApp::spawn_with(Backend::Sqlite, &vars).await;
    let two = TestApp::spawn_with(Backend::Sqlite, &vars).await;
    for (i, app) in [&one, &two, &one, &two, &one].into_iter().enumerate() {
        let res = app.user().post("/api/auth/sign-in/email", json!({"email": "s@example.com", "password": "wrong"})).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let denied = two.user().post("/api/auth/sign-in/email", json!({"email": "s@example.com", "password": "wrong"})).await;
    assert_eq!(denied.status, StatusCode::TOO_MANY_REQUESTS, "the bucket is shared");
    let retry = denied.body["error"]["retryAfterMs"].as_u64().unwrap();
    assert!((11_000..=12_050).contains(&retry), "{retry}");

    let namespace = flint::platform::cache::Namespace::versioned("shared");
    let before = two.state.cache.version(namespace).await.unwrap();
    one.state.cache.bump_version(namespace).await.unwrap();
    assert_eq!(two.state.cache.version(namespace).await.unwrap(), before + 1);
    assert_eq!(one.user().get("/readyz").await.body["cache"]["backend"], "redis");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_means_misses_and_an_open_limiter() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[("REDIS_URL", DEAD_REDIS), ("FLINT_REDIS_TIMEOUT", "200ms")]).await;
    let mut ann = app.signed_up("ann@example.com", "Ann").await;
    assert_eq!(ann.get("/_fn/getSession").await.status, StatusCode::OK);
    let res = app.user().post("/api/auth/sign-in/email", json!({"email": "ann@example.com", "password": PASSWORD})).await;
    assert_eq!(res.status, StatusCode::OK, "the limiter fails open");
    let ready = app.user().get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.body["status"], "degraded");
    assert_eq!(ready.body["cache"]["ok"], false);
    assert_eq!(ready.body["rateLimiter"]["failureMode"], "open");

    let closed = TestApp::spawn_with(Backend::Sqlite, &[("REDIS_URL", DEAD_REDIS), ("FLINT_RATE_LIMIT_FAILURE", "closed")]).await;
    let res = closed.user().post("/api/auth/sign-in/email", json!({"email": "ann@example.com", "password": PASSWORD})).await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.code(), "RATE_LIMITER_UNAVAILABLE");
    assert_eq!(closed.user().get("/healthz").await.status, StatusCode::OK, "routes without limits are unaffected");
}
