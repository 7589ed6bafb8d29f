//! `Step`: what a workflow uses to do durable work. Each call is identified
//! by its name; its outcome is stored, so a replay returns it instead of
//! doing the work again.
//!
//! When a run must stop for now — a sleep, a retry delay, a lost lease, a
//! duplicate step name — the step records why and never returns; the
//! executor then drops the workflow's future. So workflow code cannot
//! swallow a suspension by mistake, while it can still catch a step that
//! failed for good (`StepFailed`).

use std::collections::{HashMap, HashSet};
use std::fmt::Display;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use super::RetryPolicy;
use super::data::{self, StepRow, StepWrite};
use crate::platform::clock::{Clock, Millis};
use crate::platform::db::Db;

/// A step that exhausted its retries. The run fails with it unless the
/// workflow handles it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("step {step} failed: {error}")]
pub struct StepFailed {
    pub step: String,
    pub error: String,
}

/// Why the execution of a run stopped before the workflow returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Interrupt {
    /// Sleep until the time (epoch ms) and resume.
    Suspend(Millis),
    /// The run cannot go on (it fails with this error).
    Fatal(String),
    /// Another worker or a cancellation took the run; write nothing more.
    LeaseLost,
}

#[derive(Clone)]
pub struct Step(Arc<State>);

struct State {
    run_id: String,
    owner: String,
    db: Db,
    clock: Clock,
    stored: Mutex<HashMap<String, StepRow>>,
    used: Mutex<HashSet<String>>,
    interrupt: Mutex<Option<Interrupt>>,
    interrupted: Notify,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A failure retrying cannot mend (a mail server's 5xx, an address that
/// does not exist): the step fails at once, whatever its retry policy.
/// Return it as the step's error, or inside an `anyhow::Error`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Permanent(pub String);

fn is_permanent<E: 'static>(error: &E) -> bool {
    let any = error as &dyn std::any::Any;
    any.is::<Permanent>() || any.downcast_ref::<anyhow::Error>().is_some_and(|e| e.is::<Permanent>())
}

impl Step {
    pub(crate) fn new(run_id: String, owner: String, db: Db, clock: Clock, stored: Vec<StepRow>) -> Self {
        Step(Arc::new(State {
            run_id,
            owner,
            db,
            clock,
            stored: Mutex::new(stored.into_iter().map(|s| (s.name.clone(), s)).collect()),
            used: Mutex::new(HashSet::new()),
            interrupt: Mutex::new(None),
            interrupted: Notify::new(),
        }))
    }

    pub fn run_id(&self) -> &str {
        &self.0.run_id
    }

    /// Runs `work` once, durably: on replay a completed step returns its
    /// stored output. A failure is retried per `retry` (the run sleeps in
    /// between, holding no worker); when retries run out the step fails.
    pub async fn run<T, E, F, Fut>(&self, name: &str, retry: RetryPolicy, work: F) -> Result<T, StepFailed>
    where
        T: Serialize + DeserializeOwned,
        E: Display + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.use_name(name).await;
        let previous_attempts = match self.stored(name) {
            None => 0,
            Some(stored) => match stored.status.as_str() {
                "completed" => {
                    return match serde_json::from_str(stored.output.as_deref().unwrap_or("null")) {
                        Ok(value) => Ok(value),
                        Err(error) => self.stop(Interrupt::Fatal(format!("stored output of step {name} no longer decodes: {error}"))).await,
                    };
                }
                "failed" => return Err(StepFailed { step: name.to_owned(), error: stored.error.unwrap_or_default() }),
                "retrying" => {
                    if let Some(at) = stored.wake_at.filter(|at| *at > self.now()) {
                        self.stop(Interrupt::Suspend(at)).await
                    }
                    stored.attempts
                }
                other => self.stop(Interrupt::Fatal(format!("step name {name} is already used by a {other} step"))).await,
            },
        };
        let attempt = previous_attempts + 1;
        let started_at = self.now();
        let started = Instant::now();
        // (permanent, message): a `Permanent` failure is not retried.
        let failed = |e: E| (is_permanent(&e), e.to_string());
        let outcome = match retry.timeout {
            Some(limit) => match tokio::time::timeout(limit, work()).await {
                Ok(result) => result.map_err(failed),
                Err(_) => Err((false, format!("attempt timed out after {limit:?}"))),
            },
            None => work().await.map_err(failed),
        };
        let duration_ms = started.elapsed().as_millis() as Millis;
        let now = self.now();
        let first_started = self.stored(name).map_or(started_at, |s| s.started_at);

        // Every attempt's record differs only in its outcome.
        let attempt_record = |status, output, error, wake_at, finished_at| StepWrite {
            name,
            status,
            attempts: attempt,
            output,
            error,
            wake_at,
            duration_ms: Some(duration_ms),
            started_at: first_started,
            finished_at,
        };
        match outcome {
            Ok(value) => {
                let output = match serde_json::to_string(&value) {
                    Ok(output) => output,
                    Err(error) => self.stop(Interrupt::Fatal(format!("output of step {name} cannot be stored: {error}"))).await,
                };
                self.save(&attempt_record("completed", Some(&output), None, None, Some(now))).await;
                Ok(value)
            }
            Err((false, error)) if (attempt as u32) <= retry.limit => {
                let wake_at = now + retry.delay_before_retry(attempt as u32).as_millis() as Millis;
                tracing::info!(run_id = %self.0.run_id, step = name, attempt, %error, "step failed; retrying later");
                self.save(&attempt_record("retrying", None, Some(&error), Some(wake_at), None)).await;
                self.stop(Interrupt::Suspend(wake_at)).await
            }
            Err((_, error)) => {
                tracing::warn!(run_id = %self.0.run_id, step = name, attempt, %error, "step failed for good");
                self.save(&attempt_record("failed", None, Some(&error), None, Some(now))).await;
                Err(StepFailed { step: name.to_owned(), error })
            }
        }
    }

    /// Sleeps for `duration` (measured from the first time this step is reached).
    pub async fn sleep(&self, name: &str, duration: Duration) {
        let target = self.stored(name).and_then(|s| s.wake_at).unwrap_or_else(|| self.now() + duration.as_millis() as Millis);
        self.sleep_until(name, target).await;
    }

    /// Sleeps until `at` (epoch ms). Returns at once when `at` has passed.
    pub async fn sleep_until(&self, name: &str, at: Millis) {
        self.use_name(name).await;
        let target = match self.stored(name) {
            Some(stored) if stored.status == "completed" => return,
            Some(stored) if stored.status == "sleeping" => stored.wake_at.unwrap_or(at),
            Some(stored) => self.stop(Interrupt::Fatal(format!("step name {name} is already used by a {} step", stored.status))).await,
            None => at,
        };
        let now = self.now();
        let started_at = self.stored(name).map_or(now, |s| s.started_at);
        let done = now >= target;
        let write = StepWrite {
            name,
            status: if done { "completed" } else { "sleeping" },
            attempts: 1,
            output: None,
            error: None,
            wake_at: Some(target),
            duration_ms: done.then_some(now - started_at),
            started_at,
            finished_at: done.then_some(now),
        };
        self.save(&write).await;
        if !done {
            self.stop(Interrupt::Suspend(target)).await
        }
    }

    fn now(&self) -> Millis {
        self.0.clock.now_ms()
    }

    fn stored(&self, name: &str) -> Option<StepRow> {
        lock(&self.0.stored).get(name).cloned()
    }

    async fn use_name(&self, name: &str) {
        if !lock(&self.0.used).insert(name.to_owned()) {
            self.stop(Interrupt::Fatal(format!("step name {name} is used twice in one run; name steps in loops uniquely"))).await
        }
    }

    /// Stores a step's state, remembering it for the rest of this execution.
    async fn save(&self, write: &StepWrite<'_>) {
        match data::save_step(&self.0.db, &self.0.run_id, &self.0.owner, write, self.now()).await {
            Ok(true) => {
                lock(&self.0.stored).insert(
                    write.name.to_owned(),
                    StepRow {
                        name: write.name.to_owned(),
                        status: write.status.to_owned(),
                        attempts: write.attempts,
                        output: write.output.map(str::to_owned),
                        error: write.error.map(str::to_owned),
                        wake_at: write.wake_at,
                        duration_ms: write.duration_ms,
                        started_at: write.started_at,
                        finished_at: write.finished_at,
                    },
                );
            }
            Ok(false) => self.stop(Interrupt::LeaseLost).await,
            // The outcome could not be stored: stop; the run resumes from the
            // last stored step once its lease expires (at-least-once).
            Err(error) => {
                tracing::error!(run_id = %self.0.run_id, step = write.name, %error, "cannot store a step; the run will resume later");
                self.stop(Interrupt::LeaseLost).await
            }
        }
    }

    /// Records why the execution stops and never returns (the executor drops
    /// the workflow's future).
    async fn stop<T>(&self, why: Interrupt) -> T {
        self.interrupt(why);
        std::future::pending::<T>().await
    }

    /// Records an interrupt from outside the workflow (the heartbeat).
    pub(crate) fn interrupt(&self, why: Interrupt) {
        lock(&self.0.interrupt).get_or_insert(why);
        self.0.interrupted.notify_one();
    }

    pub(crate) async fn interrupted(&self) -> Interrupt {
        self.0.interrupted.notified().await;
        lock(&self.0.interrupt).clone().unwrap_or(Interrupt::LeaseLost)
    }
}
