//! The durable workflow engine (Cloudflare Workflows semantics) on the app's
//! own database.
//!
//! A workflow is a type with a stable `NAME`, serde params and an async
//! `run(event, step)`. Its steps are memoised: `step.run(name, retry, work)`
//! runs `work` until it succeeds (with the retry policy's backoff) and stores
//! its JSON output; when the run resumes — after a sleep, a retry delay, a
//! restart or a crash — the workflow is replayed from the top and completed
//! steps return their stored output without running again. Code between
//! steps must therefore be deterministic, and steps must be idempotent
//! (at-least-once: a step interrupted mid-flight runs again).
//!
//! Waiting (sleeps and retry delays) holds no worker: the run is stored as
//! `sleeping` with its wake-up time. Workers claim due runs with a lease they
//! keep alive with a heartbeat; a run whose worker died is claimed again once
//! its lease expires. May use: `platform::{db, clock, state}`.

mod data;
pub mod queue;
mod step;
mod worker;

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

pub use queue::{Queue, QueueMessage};
pub use step::{Permanent, Step, StepFailed};
pub use worker::{MAX_ABANDONED, MAX_EXECUTIONS};

use crate::platform::clock::{Clock, Millis, Timestamp};
use crate::platform::db::{Db, Tx, is_unique_violation};
use crate::platform::state::AppState;

/// A durable, multi-step process.
pub trait Workflow: Send + Sync + 'static {
    /// Stored with every run: never rename a workflow that has live runs.
    const NAME: &'static str;
    type Params: Serialize + DeserializeOwned + Send + 'static;
    type Output: Serialize + Send + 'static;

    fn run(&self, event: Event<Self::Params>, step: Step) -> impl Future<Output = anyhow::Result<Self::Output>> + Send;
}

/// What a run is started with.
pub struct Event<P> {
    pub run_id: String,
    pub params: P,
    /// The app's services, for the steps to call.
    pub app: AppState,
    /// 1 on the first execution, 2 after the first resume, ...
    pub execution: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    /// `delay` every time.
    Constant,
    /// `delay × n` before retry n.
    Linear,
    /// `delay × 2^(n-1)` before retry n.
    Exponential,
}

/// How a failing step is retried. The default is the original platform's:
/// 5 retries, 10 s apart, doubling each time, no cap, no per-attempt timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so `limit + 1` attempts in all).
    pub limit: u32,
    pub delay: Duration,
    pub backoff: Backoff,
    pub max_delay: Option<Duration>,
    /// Each attempt fails when it takes longer than this.
    pub timeout: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { limit: 5, delay: Duration::from_secs(10), backoff: Backoff::Exponential, max_delay: None, timeout: None }
    }
}

impl RetryPolicy {
    /// One attempt, no retries.
    pub const fn none() -> Self {
        RetryPolicy { limit: 0, delay: Duration::ZERO, backoff: Backoff::Constant, max_delay: None, timeout: None }
    }

    pub const fn new(limit: u32, delay: Duration, backoff: Backoff) -> Self {
        RetryPolicy { limit, delay, backoff, max_delay: None, timeout: None }
    }

    pub const fn with_max_delay(self, max_delay: Duration) -> Self {
        RetryPolicy { max_delay: Some(max_delay), ..self }
    }

    pub const fn with_timeout(self, timeout: Duration) -> Self {
        RetryPolicy { timeout: Some(timeout), ..self }
    }

    /// The wait before retry `n` (n = 1 after the first failure).
    pub fn delay_before_retry(&self, n: u32) -> Duration {
        let n = n.max(1);
        let delay = match self.backoff {
            Backoff::Constant => self.delay,
            Backoff::Linear => self.delay.saturating_mul(n),
            Backoff::Exponential => self.delay.saturating_mul(2u32.saturating_pow(n - 1)),
        };
        self.max_delay.map_or(delay, |cap| delay.min(cap))
    }
}

type BoxedRun = Pin<Box<dyn Future<Output = anyhow::Result<serde_json::Value>> + Send>>;

trait ErasedWorkflow: Send + Sync {
    fn start(&self, run_id: String, params: &str, app: AppState, execution: u32, step: Step) -> Result<BoxedRun, String>;
}

struct Erased<W>(Arc<W>);

impl<W: Workflow> ErasedWorkflow for Erased<W> {
    fn start(&self, run_id: String, params: &str, app: AppState, execution: u32, step: Step) -> Result<BoxedRun, String> {
        let params: W::Params = serde_json::from_str(params).map_err(|e| format!("params of {} do not decode: {e}", W::NAME))?;
        let workflow = self.0.clone();
        Ok(Box::pin(async move {
            let output = workflow.run(Event { run_id, params, app, execution }, step).await?;
            Ok(serde_json::to_value(output)?)
        }))
    }
}

/// The workflows this process can run, by name.
#[derive(Clone, Default)]
pub struct Registry(HashMap<&'static str, Arc<dyn ErasedWorkflow>>);

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a workflow. Panics on a duplicate name: that is a programming error
    /// found at start-up, not at run time.
    pub fn register<W: Workflow>(mut self, workflow: W) -> Self {
        let previous = self.0.insert(W::NAME, Arc::new(Erased(Arc::new(workflow))));
        assert!(previous.is_none(), "workflow {} registered twice", W::NAME);
        self
    }

    pub fn merge(mut self, other: Registry) -> Self {
        for (name, workflow) in other.0 {
            assert!(self.0.insert(name, workflow).is_none(), "workflow {name} registered twice");
        }
        self
    }

    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.0.keys().copied().collect();
        names.sort_unstable();
        names
    }
}

#[derive(Clone, Debug)]
pub struct EngineSettings {
    /// Runs executed at once by this process (0: this process runs none).
    pub workers: usize,
    pub lease: Duration,
    /// Completed and cancelled runs are deleted this long after they finished.
    pub retention: Duration,
}

/// Creating a run.
#[derive(Clone, Debug, Default)]
pub struct CreateOptions {
    /// At most one live run per key (e.g. `post-42-scheduled`).
    pub key: Option<String>,
    /// With a key: cancel the live run and start a new one instead of returning it.
    pub replace: bool,
    /// Start no earlier than this from now.
    pub delay: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    pub id: String,
    /// False when a live run with the same key was returned instead.
    pub created: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("no workflow named {0} is registered")]
    UnknownWorkflow(String),
    #[error("cannot encode the params: {0}")]
    Params(String),
    #[error("workflow storage failed: {0}")]
    Database(#[from] sqlx::Error),
}

/// A run as shown to admins.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    pub id: String,
    pub name: String,
    pub status: String,
    pub idempotency_key: Option<String>,
    pub params: serde_json::Value,
    /// Times the run was picked up by a worker.
    pub attempts: i32,
    pub error: Option<String>,
    pub output: Option<serde_json::Value>,
    /// When a queued or sleeping run is due.
    pub wake_at: Option<Timestamp>,
    /// The worker executing a running run, and until when its lease holds.
    pub lease_owner: Option<String>,
    pub lease_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// Present on a single run, not in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<StepView>>,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepView {
    pub name: String,
    /// `completed`, `failed`, `retrying` or `sleeping`.
    pub status: String,
    pub attempts: i32,
    pub error: Option<String>,
    pub output: Option<serde_json::Value>,
    /// Next attempt (retrying) or wake-up (sleeping).
    pub wake_at: Option<Timestamp>,
    pub duration_ms: Option<i64>,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub name: Option<String>,
    pub status: Option<String>,
    pub before_id: Option<String>,
    pub limit: u32,
}

/// The engine: creating and managing runs, and (with workers) executing them.
#[derive(Clone)]
pub struct WorkflowEngine(Arc<EngineInner>);

struct EngineInner {
    db: Db,
    clock: Clock,
    registry: Registry,
    settings: EngineSettings,
    /// Set once the app's services exist (they contain this engine).
    app: OnceLock<AppState>,
    /// Identifies this process's leases.
    owner: String,
    /// Wakes the local poller (a run was created, or a worker freed up).
    wake: Notify,
}

impl WorkflowEngine {
    pub fn new(db: Db, clock: Clock, registry: Registry, settings: EngineSettings) -> Self {
        WorkflowEngine(Arc::new(EngineInner {
            db,
            clock,
            registry,
            settings,
            app: OnceLock::new(),
            owner: format!("worker-{}", uuid::Uuid::now_v7()),
            wake: Notify::new(),
        }))
    }

    /// Gives the engine the services workflows receive in their `Event`.
    pub fn attach(&self, app: AppState) {
        let _ = self.0.app.set(app);
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.0.settings
    }

    pub fn registered(&self) -> Vec<&'static str> {
        self.0.registry.names()
    }

    /// Starts a run of `W`.
    pub async fn create<W: Workflow>(&self, params: &W::Params, options: CreateOptions) -> Result<Created, EngineError> {
        let params = serde_json::to_value(params).map_err(|e| EngineError::Params(e.to_string()))?;
        self.create_named(W::NAME, &params, options).await
    }

    /// Starts a run of the workflow registered as `name`.
    pub async fn create_named(&self, name: &str, params: &serde_json::Value, options: CreateOptions) -> Result<Created, EngineError> {
        if !self.0.registry.0.contains_key(name) {
            return Err(EngineError::UnknownWorkflow(name.to_owned()));
        }
        let params = params.to_string();
        let db = &self.0.db;
        for _ in 0..3 {
            if let Some(key) = &options.key
                && let Some(live) = data::find_live_by_key(db, key).await?
            {
                if !options.replace {
                    return Ok(Created { id: live.id, created: false });
                }
                data::cancel_run(db, &live.id, self.0.clock.now_ms()).await?;
            }
            let now = self.0.clock.now_ms();
            let id = uuid::Uuid::now_v7().to_string();
            let delay = options.delay.map_or(0, |d| d.as_millis() as Millis);
            let run = data::NewRun { id: &id, name, params: &params, idempotency_key: options.key.as_deref(), wake_at: now + delay, now };
            match data::insert_run(db, &run).await {
                Ok(()) => {
                    self.wake_workers().await;
                    return Ok(Created { id, created: true });
                }
                // Another creator won the key between our read and insert: look again.
                Err(error) if is_unique_violation(&error) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(EngineError::Database(sqlx::Error::Protocol("idempotency key kept changing hands".into())))
    }

    /// Starts a run inside the caller's transaction, so the run exists
    /// exactly when the change that needs it is committed (a crash between
    /// the two can lose neither). Call [`WorkflowEngine::wake`] after the
    /// commit. With a key, a live run is returned (or, with `replace`,
    /// cancelled) as [`WorkflowEngine::create`] does.
    pub async fn create_in<W: Workflow>(&self, tx: &mut Tx, params: &W::Params, options: CreateOptions) -> Result<Created, EngineError> {
        if !self.0.registry.0.contains_key(W::NAME) {
            return Err(EngineError::UnknownWorkflow(W::NAME.to_owned()));
        }
        let params = serde_json::to_string(params).map_err(|e| EngineError::Params(e.to_string()))?;
        let now = self.0.clock.now_ms();
        if let Some(key) = &options.key
            && let Some(live) = data::find_live_by_key_tx(tx, key).await?
        {
            if !options.replace {
                return Ok(Created { id: live.id, created: false });
            }
            data::cancel_run_tx(tx, &live.id, now).await?;
        }
        let id = uuid::Uuid::now_v7().to_string();
        let delay = options.delay.map_or(0, |d| d.as_millis() as Millis);
        let run =
            data::NewRun { id: &id, name: W::NAME, params: &params, idempotency_key: options.key.as_deref(), wake_at: now + delay, now };
        data::insert_run_tx(tx, &run).await?;
        Ok(Created { id, created: true })
    }

    /// Cancels the live run holding an idempotency key, inside the caller's transaction.
    pub async fn cancel_key_in(&self, tx: &mut Tx, key: &str) -> Result<bool, EngineError> {
        match data::find_live_by_key_tx(tx, key).await? {
            Some(run) => Ok(data::cancel_run_tx(tx, &run.id, self.0.clock.now_ms()).await? == 1),
            None => Ok(false),
        }
    }

    /// Makes queued runs due now (runs created with a delay, released early
    /// by their creator), and wakes the workers.
    pub async fn make_due(&self, ids: &[String]) -> Result<u64, EngineError> {
        let made = data::make_due(&self.0.db, ids, self.0.clock.now_ms()).await?;
        if made > 0 {
            self.wake_workers().await;
        }
        Ok(made)
    }

    /// Tells workers (here and in other processes) that runs were created
    /// by a transaction that has just committed.
    pub async fn wake(&self) {
        self.wake_workers().await;
    }

    pub async fn get(&self, id: &str) -> Result<Option<RunView>, EngineError> {
        let Some(run) = data::find_run(&self.0.db, id).await? else { return Ok(None) };
        let steps = data::list_steps(&self.0.db, id).await?;
        let mut view = run_view(run);
        view.steps = Some(steps.into_iter().map(step_view).collect());
        Ok(Some(view))
    }

    /// Runs newest first; page with `before_id` = the last id of the previous page.
    pub async fn list(&self, filter: &ListFilter) -> Result<Vec<RunView>, EngineError> {
        let rows = data::list_runs(
            &self.0.db,
            &data::RunFilter {
                name: filter.name.as_deref(),
                status: filter.status.as_deref(),
                before_id: filter.before_id.as_deref(),
                limit: i64::from(filter.limit.clamp(1, 200)),
            },
        )
        .await?;
        Ok(rows.into_iter().map(brief_view).collect())
    }

    /// Cancels a queued, sleeping or running run (a running one stops at its
    /// next step boundary or heartbeat). False when it had already finished.
    pub async fn cancel(&self, id: &str) -> Result<bool, EngineError> {
        Ok(data::cancel_run(&self.0.db, id, self.0.clock.now_ms()).await? == 1)
    }

    /// Cancels the live run holding an idempotency key, if there is one.
    pub async fn cancel_key(&self, key: &str) -> Result<bool, EngineError> {
        match data::find_live_by_key(&self.0.db, key).await? {
            Some(run) => self.cancel(&run.id).await,
            None => Ok(false),
        }
    }

    /// Queues a failed run again; completed steps are not repeated.
    pub async fn retry(&self, id: &str) -> Result<bool, EngineError> {
        let retried = data::retry_run(&self.0.db, id, self.0.clock.now_ms()).await?;
        if retried {
            self.wake_workers().await;
        }
        Ok(retried)
    }

    /// How many runs are in each status.
    pub async fn count_by_status(&self) -> Result<HashMap<String, i64>, EngineError> {
        Ok(data::count_by_status(&self.0.db).await?.into_iter().collect())
    }

    /// Deletes completed and cancelled runs older than the retention.
    pub async fn prune(&self) -> Result<u64, EngineError> {
        let before = self.0.clock.now_ms() - self.0.settings.retention.as_millis() as Millis;
        Ok(data::prune(&self.0.db, before).await?)
    }

    async fn wake_workers(&self) {
        self.0.wake.notify_one();
        if let Err(error) = data::notify_listeners(&self.0.db).await {
            tracing::warn!(%error, "could not notify other workers; they will find the run by polling");
        }
    }
}

fn parse_json(text: Option<&str>) -> Option<serde_json::Value> {
    text.map(|t| serde_json::from_str(t).unwrap_or_else(|_| serde_json::Value::String(t.to_owned())))
}

/// Param values longer than this are elided in run lists (an event delivery
/// can carry a whole post); a single run shows them whole.
const LISTED_VALUE_BYTES: usize = 1024;

fn brief_view(run: data::RunRow) -> RunView {
    let long = run.params.len() > LISTED_VALUE_BYTES;
    let mut view = run_view(run);
    if long && let Some(fields) = view.params.as_object_mut() {
        for value in fields.values_mut() {
            let bytes = value.to_string().len();
            if bytes > LISTED_VALUE_BYTES {
                *value = serde_json::Value::String(format!("({bytes} bytes; get the run to see them)"));
            }
        }
    }
    view
}

fn run_view(run: data::RunRow) -> RunView {
    let waiting = matches!(run.status.as_str(), "queued" | "sleeping");
    RunView {
        params: parse_json(Some(&run.params)).unwrap_or_default(),
        output: parse_json(run.output.as_deref()),
        wake_at: waiting.then_some(Timestamp(run.wake_at)),
        id: run.id,
        name: run.name,
        status: run.status,
        idempotency_key: run.idempotency_key,
        lease_owner: run.lease_owner,
        lease_until: run.lease_until.map(Timestamp),
        attempts: run.attempts,
        error: run.error,
        created_at: Timestamp(run.created_at),
        updated_at: Timestamp(run.updated_at),
        finished_at: run.finished_at.map(Timestamp),
        steps: None,
    }
}

fn step_view(step: data::StepRow) -> StepView {
    StepView {
        output: parse_json(step.output.as_deref()),
        name: step.name,
        status: step.status,
        attempts: step.attempts,
        error: step.error,
        wake_at: step.wake_at.map(Timestamp),
        duration_ms: step.duration_ms,
        started_at: Timestamp(step.started_at),
        finished_at: step.finished_at.map(Timestamp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_lists_elide_long_param_values_only() {
        let params = serde_json::json!({"subscriber": "search.index", "payload": {"content": "x".repeat(5000)}}).to_string();
        let run = data::RunRow {
            id: "r".into(),
            name: "event.deliver".into(),
            params: params.clone(),
            status: "queued".into(),
            idempotency_key: None,
            wake_at: 0,
            attempts: 0,
            abandoned: 0,
            lease_owner: None,
            lease_until: None,
            output: None,
            error: None,
            created_at: 0,
            updated_at: 0,
            finished_at: None,
        };
        let brief = brief_view(run.clone());
        assert_eq!(brief.params["subscriber"], "search.index");
        assert!(brief.params["payload"].as_str().unwrap().starts_with("(50"), "{}", brief.params["payload"]);
        assert_eq!(run_view(run).params.to_string(), params, "a single run shows everything");
    }

    #[test]
    fn backoff_schedules() {
        let d = Duration::from_secs(10);
        let delays = |policy: RetryPolicy| (1..=4).map(|n| policy.delay_before_retry(n).as_secs()).collect::<Vec<_>>();
        assert_eq!(delays(RetryPolicy::new(4, d, Backoff::Constant)), [10, 10, 10, 10]);
        assert_eq!(delays(RetryPolicy::new(4, d, Backoff::Linear)), [10, 20, 30, 40]);
        assert_eq!(delays(RetryPolicy::new(4, d, Backoff::Exponential)), [10, 20, 40, 80]);
        assert_eq!(delays(RetryPolicy::new(4, d, Backoff::Exponential).with_max_delay(Duration::from_secs(30))), [10, 20, 30, 30]);
        assert_eq!(RetryPolicy::default(), RetryPolicy::new(5, d, Backoff::Exponential));
    }
}
