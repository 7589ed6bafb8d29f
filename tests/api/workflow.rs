//! The workflow engine: memoisation, retries and backoff, sleeps, restarts,
//! idempotency keys, cancel and retry, queues, workers and the admin functions.
//! Deterministic tests use a manual clock, no background workers
//! (`FLINT_WORKFLOW_WORKERS=0`) and `run_due()` to execute what is due.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use flint::platform::workflow::queue::{Queue, QueueMessage};
use flint::platform::workflow::{Backoff, CreateOptions, Event, Registry, RetryPolicy, RunView, Step, Workflow, WorkflowEngine};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp};

/// Side effects of test steps: "run-id/step" -> times executed.
static EFFECTS: LazyLock<Mutex<HashMap<String, u32>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn record(run_id: &str, step: &str) -> u32 {
    let mut effects = EFFECTS.lock().unwrap();
    let count = effects.entry(format!("{run_id}/{step}")).or_default();
    *count += 1;
    *count
}

fn effects(run_id: &str, step: &str) -> u32 {
    EFFECTS.lock().unwrap().get(&format!("{run_id}/{step}")).copied().unwrap_or(0)
}

pub fn test_workflows() -> Registry {
    Registry::new().register(Steps).register(Flaky).register(Sleeper).register(Twice).register(Panics).register(Queue::<Ping>::new())
}

/// `count` steps; with `pause_after`, sleeps a minute after that step; with
/// `hang_at`, the first execution hangs in that step (a worker that died).
struct Steps;

#[derive(Serialize, Deserialize)]
struct StepsParams {
    count: u32,
    pause_after: Option<u32>,
    hang_at: Option<u32>,
}

impl Workflow for Steps {
    const NAME: &'static str = "test.steps";
    type Params = StepsParams;
    type Output = u32;

    async fn run(&self, event: Event<StepsParams>, step: Step) -> anyhow::Result<u32> {
        let run_id = event.run_id.clone();
        let mut total = 0;
        for i in 0..event.params.count {
            let name = format!("step-{i}");
            let hang = event.params.hang_at == Some(i) && event.execution == 1;
            let (id, step_name) = (run_id.clone(), name.clone());
            total += step
                .run(&name, RetryPolicy::none(), || async move {
                    if hang {
                        std::future::pending::<()>().await;
                    }
                    record(&id, &step_name);
                    Ok::<_, String>(i)
                })
                .await?;
            if event.params.pause_after == Some(i) {
                step.sleep("pause", Duration::from_secs(60)).await;
            }
        }
        Ok(total)
    }
}

/// One step that fails `fail_times` times (3 retries, 10 s, the given backoff);
/// with `catch`, a failed step is handled by a fallback step.
struct Flaky;

#[derive(Serialize, Deserialize)]
struct FlakyParams {
    fail_times: u32,
    backoff: Backoff,
    catch: bool,
}

impl Workflow for Flaky {
    const NAME: &'static str = "test.flaky";
    type Params = FlakyParams;
    type Output = String;

    async fn run(&self, event: Event<FlakyParams>, step: Step) -> anyhow::Result<String> {
        let run_id = event.run_id.clone();
        let policy = RetryPolicy::new(3, Duration::from_secs(10), event.params.backoff);
        let fail_times = event.params.fail_times;
        let result = step
            .run("flaky", policy, || async move {
                let attempt = record(&run_id, "flaky");
                if attempt <= fail_times { Err(format!("failure {attempt}")) } else { Ok(format!("succeeded on attempt {attempt}")) }
            })
            .await;
        match result {
            Ok(message) => Ok(message),
            Err(failed) if event.params.catch => {
                let fallback = step.run("fallback", RetryPolicy::none(), || async { Ok::<_, String>("fallback".to_owned()) }).await?;
                Ok(format!("{fallback} after: {}", failed.error))
            }
            Err(failed) => Err(failed.into()),
        }
    }
}

/// Sleeps until `until` (epoch ms), then does one step.
struct Sleeper;

impl Workflow for Sleeper {
    const NAME: &'static str = "test.sleeper";
    type Params = i64;
    type Output = &'static str;

    async fn run(&self, event: Event<i64>, step: Step) -> anyhow::Result<&'static str> {
        step.sleep_until("wake", event.params).await;
        let id = event.run_id.clone();
        step.run("after", RetryPolicy::none(), || async move { Ok::<_, String>(record(&id, "after")) }).await?;
        Ok("woke")
    }
}

/// Uses one step name twice.
struct Twice;

impl Workflow for Twice {
    const NAME: &'static str = "test.twice";
    type Params = ();
    type Output = ();

    async fn run(&self, _: Event<()>, step: Step) -> anyhow::Result<()> {
        for _ in 0..2 {
            step.run("same", RetryPolicy::none(), || async { Ok::<_, String>(()) }).await?;
        }
        Ok(())
    }
}

struct Panics;

impl Workflow for Panics {
    const NAME: &'static str = "test.panics";
    type Params = ();
    type Output = ();

    async fn run(&self, _: Event<()>, _: Step) -> anyhow::Result<()> {
        panic!("workflow bug")
    }
}

/// A queue message whose delivery fails `fail_times` times.
#[derive(Serialize, Deserialize)]
struct Ping {
    key: String,
    fail_times: u32,
}

static PINGS: AtomicU32 = AtomicU32::new(0);

impl QueueMessage for Ping {
    const QUEUE: &'static str = "test.ping";

    async fn handle(self, _: flint::platform::state::AppState) -> anyhow::Result<()> {
        PINGS.fetch_add(1, Ordering::SeqCst);
        let attempt = record(&self.key, "deliver");
        anyhow::ensure!(attempt > self.fail_times, "delivery failed (attempt {attempt})");
        Ok(())
    }
}

async fn quiet(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0"), ("FLINT_WORKFLOW_LEASE", "30s")]).await
}

fn engine(app: &TestApp) -> &WorkflowEngine {
    &app.state.workflows
}

async fn view(app: &TestApp, id: &str) -> RunView {
    engine(app).get(id).await.unwrap().expect("run exists")
}

backend_tests!(
    completed_steps_are_not_run_again_after_a_sleep,
    a_dead_worker_s_run_resumes_after_its_lease,
    retries_follow_each_backoff,
    exhausted_retries_fail_the_run_or_are_caught,
    failed_runs_can_be_retried_without_repeating_steps,
    sleep_until_wakes_on_time_and_survives_a_new_engine,
    idempotency_keys_return_or_replace_the_live_run,
    cancel_stops_a_sleeping_run,
    duplicate_step_names_and_panics_fail_the_run,
    queue_messages_are_retried_until_delivered,
    workers_pick_up_due_runs_within_a_second,
    admins_manage_runs_over_http,
    completed_runs_are_pruned_after_the_retention,
);

async fn completed_steps_are_not_run_again_after_a_sleep(backend: Backend) {
    let app = quiet(backend).await;
    let run = engine(&app)
        .create::<Steps>(&StepsParams { count: 4, pause_after: Some(1), hang_at: None }, CreateOptions::default())
        .await
        .unwrap();
    assert_eq!(engine(&app).run_due().await.unwrap(), 1);
    let sleeping = view(&app, &run.id).await;
    assert_eq!(sleeping.status, "sleeping");
    assert_eq!((effects(&run.id, "step-0"), effects(&run.id, "step-1"), effects(&run.id, "step-2")), (1, 1, 0));

    assert_eq!(engine(&app).run_due().await.unwrap(), 0, "not due yet");
    app.clock.advance(Duration::from_secs(60));
    assert_eq!(engine(&app).run_due().await.unwrap(), 1);
    let done = view(&app, &run.id).await;
    assert_eq!(done.status, "completed", "{done:?}");
    assert_eq!(done.output, Some(json!(6)));
    assert_eq!(done.attempts, 2);
    for i in 0..4 {
        assert_eq!(effects(&run.id, &format!("step-{i}")), 1, "step-{i} ran exactly once");
    }
    let steps = done.steps.unwrap();
    assert_eq!(steps.len(), 5);
    assert!(steps.iter().all(|s| s.status == "completed" && s.attempts == 1), "{steps:?}");
}

async fn a_dead_worker_s_run_resumes_after_its_lease(backend: Backend) {
    let app = quiet(backend).await;
    let run = engine(&app)
        .create::<Steps>(&StepsParams { count: 3, pause_after: None, hang_at: Some(2) }, CreateOptions::default())
        .await
        .unwrap();
    // A worker claims the run, finishes two steps and hangs in the third: then it dies.
    let worker = {
        let engine = engine(&app).clone();
        tokio::spawn(async move { engine.run_due().await })
    };
    for _ in 0..100 {
        if effects(&run.id, "step-1") == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.abort();
    assert_eq!(view(&app, &run.id).await.status, "running");

    assert_eq!(engine(&app).run_due().await.unwrap(), 0, "the lease still holds");
    app.clock.advance(Duration::from_secs(31));
    assert_eq!(engine(&app).run_due().await.unwrap(), 1, "re-claimed after the lease expired");
    let done = view(&app, &run.id).await;
    assert_eq!(done.status, "completed");
    assert_eq!((effects(&run.id, "step-0"), effects(&run.id, "step-1"), effects(&run.id, "step-2")), (1, 1, 1));
}

async fn retries_follow_each_backoff(backend: Backend) {
    let app = quiet(backend).await;
    for (backoff, delays) in [(Backoff::Constant, [10, 10, 10]), (Backoff::Linear, [10, 20, 30]), (Backoff::Exponential, [10, 20, 40])] {
        let run =
            engine(&app).create::<Flaky>(&FlakyParams { fail_times: 3, backoff, catch: false }, CreateOptions::default()).await.unwrap();
        engine(&app).run_due().await.unwrap();
        for (retry, delay) in delays.iter().enumerate() {
            let waiting = view(&app, &run.id).await;
            assert_eq!(waiting.status, "sleeping", "{backoff:?} retry {retry}");
            let step = &waiting.steps.unwrap()[0];
            assert_eq!((step.status.as_str(), step.attempts), ("retrying", retry as i32 + 1));
            app.clock.advance(Duration::from_millis(delay * 1000 - 1));
            assert_eq!(engine(&app).run_due().await.unwrap(), 0, "{backoff:?}: retry {retry} not before {delay} s");
            app.clock.advance(Duration::from_millis(1));
            assert_eq!(engine(&app).run_due().await.unwrap(), 1, "{backoff:?}: retry {retry} at {delay} s");
        }
        let done = view(&app, &run.id).await;
        assert_eq!(done.status, "completed", "{backoff:?}");
        assert_eq!(done.output, Some(json!("succeeded on attempt 4")));
    }
}

async fn exhausted_retries_fail_the_run_or_are_caught(backend: Backend) {
    let app = quiet(backend).await;
    let fail = engine(&app)
        .create::<Flaky>(&FlakyParams { fail_times: 99, backoff: Backoff::Constant, catch: false }, CreateOptions::default())
        .await
        .unwrap();
    let catch = engine(&app)
        .create::<Flaky>(&FlakyParams { fail_times: 99, backoff: Backoff::Constant, catch: true }, CreateOptions::default())
        .await
        .unwrap();
    for _ in 0..4 {
        engine(&app).run_due().await.unwrap();
        app.clock.advance(Duration::from_secs(10));
    }
    let failed = view(&app, &fail.id).await;
    assert_eq!(failed.status, "failed");
    assert!(failed.error.as_deref().unwrap().contains("failure 4"), "the last error: {:?}", failed.error);
    assert_eq!(effects(&fail.id, "flaky"), 4, "1 attempt + 3 retries");
    let caught = view(&app, &catch.id).await;
    assert_eq!(caught.status, "completed");
    assert_eq!(caught.output, Some(json!("fallback after: failure 4")));
}

async fn failed_runs_can_be_retried_without_repeating_steps(backend: Backend) {
    let app = quiet(backend).await;
    let run = engine(&app)
        .create::<Flaky>(&FlakyParams { fail_times: 4, backoff: Backoff::Constant, catch: false }, CreateOptions::default())
        .await
        .unwrap();
    for _ in 0..4 {
        engine(&app).run_due().await.unwrap();
        app.clock.advance(Duration::from_secs(10));
    }
    assert_eq!(view(&app, &run.id).await.status, "failed");
    assert!(engine(&app).retry(&run.id).await.unwrap());
    assert!(!engine(&app).retry(&run.id).await.unwrap(), "only failed runs are retried");
    assert_eq!(engine(&app).run_due().await.unwrap(), 1);
    let done = view(&app, &run.id).await;
    assert_eq!(done.status, "completed");
    assert_eq!(done.output, Some(json!("succeeded on attempt 5")));
}

async fn sleep_until_wakes_on_time_and_survives_a_new_engine(backend: Backend) {
    let app = quiet(backend).await;
    let at = app.clock.now_ms() + 3_600_000;
    let run = engine(&app).create::<Sleeper>(&at, CreateOptions::default()).await.unwrap();
    engine(&app).run_due().await.unwrap();
    let sleeping = view(&app, &run.id).await;
    assert_eq!(sleeping.status, "sleeping");
    assert_eq!(sleeping.wake_at.map(|t| t.millis()), Some(at));

    // A new engine instance (another process, or this one restarted) on the same database.
    let config = flint::platform::config::Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(app.database.url.clone()),
        "FLINT_WORKFLOW_WORKERS" => Some("0".into()),
        "STORAGE_URL" => Some(crate::helpers::test_media_url()),
        _ => None,
    })
    .unwrap();
    let parts = flint::app::Parts {
        clock: app.clock.clone(),
        routes: flint::platform::http::Routes::new(),
        workflows: test_workflows(),
        subscribers: Default::default(),
    };
    let restarted = flint::app::services(config, parts).await.unwrap();
    app.clock.advance(Duration::from_millis(3_599_999));
    assert_eq!(restarted.workflows.run_due().await.unwrap(), 0, "not a millisecond early");
    app.clock.advance(Duration::from_millis(1));
    assert_eq!(restarted.workflows.run_due().await.unwrap(), 1);
    let done = view(&app, &run.id).await;
    assert_eq!(done.status, "completed");
    assert_eq!(effects(&run.id, "after"), 1);
    restarted.db.close().await;
}

async fn idempotency_keys_return_or_replace_the_live_run(backend: Backend) {
    let app = quiet(backend).await;
    let keyed = |replace| CreateOptions { key: Some("post-42-scheduled".into()), replace, delay: Some(Duration::from_secs(3600)) };
    let first = engine(&app).create::<Sleeper>(&0, keyed(false)).await.unwrap();
    assert!(first.created);
    let again = engine(&app).create::<Sleeper>(&0, keyed(false)).await.unwrap();
    assert_eq!(again, flint::platform::workflow::Created { id: first.id.clone(), created: false });
    let replaced = engine(&app).create::<Sleeper>(&0, keyed(true)).await.unwrap();
    assert!(replaced.created);
    assert_ne!(replaced.id, first.id);
    assert_eq!(view(&app, &first.id).await.status, "cancelled");
    assert_eq!(view(&app, &replaced.id).await.status, "queued");
    assert_eq!(engine(&app).run_due().await.unwrap(), 0, "the start delay holds");

    // Concurrent creators with one key get one live run.
    let mut creators = Vec::new();
    for _ in 0..8 {
        let engine = engine(&app).clone();
        creators.push(tokio::spawn(async move {
            engine.create::<Sleeper>(&0, CreateOptions { key: Some("race".into()), ..Default::default() }).await.unwrap().id
        }));
    }
    let mut ids = Vec::new();
    for creator in creators {
        ids.push(creator.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
}

async fn cancel_stops_a_sleeping_run(backend: Backend) {
    let app = quiet(backend).await;
    let run = engine(&app)
        .create::<Steps>(&StepsParams { count: 3, pause_after: Some(0), hang_at: None }, CreateOptions::default())
        .await
        .unwrap();
    engine(&app).run_due().await.unwrap();
    assert!(engine(&app).cancel(&run.id).await.unwrap());
    assert!(!engine(&app).cancel(&run.id).await.unwrap(), "already cancelled");
    app.clock.advance(Duration::from_secs(120));
    assert_eq!(engine(&app).run_due().await.unwrap(), 0);
    let cancelled = view(&app, &run.id).await;
    assert_eq!(cancelled.status, "cancelled");
    assert_eq!(effects(&run.id, "step-1"), 0);
}

async fn duplicate_step_names_and_panics_fail_the_run(backend: Backend) {
    let app = quiet(backend).await;
    let twice = engine(&app).create::<Twice>(&(), CreateOptions::default()).await.unwrap();
    let panics = engine(&app).create::<Panics>(&(), CreateOptions::default()).await.unwrap();
    assert_eq!(engine(&app).run_due().await.unwrap(), 2);
    let twice = view(&app, &twice.id).await;
    assert_eq!(twice.status, "failed");
    assert!(twice.error.unwrap().contains("used twice"));
    let panics = view(&app, &panics.id).await;
    assert_eq!(panics.status, "failed");
    assert!(panics.error.unwrap().contains("workflow bug"));
    assert!(engine(&app).create_named("no.such.workflow", &json!({}), CreateOptions::default()).await.is_err());
}

async fn queue_messages_are_retried_until_delivered(backend: Backend) {
    let app = quiet(backend).await;
    let key = uuid::Uuid::now_v7().to_string();
    let sent = engine(&app).send(&Ping { key: key.clone(), fail_times: 2 }).await.unwrap();
    engine(&app).run_due().await.unwrap();
    app.clock.advance(Duration::from_secs(5));
    engine(&app).run_due().await.unwrap();
    app.clock.advance(Duration::from_secs(10));
    engine(&app).run_due().await.unwrap();
    let delivered = view(&app, &sent.id).await;
    assert_eq!(delivered.status, "completed", "{delivered:?}");
    assert_eq!(delivered.name, "test.ping");
    assert_eq!(effects(&key, "deliver"), 3);
}

async fn workers_pick_up_due_runs_within_a_second(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "2")]).await;
    let run =
        engine(&app).create::<Steps>(&StepsParams { count: 2, pause_after: None, hang_at: None }, CreateOptions::default()).await.unwrap();
    let started = std::time::Instant::now();
    while view(&app, &run.id).await.status != "completed" {
        assert!(started.elapsed() < Duration::from_secs(5), "not picked up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A delayed run is picked up when it becomes due (the poller looks at least every second).
    let delayed = engine(&app)
        .create::<Steps>(
            &StepsParams { count: 1, pause_after: None, hang_at: None },
            CreateOptions { delay: Some(Duration::from_secs(30)), ..Default::default() },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(view(&app, &delayed.id).await.status, "queued");
    app.clock.advance(Duration::from_secs(30));
    let due = std::time::Instant::now();
    while view(&app, &delayed.id).await.status != "completed" {
        assert!(due.elapsed() < Duration::from_millis(2500), "a due run waited more than the poll interval");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn admins_manage_runs_over_http(backend: Backend) {
    let app = quiet(backend).await;
    let mut admin = app.admin().await;
    let mut user = app.signed_up("wf@example.com", "Wf").await;
    let failing = engine(&app)
        .create::<Flaky>(&FlakyParams { fail_times: 99, backoff: Backoff::Constant, catch: false }, CreateOptions::default())
        .await
        .unwrap();
    let sleeping = engine(&app)
        .create::<Steps>(&StepsParams { count: 2, pause_after: Some(0), hang_at: None }, CreateOptions::default())
        .await
        .unwrap();
    for _ in 0..4 {
        engine(&app).run_due().await.unwrap();
        app.clock.advance(Duration::from_secs(10));
    }

    assert_eq!(user.get("/_fn/listWorkflowRuns").await.status, StatusCode::FORBIDDEN);
    let list = admin.get("/_fn/listWorkflowRuns?status=failed").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(list.body[0]["id"], failing.id);
    let page = admin.get("/_fn/listWorkflowRuns?limit=1").await;
    assert_eq!(page.body[0]["id"], sleeping.id, "newest first");
    let next = admin.get(&format!("/_fn/listWorkflowRuns?limit=1&before={}", sleeping.id)).await;
    assert_eq!(next.body[0]["id"], failing.id);

    let one = admin.get(&format!("/_fn/getWorkflowRun?id={}", failing.id)).await;
    assert_eq!(one.body["status"], "failed");
    assert_eq!(one.body["steps"][0]["attempts"], 4);
    assert_eq!(admin.get("/_fn/getWorkflowRun?id=nope").await.code(), "WORKFLOW_RUN_NOT_FOUND");

    let retried = admin.post("/_fn/retryWorkflowRun", json!({"id": failing.id})).await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.text);
    assert_eq!(retried.body["status"], "queued");
    assert_eq!(admin.post("/_fn/retryWorkflowRun", json!({"id": sleeping.id})).await.code(), "WORKFLOW_RUN_NOT_FAILED");

    let cancelled = admin.post("/_fn/cancelWorkflowRun", json!({"id": sleeping.id})).await;
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(admin.post("/_fn/cancelWorkflowRun", json!({"id": sleeping.id})).await.code(), "WORKFLOW_RUN_FINISHED");
}

/// Three steps that record when they start and end, to catch two workers in one step.
struct Triple;

static IN_FLIGHT: LazyLock<Mutex<std::collections::HashSet<String>>> = LazyLock::new(Default::default);
static OVERLAPS: AtomicU32 = AtomicU32::new(0);
/// Which engines (by the address of their services) executed Triple runs.
static ENGINES_SEEN: LazyLock<Mutex<std::collections::HashSet<usize>>> = LazyLock::new(Default::default);

impl Workflow for Triple {
    const NAME: &'static str = "test.triple";
    type Params = ();
    type Output = ();

    async fn run(&self, event: Event<()>, step: Step) -> anyhow::Result<()> {
        ENGINES_SEEN.lock().unwrap().insert(&*event.app as *const flint::platform::state::AppServices as usize);
        for i in 0..3 {
            let key = format!("{}/t{i}", event.run_id);
            step.run(&format!("t{i}"), RetryPolicy::none(), || async move {
                if !IN_FLIGHT.lock().unwrap().insert(key.clone()) {
                    OVERLAPS.fetch_add(1, Ordering::SeqCst);
                }
                record(&key, "x");
                tokio::task::yield_now().await;
                IN_FLIGHT.lock().unwrap().remove(&key);
                Ok::<_, String>(())
            })
            .await?;
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_share_one_postgres_without_running_a_step_twice() {
    let Some(backend) = Backend::postgres() else { return };
    let database = crate::helpers::TestDatabase::create(&backend).await;
    let start = |workers: &'static str| {
        let url = database.url.clone();
        async move {
            let config = flint::platform::config::Config::from_lookup(|name| match name {
                "DATABASE_URL" => Some(url.clone()),
                "FLINT_WORKFLOW_WORKERS" => Some(workers.to_owned()),
                "FLINT_DB_MAX_CONNECTIONS" => Some("6".to_owned()),
                "STORAGE_URL" => Some(crate::helpers::test_media_url()),
                _ => None,
            })
            .unwrap();
            let parts = flint::app::Parts {
                clock: flint::platform::clock::Clock::system(),
                routes: flint::platform::http::Routes::new(),
                workflows: Registry::new().register(Triple),
                subscribers: Default::default(),
            };
            flint::app::services(config, parts).await.unwrap()
        }
    };
    let one = start("2").await;
    let two = start("2").await;
    let mut ids = Vec::new();
    for _ in 0..1000 {
        ids.push(one.workflows.create::<Triple>(&(), CreateOptions::default()).await.unwrap().id);
    }
    let stopping = tokio_util::sync::CancellationToken::new();
    one.workflows.spawn_workers(&one.tasks, stopping.clone());
    two.workflows.spawn_workers(&two.tasks, stopping.clone());

    let started = std::time::Instant::now();
    loop {
        let counts = one.workflows.count_by_status().await.unwrap();
        if counts.get("completed") == Some(&1000) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "not all runs completed: {counts:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stopping.cancel();
    assert_eq!(OVERLAPS.load(Ordering::SeqCst), 0, "no step ran in both engines at once");
    for id in &ids {
        for i in 0..3 {
            assert_eq!(effects(&format!("{id}/t{i}"), "x"), 1, "{id} step t{i}");
        }
    }
    assert_eq!(ENGINES_SEEN.lock().unwrap().len(), 2, "both engines took runs");
    for state in [one, two] {
        state.tasks.close();
        state.tasks.wait().await;
        state.db.close().await;
    }
}

async fn completed_runs_are_pruned_after_the_retention(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("FLINT_WORKFLOW_WORKERS", "0"), ("FLINT_WORKFLOW_RETENTION", "1h")]).await;
    let done =
        engine(&app).create::<Steps>(&StepsParams { count: 1, pause_after: None, hang_at: None }, CreateOptions::default()).await.unwrap();
    let failed = engine(&app).create::<Twice>(&(), CreateOptions::default()).await.unwrap();
    let waiting = engine(&app).create::<Sleeper>(&(app.clock.now_ms() + 10_000_000), CreateOptions::default()).await.unwrap();
    engine(&app).run_due().await.unwrap();
    app.clock.advance(Duration::from_secs(3599));
    assert_eq!(engine(&app).prune().await.unwrap(), 0);
    app.clock.advance(Duration::from_secs(2));
    assert_eq!(engine(&app).prune().await.unwrap(), 1);
    assert!(engine(&app).get(&done.id).await.unwrap().is_none(), "the completed run is gone");
    assert!(engine(&app).get(&failed.id).await.unwrap().is_some(), "failed runs stay for an admin to see");
    assert!(engine(&app).get(&waiting.id).await.unwrap().is_some(), "live runs stay");
}
