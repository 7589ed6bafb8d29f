//! What a hostile probe found (issue 27), one test per defect: each failed
//! before its fix. Database-related ones run on both backends.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, Client, Server, TestApp};

backend_tests!(
    deep_or_heavy_markdown_gets_a_clean_answer_and_the_server_stays_up,
    publishing_is_one_transaction,
    feeds_survive_forbidden_characters_and_carry_summaries_as_text,
    a_nul_byte_is_refused_the_same_way_on_both_backends,
    one_account_takes_ten_password_guesses_per_quarter_hour_from_any_number_of_clients,
);

async fn new_post(admin: &mut Client<'_>) -> i64 {
    let res = admin.post("/_fn/createEmptyPost", json!({})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    res.body["id"].as_i64().unwrap()
}

/// D1 and D10: 10,000 and 100,000 nested quotes overflowed a worker
/// thread's stack and killed the process; 200,000 nested `<div>`s rendered
/// for minutes. Each now gets a 422 at once, and nothing dies.
async fn deep_or_heavy_markdown_gets_a_clean_answer_and_the_server_stays_up(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    let id = new_post(&mut admin).await;
    let hostile = [format!("{} x", ">".repeat(10_000)), format!("{} x", ">".repeat(100_000)), "<div>".repeat(200_000)];
    for content in &hostile {
        let started = Instant::now();
        let res = admin.post("/_fn/previewSummary", json!({"content": content})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert_eq!(res.code(), "CONTENT_TOO_COMPLEX");
        let res = admin.post("/_fn/updatePost", json!({"id": id, "data": {"content": content}})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert_eq!(res.code(), "CONTENT_TOO_COMPLEX");
        assert!(started.elapsed() < Duration::from_secs(20), "{} bytes took {:?}", content.len(), started.elapsed());
    }
    // Nothing of it was stored, and the server still answers.
    let res = admin.get(&format!("/_fn/findPostById?id={id}")).await;
    assert_eq!(res.body["content"], json!(null), "{}", res.text);
    assert_eq!(app.user().get("/healthz").await.status, StatusCode::OK);

    // Ordinary nesting is fine.
    let fine = format!("{} quoted\n\n- a\n  - b\n    - c\n", ">".repeat(20));
    let res = admin.post("/_fn/updatePost", json!({"id": id, "data": {"content": fine, "title": "Fine"}})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let res = admin.post("/_fn/previewSummary", json!({"content": fine})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["summary"], "quoted a b c");
}

/// A tmpfs of `size` mounted on a fresh folder, unmounted on drop; `None`
/// (with the reason printed) where this process may not mount (not root).
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let out =
            std::process::Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(dir.path()).output();
        match out {
            Ok(out) if out.status.success() => Some(SmallDisk { dir }),
            Ok(out) => {
                eprintln!("skipping the full-disk test: cannot mount a tmpfs ({})", String::from_utf8_lossy(&out.stderr).trim());
                None
            }
            Err(error) => {
                eprintln!("skipping the full-disk test: cannot run mount ({error})");
                None
            }
        }
    }

    /// Writes a file until the disk is full.
    fn fill(&self) {
        use std::io::Write;
        let mut file = std::fs::File::create(self.dir.path().join("filler")).unwrap();
        let block = vec![0u8; 4096];
        while file.write_all(&block).is_ok() {}
        let _ = file.flush();
    }

    fn free(&self) {
        std::fs::remove_file(self.dir.path().join("filler")).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

fn workflow_status(database_url: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_flint"))
        .args(["workflow", "status"])
        .env_clear()
        .env("DATABASE_URL", database_url)
        .env("FLINT_LOG", "error")
        .env("STORAGE_URL", crate::helpers::test_media_url())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// D2: on a full disk the workflow claim loop spun with no pause (654
/// warnings a second). It backs off now, and resumes once there is room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_workers_back_off_while_the_disk_is_full() {
    let Some(disk) = SmallDisk::mount("8m") else { return };
    let url = format!("sqlite://{}", disk.dir.path().join("flint.db").display());
    // A run that works a second, sleeps a second, then needs the disk to wake.
    let created = std::process::Command::new(env!("CARGO_BIN_EXE_flint"))
        .args(["workflow", "selftest", "--runs", "1", "--steps", "2", "--pause-ms", "1000"])
        .env_clear()
        .env("DATABASE_URL", &url)
        .env("STORAGE_URL", crate::helpers::test_media_url())
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let log_dir = tempfile::tempdir().unwrap();
    let log_path = log_dir.path().join("serve.log");
    let server = Server::start_with(&url, "1", std::fs::File::create(&log_path).unwrap()).await;
    let started = Instant::now();
    while !workflow_status(&url).contains("sleeping") {
        assert!(started.elapsed() < Duration::from_secs(20), "the run never slept: {}", workflow_status(&url));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    disk.fill();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let claim_failures = std::fs::read_to_string(&log_path).unwrap().matches("could not claim workflow runs").count();
    assert!((1..=12).contains(&claim_failures), "{claim_failures} claim failures logged in 5 s");
    disk.free();
    let freed = Instant::now();
    while !workflow_status(&url).contains("completed") {
        assert!(freed.elapsed() < Duration::from_secs(45), "the run did not finish once there was room: {}", workflow_status(&url));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.kill();
}

/// D2: with the disk full, SQLite writes answered 200 and were gone. Now a
/// write answers 2xx only when it is there after a restart; the others get
/// 503 `STORAGE_FULL`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_disk_never_acknowledges_a_lost_write() {
    let Some(disk) = SmallDisk::mount("8m") else { return };
    let url = format!("sqlite://{}", disk.dir.path().join("flint.db").display());
    let server = Server::start(&url).await;
    let http = reqwest::Client::new();

    let cookie = server.admin_cookie().await;
    let call =
        |name: &str, body: serde_json::Value| http.post(format!("{}/_fn/{name}", server.base)).header("cookie", &cookie).json(&body).send();
    let mut posts = Vec::new();
    for _ in 0..4 {
        let res = call("createEmptyPost", json!({})).await.unwrap();
        posts.push(res.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    let (target, mut victims) = (posts[0], posts[1..].to_vec());

    disk.fill();
    // Every kind of write the probe lost, until the disk has refused some.
    let filler = "x".repeat(200_000);
    let (mut acknowledged, mut refused) = (Vec::new(), 0);
    for i in 0..40 {
        let (what, id, res) = match (i % 4, victims.last().copied()) {
            (1, _) => ("createTag", None, call("createTag", json!({"name": format!("tag-{i}")})).await.unwrap()),
            (2, _) => {
                let data = json!({"title": format!("title {i}"), "content": filler});
                ("updatePost", Some(target), call("updatePost", json!({"id": target, "data": data})).await.unwrap())
            }
            (3, Some(id)) => ("deletePost", Some(id), call("deletePost", json!({"id": id})).await.unwrap()),
            _ => ("createEmptyPost", None, call("createEmptyPost", json!({})).await.unwrap()),
        };
        let status = res.status();
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        if status.is_success() {
            if what == "deletePost" {
                victims.pop();
            }
            acknowledged.push((what, i, id.or(body["id"].as_i64())));
        } else {
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {body}");
            assert_eq!(body["error"]["code"], "STORAGE_FULL", "{what}: {body}");
            refused += 1;
        }
    }
    assert!(refused > 0, "the disk never refused a write: the test did not test anything");
    server.kill();

    disk.free();
    let server = Server::start(&url).await;
    let mut signed_in = http
        .post(format!("{}/api/auth/sign-in/email", server.base))
        .json(&json!({"email": crate::helpers::ADMIN_EMAIL, "password": crate::helpers::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::OK);
    let cookie = signed_in.headers_mut().remove("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_owned();
    let get = |path: String| http.get(format!("{}{path}", server.base)).header("cookie", &cookie).send();
    let tags: serde_json::Value = get("/_fn/getTagsAdmin".into()).await.unwrap().json().await.unwrap();
    let status_of = |id: i64| async move { get(format!("/_fn/findPostById?id={id}")).await.unwrap().status() };
    for (what, i, id) in &acknowledged {
        match (*what, *id) {
            ("createEmptyPost", Some(id)) => assert_eq!(status_of(id).await, StatusCode::OK, "acknowledged post {id} is gone"),
            ("createTag", _) => assert!(tags.to_string().contains(&format!("\"tag-{i}\"")), "acknowledged tag-{i} is gone: {tags}"),
            ("deletePost", Some(id)) => assert_eq!(status_of(id).await, StatusCode::NOT_FOUND, "acknowledged delete of {id} is undone"),
            ("updatePost", _) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    // The last acknowledged update is the title the post has.
    if let Some((_, last, _)) = acknowledged.iter().rev().find(|(what, _, _)| *what == "updatePost") {
        let post: serde_json::Value = get(format!("/_fn/findPostById?id={target}")).await.unwrap().json().await.unwrap();
        assert_eq!(post["title"], format!("title {last}"), "the last acknowledged update is gone");
    }
    server.kill();
}

/// Makes every insert of a `post-process` run fail, as a crash between the
/// writes of a publish would have left it.
async fn break_post_process_runs(db: &flint::platform::db::Db) {
    let statements: &[&str] = match db {
        flint::platform::db::Db::Sqlite(_) => &["CREATE TRIGGER fail_runs BEFORE INSERT ON workflow_runs WHEN NEW.name = 'post-process'
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END"],
        flint::platform::db::Db::Postgres(_) => &[
            "CREATE FUNCTION fail_runs() RETURNS trigger AS $$ BEGIN
                 IF NEW.name = 'post-process' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER fail_runs BEFORE INSERT ON workflow_runs FOR EACH ROW EXECUTE FUNCTION fail_runs()",
        ],
    };
    for statement in statements {
        flint::execute!(db, sqlx::query(*statement)).unwrap();
    }
}

/// D9: the status, the publish revision and the run were three writes; a
/// crash between them left posts "published" that never became public.
/// Now they are one transaction: when the run cannot be created, nothing is.
async fn publishing_is_one_transaction(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    let id = new_post(&mut admin).await;
    let res = admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": "Atomic", "content": "body"}})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    break_post_process_runs(&app.state.db).await;

    let res = admin.post("/_fn/startPostProcessWorkflow", json!({"id": id, "status": "published"})).await;
    assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", res.text);
    let post = admin.get(&format!("/_fn/findPostById?id={id}")).await;
    assert_eq!(post.body["status"], "draft", "the status change was rolled back: {}", post.text);
    assert_eq!(post.body["publishedAt"], json!(null), "{}", post.text);
    let revisions = admin.get(&format!("/_fn/listPostRevisions?postId={id}")).await;
    assert_eq!(revisions.status, StatusCode::OK, "{}", revisions.text);
    let publish_revisions = revisions.body.as_array().unwrap().iter().filter(|r| r["reason"] == "publish").count();
    assert_eq!(publish_revisions, 0, "the publish revision was rolled back: {}", revisions.text);
    // The writer is usable afterwards.
    let res = admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": "Still editable"}})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
}

/// D7 and D8: a U+FFFF in a title made the whole RSS and Atom feed
/// unreadable, and a plain-text summary reached RSS readers as markup.
async fn feeds_survive_forbidden_characters_and_carry_summaries_as_text(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut admin = app.admin().await;
    let id = new_post(&mut admin).await;
    let summary = "Use <b>bold</b> & <img src=https://evil.example/t.png>";
    let data = json!({"title": "Odd\u{FFFF}\u{FFFE}title", "slug": "odd", "summary": summary, "content": "text"});
    assert_eq!(admin.post("/_fn/updatePost", json!({"id": id, "data": data})).await.status, StatusCode::OK);
    admin.post("/_fn/startPostProcessWorkflow", json!({"id": id, "status": "published"})).await;
    app.state.workflows.run_due().await.unwrap();
    let mut reader = app.user();
    for path in ["/rss.xml", "/atom.xml"] {
        let res = reader.get(path).await;
        assert_eq!(res.status, StatusCode::OK);
        let feed =
            feed_rs::parser::parse(res.text.as_bytes()).unwrap_or_else(|e| panic!("{path} is not a valid feed ({e}):\n{}", res.text));
        assert_eq!(feed.entries[0].title.as_ref().unwrap().content, "Oddtitle", "{path}");
        assert!(!res.text.contains("<img"), "{path}: the summary is not markup: {}", res.text);
    }
    // Atom says its summary is text; what an RSS reader renders as HTML is the summary's text.
    assert!(reader.get("/atom.xml").await.text.contains("<summary type=\"text\">Use &lt;b&gt;bold&lt;/b&gt; &amp; &lt;img"));
    let rss = reader.get("/rss.xml").await.text;
    let description = rss.split("<description>").nth(2).and_then(|d| d.split("</description>").next()).unwrap();
    assert_eq!(description, "Use &amp;lt;b&amp;gt;bold&amp;lt;/b&amp;gt; &amp;amp; &amp;lt;img src=https://evil.example/t.png&amp;gt;");
}

/// D3: PostgreSQL answered 500 to a NUL in any text input (it cannot store
/// one), SQLite 404/200. One rule now: a NUL in a path names nothing (404),
/// in a query or JSON field it is a 422 at that field.
async fn a_nul_byte_is_refused_the_same_way_on_both_backends(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0")]).await;
    let mut anonymous = app.user();
    for path in ["/api/post/a%00b", "/api/post/a%00b/related", "/sitemap/1%00.xml"] {
        let res = anonymous.get(path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}: {}", res.text);
    }
    for (path, field) in [("/api/posts?tagName=a%00b", "tagName"), ("/api/search?q=a%00b", "q"), ("/_fn/findPostBySlug?slug=%00", "slug")] {
        let res = anonymous.get(path).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {}", res.text);
        assert!(res.body["error"]["fields"][field].is_array(), "{path}: {}", res.text);
    }
    let res = anonymous.post("/api/auth/sign-in/email", json!({"email": "a\u{0}@example.com", "password": "whatever password"})).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
    assert!(res.body["error"]["fields"]["email"].is_array(), "{}", res.text);
    let mut admin = app.admin().await;
    let id = new_post(&mut admin).await;
    for (name, body, field) in [
        ("createTag", json!({"name": "a\u{0}b"}), "name"),
        ("updatePost", json!({"id": id, "data": {"title": "t\u{0}"}}), "data.title"),
        ("updatePost", json!({"id": id, "data": {"content": "x\u{0}y"}}), "data.content"),
    ] {
        let res = admin.post(&format!("/_fn/{name}"), body).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {}", res.text);
        assert!(res.body["error"]["fields"][field].is_array(), "{name}: {}", res.text);
    }
}

/// Reads until the server closes the connection; false if it is still open at `deadline`.
async fn closed_before(stream: &mut tokio::net::TcpStream, deadline: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    let until = tokio::time::Instant::now() + deadline;
    loop {
        match tokio::time::timeout_at(until, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// D6: 200 connections sending a header line every 5 s stayed open for
/// ever, idle ones too, and they could take every file descriptor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed_and_capped() {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn_with(Backend::Sqlite, &[("FLINT_HEADER_TIMEOUT", "1s"), ("FLINT_MAX_CONNECTIONS", "16")]).await;
    // A slowloris client: a header line now and then, never the end.
    let mut slow = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let started = Instant::now();
    let trickle = async {
        for i in 0..20 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if slow.write_all(format!("X-Slow-{i}: y\r\n").as_bytes()).await.is_err() {
                break;
            }
        }
    };
    trickle.await;
    assert!(closed_before(&mut slow, Duration::from_secs(1)).await, "a slowloris connection is still open after {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(5));

    // An idle kept-alive connection is closed too.
    let mut idle = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    assert!(closed_before(&mut idle, Duration::from_secs(4)).await, "an idle connection stayed open");

    // At the cap, a newcomer waits until a connection closes.
    let mut held = Vec::new();
    for _ in 0..16 {
        let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting = tokio::spawn({
        let url = app.url("/healthz");
        async move { reqwest::get(url).await.map(|r| r.status()) }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "a 17th connection was served while 16 were open");
    // The held ones time out (their headers never end), and the newcomer is served.
    let status = tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("served once slots free up").unwrap().unwrap();
    assert_eq!(status, StatusCode::OK);
    drop(held);
}

/// D6: connections still sending headers held shutdown up for the whole grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_clients_still_sending_headers() {
    use tokio::io::AsyncWriteExt;
    let mut app = TestApp::spawn_with(Backend::Sqlite, &[("FLINT_HEADER_TIMEOUT", "60s"), ("FLINT_SHUTDOWN_TIMEOUT", "20s")]).await;
    let mut partial = Vec::new();
    for _ in 0..10 {
        let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        partial.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    app.trigger_shutdown();
    app.stop().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "shutdown took {:?}", started.elapsed());
    drop(partial);
}

/// A Redis server of this test's own, so it can be paused (SIGSTOP) without
/// freezing every other test's; started only where `FLINT_TEST_REDIS_URL`
/// says Redis tests run.
struct OwnRedis {
    child: std::process::Child,
    url: String,
}

impl OwnRedis {
    async fn start() -> Option<OwnRedis> {
        crate::helpers::test_redis_url()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server runs (FLINT_TEST_REDIS_URL is set, so Redis is installed)");
        let url = format!("redis://127.0.0.1:{port}");
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Some(OwnRedis { child, url })
    }

    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn publish_titled(app: &TestApp, admin: &mut Client<'_>, id: i64, title: &str) {
    let res = admin.post("/_fn/updatePost", json!({"id": id, "data": {"title": title, "slug": "paused", "content": "body"}})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let res = admin.post("/_fn/startPostProcessWorkflow", json!({"id": id, "status": "published"})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    app.state.workflows.run_due().await.unwrap();
}

/// D4: a Redis timeout during a publish left the old page cached for its
/// 7-day TTL. The refused invalidation is now retried durably.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_pause_during_a_publish_leaves_no_stale_page() {
    let Some(redis) = OwnRedis::start().await else { return };
    let vars = [("FLINT_WORKFLOW_WORKERS", "0"), ("REDIS_URL", redis.url.as_str()), ("FLINT_REDIS_TIMEOUT", "200ms")];
    let app = TestApp::spawn_with(Backend::Sqlite, &vars).await;
    let mut admin = app.admin().await;
    let id = new_post(&mut admin).await;
    publish_titled(&app, &mut admin, id, "Old title").await;
    let mut reader = app.user();
    assert_eq!(reader.get("/api/post/paused").await.body["title"], "Old title");
    assert_eq!(reader.get("/api/post/paused").await.body["title"], "Old title", "now cached in Redis");

    redis.signal("-STOP");
    publish_titled(&app, &mut admin, id, "New title").await;
    redis.signal("-CONT");

    let started = Instant::now();
    loop {
        let title = reader.get("/api/post/paused").await.body["title"].clone();
        if title == "New title" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "still serving {title} after {:?}", started.elapsed());
        // The retry's delays run on the app's clock.
        app.clock.advance(Duration::from_secs(2));
        app.state.workflows.run_due().await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// D5: with Redis frozen every cached read waited for the Redis timeout
/// (about 1,000 -> 40 requests a second). After a few failures Redis is
/// skipped, and it is probed in the background until it answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_costs_reads_nothing_and_is_used_again_when_it_answers() {
    let Some(redis) = OwnRedis::start().await else { return };
    let vars = [("FLINT_WORKFLOW_WORKERS", "0"), ("REDIS_URL", redis.url.as_str()), ("FLINT_REDIS_TIMEOUT", "250ms")];
    let app = TestApp::spawn_with(Backend::Sqlite, &vars).await;
    let mut admin = app.admin().await;
    let id = new_post(&mut admin).await;
    publish_titled(&app, &mut admin, id, "Fast").await;
    let mut reader = app.user();
    assert_eq!(reader.get("/api/post/paused").await.status, StatusCode::OK);

    redis.signal("-STOP");
    let started = Instant::now();
    for _ in 0..40 {
        let res = reader.get("/api/post/paused").await;
        assert_eq!(res.body["title"], "Fast", "served from the database: {}", res.text);
    }
    // Without the breaker: 40 reads x 250 ms = 10 s at least.
    eprintln!("40 reads with Redis frozen took {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(3), "40 reads took {:?}", started.elapsed());

    redis.signal("-CONT");
    let resumed = Instant::now();
    while app.state.cache.ping().await.is_err() {
        assert!(resumed.elapsed() < Duration::from_secs(15), "Redis is still skipped after it came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// D11: the templated paths declared no path parameters, validation rules
/// were missing from the schemas (valid-by-schema requests got 422), and
/// `getSession` claimed to need a cookie. (`scripts/fuzz-api.sh` checks the
/// whole document against the running server in CI.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_states_what_the_server_checks() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = app.user().get("/api/openapi.json").await.body;
    for (path, name) in [("/api/post/{slug}", "slug"), ("/api/post/{slug}/related", "slug"), ("/sitemap/{part}", "part")] {
        let parameters = doc["paths"][path]["get"]["parameters"].as_array().unwrap_or_else(|| panic!("{path} has no parameters"));
        let declared = parameters.iter().find(|p| p["in"] == "path").unwrap_or_else(|| panic!("{path}: {parameters:?}"));
        assert_eq!((declared["name"].as_str(), declared["required"].as_bool()), (Some(name), Some(true)), "{path}");
    }
    let list = doc["paths"]["/api/posts"]["get"]["parameters"].as_array().unwrap();
    let param = |name: &str| list.iter().find(|p| p["name"] == name).unwrap()["schema"].clone();
    assert_eq!((param("limit")["minimum"].as_i64(), param("limit")["maximum"].as_i64()), (Some(1), Some(50)));
    assert_eq!(param("cursor")["minimum"].as_i64(), Some(1));
    assert_eq!((param("tagName")["minLength"].as_i64(), param("tagName")["maxLength"].as_i64()), (Some(1), Some(50)));
    assert_eq!(param("tagName")["pattern"], "^[^\\u0000]*$", "strings say they refuse NUL");
    let tag = &doc["components"]["schemas"]["CreateTagInput"]["properties"]["name"];
    assert!(tag["pattern"].as_str().is_some_and(|p| p.contains("\\x00-\\x1f")), "{tag}");
    let security = doc["paths"]["/_fn/getSession"]["get"]["security"].as_array().unwrap();
    assert!(security.contains(&json!({})), "getSession answers anonymously too: {security:?}");
    // A multibyte name of 50 characters is as valid to the server as to the schema.
    let mut admin = app.admin().await;
    let res = admin.post("/_fn/createTag", json!({"name": "標".repeat(50)})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let res = admin.get("/_fn/listPostRevisions?postId=1.0").await;
    assert_ne!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "1.0 is an integer to JSON Schema: {}", res.text);
}

/// Smaller: 10 addresses x 5 attempts made 50 guesses at one account in a
/// minute. The account now allows 10 per 15 minutes, from any client; the
/// bucket refills, so the owner is slowed, never locked out for good.
async fn one_account_takes_ten_password_guesses_per_quarter_hour_from_any_number_of_clients(backend: Backend) {
    let vars = [("FLINT_TRUSTED_PROXIES", "127.0.0.1/32")];
    let app = TestApp::spawn_with(backend, &vars).await;
    app.signed_up("owner@example.com", "Owner").await;
    let attempt = |ip: String, password: &'static str| {
        let request = app
            .http
            .post(app.url("/api/auth/sign-in/email"))
            .header("x-forwarded-for", ip)
            .json(&json!({"email": "Owner@Example.com", "password": password}));
        async move { crate::helpers::read(request.send().await.unwrap()).await }
    };
    let mut refused_by_account = 0;
    for i in 0..50 {
        // Ten clients, each within its own limit of 5 a minute.
        let res = attempt(format!("198.51.100.{}", i % 10), "wrong password guess").await;
        match res.status {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(res.body["error"]["message"].as_str().unwrap().contains("this account"), "{}", res.text);
                assert!(res.header("retry-after").is_some());
                refused_by_account += 1;
            }
            other => panic!("{other}: {}", res.text),
        }
    }
    assert_eq!(refused_by_account, 40, "ten guesses were checked, the other forty refused");
    // The right password is refused too while the bucket is empty (a
    // refusal must not tell whether the guess was right), and works once
    // it has refilled a little.
    assert_eq!(attempt("203.0.113.1".into(), crate::helpers::PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(Duration::from_secs(91));
    assert_eq!(attempt("203.0.113.1".into(), crate::helpers::PASSWORD).await.status, StatusCode::OK);
}

/// Smaller: the CSRF check took `Origin: https://host:port` for an http site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_with_another_scheme_is_another_origin() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut kim = app.signed_up("kim@example.com", "Kim").await;
    let cookie = kim.cookie.clone().unwrap();
    let with_origin = |origin: String| {
        app.http.post(app.url("/api/auth/update-user")).header("cookie", &cookie).header("origin", origin).json(&json!({"name": "Kimmy"}))
    };
    let res = kim.send(with_origin(format!("https://{}", app.addr))).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert_eq!(res.code(), "CROSS_ORIGIN_REQUEST");
    assert_eq!(kim.send(with_origin(format!("http://{}", app.addr))).await.status, StatusCode::OK);
}
