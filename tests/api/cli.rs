//! The `flint` binary: help, configuration errors, check-config, migrate and
//! the user commands, run as a real process.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp, TestDatabase};

fn flint(args: &[&str], vars: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_flint"));
    command.args(args).current_dir(dir.path()).env_clear().env("FLINT_LOG", "warn");
    for (k, v) in vars {
        command.env(k, v);
    }
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("flint runs");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("flint finishes")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["migrate", "--help"],
        &["user", "create", "--help"],
        &["user", "set-role", "--help"],
        &["check-config", "--help"],
    ] {
        let out = flint(args, &[], None);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("Usage"), "{args:?}");
    }
    let root = text(&flint(&["--help"], &[], None).stdout);
    for command in ["serve", "migrate", "user", "check-config"] {
        assert!(root.contains(command), "--help lists {command}");
    }
}

#[test]
fn a_bad_config_value_exits_non_zero_naming_the_variable() {
    let out = flint(&["serve"], &[("FLINT_LISTEN", "not-an-address"), ("FLINT_REQUEST_TIMEOUT", "forever")], None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("FLINT_LISTEN") && stderr.contains("not-an-address"), "{stderr}");
    assert!(stderr.contains("FLINT_REQUEST_TIMEOUT"), "{stderr}");
}

#[test]
fn check_config_masks_secrets() {
    let out = flint(
        &["check-config"],
        &[
            ("DATABASE_URL", "postgres://flint:hunter2@db.internal/flint"),
            ("FLINT_SECRET_KEY", "a-very-long-secret-value-of-40-characters"),
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("postgres://flint:****@db.internal/flint"), "{stdout}");
    assert!(!stdout.contains("hunter2") && !stdout.contains("a-very-long-secret"), "{stdout}");
    assert!(stdout.contains("FLINT_LISTEN") && stdout.contains("127.0.0.1:8080"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_commands_manage_accounts_on_sqlite() {
    user_commands(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_commands_manage_accounts_on_postgres() {
    if let Some(backend) = Backend::postgres() {
        user_commands(backend).await;
    }
}

async fn user_commands(backend: Backend) {
    let database = TestDatabase::create(&backend).await;
    let db = [("DATABASE_URL", database.url.as_str())];
    let migrate = flint(&["migrate"], &db, None);
    assert!(migrate.status.success(), "{}", text(&migrate.stderr));

    let created = flint(&["user", "create", "--email", "Owner@Example.com", "--name", "Owner", "--admin"], &db, Some("owner password 1\n"));
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(text(&created.stdout).contains("owner@example.com"));
    let duplicate = flint(&["user", "create", "--email", "owner@example.com", "--name", "Again"], &db, Some("owner password 1\n"));
    assert!(!duplicate.status.success());
    let no_password = flint(&["user", "create", "--email", "x@example.com", "--name", "Xavier"], &db, Some(""));
    assert!(!no_password.status.success());
    assert!(text(&no_password.stderr).contains("password"));
    let weak = flint(&["user", "create", "--email", "y@example.com", "--name", "Yves"], &db, Some("short\n"));
    assert!(!weak.status.success());

    let last_admin = flint(&["user", "set-role", "--email", "owner@example.com", "--role", "user"], &db, None);
    assert_eq!(last_admin.status.code(), Some(1));
    assert!(text(&last_admin.stderr).contains("last admin"), "{}", text(&last_admin.stderr));
    let unknown = flint(&["user", "set-role", "--email", "ghost@example.com", "--role", "admin"], &db, None);
    assert!(!unknown.status.success());

    let app = TestApp::spawn_on(database, &[]).await;
    let mut owner = app.user();
    let res = owner.post("/api/auth/sign-in/email", json!({"email": "owner@example.com", "password": "owner password 1"})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["user"]["role"], "admin");
    assert_eq!(owner.get("/_fn/listUsers").await.status, StatusCode::OK);

    app.signed_up("second@example.com", "Second").await;
    let promote = flint(
        &["user", "set-role", "--email", "second@example.com", "--role", "admin"],
        &[("DATABASE_URL", app.database.url.as_str())],
        None,
    );
    assert!(promote.status.success(), "{}", text(&promote.stderr));
    let demote = flint(
        &["user", "set-role", "--email", "owner@example.com", "--role", "user"],
        &[("DATABASE_URL", app.database.url.as_str())],
        None,
    );
    assert!(demote.status.success(), "{}", text(&demote.stderr));
    assert_eq!(owner.get("/_fn/listUsers").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_starting_together_on_one_sqlite_file_migrate_once() {
    // `serve` and `worker` (or two `migrate`s) on a new file: without the
    // migration lock both applied the first migration and one failed.
    let database = TestDatabase::create(&Backend::Sqlite).await;
    let url = database.url.clone();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || flint(&["migrate"], &[("DATABASE_URL", url.as_str())], None))
        })
        .collect();
    for run in runs {
        let output = run.join().unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_creates_published_posts() {
    let database = TestDatabase::create(&Backend::Sqlite).await;
    let seeded = flint(&["seed", "--posts", "30"], &[("DATABASE_URL", database.url.as_str())], None);
    assert!(seeded.status.success(), "{}", text(&seeded.stderr));
    assert!(text(&seeded.stdout).contains("seeded 30"));
    let app = TestApp::spawn_on(database, &[]).await;
    let mut reader = app.user();
    let page = reader.get("/api/posts?limit=50").await;
    let items = page.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 30);
    // 2-3 tags are drawn per post; a repeated draw leaves 1.
    assert!(items.iter().all(|p| (1..=3).contains(&p["tags"].as_array().unwrap().len())), "{}", page.text);
    assert!(items.iter().any(|p| p["title"].as_str().unwrap().contains('篇')), "Chinese posts too");
    let slug = items[0]["slug"].as_str().unwrap();
    let detail = reader.get(&format!("/api/post/{slug}")).await;
    assert!(detail.body["contentHtml"].as_str().unwrap().contains("<h2"));
    assert!(!detail.body["toc"].as_array().unwrap().is_empty());
    assert!(!reader.get("/api/tags").await.body.as_array().unwrap().is_empty());
    assert_eq!(reader.get("/_fn/getIndexVersion").await.body["documents"], 30, "seeded posts are searchable");

    let reindexed = flint(&["reindex"], &[("DATABASE_URL", app.database.url.as_str())], None);
    assert!(reindexed.status.success(), "{}", text(&reindexed.stderr));
    assert!(text(&reindexed.stdout).contains("indexed 30 public posts"));
}

/// `flint` in a folder holding `.env` with `contents`.
fn flint_with_dotenv(contents: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(".env"), contents).unwrap();
    Command::new(env!("CARGO_BIN_EXE_flint")).args(args).current_dir(dir.path()).env_clear().output().expect("flint runs")
}

#[test]
fn a_malformed_dotenv_line_stops_start_up_with_its_number() {
    let out = flint_with_dotenv("FLINT_SITE_TITLE=Fine\nthis line is broken\nFLINT_FEED_LIMIT=7\n", &["check-config"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(".env line 2"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing ran on a half-applied file");

    let out = flint_with_dotenv("FLINT_SITE_TITLE=\"My blog\"\n# a comment\nFLINT_FEED_LIMIT=7\n", &["check-config"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("My blog"), "{}", text(&out.stdout));
}

#[test]
fn a_failing_command_says_why_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("flint.db").display());
    let out = flint(&["user", "set-role", "--email", "nobody@example.com", "--role", "admin"], &[("DATABASE_URL", &url)], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.matches("no such user").count(), 1, "{stderr}");
}

#[test]
fn a_host_name_may_be_the_listen_address() {
    let out = flint(&["check-config"], &[("FLINT_LISTEN", "localhost:8181")], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.lines().any(|l| l.starts_with("FLINT_LISTEN") && l.ends_with("127.0.0.1:8181")), "{stdout}");
    let out = flint(&["check-config"], &[("FLINT_LISTEN", "localhost")], None);
    assert_eq!(out.status.code(), Some(2), "a port is required");
}

#[test]
fn an_unreachable_bucket_stops_start_up_with_its_name() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let storage = format!("s3://media/blog?endpoint=http://127.0.0.1:{closed}&path_style=true");
    let vars = [
        ("STORAGE_URL", storage.as_str()),
        ("AWS_ACCESS_KEY_ID", "key"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("FLINT_LISTEN", "127.0.0.1:0"),
    ];
    let out = flint(&["serve"], &vars, None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("bucket s3://media/blog at http://127.0.0.1"), "{stderr}");
    assert!(!stderr.contains("secret"), "the secret key is never printed: {stderr}");

    let out = flint(&["check-config"], &[("STORAGE_URL", "s3://media"), ("AWS_ACCESS_KEY_ID", "key")], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together"), "{}", text(&out.stderr));
}

/// `flint user create` on a terminal (a pseudo-terminal made by `script`):
/// it prompts twice, and what is typed is not echoed back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_create_on_a_terminal_prompts_without_echo() {
    use std::io::Read;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipping the terminal test: util-linux `script` is not installed");
        return;
    }
    let database = TestDatabase::create(&Backend::Sqlite).await;
    let secret = "typed on a terminal 7";
    let command = format!("{} user create --email tty@example.com --name Terminal --admin", env!("CARGO_BIN_EXE_flint"));
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TERM", "dumb")
        .env("DATABASE_URL", &database.url)
        .env("FLINT_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script runs");
    let seen = Arc::new(Mutex::new(String::new()));
    let mut stdout = child.stdout.take().unwrap();
    let reader = {
        let seen = seen.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 256];
            while let Ok(n) = stdout.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        })
    };
    let mut stdin = child.stdin.take().unwrap();
    // Type each line only once its prompt is shown (echo is off by then).
    for (prompt, count) in [("Password: ", 1), ("Password again: ", 1)] {
        let started = Instant::now();
        while seen.lock().unwrap().matches(prompt).count() < count {
            assert!(started.elapsed() < Duration::from_secs(20), "no {prompt:?} prompt: {:?}", seen.lock().unwrap());
            std::thread::sleep(Duration::from_millis(20));
        }
        stdin.write_all(format!("{secret}\r").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    let output = seen.lock().unwrap().clone();
    assert!(status.success(), "{output}");
    assert!(output.contains("created tty@example.com"), "{output}");
    assert!(!output.contains(secret), "the password was echoed: {output}");

    let app = TestApp::spawn_on(database, &[]).await;
    let res = app.user().post("/api/auth/sign-in/email", json!({"email": "tty@example.com", "password": secret})).await;
    assert_eq!(res.status, StatusCode::OK, "the prompted password is the account's: {}", res.text);
    assert_eq!(res.body["user"]["role"], "admin");
}

/// While no admin exists, `flint serve` logs a setup link; it makes the
/// first admin once, and the next start (an admin exists) logs none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_a_setup_link_until_an_admin_exists() {
    let database = TestDatabase::create(&Backend::Sqlite).await;
    let log_dir = tempfile::tempdir().unwrap();
    let log_path = log_dir.path().join("serve.log");
    let server = crate::helpers::Server::start_with(&database.url, "0", std::fs::File::create(&log_path).unwrap()).await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    let line = log.lines().find(|l| l.contains("setup_link")).unwrap_or_else(|| panic!("no setup link logged: {log}"));
    let entry: serde_json::Value = serde_json::from_str(line).unwrap();
    let link = entry["fields"]["setup_link"].as_str().or(entry["setup_link"].as_str()).unwrap_or_else(|| panic!("{line}"));
    let token = url::Url::parse(link).unwrap().query_pairs().find(|(k, _)| k == "token").unwrap().1.into_owned();
    assert!(link.contains("/setup?token="), "{link}");

    let http = reqwest::Client::new();
    let setup = |token: String| {
        http.post(format!("{}/api/auth/setup", server.base))
            .json(&json!({"token": token, "name": "Owner", "email": "owner@example.com", "password": "owner password 1"}))
            .send()
    };
    assert_eq!(setup("wrong".into()).await.unwrap().status(), StatusCode::FORBIDDEN);
    let res = setup(token.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["user"]["role"], "admin");
    assert_eq!(setup(token).await.unwrap().status(), StatusCode::FORBIDDEN, "the link works once");
    server.kill();

    let log_path = log_dir.path().join("again.log");
    let server = crate::helpers::Server::start_with(&database.url, "0", std::fs::File::create(&log_path).unwrap()).await;
    server.kill();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(!log.contains("setup_link"), "an admin exists: no link: {log}");
}

/// `FLINT_THEME_DIR` replaces a template by path; one that does not parse
/// is logged with its file and line, and the embedded one is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_theme_dir_overrides_templates_and_a_broken_one_falls_back() {
    let database = TestDatabase::create(&Backend::Sqlite).await;
    let theme = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(theme.path().join("account")).unwrap();
    std::fs::write(
        theme.path().join("account/register.html"),
        "{% extends \"layout.html\" %}{% block content %}<h1>Join {{ site }}, the custom way</h1>{% endblock %}",
    )
    .unwrap();
    std::fs::write(
        theme.path().join("account/setup.html"),
        "{% extends \"layout.html\" %}\n{% block content %}\n{% if %}\n{% endblock %}\n",
    )
    .unwrap();
    let log_dir = tempfile::tempdir().unwrap();
    let log_path = log_dir.path().join("serve.log");
    let theme_dir = theme.path().display().to_string();
    let server = crate::helpers::Server::start_env(
        &database.url,
        "0",
        std::fs::File::create(&log_path).unwrap(),
        &[("FLINT_THEME_DIR", theme_dir.as_str())],
    )
    .await;
    let register = reqwest::get(format!("{}/register", server.base)).await.unwrap().text().await.unwrap();
    assert!(register.contains("the custom way"), "{register}");
    let setup = reqwest::get(format!("{}/setup?token=abc", server.base)).await.unwrap();
    assert_eq!(setup.status(), StatusCode::OK);
    assert!(setup.text().await.unwrap().contains(r#"action="/setup""#), "the embedded setup page stands in");
    server.kill();
    let log = std::fs::read_to_string(&log_path).unwrap();
    let broken = theme.path().join("account/setup.html").display().to_string();
    let line = log.lines().find(|l| l.contains("a theme template does not parse")).unwrap_or_else(|| panic!("not logged: {log}"));
    assert!(line.contains(&format!("{broken}:3")), "the file and line: {line}");
}
