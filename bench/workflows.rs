//! Benchmark: completed 3-step workflow runs per second, on SQLite and on
//! PostgreSQL, with 1 and 4 workers. Not a test; run it with
//!
//!     cargo bench --bench workflows
//!     FLINT_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench workflows
//!
//! (PostgreSQL: the URL's server must let it create and drop a database; the
//! default is the local test server.) Runs are queued first, then the clock
//! starts when the workers do and stops when the last run has completed.

use std::time::{Duration, Instant};

use flint::app::{self, Parts};
use flint::platform::clock::Clock;
use flint::platform::config::Config;
use flint::platform::http::Routes;
use flint::platform::workflow::{CreateOptions, Event, Registry, RetryPolicy, Step, Workflow};
use tokio_util::sync::CancellationToken;

const RUNS: usize = 600;

struct ThreeSteps;

impl Workflow for ThreeSteps {
    const NAME: &'static str = "bench.three-steps";
    type Params = u32;
    type Output = u32;

    async fn run(&self, event: Event<u32>, step: Step) -> anyhow::Result<u32> {
        let mut total = event.params;
        for i in 0..3u32 {
            total += step.run(&format!("s{i}"), RetryPolicy::none(), || async move { Ok::<_, String>(i) }).await?;
        }
        Ok(total)
    }
}

async fn measure(database_url: &str, workers: usize) -> anyhow::Result<f64> {
    let workers_text = workers.to_string();
    let config = Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(database_url.to_owned()),
        "FLINT_WORKFLOW_WORKERS" => Some(workers_text.clone()),
        "FLINT_LOG" => Some("warn".to_owned()),
        _ => None,
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let parts = Parts {
        clock: Clock::system(),
        routes: Routes::new(),
        workflows: Registry::new().register(ThreeSteps),
        subscribers: Default::default(),
    };
    let state = app::services(config, parts).await?;
    for i in 0..RUNS {
        state.workflows.create::<ThreeSteps>(&(i as u32), CreateOptions::default()).await?;
    }
    let stopping = CancellationToken::new();
    let started = Instant::now();
    state.workflows.spawn_workers(&state.tasks, stopping.clone());
    loop {
        if state.workflows.count_by_status().await?.get("completed").copied().unwrap_or(0) as usize == RUNS {
            break;
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(300), "runs did not complete");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    stopping.cancel();
    state.tasks.close();
    state.tasks.wait().await;
    state.db.close().await;
    Ok(RUNS as f64 / elapsed.as_secs_f64())
}

async fn postgres_database(admin_url: &str, name: &str, create: bool) -> anyhow::Result<String> {
    use sqlx::{Connection, Executor};
    let mut admin = sqlx::PgConnection::connect(admin_url).await?;
    let sql = if create { format!("CREATE DATABASE {name}") } else { format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)") };
    admin.execute(sqlx::AssertSqlSafe(sql)).await?;
    let mut url = url::Url::parse(admin_url)?;
    url.set_path(name);
    Ok(url.to_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for workers in [1, 4] {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        rows.push(("sqlite", workers, measure(&url, workers).await?));
    }
    let admin = std::env::var("FLINT_BENCH_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    for workers in [1, 4] {
        let name = format!("flint_bench_{}", uuid::Uuid::now_v7().simple());
        match postgres_database(&admin, &name, true).await {
            Ok(url) => {
                let result = measure(&url, workers).await;
                postgres_database(&admin, &name, false).await?;
                rows.push(("postgres", workers, result?));
            }
            Err(error) => {
                eprintln!("PostgreSQL at {admin} unavailable ({error}): SQLite only");
                break;
            }
        }
    }
    println!("| backend | workers | completed 3-step runs/s |");
    println!("|---|---:|---:|");
    for (backend, workers, rate) in rows {
        println!("| {backend} | {workers} | {rate:.0} |");
    }
    Ok(())
}
