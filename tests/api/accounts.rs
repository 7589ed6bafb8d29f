//! Sign-up, sign-in, sessions, API tokens and the auth levels of the context chain.

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{ADMIN_EMAIL, Backend, PASSWORD, TestApp};

backend_tests!(
    sign_up_sign_in_sign_out_and_get_session,
    signing_up_as_admin_email_is_no_admin_and_others_are_users,
    duplicate_email_is_a_conflict_in_any_case,
    wrong_password_and_unknown_email_answer_the_same,
    auth_levels_anonymous_user_admin,
    bearer_tokens_need_the_scope,
    tokens_cannot_manage_accounts_and_bad_tokens_are_401,
    users_cannot_grant_admin_scopes,
    change_password_revokes_other_sessions,
    sessions_can_be_listed_and_revoked,
    update_user_changes_the_profile,
    admin_manages_roles_but_keeps_the_last_admin,
    https_sites_use_host_prefixed_secure_cookies,
    an_account_moved_from_the_original_signs_in_and_is_rehashed,
    user_has_password_says_so,
);

/// Issue 21 item 3: the original's scrypt hash (`saltHex:keyHex`, spec
/// §7.3), made by Node's `crypto.scryptSync` for "correct horse é".
const ORIGINAL_HASH: &str = "0123456789abcdef0123456789abcdef:b4421549e49bced2eef8430ba9291a7ed5833b9f49353a7272d473ebc353357e5eb1b816a7cb09d2a760a0df958210b440c427245026f07157d74a1f111c1b6e";

async fn an_account_moved_from_the_original_signs_in_and_is_rehashed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signed_up("moved@example.com", "Moved").await;
    let stored = |app: &TestApp| {
        let db = app.state.db.clone();
        async move {
            flint::on_read!(&db, |pool| sqlx::query_scalar::<_, String>(
                "SELECT password_hash FROM users WHERE email = 'moved@example.com'"
            )
            .fetch_one(pool))
            .unwrap()
        }
    };
    flint::execute!(
        &app.state.db,
        sqlx::query("UPDATE users SET password_hash = $1 WHERE email = 'moved@example.com'").bind(ORIGINAL_HASH)
    )
    .unwrap();
    let sign_in = |password: &'static str| {
        let mut client = app.user();
        async move { client.post("/api/auth/sign-in/email", json!({"email": "moved@example.com", "password": password})).await.status }
    };
    assert_eq!(sign_in("correct horse e").await, StatusCode::UNAUTHORIZED);
    assert_eq!(stored(&app).await, ORIGINAL_HASH, "a wrong password changes nothing");
    // The decomposed é is the same password after NFKC, as in the original.
    assert_eq!(sign_in("correct horse e\u{301}").await, StatusCode::OK);
    let upgraded = stored(&app).await;
    assert!(upgraded.starts_with("$argon2id$"), "re-hashed at once: {upgraded}");
    assert_eq!(sign_in("correct horse \u{e9}").await, StatusCode::OK, "and the same password still works");
}

async fn user_has_password_says_so(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut reader = app.signed_up("reader@example.com", "Reader").await;
    let res = reader.get("/_fn/userHasPassword").await;
    assert_eq!((res.status, res.body.clone()), (StatusCode::OK, json!(true)), "{}", res.text);
    flint::execute!(&app.state.db, sqlx::query("UPDATE users SET password_hash = NULL WHERE email = 'reader@example.com'")).unwrap();
    assert_eq!(reader.get("/_fn/userHasPassword").await.body, json!(false), "an account that signs in elsewhere only");
    assert_eq!(app.user().get("/_fn/userHasPassword").await.status, StatusCode::UNAUTHORIZED);
}

async fn sign_up_sign_in_sign_out_and_get_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut anon = app.user();
    let res = anon.get("/api/auth/get-session").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.is_null(), "anonymous get-session is null: {}", res.text);

    let mut ann = app.user();
    let res = ann.post("/api/auth/sign-up/email", json!({"name": "Ann", "email": "Ann@Example.com", "password": PASSWORD})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["user"]["email"], "ann@example.com");
    let cookie = res.header("set-cookie").expect("sign-up sets the session cookie").to_owned();
    assert!(cookie.starts_with("flint_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=604800"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Secure"), "plain http base URL: no Secure flag");

    let me = ann.get("/api/auth/get-session").await;
    assert_eq!(me.body["user"]["name"], "Ann");
    assert_eq!(me.body["session"]["kind"], "cookie");
    assert_eq!(me.header("cache-control"), Some("private, no-store, no-cache, must-revalidate"));
    let via_fn = ann.get("/_fn/getSession").await;
    assert_eq!(via_fn.body["user"]["id"], me.body["user"]["id"]);

    let out = ann.post("/api/auth/sign-out", json!({})).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(out.header("set-cookie").is_some_and(|c| c.contains("Max-Age=0")));
    assert!(ann.cookie.is_none());
    assert!(ann.get("/api/auth/get-session").await.body.is_null());

    // The old cookie no longer works even if a client keeps sending it.
    let mut replay = app.user();
    replay.cookie = Some(cookie.split(';').next().unwrap().to_owned());
    assert!(replay.get("/api/auth/get-session").await.body.is_null());

    let mut again = app.user();
    let res = again.post("/api/auth/sign-in/email", json!({"email": "ANN@example.com", "password": PASSWORD})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(again.get("/api/auth/get-session").await.body["user"]["email"], "ann@example.com");
}

async fn signing_up_as_admin_email_is_no_admin_and_others_are_users(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Without email set up, nobody can prove the address: a sign-up with it
    // is an ordinary account (the operator's setup link or CLI makes admins).
    let mut claimant = app.signed_up(ADMIN_EMAIL, "Claimant").await;
    assert_eq!(claimant.get("/_fn/getSession").await.body["user"]["role"], "user");
    assert_eq!(claimant.get("/_fn/listUsers").await.status, StatusCode::FORBIDDEN);
    flint::execute!(&app.state.db, sqlx::query("DELETE FROM users")).unwrap();
    let mut admin = app.admin().await;
    assert_eq!(admin.get("/_fn/getSession").await.body["user"]["role"], "admin");
    let mut bob = app.signed_up("bob@example.com", "Bob").await;
    assert_eq!(bob.get("/_fn/getSession").await.body["user"]["role"], "user");
}

async fn duplicate_email_is_a_conflict_in_any_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signed_up("dup@example.com", "First").await;
    let res = app.user().post("/api/auth/sign-up/email", json!({"name": "Second", "email": "DUP@example.com", "password": PASSWORD})).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.code(), "USER_ALREADY_EXISTS");
}

async fn wrong_password_and_unknown_email_answer_the_same(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signed_up("carol@example.com", "Carol").await;
    let wrong = app.user().post("/api/auth/sign-in/email", json!({"email": "carol@example.com", "password": "not the password"})).await;
    let unknown = app.user().post("/api/auth/sign-in/email", json!({"email": "nobody@example.com", "password": "not the password"})).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let strip = |mut body: serde_json::Value| {
        body["error"].as_object_mut().unwrap().remove("requestId");
        body
    };
    assert!(wrong.header("set-cookie").is_none());
    assert_eq!(strip(wrong.body), strip(unknown.body));
}

async fn auth_levels_anonymous_user_admin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anon = app.user().get("/_fn/listUsers").await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anon.code(), "UNAUTHENTICATED");
    assert_eq!(anon.header("cache-control"), Some("private, no-store, no-cache, must-revalidate"));

    let mut user = app.signed_up("dave@example.com", "Dave").await;
    let res = user.get("/_fn/listUsers").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.code(), "PERMISSION_DENIED");

    let mut admin = app.admin().await;
    let res = admin.get("/_fn/listUsers?limit=10").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["total"], 2);
    assert_eq!(res.body["items"][0]["email"], ADMIN_EMAIL, "newest first");
    assert_eq!(res.header("cache-control"), Some("private, no-store, no-cache, must-revalidate"));
    let filtered = admin.get("/_fn/listUsers?q=DAV&role=user").await;
    assert_eq!(filtered.body["total"], 1);
    assert_eq!(filtered.body["items"][0]["email"], "dave@example.com");
    let bad = admin.get("/_fn/listUsers?limit=0").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body["error"]["fields"]["limit"].is_array(), "{}", bad.text);
}

async fn bearer_tokens_need_the_scope(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    let with = admin.post("/_fn/createApiToken", json!({"name": "reader", "scopes": ["posts:read"]})).await;
    assert_eq!(with.status, StatusCode::OK, "{}", with.text);
    let token = with.body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("flint_"));
    assert_eq!(with.body["apiToken"]["hint"], &token[token.len() - 4..]);
    let without = admin.post("/_fn/createApiToken", json!({"name": "commenter", "scopes": ["comments:write"]})).await;
    let other_token = without.body["token"].as_str().unwrap().to_owned();

    let mut script = app.user();
    script.bearer = Some(token.clone());
    let res = script.get("/_fn/testScopedRead").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["email"], ADMIN_EMAIL);
    let me = script.get("/_fn/getSession").await;
    assert_eq!(me.body["session"]["kind"], "token");
    assert_eq!(me.body["session"]["scopes"], json!(["posts:read"]));

    let mut other = app.user();
    other.bearer = Some(other_token);
    let res = other.get("/_fn/testScopedRead").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.code(), "INSUFFICIENT_SCOPE");

    // Listing never shows the secret; revoking makes the token useless.
    let list = admin.get("/_fn/listApiTokens").await;
    assert_eq!(list.body.as_array().unwrap().len(), 2);
    assert!(!list.text.contains(&token));
    let id = with.body["apiToken"]["id"].as_str().unwrap();
    assert_eq!(admin.post("/_fn/revokeApiToken", json!({"id": id})).await.status, StatusCode::OK);
    let res = script.get("/_fn/testScopedRead").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.code(), "INVALID_TOKEN");
    assert_eq!(admin.post("/_fn/revokeApiToken", json!({"id": id})).await.status, StatusCode::NOT_FOUND);
}

async fn tokens_cannot_manage_accounts_and_bad_tokens_are_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    let created =
        admin.post("/_fn/createApiToken", json!({"name": "all", "scopes": ["posts:read", "posts:write"], "expiresInDays": 30})).await;
    assert!(created.body["apiToken"]["expiresAt"].is_string());
    let mut script = app.user();
    script.bearer = Some(created.body["token"].as_str().unwrap().to_owned());
    let res = script.post("/_fn/createApiToken", json!({"name": "child", "scopes": ["posts:read"]})).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.code(), "TOKEN_NOT_ACCEPTED");
    assert_eq!(script.get("/_fn/listUsers").await.code(), "TOKEN_NOT_ACCEPTED");

    let mut forged = app.user();
    forged.bearer = Some("flint_not-a-real-token".into());
    let res = forged.get("/_fn/getSession").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.code(), "INVALID_TOKEN");
    let res = app.http.get(app.url("/_fn/getSession")).header("authorization", "Basic abc").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn users_cannot_grant_admin_scopes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut erin = app.signed_up("erin@example.com", "Erin").await;
    let res = erin.post("/_fn/createApiToken", json!({"name": "x", "scopes": ["comments:write", "posts:write"]})).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.body["error"]["message"].as_str().unwrap().contains("posts:write"));
    let ok = erin.post("/_fn/createApiToken", json!({"name": "x", "scopes": ["comments:write", "comments:write"]})).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body["apiToken"]["scopes"], json!(["comments:write"]));
    let bad = erin.post("/_fn/createApiToken", json!({"name": "x", "scopes": ["root"]})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body["error"]["fields"]["scopes[0]"].is_array(), "{}", bad.text);
}

async fn change_password_revokes_other_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut laptop = app.signed_up("fay@example.com", "Fay").await;
    let mut phone = app.user();
    phone.post("/api/auth/sign-in/email", json!({"email": "fay@example.com", "password": PASSWORD})).await;
    assert!(!phone.get("/_fn/getSession").await.body.is_null());

    let wrong = laptop.post("/api/auth/change-password", json!({"currentPassword": "nope", "newPassword": "a new password"})).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.code(), "INVALID_PASSWORD");
    assert!(wrong.body["error"]["fields"]["currentPassword"].is_array());

    let res = laptop
        .post(
            "/api/auth/change-password",
            // No `revokeOtherSessions`: the other sessions end all the same.
            json!({"currentPassword": PASSWORD, "newPassword": "a new password"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert!(!laptop.get("/_fn/getSession").await.body.is_null(), "the current session stays");
    assert!(phone.get("/_fn/getSession").await.body.is_null(), "other sessions are gone");

    let old = app.user().post("/api/auth/sign-in/email", json!({"email": "fay@example.com", "password": PASSWORD})).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = app.user().post("/api/auth/sign-in/email", json!({"email": "fay@example.com", "password": "a new password"})).await;
    assert_eq!(new.status, StatusCode::OK);
}

async fn sessions_can_be_listed_and_revoked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut first = app.signed_up("gus@example.com", "Gus").await;
    let mut second = app.user();
    second.post("/api/auth/sign-in/email", json!({"email": "gus@example.com", "password": PASSWORD})).await;

    let list = first.get("/_fn/listSessions").await;
    let sessions = list.body.as_array().expect("a list").clone();
    assert_eq!(sessions.len(), 2, "{}", list.text);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(sessions.iter().all(|s| s["ip"] == "127.0.0.1"));
    let other = sessions.iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();

    // Someone else's session id is not found for this user.
    let mut stranger = app.signed_up("hal@example.com", "Hal").await;
    assert_eq!(stranger.post("/_fn/revokeSession", json!({"id": other})).await.status, StatusCode::NOT_FOUND);

    assert_eq!(first.post("/_fn/revokeSession", json!({"id": other})).await.status, StatusCode::OK);
    assert!(second.get("/_fn/getSession").await.body.is_null());
    assert_eq!(first.get("/_fn/listSessions").await.body.as_array().unwrap().len(), 1);
}

async fn update_user_changes_the_profile(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut ivy = app.signed_up("ivy@example.com", "Ivy").await;
    let res = ivy.post("/api/auth/update-user", json!({"name": "  Ivy L  ", "image": "https://example.com/ivy.png"})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["name"], "Ivy L");
    assert_eq!(res.body["image"], "https://example.com/ivy.png");
    let res = ivy.post("/api/auth/update-user", json!({"image": ""})).await;
    assert!(res.body["image"].is_null());
    assert_eq!(res.body["name"], "Ivy L");
    let bad = ivy.post("/api/auth/update-user", json!({"image": "javascript:alert(1)", "name": "  "})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = bad.body["error"]["fields"].as_object().unwrap();
    assert!(fields.contains_key("image") && fields.contains_key("name"), "{}", bad.text);
}

async fn admin_manages_roles_but_keeps_the_last_admin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    let admin_id = admin.get("/_fn/getSession").await.body["user"]["id"].as_str().unwrap().to_owned();
    let last = admin.post("/_fn/setUserRole", json!({"userId": admin_id, "role": "user"})).await;
    assert_eq!(last.status, StatusCode::CONFLICT);
    assert_eq!(last.code(), "LAST_ADMIN");

    let mut jo = app.signed_up("jo@example.com", "Jo").await;
    let jo_id = jo.get("/_fn/getSession").await.body["user"]["id"].as_str().unwrap().to_owned();
    let promoted = admin.post("/_fn/setUserRole", json!({"userId": jo_id, "role": "admin"})).await;
    assert_eq!(promoted.status, StatusCode::OK, "{}", promoted.text);
    assert_eq!(promoted.body["role"], "admin");
    assert_eq!(jo.get("/_fn/listUsers").await.status, StatusCode::OK, "the new role applies at once");

    let demoted = jo.post("/_fn/setUserRole", json!({"userId": admin_id, "role": "user"})).await;
    assert_eq!(demoted.status, StatusCode::OK);
    assert_eq!(admin.get("/_fn/listUsers").await.status, StatusCode::FORBIDDEN);

    let missing = jo.post("/_fn/setUserRole", json!({"userId": "no-such-user", "role": "admin"})).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.code(), "USER_NOT_FOUND");
}

async fn https_sites_use_host_prefixed_secure_cookies(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_BASE_URL", "https://blog.example")]).await;
    let mut mia = app.signed_up("mia@example.com", "Mia").await;
    let cookie = mia.cookie.clone().expect("signed in");
    assert!(cookie.starts_with("__Host-flint_session="), "{cookie}");
    assert_eq!(mia.get("/_fn/getSession").await.body["user"]["email"], "mia@example.com");

    let res = app.user().post("/api/auth/sign-in/email", json!({"email": "mia@example.com", "password": PASSWORD})).await;
    let set_cookie = res.header("set-cookie").unwrap();
    assert!(set_cookie.contains("; Secure") && set_cookie.contains("HttpOnly"), "{set_cookie}");

    // The unprefixed name is not accepted on an https site.
    let mut plain = app.user();
    plain.cookie = Some(cookie.replacen("__Host-", "", 1));
    assert!(plain.get("/_fn/getSession").await.body.is_null());

    // Writes from the configured public origin pass the CSRF check.
    let from_site =
        app.http.post(app.url("/api/auth/update-user")).header("origin", "https://blog.example").json(&json!({"name": "Mia M"}));
    assert_eq!(mia.send(from_site).await.status, StatusCode::OK);
}
