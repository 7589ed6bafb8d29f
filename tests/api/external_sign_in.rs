//! Issue 21 item 4: signing in with an OpenID Connect provider (a real one:
//! npm `oidc-provider`, started by scripts/test-services.sh) and with
//! GitHub (a local stand-in of its OAuth and user endpoints).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};
use axum::{Json, Router, routing};
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::backend_tests;
use crate::helpers::{ADMIN_EMAIL, Backend, Client, PASSWORD, Res, TestApp};

backend_tests!(
    an_oidc_login_creates_then_finds_the_account,
    a_bad_or_used_state_is_refused,
    an_id_token_signed_by_another_key_is_refused,
    an_unverified_address_does_not_take_over_an_account,
    a_github_login_goes_through_state_pkce_and_the_user_api,
);

/// The base URL the app says it has (the provider sends browsers back there).
const BASE: &str = "http://127.0.0.1:8080";

fn issuer(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(issuer) => Some(issuer),
        Err(_) => {
            eprintln!("skipping the OpenID Connect tests: {var} is not set (scripts/test-services.sh sets it)");
            None
        }
    }
}

/// Registers a client of its own with the provider (RFC 7591) and starts
/// the app with it.
async fn app_with_provider(backend: Backend, issuer: &str) -> TestApp {
    flint::platform::ai::install_crypto_provider();
    let registration = reqwest::Client::new()
        .post(format!("{issuer}/reg"))
        .json(&json!({
            "redirect_uris": [format!("{BASE}/api/auth/callback/oidc")],
            "response_types": ["code"],
            "grant_types": ["authorization_code"],
        }))
        .send()
        .await
        .expect("the provider answers");
    assert_eq!(registration.status(), StatusCode::CREATED);
    let client: Value = registration.json().await.unwrap();
    let (id, secret) = (client["client_id"].as_str().unwrap(), client["client_secret"].as_str().unwrap());
    TestApp::spawn_with(
        backend,
        &[
            ("FLINT_BASE_URL", BASE),
            ("FLINT_OIDC_ISSUER", issuer),
            ("FLINT_OIDC_CLIENT_ID", id),
            ("FLINT_OIDC_CLIENT_SECRET", secret),
            ("FLINT_OIDC_NAME", "Test Provider"),
        ],
    )
    .await
}

/// A browser at the provider: keeps its cookies, follows nothing by itself.
struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

impl Browser {
    fn new() -> Self {
        Browser { http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(), cookies: HashMap::new() }
    }

    /// GETs `url`; the `Location` it answers, made absolute.
    async fn get(&mut self, url: &str) -> String {
        let cookie: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let response = self.http.get(url).header("cookie", cookie.join("; ")).send().await.unwrap();
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status();
        let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
        let Some(location) = location else { panic!("{url} answered {status} without a redirect: {}", response.text().await.unwrap()) };
        url::Url::parse(url).unwrap().join(&location).unwrap().to_string()
    }
}

/// The provider stamps its ID tokens with the real time, and the app's
/// clock is manual (frozen when it started): it is moved up to the real
/// time before a callback, so a slow run (a loaded CI machine) cannot make
/// a fresh token look issued in the future.
fn catch_up(app: &TestApp) {
    let behind = jiff::Timestamp::now().as_millisecond() - app.clock.now_ms();
    if behind > 0 {
        app.clock.advance(std::time::Duration::from_millis(behind as u64));
    }
}

/// Signs in at the provider as `person` (`sub`, `email`, `verified`) and
/// comes back to the app: the app's answer to the callback.
async fn oidc_login(client: &mut Client<'_>, person: &[(&str, &str)]) -> Res {
    let start = client.post("/api/auth/sign-in/social", json!({"provider": "oidc", "callbackURL": "/after"})).await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.text);
    let mut browser = Browser::new();
    let interaction = browser.get(start.body["url"].as_str().unwrap()).await;
    assert!(interaction.contains("/interaction/"), "{interaction}");
    let mut url = url::Url::parse(&interaction).unwrap();
    url.query_pairs_mut().extend_pairs(person);
    let mut next = browser.get(url.as_str()).await;
    while !next.starts_with(BASE) {
        next = browser.get(&next).await;
    }
    catch_up(client.app);
    client.get(&next[BASE.len()..]).await
}

async fn session_user(client: &mut Client<'_>) -> Value {
    client.get("/_fn/getSession").await.body["user"].clone()
}

async fn an_oidc_login_creates_then_finds_the_account(backend: Backend) {
    let Some(issuer) = issuer("FLINT_TEST_OIDC_ISSUER") else { return };
    let app = app_with_provider(backend, &issuer).await;
    let options = app.user().get("/_fn/getSignInOptions").await.body;
    assert_eq!(options["providers"], json!([{"id": "oidc", "name": "Test Provider"}]));

    let mut olive = app.user();
    let person = [("sub", "olive-1"), ("email", "olive@example.com"), ("verified", "true"), ("name", "Olive Oidc")];
    let res = oidc_login(&mut olive, &person).await;
    assert_eq!((res.status, res.header("location")), (StatusCode::FOUND, Some("/after")), "{}", res.text);
    let user = session_user(&mut olive).await;
    assert_eq!(
        (user["email"].clone(), user["name"].clone(), user["emailVerified"].clone()),
        (json!("olive@example.com"), json!("Olive Oidc"), json!(true))
    );
    assert_eq!(olive.get("/_fn/userHasPassword").await.body, json!(false));

    let mut again = app.user();
    assert_eq!(oidc_login(&mut again, &person).await.status, StatusCode::FOUND);
    assert_eq!(session_user(&mut again).await["id"], user["id"], "the same person finds the same account");

    // A provider-verified ADMIN_EMAIL is the admin.
    let mut owner = app.user();
    oidc_login(&mut owner, &[("sub", "owner-1"), ("email", ADMIN_EMAIL), ("verified", "true")]).await;
    assert_eq!(session_user(&mut owner).await["role"], "admin");
    let data = olive.get("/_fn/exportAccountData").await.body;
    assert_eq!(data["externalAccounts"][0]["provider"], "oidc");
}

async fn a_bad_or_used_state_is_refused(backend: Backend) {
    let Some(issuer) = issuer("FLINT_TEST_OIDC_ISSUER") else { return };
    let app = app_with_provider(backend, &issuer).await;
    let bogus = app.user().get("/api/auth/callback/oidc?code=whatever&state=not-a-state-we-made").await;
    assert_eq!((bogus.status, bogus.code()), (StatusCode::FORBIDDEN, "INVALID_STATE"));
    let none = app.user().get("/api/auth/callback/oidc?code=whatever").await;
    assert_eq!(none.code(), "INVALID_STATE");

    // A real callback, replayed: its state was used up.
    let start = app.user().post("/api/auth/sign-in/social", json!({"provider": "oidc"})).await;
    let mut browser = Browser::new();
    let interaction = browser.get(start.body["url"].as_str().unwrap()).await;
    let mut next = browser.get(&format!("{interaction}?sub=replay-1&email=replay@example.com&verified=true")).await;
    while !next.starts_with(BASE) {
        next = browser.get(&next).await;
    }
    let callback = &next[BASE.len()..];
    catch_up(&app);
    let mut first = app.user();
    assert_eq!(first.get(callback).await.header("location"), Some("/"));
    let replay = app.user().get(callback).await;
    assert_eq!((replay.status, replay.code()), (StatusCode::FORBIDDEN, "INVALID_STATE"));
    let other = app.user().post("/api/auth/sign-in/social", json!({"provider": "github"})).await;
    assert_eq!((other.status, other.code()), (StatusCode::NOT_FOUND, "PROVIDER_NOT_FOUND"), "GitHub is not configured here");
}

async fn an_id_token_signed_by_another_key_is_refused(backend: Backend) {
    let Some(forged) = issuer("FLINT_TEST_OIDC_FORGED_ISSUER") else { return };
    let app = app_with_provider(backend, &forged).await;
    let mut mallory = app.user();
    let res = oidc_login(&mut mallory, &[("sub", "forger-1"), ("email", "forger@example.com"), ("verified", "true")]).await;
    assert_eq!(res.status, StatusCode::FOUND);
    assert_eq!(res.header("location"), Some("/after?error=EXTERNAL_SIGN_IN_INVALID"));
    assert!(mallory.cookie.is_none(), "no session");
    let users = flint::on_read!(&app.state.db, |pool| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users").fetch_one(pool)).unwrap();
    assert_eq!(users, 0, "no account was made");
}

async fn an_unverified_address_does_not_take_over_an_account(backend: Backend) {
    let Some(issuer) = issuer("FLINT_TEST_OIDC_ISSUER") else { return };
    let app = app_with_provider(backend, &issuer).await;
    let mut victim = app.signed_up("victim@example.com", "Victim").await;
    let victim_id = session_user(&mut victim).await["id"].clone();

    let mut mallory = app.user();
    let res = oidc_login(&mut mallory, &[("sub", "mallory-1"), ("email", "victim@example.com"), ("verified", "false")]).await;
    assert_eq!(res.header("location"), Some("/after"), "{}", res.text);
    let mallorys = session_user(&mut mallory).await;
    assert_ne!(mallorys["id"], victim_id, "a new account, not the victim's");
    assert_eq!(mallorys["email"], "oidc-mallory-1@users.invalid");
    assert_eq!(mallorys["emailVerified"], false);
    assert_eq!(session_user(&mut victim).await["id"], victim_id, "the victim's session is untouched");
    let res = app.user().post("/api/auth/sign-in/email", json!({"email": "victim@example.com", "password": PASSWORD})).await;
    assert_eq!(res.status, StatusCode::OK, "the victim's password still works");

    // The victim, with a verified address at the provider, links to their own account.
    let mut linked = app.user();
    oidc_login(&mut linked, &[("sub", "victim-1"), ("email", "victim@example.com"), ("verified", "true")]).await;
    assert_eq!(session_user(&mut linked).await["id"], victim_id);
}

/// A stand-in for GitHub: the authorize redirect, the token endpoint
/// (which checks the client secret and the PKCE verifier), `/user` and
/// `/user/emails`.
#[derive(Clone, Default)]
struct FakeGithub {
    /// code -> PKCE challenge
    codes: Arc<Mutex<HashMap<String, String>>>,
}

async fn fake_github() -> String {
    let fake = FakeGithub::default();
    let router = Router::new()
        .route(
            "/login/oauth/authorize",
            routing::get(|State(fake): State<FakeGithub>, Query(q): Query<HashMap<String, String>>| async move {
                assert_eq!(q["client_id"], "github-client");
                assert_eq!(q["code_challenge_method"], "S256");
                let code = format!("code-{}", fake.codes.lock().unwrap().len());
                fake.codes.lock().unwrap().insert(code.clone(), q["code_challenge"].clone());
                Redirect::to(&format!("{}?code={code}&state={}", q["redirect_uri"], q["state"]))
            }),
        )
        .route(
            "/login/oauth/access_token",
            routing::post(|State(fake): State<FakeGithub>, Form(f): Form<HashMap<String, String>>| async move {
                let challenge = fake.codes.lock().unwrap().remove(&f["code"]);
                let verifier = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(f["code_verifier"].as_bytes()));
                if f["client_secret"] != "github-secret" || challenge.as_deref() != Some(verifier.as_str()) {
                    return Json(json!({"error": "bad_verification_code"}));
                }
                Json(json!({"access_token": "gho_token", "token_type": "bearer", "scope": "read:user,user:email"}))
            }),
        )
        .route(
            "/api/user",
            routing::get(|headers: HeaderMap| async move {
                if headers["authorization"] != "Bearer gho_token" {
                    return StatusCode::UNAUTHORIZED.into_response();
                }
                Json(json!({"id": 4242, "login": "octo", "name": "Octo Cat", "avatar_url": "https://avatars.example/octo.png", "email": null}))
                    .into_response()
            }),
        )
        .route(
            "/api/user/emails",
            routing::get(|| async {
                Json(json!([
                    {"email": "octo@old.example", "primary": false, "verified": false},
                    {"email": "octo@example.com", "primary": true, "verified": true},
                ]))
            }),
        )
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

async fn a_github_login_goes_through_state_pkce_and_the_user_api(backend: Backend) {
    let github = fake_github().await;
    let api = format!("{github}/api");
    let app = TestApp::spawn_with(
        backend,
        &[
            ("FLINT_BASE_URL", BASE),
            ("FLINT_GITHUB_CLIENT_ID", "github-client"),
            ("FLINT_GITHUB_CLIENT_SECRET", "github-secret"),
            ("FLINT_GITHUB_URL", &github),
            ("FLINT_GITHUB_API_URL", &api),
        ],
    )
    .await;
    let mut octo = app.user();
    let start = octo.post("/api/auth/sign-in/social", json!({"provider": "github", "callbackURL": "/profile"})).await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.text);
    let url = start.body["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{github}/login/oauth/authorize?")), "{url}");
    let back = Browser::new().get(url).await;
    assert!(back.starts_with(&format!("{BASE}/api/auth/callback/github?code=")), "{back}");
    let res = octo.get(&back[BASE.len()..]).await;
    assert_eq!((res.status, res.header("location")), (StatusCode::FOUND, Some("/profile")), "{}", res.text);
    let user = session_user(&mut octo).await;
    assert_eq!(user["email"], "octo@example.com", "the primary verified address");
    assert_eq!(user["name"], "Octo Cat");
    assert_eq!(user["image"], "https://avatars.example/octo.png");
    assert_eq!(user["emailVerified"], true);

    // A code swapped in from elsewhere fails the PKCE check at "GitHub".
    let start = app.user().post("/api/auth/sign-in/social", json!({"provider": "github"})).await;
    let back = Browser::new().get(start.body["url"].as_str().unwrap()).await;
    let state = url::Url::parse(&back).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let forged = app.user().get(&format!("/api/auth/callback/github?code=code-999&state={state}")).await;
    assert_eq!(forged.header("location"), Some("/?error=EXTERNAL_SIGN_IN_INVALID"));
}
