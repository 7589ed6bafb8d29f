//! Builds the application: services (`AppState`), the router, and the
//! service around it that answers each connection. Tests build the real app through `build` and serve it on
//! `127.0.0.1:0` with `serve`.

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use futures_util::future::BoxFuture;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::Layer;

use crate::features;
use crate::platform::ai::AiClient;
use crate::platform::auth::{PasswordHasher, data as auth_data, secret::ServerSecret};
use crate::platform::cache::CacheService;
use crate::platform::clock::Clock;
use crate::platform::config::Config;
use crate::platform::db::Db;
use crate::platform::events::{EventBus, Subscribers};
use crate::platform::http::compression::CompressWhenAsked;
use crate::platform::http::front::FrontLayer;
use crate::platform::http::{Router, Routes, openapi};
use crate::platform::images::ImageWorkers;
use crate::platform::rate_limit::RateLimiter;
use crate::platform::redis::Redis;
use crate::platform::state::DbCtx;
use crate::platform::state::{AppServices, AppState};
use crate::platform::storage::Storage;
use crate::platform::telemetry;
use crate::platform::workflow::{EngineSettings, Registry, WorkflowEngine};

/// How often expired sessions are swept from the database.
const SESSION_SWEEP_INTERVAL: Duration = Duration::from_secs(3600);
const METRICS_UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

pub struct App {
    pub router: Arc<Router>,
    pub state: AppState,
}

/// What an app is made of besides its configuration. Tests swap parts.
pub struct Parts {
    pub clock: Clock,
    pub routes: Routes,
    pub workflows: Registry,
    pub subscribers: Subscribers,
}

impl Parts {
    /// The real app: system clock, every feature's routes and workflows.
    pub fn standard() -> Self {
        Parts { clock: Clock::system(), routes: features::routes(), workflows: features::workflows(), subscribers: features::subscribers() }
    }
}

/// Connects to the database (applying migrations) and builds the whole app.
pub async fn build(config: Config) -> anyhow::Result<App> {
    build_with(config, Parts::standard()).await
}

/// `build` with chosen parts (tests add probe endpoints and workflows, and move the clock).
pub async fn build_with(config: Config, parts: Parts) -> anyhow::Result<App> {
    let openapi = openapi::document(parts.routes.endpoints(), config.base_url.as_str());
    let state = connect(config, parts.clock, parts.workflows, parts.subscribers, openapi).await?;
    let router = Arc::new(parts.routes.into_router(state.clone()));
    Ok(App { router, state })
}

/// The services alone, for commands that need no HTTP (`flint worker`, `flint user`).
pub async fn services(config: Config, parts: Parts) -> anyhow::Result<AppState> {
    connect(config, parts.clock, parts.workflows, parts.subscribers, serde_json::Value::Null).await
}

async fn connect(
    config: Config,
    clock: Clock,
    workflows: Registry,
    subscribers: Subscribers,
    openapi: serde_json::Value,
) -> anyhow::Result<AppState> {
    crate::platform::ai::install_crypto_provider();
    let db = Db::connect(&config).await?;
    db.migrate().await?;
    let secret = ServerSecret::load(config.secret_key.as_ref(), &db, &clock).await.context("loading the server secret")?;
    let hashing_threads = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
    let tasks = TaskTracker::new();
    let redis = match &config.redis_url {
        Some(url) => Some(Redis::connect(url, &config.redis_prefix, config.redis_timeout)?),
        None => None,
    };
    let cache = match &redis {
        _ if !config.cache_enabled => {
            tracing::warn!("FLINT_CACHE=off: every read goes to the database");
            CacheService::disabled(tasks.clone())
        }
        Some(redis) => CacheService::redis(redis.clone(), config.cache_memory_limit, tasks.clone()),
        None => CacheService::memory(config.cache_memory_limit, tasks.clone()),
    };
    let limiter = match redis {
        Some(redis) => RateLimiter::redis(redis, config.rate_limit_failure),
        None => RateLimiter::memory(clock.clone(), config.rate_limit_max_buckets, config.rate_limit_failure),
    };
    let storage = Storage::open(&config.storage, config.s3_credentials.as_ref())?;
    storage.check().await?;
    let ai = match &config.ai {
        Some(ai) => Some(AiClient::new(&ai.base_url, ai.api_key.clone(), &ai.model, Duration::from_secs(30))?),
        None => None,
    };
    let engine = WorkflowEngine::new(
        db.clone(),
        clock.clone(),
        workflows,
        EngineSettings { workers: config.workflow_workers, lease: config.workflow_lease, retention: config.workflow_retention },
    );
    let (theme, problems) = crate::platform::web::Theme::load(config.theme_dir.as_deref());
    for problem in &problems {
        tracing::error!(
            file = %problem.file.display(),
            line = problem.line,
            reason = %problem.reason,
            "a theme template does not parse ({problem}); the embedded one is used instead"
        );
    }
    if !theme.overridden().is_empty() {
        tracing::info!(templates = ?theme.overridden(), "theme templates from FLINT_THEME_DIR");
    }
    let state = AppState::new(AppServices {
        events: EventBus::new(subscribers, engine.clone(), db.clone()),
        workflows: engine.clone(),
        batches: crate::platform::batch::Batches::new(),
        images: ImageWorkers::new(config.media.resize_workers, config.media.memory_cache),
        logins: crate::platform::auth::external::LoginProviders::new(&config),
        theme,
        config,
        db,
        cache,
        limiter,
        storage,
        ai,
        clock,
        passwords: PasswordHasher::new(hashing_threads),
        secret,
        tasks,
        metrics: telemetry::metrics_handle(),
        openapi: std::sync::Arc::new(openapi),
    });
    engine.attach(state.clone());
    Ok(state)
}

/// The service each connection is answered by: compression outside, then
/// the front door (request id, peer address, metrics, body limit, timeout,
/// panics, error envelope) around the routing table.
struct ConnectionService {
    service: CompressWhenAsked,
    activity: Arc<Activity>,
}

/// What a connection's watchdog reads: the requests being answered, and
/// when the last one started or ended. Kept with two atomic stores per
/// request: hyper's own header timeout re-arms a timer for every request,
/// which cost about 8% of cached-read throughput in an A/B.
struct Activity {
    in_flight: AtomicUsize,
    /// Milliseconds from `born` to the last start or end of a request.
    last: AtomicU64,
    born: std::time::Instant,
}

impl Activity {
    fn new() -> Self {
        Activity { in_flight: AtomicUsize::new(0), last: AtomicU64::new(0), born: std::time::Instant::now() }
    }

    fn touch(&self) {
        self.last.store(self.born.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// How long no request has been started or answered while none is in flight.
    fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let now = self.born.elapsed().as_millis() as u64;
        Some(Duration::from_millis(now.saturating_sub(self.last.load(Ordering::Relaxed))))
    }
}

/// Counts a request as in flight until its answer is produced.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.touch();
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The answer to one request, holding its [`InFlight`] until it is ready.
struct Tracked {
    answer: BoxFuture<'static, Result<Response, Infallible>>,
    _in_flight: InFlight,
}

impl Future for Tracked {
    type Output = Result<Response, Infallible>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        self.answer.as_mut().poll(cx)
    }
}

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response;
    type Error = Infallible;
    type Future = Tracked;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = InFlight::start(&self.activity);
        Tracked { answer: self.service.answer(request.map(Body::new)), _in_flight: in_flight }
    }
}

/// Resolves once the connection has gone `timeout` without a request being
/// started or answered (a client still sending headers, or idle between
/// requests), checking a few times per timeout.
async fn silent_for(activity: &Activity, timeout: Duration) {
    let mut check = tokio::time::interval((timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(1)));
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        check.tick().await;
        if activity.idle_for().is_some_and(|idle| idle >= timeout) {
            return;
        }
    }
}

/// Serves until `shutdown` completes, then stops accepting, lets in-flight
/// requests and tracked background tasks finish (up to
/// `FLINT_SHUTDOWN_TIMEOUT`), and closes the database.
///
/// Connections are served by hyper's HTTP/1.1 server directly rather than
/// through `axum::serve`, which probes every connection for HTTP/2, wraps
/// its reads, and clones and maps the whole service stack for every request.
pub async fn serve(app: App, listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let App { router, state } = app;
    let stopping = CancellationToken::new();
    let grace = state.config.shutdown_timeout;

    state.tasks.spawn(sweep_expired_sessions(state.clone(), stopping.clone()));
    state.tasks.spawn(drain_metrics(state.clone(), stopping.clone()));
    state.workflows.spawn_workers(&state.tasks, stopping.clone());

    let trigger = stopping.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight requests");
        trigger.cancel();
    });

    let front = FrontLayer { timeout: state.config.request_timeout, peer: None };
    let connections = GracefulShutdown::new();
    // Each open connection holds a permit: at the cap, accepting waits (the
    // kernel's backlog holds newcomers) instead of running out of file
    // descriptors, which the database and the workers need too.
    let slots = Arc::new(Semaphore::new(state.config.max_connections));
    let http1 = hyper::server::conn::http1::Builder::new();
    let header_timeout = state.config.header_timeout;
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = stopping.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = stopping.cancelled() => break,
        };
        let activity = Arc::new(Activity::new());
        let service = ConnectionService {
            service: CompressWhenAsked::new(FrontLayer { peer: Some(peer), ..front }.layer(router.clone())),
            activity: activity.clone(),
        };
        let connection = connections.watch(http1.serve_connection(TokioIo::new(stream), service));
        let stopping = stopping.clone();
        tokio::spawn(async move {
            let _slot = slot;
            tokio::pin!(connection);
            let result = tokio::select! {
                result = &mut connection => result,
                // Slow or silent clients (slowloris) and idle kept-alive
                // connections are closed after the header timeout.
                () = silent_for(&activity, header_timeout) => return,
                // At shutdown a connection with no request being answered
                // (idle, or still sending headers) is closed at once rather
                // than held open until its header timeout.
                () = stopping.cancelled() => match tokio::time::timeout(Duration::from_millis(50), &mut connection).await {
                    Ok(result) => result,
                    Err(_) if activity.idle_for().is_some() => return,
                    Err(_) => connection.await,
                },
            };
            if let Err(error) = result {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = connections.shutdown() => {}
        () = tokio::time::sleep(grace) => tracing::warn!(?grace, "in-flight requests did not finish in time; closing them"),
    }

    state.tasks.close();
    if tokio::time::timeout(grace, state.tasks.wait()).await.is_err() {
        tracing::warn!(?grace, "background tasks did not finish in time");
    }
    state.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// A failed `accept`: the peer gave up (nothing to do), or the process is
/// out of file descriptors or memory, when accepting again at once would
/// spin: wait a second for connections to close.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(error.kind(), ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset) {
        return;
    }
    tracing::error!(%error, "cannot accept connections; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Runs workflow workers (no HTTP) until `shutdown` completes, then lets the
/// runs in flight finish (up to `FLINT_SHUTDOWN_TIMEOUT`).
pub async fn work(state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    anyhow::ensure!(state.config.workflow_workers > 0, "FLINT_WORKFLOW_WORKERS is 0: a worker process needs at least one worker");
    let stopping = CancellationToken::new();
    state.tasks.spawn(drain_metrics(state.clone(), stopping.clone()));
    state.workflows.spawn_workers(&state.tasks, stopping.clone());
    shutdown.await;
    tracing::info!("shutting down: finishing workflow runs in flight");
    stopping.cancel();
    state.tasks.close();
    if tokio::time::timeout(state.config.shutdown_timeout, state.tasks.wait()).await.is_err() {
        tracing::warn!("workflow runs did not finish in time; they resume when their leases expire");
    }
    state.db.close().await;
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

/// Folds recorded histogram samples into their buckets. The Prometheus
/// recorder keeps every raw sample until this runs (a scrape also does it), so
/// without it a process nobody scrapes grows by 8 bytes per request.
async fn drain_metrics(state: AppState, stopping: CancellationToken) {
    let mut interval = tokio::time::interval(METRICS_UPKEEP_INTERVAL);
    loop {
        tokio::select! {
            () = stopping.cancelled() => return,
            _ = interval.tick() => state.metrics.run_upkeep(),
        }
    }
}

async fn sweep_expired_sessions(state: AppState, stopping: CancellationToken) {
    let mut interval = tokio::time::interval(SESSION_SWEEP_INTERVAL);
    loop {
        tokio::select! {
            () = stopping.cancelled() => return,
            _ = interval.tick() => {}
        }
        match auth_data::delete_expired_sessions(&state.db, state.clock.now_ms()).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "expired sessions removed"),
            Err(error) => tracing::warn!(%error, "could not remove expired sessions"),
        }
        match crate::features::accounts::service::delete_expired_links(&DbCtx(state.clone())).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "expired account links and sign-in attempts removed"),
            Err(error) => tracing::warn!(error = %error, "could not remove expired account links"),
        }
        // Delivery records live as long as the finished runs that made them.
        let before = state.clock.now_ms() - state.config.workflow_retention.as_millis() as i64;
        if let Err(error) = state.events.prune(before).await {
            tracing::warn!(%error, "could not prune event delivery records");
        }
        if let Err(error) = crate::features::notifications::service::prune(&DbCtx(state.clone()), before).await {
            tracing::warn!(%error, "could not prune the notification ledger");
        }
    }
}
