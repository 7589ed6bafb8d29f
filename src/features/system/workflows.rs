//! `flint.selftest`: a built-in workflow that exercises the engine end to end
//! against the configured database — steps, sleeps between them, and an
//! idempotent side effect per step — so an operator can check that workers
//! run (`flint workflow selftest`). Each step's work is counted in
//! `workflow_selftest.executions`: above 1 only for a step that was running
//! when its worker died.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::platform::clock::Millis;
use crate::platform::db::Db;
use crate::platform::workflow::{Event, RetryPolicy, Step, Workflow};
use crate::{execute, on_read};

pub struct SelfTest;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SelfTestParams {
    pub steps: u32,
    /// How long each step works, and how long the run sleeps between steps.
    pub pause_ms: u64,
}

impl Workflow for SelfTest {
    const NAME: &'static str = "flint.selftest";
    type Params = SelfTestParams;
    type Output = u32;

    async fn run(&self, event: Event<SelfTestParams>, step: Step) -> anyhow::Result<u32> {
        let pause = Duration::from_millis(event.params.pause_ms);
        for i in 0..event.params.steps {
            let name = format!("step-{i}");
            let (db, clock, run_id) = (event.app.db.clone(), event.app.clock.clone(), event.run_id.clone());
            let step_name = name.clone();
            step.run(&name, RetryPolicy::default(), || async move {
                record(&db, &run_id, &step_name, clock.now_ms()).await?;
                tokio::time::sleep(pause).await;
                Ok::<_, sqlx::Error>(())
            })
            .await?;
            if i + 1 < event.params.steps {
                step.sleep(&format!("pause-{i}"), pause).await;
            }
        }
        Ok(event.params.steps)
    }
}

/// The step's side effect: idempotent (one row per step), counting executions.
async fn record(db: &Db, run_id: &str, step: &str, now: Millis) -> sqlx::Result<()> {
    execute!(
        db,
        sqlx::query(
            "INSERT INTO workflow_selftest (run_id, step, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (run_id, step) DO UPDATE SET executions = workflow_selftest.executions + 1"
        )
        .bind(run_id)
        .bind(step)
        .bind(now)
    )?;
    Ok(())
}

/// `(run_id, step, executions)` for the given runs' steps.
pub async fn recorded(db: &Db) -> sqlx::Result<Vec<(String, String, i32)>> {
    on_read!(db, |pool| sqlx::query_as::<_, (String, String, i32)>(
        "SELECT run_id, step, executions FROM workflow_selftest ORDER BY run_id, step"
    )
    .fetch_all(pool))
}
