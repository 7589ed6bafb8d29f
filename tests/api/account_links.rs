//! Issue 21: the first admin (setup link, verified `ADMIN_EMAIL`), the
//! registration policy and invitations, email verification, password
//! reset, Turnstile, and the account's own sessions, data and deletion.

use std::time::{Duration, Instant};

use axum::Json;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::email::{MailDev, configure_email};
use crate::helpers::{ADMIN_EMAIL, Backend, Client, PASSWORD, TestApp};
use flint::features::accounts::service as accounts;

backend_tests!(
    admin_email_is_admin_only_once_its_link_is_opened,
    the_setup_link_works_once_and_a_wrong_token_is_refused,
    registration_can_be_closed_or_by_single_use_invitation,
    a_password_reset_goes_by_email_and_ends_every_session,
    turnstile_guards_the_four_auth_forms,
    sessions_show_their_device_and_last_use,
    an_account_exports_its_data_and_deletes_itself_leaving_its_comments,
    the_account_pages_work_as_plain_html_forms,
);

/// The link in an email's text that starts with `prefix` (a path, e.g.
/// `/reset-password`), as a path with its query on the test app.
fn link_in(email: &Value, prefix: &str) -> String {
    let text = email["text"].as_str().expect("a text part");
    let start = text.find(prefix).unwrap_or_else(|| panic!("no {prefix} link in {text}"));
    text[start..].split_whitespace().next().unwrap().to_owned()
}

fn query_param(path: &str, name: &str) -> String {
    let url = url::Url::parse(&format!("http://x{path}")).unwrap();
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap_or_else(|| panic!("no {name} in {path}"))
}

/// An admin that is not `ADMIN_EMAIL` (made as the CLI makes one), signed in.
async fn operator(app: &TestApp) -> Client<'_> {
    let input = flint::features::accounts::schema::SignUpInput {
        name: "Operator".into(),
        email: "ops@example.com".into(),
        password: PASSWORD.into(),
        invite: None,
        callback_url: None,
    };
    accounts::create_user(&app.ctx(), &input, Some(flint::platform::auth::Role::Admin)).await.unwrap();
    app.signed_in("ops@example.com").await
}

async fn role_of(client: &mut Client<'_>) -> Value {
    client.get("/_fn/getSession").await.body["user"]["role"].clone()
}

async fn admin_email_is_admin_only_once_its_link_is_opened(backend: Backend) {
    let Some(maildev) = MailDev::start().await else { return };
    let app = TestApp::spawn(backend).await;
    let mut ops = operator(&app).await;
    configure_email(&mut ops, maildev.smtp_port, "maildev-password").await;

    // A stranger who guesses the address signs up first: no session, no admin.
    let mut claimant = app.user();
    let res = claimant
        .post("/api/auth/sign-up/email", json!({"name": "Owner", "email": ADMIN_EMAIL, "password": PASSWORD, "callbackURL": "/welcome"}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(res.body["session"].is_null() && res.body["verificationSent"] == true, "{}", res.text);
    assert_eq!(res.body["user"]["role"], "user", "an unverified ADMIN_EMAIL is no admin");
    assert!(claimant.cookie.is_none());
    let refused = app.user().post("/api/auth/sign-in/email", json!({"email": ADMIN_EMAIL, "password": PASSWORD})).await;
    assert_eq!((refused.status, refused.code()), (StatusCode::FORBIDDEN, "EMAIL_NOT_VERIFIED"));
    let wrong = app.user().post("/api/auth/sign-in/email", json!({"email": ADMIN_EMAIL, "password": "not the password"})).await;
    assert_eq!(wrong.code(), "INVALID_EMAIL_OR_PASSWORD", "the verification state is only told to whoever has the password");

    // Whoever reads the mailbox opens the link: verified, signed in, admin.
    let email = maildev.wait_for(&app, ADMIN_EMAIL, "Verify your email address").await;
    let link = link_in(&email, "/api/auth/verify-email");
    assert_eq!(query_param(&link, "callbackURL"), "/welcome");
    let mut owner = app.user();
    let res = owner.get(&link).await;
    assert_eq!(res.status, StatusCode::FOUND, "{}", res.text);
    assert_eq!(res.header("location"), Some("/welcome"));
    assert!(owner.cookie.is_some(), "signed in by the link");
    assert_eq!(role_of(&mut owner).await, "admin");
    assert_eq!(owner.get("/_fn/getSession").await.body["user"]["emailVerified"], true);
    // The link works once.
    let again = app.user().get(&link).await;
    assert_eq!((again.status, again.header("location")), (StatusCode::FOUND, Some("/welcome?error=INVALID_TOKEN")));
    let without_callback = app.user().get(&format!("/api/auth/verify-email?token={}", query_param(&link, "token"))).await;
    assert_eq!((without_callback.status, without_callback.code()), (StatusCode::FORBIDDEN, "INVALID_TOKEN"));
    // Another address signs up, asks for a new link (the same answer as an
    // unknown address), and only the newest link works.
    let mut ann = app.user();
    assert_eq!(
        ann.post("/api/auth/sign-up/email", json!({"name": "Ann", "email": "ann@example.com", "password": PASSWORD})).await.status,
        StatusCode::OK
    );
    let first = link_in(&maildev.wait_for(&app, "ann@example.com", "Verify your email address").await, "/api/auth/verify-email");
    let resend = app.user().post("/api/auth/send-verification-email", json!({"email": "ann@example.com"})).await;
    let unknown = app.user().post("/api/auth/send-verification-email", json!({"email": "nobody@example.com"})).await;
    assert_eq!((resend.status, &resend.body), (unknown.status, &unknown.body));
    let started = Instant::now();
    let second = loop {
        app.settle().await;
        let links: Vec<String> = maildev
            .all_emails()
            .await
            .iter()
            .filter(|e| e["to"][0]["address"] == "ann@example.com")
            .map(|e| link_in(e, "/api/auth/verify-email"))
            .collect();
        if links.len() == 2 {
            break links.into_iter().find(|l| *l != first).unwrap();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no second verification email");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let old = app.user().get(&first).await;
    assert_eq!(old.header("location"), Some("/?error=INVALID_TOKEN"), "a new link replaces the old one");
    assert_eq!(app.user().get(&second).await.header("location"), Some("/"));
    let mut ann = app.signed_in("ann@example.com").await;
    assert_eq!(role_of(&mut ann).await, "user");
}

async fn the_setup_link_works_once_and_a_wrong_token_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ctx = app.ctx();
    let stale = accounts::issue_setup_link(&ctx).await.unwrap().expect("no admin yet: a link");
    let link = accounts::issue_setup_link(&ctx).await.unwrap().expect("a new link at each start");
    assert!(link.starts_with(app.state.config.base_url.as_str()) && link.contains("/setup?token="), "{link}");
    let token = query_param(&link[link.find("/setup").unwrap()..], "token");
    let setup = |token: String, email: &'static str| {
        let mut client = app.user();
        async move {
            let res = client.post("/api/auth/setup", json!({"token": token, "name": "Owner", "email": email, "password": PASSWORD})).await;
            (res, client)
        }
    };
    let (wrong, _) = setup("not-the-token".into(), "owner@example.com").await;
    assert_eq!((wrong.status, wrong.code()), (StatusCode::FORBIDDEN, "INVALID_TOKEN"));
    let stale_token = query_param(&stale[stale.find("/setup").unwrap()..], "token");
    assert_eq!(setup(stale_token, "owner@example.com").await.0.status, StatusCode::FORBIDDEN, "the older link stopped working");

    // Someone signed up with the address first: the link's holder takes it
    // over, and that someone's session ends.
    let mut squatter = app.signed_up("owner@example.com", "Squatter").await;
    let (res, mut owner) = setup(token.clone(), "owner@example.com").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["user"]["role"], "admin");
    assert_eq!(role_of(&mut owner).await, "admin");
    assert!(squatter.get("/_fn/getSession").await.body.is_null());
    assert_eq!(owner.get("/_fn/listUsers").await.status, StatusCode::OK);

    let (again, _) = setup(token, "other@example.com").await;
    assert_eq!(again.status, StatusCode::FORBIDDEN, "the link works once");
    assert_eq!(accounts::issue_setup_link(&ctx).await.unwrap(), None, "no link once an admin exists");
}

async fn set_registration(admin: &mut Client<'_>, policy: &str) {
    let mut config = admin.get("/_fn/getSystemConfig").await.body;
    config["accounts"] = json!({"registration": policy});
    let res = admin.post("/_fn/updateSystemConfig", config).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
}

async fn registration_can_be_closed_or_by_single_use_invitation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    let sign_up = |email: &'static str, invite: Option<String>| {
        let mut client = app.user();
        async move {
            let mut body = json!({"name": "Newcomer", "email": email, "password": PASSWORD});
            if let Some(invite) = invite {
                body["invite"] = json!(invite);
            }
            client.post("/api/auth/sign-up/email", body).await
        }
    };
    set_registration(&mut admin, "closed").await;
    let closed = sign_up("a@example.com", None).await;
    assert_eq!((closed.status, closed.code()), (StatusCode::FORBIDDEN, "REGISTRATION_CLOSED"));
    let made = admin.post("/_fn/createUser", json!({"name": "Made", "email": "made@example.com", "password": PASSWORD})).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.text);
    assert_eq!((made.body["role"].clone(), made.body["emailVerified"].clone()), (json!("user"), json!(true)));
    app.signed_in("made@example.com").await;
    let mut made = app.signed_in("made@example.com").await;
    assert_eq!(made.post("/_fn/createInvite", json!({})).await.status, StatusCode::FORBIDDEN, "only the admin invites");

    app.clock.advance(Duration::from_secs(61)); // a new minute for this client's sign-up limit
    set_registration(&mut admin, "invite").await;
    assert_eq!(sign_up("b@example.com", None).await.code(), "INVALID_INVITE");
    let created = admin.post("/_fn/createInvite", json!({"expiresInDays": 2})).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let url = created.body["url"].as_str().unwrap();
    assert!(url.starts_with(app.state.config.base_url.as_str()) && url.contains("/register?invite="), "{url}");
    let invite = query_param(&url[url.find("/register").unwrap()..], "invite");
    let spare = admin.post("/_fn/createInvite", json!({})).await.body["invite"]["id"].as_str().unwrap().to_owned();
    assert_eq!(admin.get("/_fn/listInvites").await.body["total"], 2);

    let joined = sign_up("c@example.com", Some(invite.clone())).await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text);
    let reused = sign_up("d@example.com", Some(invite)).await;
    assert_eq!((reused.status, reused.code()), (StatusCode::FORBIDDEN, "INVALID_INVITE"), "an invitation works once");
    assert_eq!(admin.post("/_fn/revokeInvite", json!({"id": spare})).await.status, StatusCode::OK);
    assert_eq!(admin.get("/_fn/listInvites").await.body["total"], 0);
    // A duplicate address does not use the invitation up.
    app.clock.advance(Duration::from_secs(61));
    let invite = admin.post("/_fn/createInvite", json!({})).await.body["url"].as_str().unwrap().to_owned();
    let invite = query_param(&invite[invite.find("/register").unwrap()..], "invite");
    assert_eq!(sign_up("c@example.com", Some(invite.clone())).await.code(), "USER_ALREADY_EXISTS");
    assert_eq!(sign_up("e@example.com", Some(invite)).await.status, StatusCode::OK);
}

async fn a_password_reset_goes_by_email_and_ends_every_session(backend: Backend) {
    let Some(maildev) = MailDev::start().await else { return };
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    configure_email(&mut admin, maildev.smtp_port, "maildev-password").await;
    app.signed_up("rita@example.com", "Rita").await;
    let mut laptop = app.signed_in("rita@example.com").await;
    let mut phone = app.signed_in("rita@example.com").await;

    // The same answer, in comparable time, for a known and an unknown address.
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    let mut bodies = Vec::new();
    for round in 0..2 {
        for (address, times) in [("rita@example.com", &mut known), ("nobody@example.com", &mut unknown)] {
            let started = Instant::now();
            let res = app.user().post("/api/auth/request-password-reset", json!({"email": address})).await;
            times.push(started.elapsed());
            assert_eq!(res.status, StatusCode::OK, "round {round}, {address}: {}", res.text);
            bodies.push(res.body);
        }
    }
    assert!(bodies.windows(2).all(|pair| pair[0] == pair[1]), "{bodies:?}");
    let slowest = |times: &[Duration]| times.iter().max().copied().unwrap();
    let (known, unknown) = (slowest(&known), slowest(&unknown));
    let slack = Duration::from_millis(250);
    assert!(unknown <= known * 3 + slack && known <= unknown * 3 + slack, "known {known:?} vs unknown {unknown:?}");

    // Two links were sent; the newer replaced the older, so exactly one works.
    maildev.wait_for(&app, "rita@example.com", "Reset your password").await;
    let started = Instant::now();
    let tokens = loop {
        app.settle().await;
        let tokens: Vec<String> = maildev
            .all_emails()
            .await
            .iter()
            .filter(|e| e["subject"] == "Reset your password")
            .map(|e| query_param(&link_in(e, "/reset-password"), "token"))
            .collect();
        if tokens.len() == 2 {
            break tokens;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "not two reset emails: {tokens:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(maildev.all_emails().await.iter().all(|e| e["to"][0]["address"] != "nobody@example.com"));
    // The emailed link opens a page whose form sets the password.
    let page = app.user().get(&format!("/reset-password?token={}", tokens[0])).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains(r#"action="/reset-password""#) && page.text.contains(&tokens[0]), "{}", page.text);
    let mut used = 0;
    for token in &tokens {
        let res = form(&app, "/reset-password", &[("token", token), ("newPassword", "a brand new password")]).await;
        match res.status {
            StatusCode::OK => used += 1,
            status => assert!(status == StatusCode::FORBIDDEN && res.text.contains("unknown, used or expired"), "{}", res.text),
        }
    }
    assert_eq!(used, 1, "exactly the newest link works");
    assert!(laptop.get("/_fn/getSession").await.body.is_null(), "every session ended");
    assert!(phone.get("/_fn/getSession").await.body.is_null());
    app.clock.advance(Duration::from_secs(61)); // a new minute for this client's sign-in limit
    let old = app.user().post("/api/auth/sign-in/email", json!({"email": "rita@example.com", "password": PASSWORD})).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = app.user().post("/api/auth/sign-in/email", json!({"email": "rita@example.com", "password": "a brand new password"})).await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.text);
    for token in &tokens {
        let res = app.user().post("/api/auth/reset-password", json!({"token": token, "newPassword": "yet another password"})).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "a used link stays used");
    }
    // A third request for the address within the hour is refused (the
    // limit is per address, whoever asks, and says nothing about it).
    assert_eq!(app.user().post("/api/auth/request-password-reset", json!({"email": "rita@example.com"})).await.status, StatusCode::OK);
    let limited = app.user().post("/api/auth/request-password-reset", json!({"email": "Rita@example.com"})).await;
    assert_eq!((limited.status, limited.code()), (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"));
}

async fn turnstile_guards_the_four_auth_forms(backend: Backend) {
    // A stand-in for Cloudflare's verify endpoint: "good" passes, with our secret only.
    let verify = axum::Router::new().route(
        "/siteverify",
        axum::routing::post(|Json(body): Json<Value>| async move {
            Json(json!({"success": body["secret"] == "turnstile-secret" && body["response"] == "good"}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let verify_url = format!("http://{}/siteverify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, verify).await.unwrap() });
    let app = TestApp::spawn_with(
        backend,
        &[
            ("FLINT_TURNSTILE_SECRET", "turnstile-secret"),
            ("FLINT_TURNSTILE_SITE_KEY", "site-key"),
            ("FLINT_TURNSTILE_VERIFY_URL", &verify_url),
        ],
    )
    .await;
    let options = app.user().get("/_fn/getSignInOptions").await;
    assert_eq!(options.body["turnstileSiteKey"], "site-key", "{}", options.text);
    let post = |path: &'static str, body: Value, token: Option<&'static str>| {
        let mut client = app.user();
        async move {
            let mut request = client.app.http.post(client.app.url(path)).json(&body);
            if let Some(token) = token {
                request = request.header("x-turnstile-token", token);
            }
            client.send(request).await
        }
    };
    let forms = [
        ("/api/auth/sign-up/email", json!({"name": "Tess", "email": "tess@example.com", "password": PASSWORD})),
        ("/api/auth/sign-in/email", json!({"email": "tess@example.com", "password": PASSWORD})),
        ("/api/auth/request-password-reset", json!({"email": "tess@example.com"})),
        ("/api/auth/send-verification-email", json!({"email": "tess@example.com"})),
    ];
    for (path, body) in &forms {
        let missing = post(path, body.clone(), None).await;
        assert_eq!((missing.status, missing.code()), (StatusCode::BAD_REQUEST, "TURNSTILE_MISSING_TOKEN"), "{path}");
        let bad = post(path, body.clone(), Some("bad")).await;
        assert_eq!((bad.status, bad.code()), (StatusCode::FORBIDDEN, "TURNSTILE_VERIFICATION_FAILED"), "{path}");
    }
    // Refusals spent nobody's rate limit: all four still go through.
    for (path, body) in &forms {
        let res = post(path, body.clone(), Some("good")).await;
        assert!(res.status == StatusCode::OK || res.code() == "EMAIL_DISABLED", "{path}: {}", res.text);
    }
    // The HTML forms show the widget and need its token too (as the
    // form field `cf-turnstile-response`), before any rate limit is spent.
    let page = app.user().get("/sign-in").await;
    assert!(page.text.contains(r#"<div class="cf-turnstile" data-sitekey="site-key"></div>"#), "{}", page.text);
    assert!(page.text.contains("challenges.cloudflare.com/turnstile/v0/api.js"), "{}", page.text);
    let pages = [
        ("/sign-in", vec![("email", "tess@example.com"), ("password", PASSWORD)]),
        ("/register", vec![("name", "Tom"), ("email", "tom@example.com"), ("password", PASSWORD)]),
        ("/forgot-password", vec![("email", "tess@example.com")]),
        ("/verify-email", vec![("email", "tess@example.com")]),
    ];
    for (path, fields) in &pages {
        let missing = form(&app, path, fields).await;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{path}: {}", missing.text);
        assert!(missing.text.contains("Confirm that you are a person"), "{path}: {}", missing.text);
        let mut with_bad = fields.clone();
        with_bad.push(("cf-turnstile-response", "bad"));
        assert_eq!(form(&app, path, &with_bad).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    let mut with_good = pages[0].1.clone();
    with_good.push(("cf-turnstile-response", "good"));
    let signed_in = form(&app, "/sign-in", &with_good).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.text);
    // Other auth routes need no token.
    let mut tess = app.user();
    let res =
        tess.send(tess.app.http.post(tess.app.url("/api/auth/sign-in/email")).header("x-turnstile-token", "good").json(&forms[1].1)).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(tess.post("/api/auth/sign-out", json!({})).await.status, StatusCode::OK);
}

async fn sessions_show_their_device_and_last_use(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signed_up("una@example.com", "Una").await;
    let mut firefox = app.user();
    let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    let request = firefox
        .app
        .http
        .post(firefox.app.url("/api/auth/sign-in/email"))
        .header("user-agent", ua)
        .json(&json!({"email": "una@example.com", "password": PASSWORD}));
    assert_eq!(firefox.send(request).await.status, StatusCode::OK);
    let signed_in_at = app.clock.now_ms();
    app.clock.advance(Duration::from_secs(120));
    let sessions = firefox.get("/_fn/listSessions").await.body;
    let mine = sessions.as_array().unwrap().iter().find(|s| s["current"] == true).expect("this session").clone();
    assert_eq!(mine["device"], "Firefox on Linux");
    assert_eq!(mine["userAgent"], ua);
    let last_seen = jiff::Timestamp::from_str(mine["lastSeenAt"].as_str().unwrap()).unwrap().as_millisecond();
    assert!(last_seen > signed_in_at, "listing used the session two minutes later: {mine}");
}

async fn an_account_exports_its_data_and_deletes_itself_leaving_its_comments(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    let post = crate::posts::draft(&mut admin, json!({"title": "Talk", "content": "Say hello."})).await;
    crate::posts::publish(&app, &mut admin, post, "published").await;
    let mut vic = app.signed_up("vic@example.com", "Vic").await;
    let res = vic.post("/_fn/createComment", json!({"postId": post, "content": "Hello from Vic"})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let comment = res.body["id"].as_i64().unwrap();
    let res = vic.post("/_fn/createApiToken", json!({"name": "script", "scopes": ["posts:read"]})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);

    let export = vic.get("/_fn/exportAccountData").await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.text);
    assert!(export.header("content-disposition").is_some_and(|d| d.contains("attachment")));
    let data = export.body;
    assert_eq!(data["profile"]["email"], "vic@example.com");
    assert_eq!(data["hasPassword"], true);
    assert_eq!(data["comments"][0]["id"], comment);
    assert_eq!(data["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(data["apiTokens"][0]["name"], "script");
    assert!(!export.text.contains("password_hash") && !export.text.contains("$argon2"), "no secrets in the export");

    let wrong = vic.post("/_fn/deleteAccount", json!({"password": "not it"})).await;
    assert_eq!((wrong.status, wrong.code()), (StatusCode::FORBIDDEN, "INVALID_PASSWORD"));
    let gone = vic.post("/_fn/deleteAccount", json!({"password": PASSWORD})).await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.text);
    assert!(vic.cookie.is_none(), "the cookie is cleared");
    let res = app.user().post("/api/auth/sign-in/email", json!({"email": "vic@example.com", "password": PASSWORD})).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let listed = admin.get(&format!("/_fn/getAllComments?postId={post}")).await;
    assert_eq!(listed.body["items"][0]["id"], comment, "the comment stays: {}", listed.text);
    assert!(listed.body["items"][0]["user"].is_null(), "shown as a deleted user");

    // The last admin cannot delete itself.
    let last = admin.post("/_fn/deleteAccount", json!({"password": PASSWORD})).await;
    assert_eq!((last.status, last.code()), (StatusCode::CONFLICT, "LAST_ADMIN"));
}

use std::str::FromStr;

/// Posts an HTML form (`application/x-www-form-urlencoded`), as a browser does.
async fn form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> crate::helpers::Res {
    let body = serde_urlencoded::to_string(fields).unwrap();
    let mut client = app.user();
    let request = app.http.post(app.url(path)).header("content-type", "application/x-www-form-urlencoded").body(body);
    client.send(request).await
}

async fn the_account_pages_work_as_plain_html_forms(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let link = accounts::issue_setup_link(&app.ctx()).await.unwrap().unwrap();
    let token = query_param(&link[link.find("/setup").unwrap()..], "token");
    let page = app.user().get(&format!("/setup?token={token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(page.header("cache-control"), Some("private, no-store"));
    assert!(page.text.contains(r#"<form class="f-form" method="post" action="/setup">"#) && page.text.contains(&token), "{}", page.text);
    let no_token = app.user().get("/setup").await;
    assert!(no_token.text.contains("has no token"), "{}", no_token.text);

    let fields = |token: &str| {
        vec![("token", token.to_owned()), ("name", "Owner".into()), ("email", "owner@example.com".into()), ("password", PASSWORD.into())]
    };
    let as_refs = |fields: &[(&'static str, String)]| fields.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let wrong = form(&app, "/setup", &as_refs(&fields("wrong")).iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(
        wrong.text.contains("unknown, used or expired") && wrong.text.contains(r#"value="owner@example.com""#),
        "the form keeps what was typed: {}",
        wrong.text
    );
    let short =
        form(&app, "/setup", &[("token", token.as_str()), ("name", "Owner"), ("email", "owner@example.com"), ("password", "short")]).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.text.contains("password"), "{}", short.text);
    let mut owner = app.user();
    let body = serde_urlencoded::to_string([
        ("token", token.as_str()),
        ("name", "Owner <b>"),
        ("email", "owner@example.com"),
        ("password", PASSWORD),
    ])
    .unwrap();
    let done = owner.send(app.http.post(app.url("/setup")).header("content-type", "application/x-www-form-urlencoded").body(body)).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert!(done.text.contains("Owner &lt;b&gt;") && !done.text.contains("<b>"), "escaped: {}", done.text);
    assert_eq!(role_of(&mut owner).await, "admin", "signed in by the form");

    // Registration, with an invite link's token carried by the form.
    let page = app.user().get("/register?invite=abc%22def").await;
    assert!(page.text.contains(r#"name="invite" value="abc&#34;def""#) || page.text.contains(r#"value="abc&quot;def""#), "{}", page.text);
    let mut reader = app.user();
    let body =
        serde_urlencoded::to_string([("name", "Reader"), ("email", "reader@example.com"), ("password", PASSWORD), ("invite", "")]).unwrap();
    let joined =
        reader.send(app.http.post(app.url("/register")).header("content-type", "application/x-www-form-urlencoded").body(body)).await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text);
    assert!(joined.text.contains("Welcome, Reader"), "{}", joined.text);
    assert_eq!(role_of(&mut reader).await, "user");
    let taken = form(&app, "/register", &[("name", "Again"), ("email", "reader@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    // A stranger's long input is not sent back whole.
    let long = "x".repeat(100_000);
    let echoed = form(&app, "/register", &[("name", long.as_str()), ("email", "a@example.com"), ("password", "short")]).await;
    assert_eq!(echoed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(echoed.text.len() < 20_000, "the form echoes at most the field's length: {} bytes", echoed.text.len());
    let json = app.user().post("/register", json!({"name": "X"})).await;
    assert_eq!(json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "the page takes forms");
}
