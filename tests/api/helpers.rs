//! The test harness: a real flint app on 127.0.0.1:0 over a fresh SQLite
//! file or a fresh PostgreSQL database, and a small cookie-keeping client.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Json;
use flint::app;
use flint::platform::auth::Scope;
use flint::platform::clock::Clock;
use flint::platform::config::Config;
use flint::platform::http::{Access, AuthCtx, CachePolicy, Endpoint, Routes, TokenAccess};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const PASSWORD: &str = "correct horse battery";

#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    Postgres { admin_url: String },
}

/// The Redis server for tests, when `FLINT_TEST_REDIS_URL` is set; otherwise says why a test is skipped.
pub fn test_redis_url() -> Option<String> {
    match std::env::var("FLINT_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("skipping Redis variant: FLINT_TEST_REDIS_URL is not set");
            None
        }
    }
}

/// A Redis key prefix no other test uses.
pub fn unique_prefix() -> String {
    format!("flint-test-{}:", uuid::Uuid::now_v7().simple())
}

/// A media folder for processes and services that tests start without a
/// `TestApp` (never the repository's own `./data/media`).
pub fn test_media_url() -> String {
    format!("file://{}", std::env::temp_dir().join("flint-test-media").display())
}

/// An address where nothing listens (a Redis that is down).
pub const DEAD_REDIS: &str = "redis://127.0.0.1:1";

impl Backend {
    /// PostgreSQL when `FLINT_TEST_DATABASE_URL` is set; otherwise says why it is skipped.
    pub fn postgres() -> Option<Backend> {
        match std::env::var("FLINT_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres { admin_url: url }),
            _ => {
                eprintln!("skipping PostgreSQL variant: FLINT_TEST_DATABASE_URL is not set");
                None
            }
        }
    }
}

/// Declares each listed test twice: `sqlite::<name>` and `postgres::<name>`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(backend) = $crate::helpers::Backend::postgres() {
                        super::$name(backend).await;
                    }
                }
            )*
        }
    };
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn create(backend: &Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("flint.db").display());
                TestDatabase { url, _dir: Some(dir), postgres: None }
            }
            Backend::Postgres { admin_url } => {
                let name = format!("flint_test_{}", uuid::Uuid::now_v7().simple());
                let mut admin =
                    <sqlx::PgConnection as sqlx::Connection>::connect(admin_url).await.expect("connect to FLINT_TEST_DATABASE_URL");
                sqlx::Executor::execute(&mut admin, sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .expect("create test database");
                let mut url = url::Url::parse(admin_url).expect("FLINT_TEST_DATABASE_URL is a URL");
                url.set_path(&name);
                TestDatabase { url: url.to_string(), _dir: None, postgres: Some((admin_url.clone(), name)) }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else { return };
        // Drop runs outside async code; a short-lived runtime on its own thread does the cleanup.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                if let Ok(mut admin) = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url).await {
                    let _ =
                        sqlx::Executor::execute(&mut admin, sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                            .await;
                }
            });
        })
        .join();
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub http: reqwest::Client,
    /// The app's clock: starts at the real time and moves only when advanced.
    pub clock: Clock,
    /// The app's services (cache, limiter, database, ...).
    pub state: flint::platform::state::AppState,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    // Dropped last: the database and media outlive the server.
    pub database: TestDatabase,
    _media: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, &[]).await
    }

    /// Starts the app with extra configuration variables.
    pub async fn spawn_with(backend: Backend, vars: &[(&str, &str)]) -> TestApp {
        let database = TestDatabase::create(&backend).await;
        Self::spawn_on(database, vars).await
    }

    pub async fn spawn_on(database: TestDatabase, vars: &[(&str, &str)]) -> TestApp {
        let media = tempfile::tempdir().expect("a media folder");
        let mut env: HashMap<String, String> = HashMap::from([
            ("FLINT_LISTEN".into(), "127.0.0.1:0".into()),
            ("DATABASE_URL".into(), database.url.clone()),
            ("ADMIN_EMAIL".into(), ADMIN_EMAIL.into()),
            ("FLINT_SHUTDOWN_TIMEOUT".into(), "5s".into()),
            ("FLINT_DB_MAX_CONNECTIONS".into(), "4".into()),
            ("STORAGE_URL".into(), format!("file://{}", media.path().display())),
        ]);
        for (k, v) in vars {
            env.insert((*k).into(), (*v).into());
        }
        let config = Config::from_lookup(|name| env.get(name).cloned()).expect("test configuration is valid");
        let routes = flint::features::routes().merge(probe_routes());
        let clock = Clock::manual(jiff::Timestamp::now().as_millisecond());
        let parts = app::Parts {
            clock: clock.clone(),
            routes,
            workflows: flint::features::workflows().merge(crate::workflow::test_workflows()),
            subscribers: flint::features::subscribers(),
        };
        let app = app::build_with(config, parts).await.expect("app builds");
        let state = app.state.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(app::serve(app, listener, async move {
            let _ = rx.await;
        }));
        flint::platform::ai::install_crypto_provider();
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        TestApp {
            addr,
            base: format!("http://{addr}"),
            http,
            clock,
            state,
            shutdown: Some(tx),
            server: Some(server),
            database,
            _media: media,
        }
    }

    /// Runs every due workflow run (and what those make due, such as event
    /// deliveries) until none is left or running; sleeping runs stay asleep.
    /// Works whether or not the app has workers of its own.
    pub async fn settle(&self) {
        let started = std::time::Instant::now();
        loop {
            let ran = self.state.workflows.run_due().await.expect("runs execute");
            let now = self.clock.now_ms();
            let pending: i64 = flint::on_read!(&self.state.db, |pool| sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM workflow_runs WHERE (status = 'queued' AND wake_at <= $1) OR status = 'running'"
            )
            .bind(now)
            .fetch_one(pool))
            .expect("count runs");
            if ran == 0 && pending == 0 {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "runs did not settle: {pending} pending");
            if ran == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    /// The app's services as a service context.
    pub fn ctx(&self) -> flint::platform::state::DbCtx {
        flint::platform::state::DbCtx(self.state.clone())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Starts graceful shutdown and waits for the server to finish.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.server.take() {
            Some(server) => {
                tokio::time::timeout(Duration::from_secs(10), server).await.expect("server stops in time").expect("server task")
            }
            None => Ok(()),
        }
    }

    pub fn trigger_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    pub fn user(&self) -> Client<'_> {
        Client { app: self, cookie: None, bearer: None }
    }

    /// A client signed up (and so signed in) as a new account. While email
    /// is set up, sign-up waits for the emailed link: the address is then
    /// marked verified here and the client signs in (the link itself is
    /// tested in `accounts.rs`).
    pub async fn signed_up(&self, email: &str, name: &str) -> Client<'_> {
        let mut client = self.user();
        let res = client.post("/api/auth/sign-up/email", json!({"name": name, "email": email, "password": PASSWORD})).await;
        assert_eq!(res.status, StatusCode::OK, "sign-up of {email}: {}", res.body);
        if res.body["session"].is_null() {
            flint::execute!(
                &self.state.db,
                sqlx::query("UPDATE users SET email_verified = TRUE WHERE lower(email) = lower($1)").bind(email)
            )
            .expect("verify the address");
            let res = client.post("/api/auth/sign-in/email", json!({"email": email, "password": PASSWORD})).await;
            assert_eq!(res.status, StatusCode::OK, "sign-in of {email}: {}", res.body);
        }
        client
    }

    /// A client signed in as the admin (`ADMIN_EMAIL`), made as `flint
    /// user create --admin` makes one.
    pub async fn admin(&self) -> Client<'_> {
        let input = flint::features::accounts::schema::SignUpInput {
            name: "Admin".into(),
            email: ADMIN_EMAIL.into(),
            password: PASSWORD.into(),
            invite: None,
            callback_url: None,
        };
        let role = Some(flint::platform::auth::Role::Admin);
        flint::features::accounts::service::create_user(&self.ctx(), &input, role).await.expect("the admin is created");
        self.signed_in(ADMIN_EMAIL).await
    }

    /// A client signed in to an existing account (password [`PASSWORD`]).
    pub async fn signed_in(&self, email: &str) -> Client<'_> {
        let mut client = self.user();
        let res = client.post("/api/auth/sign-in/email", json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(res.status, StatusCode::OK, "sign-in of {email}: {}", res.body);
        client
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Res {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

/// A client that keeps the session cookie and may carry a bearer token.
pub struct Client<'a> {
    pub app: &'a TestApp,
    pub cookie: Option<String>,
    pub bearer: Option<String>,
}

impl Client<'_> {
    pub async fn get(&mut self, path: &str) -> Res {
        self.send(self.app.http.request(Method::GET, self.app.url(path))).await
    }

    pub async fn post(&mut self, path: &str, body: Value) -> Res {
        self.send(self.app.http.request(Method::POST, self.app.url(path)).json(&body)).await
    }

    /// `post` for a client used once (e.g. from a closure).
    pub async fn post_owned(mut self, path: &str, body: Value) -> Res {
        self.post(path, body).await
    }

    pub async fn send(&mut self, mut request: reqwest::RequestBuilder) -> Res {
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie.clone());
        }
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request is answered");
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str().expect("cookie is text").split(';').next().unwrap_or_default().to_owned();
            if pair.ends_with('=') { self.cookie = None } else { self.cookie = Some(pair) }
        }
        read(response).await
    }
}

pub async fn read(response: reqwest::Response) -> Res {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Res { status, headers, body, text }
}

/// Endpoints that exist only in tests, declared through the same public API
/// as real features: they exercise platform behaviour no real endpoint has yet.
fn probe_routes() -> Routes {
    Routes::new()
        .route(
            Endpoint::query("testScopedRead")
                .access(Access::Auth)
                .tokens(TokenAccess::Scope(Scope::PostsRead))
                .handler(|ctx: AuthCtx| async move { Json(json!({"email": ctx.session.user.email})) }),
        )
        .route(
            Endpoint::mutation("testTokenWrite")
                .access(Access::Auth)
                .tokens(TokenAccess::Scope(Scope::PostsWrite))
                .handler(|ctx: AuthCtx| async move { Json(json!({"wrote": ctx.session.user.email})) }),
        )
        .route(Endpoint::query("testPanic").handler(|| async {
            if std::hint::black_box(true) {
                panic!("probe panic with a secret detail");
            }
            Json(json!({}))
        }))
        .route(Endpoint::query("testSlow").handler(|| async {
            tokio::time::sleep(Duration::from_millis(600)).await;
            Json(json!({"finished": true}))
        }))
        .route(Endpoint::query("testPublic").cache(CachePolicy::Public).handler(|| async { Json(json!({"hello": "world"})) }))
}

/// `flint user create --admin` for [`ADMIN_EMAIL`] on `database_url`
/// (nothing happens when the account exists).
pub fn create_admin_with_cli(database_url: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_flint"))
        .args(["user", "create", "--admin", "--email", ADMIN_EMAIL, "--name", "Admin"])
        .env_clear()
        .env("DATABASE_URL", database_url)
        .env("STORAGE_URL", test_media_url())
        .env("FLINT_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("flint user create starts");
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() || stderr.contains("already exists"), "flint user create: {stderr}");
}

/// A `flint serve` process on `database_url`, listening on a free port.
pub struct Server {
    pub child: std::process::Child,
    pub base: String,
    pub database_url: String,
}

impl Server {
    pub async fn start(database_url: &str) -> Server {
        Self::start_with(database_url, "0", std::process::Stdio::null()).await
    }

    /// With `workers` workflow workers and warnings logged to `log`.
    pub async fn start_with(database_url: &str, workers: &str, log: impl Into<std::process::Stdio>) -> Server {
        Self::start_env(database_url, workers, log, &[]).await
    }

    /// `start_with` and extra configuration variables.
    pub async fn start_env(database_url: &str, workers: &str, log: impl Into<std::process::Stdio>, vars: &[(&str, &str)]) -> Server {
        flint::platform::ai::install_crypto_provider();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_flint"))
            .arg("serve")
            .env_clear()
            .envs(vars.iter().copied())
            .env("DATABASE_URL", database_url)
            .env("FLINT_LISTEN", format!("127.0.0.1:{port}"))
            .env("ADMIN_EMAIL", ADMIN_EMAIL)
            .env("FLINT_LOG", "warn")
            .env("FLINT_LOG_FORMAT", "json")
            .env("FLINT_WORKFLOW_WORKERS", workers)
            .env("STORAGE_URL", test_media_url())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("flint serve starts");
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while reqwest::get(format!("{base}/readyz")).await.ok().map(|r| r.status()) != Some(StatusCode::OK) {
            assert!(started.elapsed() < Duration::from_secs(30), "flint serve did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Server { child, base, database_url: database_url.to_owned() }
    }

    /// The admin's session cookie: the account is made with `flint user
    /// create --admin` the first time (as an operator would), then signed in.
    pub async fn admin_cookie(&self) -> String {
        create_admin_with_cli(&self.database_url);
        let res = reqwest::Client::new()
            .post(format!("{}/api/auth/sign-in/email", self.base))
            .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "the admin signs in");
        res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned()
    }

    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}
