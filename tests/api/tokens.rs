//! API tokens on every endpoint their scope allows, and access derived from
//! the handler's extractors (a route that says otherwise is refused).

use reqwest::StatusCode;
use serde_json::json;

use flint::platform::auth::Scope;
use flint::platform::http::{Access, AdminCtx, AuthCtx, DbCtx, Endpoint, TokenAccess};

use crate::backend_tests;
use crate::helpers::{Backend, Client, TestApp};

backend_tests!(a_posts_write_token_alone_creates_tags_and_publishes_a_post, scopes_and_roles_bound_what_a_token_reaches);

async fn token(client: &mut Client<'_>, scopes: &[&str]) -> String {
    let res = client.post("/_fn/createApiToken", json!({"name": "script", "scopes": scopes})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    res.body["token"].as_str().unwrap().to_owned()
}

async fn a_posts_write_token_alone_creates_tags_and_publishes_a_post(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    let mut script = app.user();
    script.bearer = Some(token(&mut admin, &["posts:write"]).await);

    let created = script.post("/_fn/createEmptyPost", json!({})).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();
    let data = json!({"title": "Written by a script", "content": "Hello from cron.", "tags": ["automation", "cron"]});
    let updated = script.post("/_fn/updatePost", json!({"id": id, "data": data})).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.body["slug"], "written-by-a-script");
    let published = script.post("/_fn/startPostProcessWorkflow", json!({"id": id, "status": "published"})).await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.text);
    app.settle().await;

    let detail = app.user().get("/api/post/written-by-a-script").await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text);
    let tags: Vec<&str> = detail.body["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(tags, ["automation", "cron"]);
    // Write alone does not read.
    assert_eq!(script.get(&format!("/_fn/findPostById?id={id}")).await.code(), "INSUFFICIENT_SCOPE");
}

async fn scopes_and_roles_bound_what_a_token_reaches(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    let id = admin.post("/_fn/createEmptyPost", json!({})).await.body["id"].as_i64().unwrap();

    let mut reader = app.user();
    reader.bearer = Some(token(&mut admin, &["posts:read"]).await);
    assert_eq!(reader.get(&format!("/_fn/findPostById?id={id}")).await.status, StatusCode::OK);
    assert_eq!(reader.get("/_fn/getPosts").await.status, StatusCode::OK);
    let refused = reader.post("/_fn/updatePost", json!({"id": id, "data": {"title": "No"}})).await;
    assert_eq!((refused.status, refused.code()), (StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE"));
    assert_eq!(admin.get(&format!("/_fn/findPostById?id={id}")).await.body["title"], "", "nothing was written");

    // A user's token (every scope a user may hold) reaches no admin function.
    let mut erin = app.signed_up("erin@example.com", "Erin").await;
    let mut user_script = app.user();
    user_script.bearer =
        Some(token(&mut erin, &["posts:read", "comments:read", "comments:write", "friend-links:read", "friend-links:write"]).await);
    let routes = flint::features::routes();
    let admin_endpoints: Vec<_> = routes.endpoints().filter(|e| e.meta.access == Access::Admin).collect();
    assert!(admin_endpoints.len() > 20, "{} admin functions", admin_endpoints.len());
    for endpoint in admin_endpoints {
        let res = match endpoint.method.as_str() {
            "GET" => user_script.get(&endpoint.path).await,
            _ => user_script.post(&endpoint.path, json!({})).await,
        };
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{} {}: {}", endpoint.method, endpoint.path, res.text);
        assert!(
            ["PERMISSION_DENIED", "INSUFFICIENT_SCOPE", "TOKEN_NOT_ACCEPTED"].contains(&res.code()),
            "{}: {}",
            endpoint.path,
            res.code()
        );
    }
    // Every function that looks at the caller says whether tokens may call
    // it. Closed to tokens: account management (with one's email
    // preferences), and the settings, email and webhooks (they hold or use
    // the SMTP password and webhook secrets, and no scope covers them), and
    // the site's HTML forms (for browsers; scripts call the JSON twins).
    for endpoint in routes.endpoints().filter(|e| matches!(e.meta.access, Access::Auth | Access::Admin)) {
        if endpoint.meta.token == TokenAccess::Never {
            assert!(
                matches!(endpoint.tag, "auth" | "users")
                    || endpoint.path.contains("User")
                    || matches!(endpoint.tag, "settings" | "webhooks" | "email" | "pages"),
                "{} is closed to tokens: only account management and settings should be",
                endpoint.path
            );
        }
    }
}

fn refusal(build: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let payload = std::panic::catch_unwind(build).expect_err("the route is refused");
    payload.downcast_ref::<String>().cloned().unwrap_or_default()
}

#[test]
fn a_route_whose_declared_access_disagrees_with_its_handler_is_refused() {
    let message = refusal(|| {
        let _ = Endpoint::query("leaky").access(Access::Public).handler(|_: AdminCtx| async {});
    });
    assert!(message.contains("leaky is declared Public, but its handler's extractors require Admin"), "{message}");
    let message = refusal(|| {
        let _ = Endpoint::query("overstated").access(Access::Admin).scope(Scope::PostsRead).handler(|_: DbCtx| async {});
    });
    assert!(message.contains("overstated is declared Admin, but its handler's extractors require Public"), "{message}");
    let message = refusal(|| {
        let _ = Endpoint::query("silent").handler(|_: AuthCtx| async {});
    });
    assert!(message.contains("silent (Auth) does not say whether API tokens may call it"), "{message}");
}

#[test]
fn access_is_derived_from_the_handler() {
    let route = Endpoint::query("derived").scope(Scope::PostsRead).handler(|_: DbCtx, _: AdminCtx| async {});
    let routes = flint::platform::http::Routes::new().route(route);
    assert_eq!(routes.endpoints().next().unwrap().meta.access, Access::Admin);
    let open = flint::platform::http::Routes::new().route(Endpoint::query("open").handler(|| async {}));
    assert_eq!(open.endpoints().next().unwrap().meta.access, Access::Public);
}
