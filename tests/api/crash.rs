//! Crash safety of the workflow engine, with real processes: `flint worker`
//! is killed with SIGKILL in the middle of runs and started again; every run
//! completes and no completed step runs twice.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use flint::features::system::workflows::recorded;
use flint::platform::config::Config;
use flint::platform::db::Db;

use crate::helpers::{Backend, TestDatabase};

const RUNS: usize = 12;
const STEPS: usize = 4;

fn flint(database_url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flint"));
    command
        .args(args)
        .env_clear()
        .env("DATABASE_URL", database_url)
        .env("FLINT_LOG", "warn")
        .env("STORAGE_URL", crate::helpers::test_media_url())
        .env("FLINT_WORKFLOW_WORKERS", "4")
        .env("FLINT_WORKFLOW_LEASE", "2s")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn worker(database_url: &str) -> Child {
    flint(database_url, &["worker"]).spawn().expect("flint worker starts")
}

async fn open(database_url: &str) -> Db {
    let config = Config::from_lookup(|name| (name == "DATABASE_URL").then(|| database_url.to_owned())).unwrap();
    Db::connect(&config).await.unwrap()
}

async fn completed(db: &Db) -> usize {
    let counts = flint::on_read!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM workflow_runs WHERE name = 'flint.selftest' AND status = 'completed'"
    )
    .fetch_one(pool))
    .unwrap();
    counts as usize
}

async fn kill_mid_run_and_restart(backend: Backend) {
    let database = TestDatabase::create(&backend).await;
    let url = database.url.clone();
    let created = flint(&url, &["workflow", "selftest", "--runs", &RUNS.to_string(), "--steps", &STEPS.to_string(), "--pause-ms", "150"])
        .output()
        .expect("flint workflow selftest");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let db = open(&url).await;

    let mut first = worker(&url);
    let started = Instant::now();
    loop {
        let steps_done = recorded(&db).await.unwrap().len();
        if steps_done >= RUNS * STEPS / 3 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the first worker made no progress");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    first.kill().expect("SIGKILL the worker");
    first.wait().unwrap();
    let at_kill = completed(&db).await;
    assert!(at_kill < RUNS, "the kill must land mid-run ({at_kill} of {RUNS} already complete)");

    let mut second = worker(&url);
    let restarted = Instant::now();
    while completed(&db).await < RUNS {
        assert!(restarted.elapsed() < Duration::from_secs(60), "runs did not complete after the restart");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.kill().unwrap();
    second.wait().unwrap();

    let rows = recorded(&db).await.unwrap();
    assert_eq!(rows.len(), RUNS * STEPS, "every step of every run recorded its side effect");
    let mut repeated_per_run = std::collections::HashMap::<&str, usize>::new();
    for (run, step, executions) in &rows {
        assert!(*executions <= 2, "{run}/{step} ran {executions} times");
        if *executions == 2 {
            *repeated_per_run.entry(run.as_str()).or_default() += 1;
        }
    }
    // Only a step that was in flight when the worker died may run again; the
    // worker executes 4 runs at once, so at most 4 steps, one per run.
    assert!(repeated_per_run.values().all(|n| *n <= 1), "{repeated_per_run:?}");
    assert!(repeated_per_run.len() <= 4, "{repeated_per_run:?}");

    let status = flint(&url, &["workflow", "status"]).output().unwrap();
    assert!(String::from_utf8_lossy(&status.stdout).contains(&format!("completed  {RUNS}")), "{}", String::from_utf8_lossy(&status.stdout));
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_worker_killed_mid_run_resumes_every_run() {
    kill_mid_run_and_restart(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_worker_killed_mid_run_resumes_every_run() {
    if let Some(backend) = Backend::postgres() {
        kill_mid_run_and_restart(backend).await;
    }
}

async fn run_state(db: &Db) -> (String, Option<String>) {
    flint::on_read!(db, |pool| sqlx::query_as::<_, (String, Option<String>)>(
        "SELECT status, error FROM workflow_runs WHERE name = 'flint.selftest'"
    )
    .fetch_one(pool))
    .unwrap()
}

/// A run that takes its worker down with it (the 10 KB Markdown that once
/// overflowed the stack did so after every restart) is failed after
/// `MAX_ABANDONED` deaths, visibly, instead of being claimed forever.
async fn a_run_that_keeps_killing_its_worker_fails(backend: Backend) {
    use flint::platform::workflow::MAX_ABANDONED;
    let database = TestDatabase::create(&backend).await;
    let url = database.url.clone();
    let created = flint(&url, &["workflow", "selftest", "--runs", "1", "--steps", "1", "--pause-ms", "600000"]).output().unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let db = open(&url).await;
    for death in 1..=MAX_ABANDONED {
        let mut child = worker(&url);
        let started = Instant::now();
        // The step records each execution, then works for ten minutes.
        while recorded(&db).await.unwrap().first().map(|r| r.2) != Some(death) {
            assert!(started.elapsed() < Duration::from_secs(30), "execution {death} did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let mut last = worker(&url);
    let started = Instant::now();
    let (status, error) = loop {
        let state = run_state(&db).await;
        if state.0 == "failed" || started.elapsed() > Duration::from_secs(30) {
            break state;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    last.kill().unwrap();
    last.wait().unwrap();
    assert_eq!(status, "failed", "{error:?}");
    assert!(error.unwrap_or_default().contains(&format!("stopped without finishing it {MAX_ABANDONED} times")));
    assert_eq!(recorded(&db).await.unwrap()[0].2, MAX_ABANDONED, "the run was not executed again");
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_run_that_keeps_killing_its_worker_fails() {
    a_run_that_keeps_killing_its_worker_fails(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_run_that_keeps_killing_its_worker_fails() {
    if let Some(backend) = Backend::postgres() {
        a_run_that_keeps_killing_its_worker_fails(backend).await;
    }
}
