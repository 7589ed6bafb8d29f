//! Executing runs: claiming due runs under a lease, keeping the lease alive
//! with a heartbeat, replaying the workflow, and storing how it ended. The
//! poller wakes on a local notification (a run was created here), on
//! PostgreSQL `NOTIFY` (created by another process), at the next due time,
//! and at least every second.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::data::{self, RunRow};
use super::step::{Interrupt, Step};
use super::{EngineError, WorkflowEngine};
use crate::platform::clock::Millis;
use crate::platform::db::Db;

/// The longest the poller sleeps between looks at the queue.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How often completed runs are pruned.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);
/// A run whose worker stopped without finishing it this many times fails
/// instead of being claimed again: it is most likely what kills the worker
/// (a crash loop), and an admin sees it among the failed runs and can retry it.
pub const MAX_ABANDONED: i32 = 3;
/// Executions of one run (each wake-up after a sleep or a retry delay is
/// one) after which it fails: a bound on any run that would go on forever.
pub const MAX_EXECUTIONS: i32 = 1000;
/// The longest the poller waits after claiming failed (a database that is
/// down or full), doubling from [`CLAIM_BACKOFF_START`].
const CLAIM_BACKOFF_MAX: Duration = Duration::from_secs(30);
const CLAIM_BACKOFF_START: Duration = Duration::from_millis(250);

enum Outcome {
    Completed(serde_json::Value),
    Failed(String),
    Interrupted(Interrupt),
}

impl WorkflowEngine {
    /// Claims every run due now and executes each until it finishes or
    /// suspends. Returns how many were executed. (Tests and one-shot tools;
    /// servers use `spawn_workers`.)
    pub async fn run_due(&self) -> Result<usize, EngineError> {
        let runs = self.claim(100).await?;
        let count = runs.len();
        for run in runs {
            self.execute(run).await;
        }
        Ok(count)
    }

    async fn claim(&self, limit: usize) -> Result<Vec<RunRow>, EngineError> {
        let now = self.0.clock.now_ms();
        let lease_until = now + self.0.settings.lease.as_millis() as Millis;
        Ok(data::claim(&self.0.db, &self.0.owner, now, lease_until, limit as i64).await?)
    }

    /// Runs the poller on `tasks` until `stopping` is cancelled. Executions in
    /// flight are tracked tasks too, so shutdown waits for them.
    pub fn spawn_workers(&self, tasks: &TaskTracker, stopping: CancellationToken) {
        if self.0.settings.workers == 0 {
            return;
        }
        let engine = self.clone();
        let tracker = tasks.clone();
        tasks.spawn(async move { engine.poll(tracker, stopping).await });
    }

    async fn poll(self, tasks: TaskTracker, stopping: CancellationToken) {
        let workers = Arc::new(Semaphore::new(self.0.settings.workers));
        let mut listener = self.listen().await;
        let mut last_prune: Option<std::time::Instant> = None;
        let mut claim_backoff: Option<Duration> = None;
        tracing::info!(workers = self.0.settings.workers, workflows = ?self.registered(), "workflow workers started");
        while !stopping.is_cancelled() {
            let free = workers.available_permits();
            if free > 0 {
                match self.claim(free).await {
                    Ok(runs) => {
                        if claim_backoff.take().is_some() {
                            tracing::info!("claiming workflow runs works again");
                        }
                        for run in runs {
                            let Ok(permit) = workers.clone().acquire_owned().await else { return };
                            let engine = self.clone();
                            tasks.spawn(async move {
                                engine.execute(run).await;
                                drop(permit);
                                engine.0.wake.notify_one();
                            });
                        }
                    }
                    Err(error) => {
                        // Without a pause this loop would spin on a database that is full or down.
                        let wait = claim_backoff.map_or(CLAIM_BACKOFF_START, |w| (w * 2).min(CLAIM_BACKOFF_MAX));
                        claim_backoff = Some(wait);
                        tracing::warn!(%error, retry_in = ?wait, "could not claim workflow runs");
                    }
                }
            }
            if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_INTERVAL) {
                last_prune = Some(std::time::Instant::now());
                match self.prune().await {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, "old workflow runs pruned"),
                    Err(error) => tracing::warn!(%error, "could not prune workflow runs"),
                }
            }
            let wait = match claim_backoff {
                Some(backoff) => backoff,
                None => self.until_next_due().await,
            };
            tokio::select! {
                () = stopping.cancelled() => break,
                () = self.0.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
                notified = recv(&mut listener) => {
                    if !notified {
                        listener = None;
                    }
                }
            }
        }
        tracing::info!("workflow workers stopped");
    }

    async fn listen(&self) -> Option<PgListener> {
        let Db::Postgres(pool) = &self.0.db else { return None };
        let mut listener = match PgListener::connect_with(pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot LISTEN for new workflow runs; polling every second instead");
                return None;
            }
        };
        match listener.listen("flint_workflows").await {
            Ok(()) => Some(listener),
            Err(error) => {
                tracing::warn!(%error, "cannot LISTEN for new workflow runs; polling every second instead");
                None
            }
        }
    }

    async fn until_next_due(&self) -> Duration {
        match data::next_due(&self.0.db).await {
            Ok(Some(at)) => {
                let ms = (at - self.0.clock.now_ms()).clamp(0, POLL_INTERVAL.as_millis() as Millis);
                Duration::from_millis(ms as u64)
            }
            Ok(None) => POLL_INTERVAL,
            Err(error) => {
                tracing::warn!(%error, "could not read the next workflow wake-up");
                POLL_INTERVAL
            }
        }
    }

    /// Replays one claimed run until it finishes, suspends or loses its lease.
    async fn execute(&self, run: RunRow) {
        let span = tracing::info_span!("workflow", run_id = %run.id, workflow = %run.name, execution = run.attempts);
        let outcome = self.replay(&run).instrument(span).await;
        let now = self.0.clock.now_ms();
        let (db, owner) = (&self.0.db, &self.0.owner);
        let stored = match &outcome {
            Outcome::Completed(output) => data::finish_run(db, &run.id, owner, "completed", Some(&output.to_string()), None, now).await,
            Outcome::Failed(error) => {
                tracing::warn!(run_id = %run.id, workflow = %run.name, %error, "workflow run failed");
                data::finish_run(db, &run.id, owner, "failed", None, Some(error), now).await
            }
            Outcome::Interrupted(Interrupt::Suspend(at)) => data::suspend_run(db, &run.id, owner, *at, now).await,
            Outcome::Interrupted(Interrupt::Fatal(error)) => {
                tracing::error!(run_id = %run.id, workflow = %run.name, %error, "workflow run cannot continue");
                data::finish_run(db, &run.id, owner, "failed", None, Some(error), now).await
            }
            Outcome::Interrupted(Interrupt::LeaseLost) => Ok(true),
        };
        match stored {
            Ok(true) => {}
            Ok(false) => tracing::info!(run_id = %run.id, "workflow run was cancelled or taken over; its outcome is dropped"),
            Err(error) => tracing::error!(run_id = %run.id, %error, "cannot store a workflow run's outcome; it will run again"),
        }
    }

    async fn replay(&self, run: &RunRow) -> Outcome {
        if run.abandoned >= MAX_ABANDONED {
            return Outcome::Failed(format!(
                "its worker stopped without finishing it {} times (killed, or crashed by this run?); not trying again by itself",
                run.abandoned
            ));
        }
        if run.attempts > MAX_EXECUTIONS {
            return Outcome::Failed(format!("it was executed {MAX_EXECUTIONS} times without finishing"));
        }
        let Some(workflow) = self.0.registry.0.get(run.name.as_str()).cloned() else {
            return Outcome::Failed(format!("no workflow named {} is registered in this process", run.name));
        };
        let Some(app) = self.0.app.get().cloned() else {
            return Outcome::Interrupted(Interrupt::LeaseLost);
        };
        let steps = match data::list_steps(&self.0.db, &run.id).await {
            Ok(steps) => steps,
            Err(error) => {
                tracing::error!(run_id = %run.id, %error, "cannot load a run's steps; it will run again");
                return Outcome::Interrupted(Interrupt::LeaseLost);
            }
        };
        let step = Step::new(run.id.clone(), self.0.owner.clone(), self.0.db.clone(), self.0.clock.clone(), steps);
        let future = match workflow.start(run.id.clone(), &run.params, app, run.attempts.max(1) as u32, step.clone()) {
            Ok(future) => future,
            Err(error) => return Outcome::Failed(error),
        };

        let heartbeat = self.heartbeat(run.id.clone(), step.clone());
        // Its own task, so a panic in workflow code fails the run instead of the worker.
        let mut execution = tokio::spawn(future);
        let outcome = tokio::select! {
            joined = &mut execution => match joined {
                Ok(Ok(output)) => Outcome::Completed(output),
                Ok(Err(error)) => Outcome::Failed(format!("{error:#}")),
                Err(join) if join.is_panic() => Outcome::Failed(format!("workflow panicked: {}", panic_message(join.into_panic()))),
                Err(_) => Outcome::Interrupted(Interrupt::LeaseLost),
            },
            why = step.interrupted() => {
                execution.abort();
                Outcome::Interrupted(why)
            }
        };
        heartbeat.abort();
        outcome
    }

    /// Extends the lease every third of its length; when that fails the run
    /// was cancelled or taken over, and the execution is stopped.
    fn heartbeat(&self, run_id: String, step: Step) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            let lease = engine.0.settings.lease;
            loop {
                tokio::time::sleep(lease / 3).await;
                let until = engine.0.clock.now_ms() + lease.as_millis() as Millis;
                match data::heartbeat(&engine.0.db, &run_id, &engine.0.owner, until).await {
                    Ok(1) => {}
                    Ok(_) => {
                        step.interrupt(Interrupt::LeaseLost);
                        return;
                    }
                    Err(error) => tracing::warn!(%run_id, %error, "workflow heartbeat failed; retrying"),
                }
            }
        })
    }
}

/// Waits for a PostgreSQL notification; false when the listener broke.
async fn recv(listener: &mut Option<PgListener>) -> bool {
    match listener {
        Some(l) => match l.recv().await {
            Ok(_) => true,
            Err(error) => {
                tracing::warn!(%error, "workflow LISTEN connection lost; polling every second");
                false
            }
        },
        None => std::future::pending().await,
    }
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}
