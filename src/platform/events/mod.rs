//! Domain events, delivered durably. May use: `platform::{db, clock,
//! workflow, state}`; the event types themselves live in the feature that
//! emits them (`features/<name>/events.rs`), and subscribers in the feature
//! that reacts.
//!
//! A change and its event are one transaction: [`EventBus::emit_in`] writes,
//! in the caller's transaction, one `event.deliver` workflow run per
//! subscriber of the event (the outbox is the set of those runs, so there is
//! no second queue beside the workflow engine and no dispatcher to lose
//! rows). Each subscriber is then its own run with its own retry policy: a
//! crash before delivery loses nothing, and a failing subscriber delays only
//! itself. The delivery is one memoised step, so a subscriber that finished
//! is not called again when its run resumes; a subscriber interrupted
//! mid-call runs again (at least once), so subscribers are idempotent.
//!
//! Runs are written held ([`HOLD`]) and released by the emitter once it has
//! invalidated its own caches ([`EventBus::release`]): no subscriber (a CDN
//! purge, say) runs before the emitter's readers see the change. A crash
//! between the commit and the release only delays delivery by the hold.

mod data;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::platform::db::{Db, Tx};
use crate::platform::state::{AppState, DbCtx};
use crate::platform::workflow::{CreateOptions, EngineError, Event, RetryPolicy, Step, Workflow, WorkflowEngine};

/// How long a delivery waits for its emitter's release before it runs anyway.
pub const HOLD: Duration = Duration::from_secs(10);

/// A fact about a change, with a stable name (stored with every delivery:
/// never rename an event that may have deliveries pending).
pub trait DomainEvent: Serialize + DeserializeOwned + Send + Sync + 'static {
    const NAME: &'static str;
}

/// Reacts to one event type. Idempotent: it may see an event again when its
/// process died during the call.
pub trait Subscriber: Send + Sync + 'static {
    type Event: DomainEvent;
    /// Stable and unique among subscribers (stored with deliveries).
    const NAME: &'static str;

    /// How a failing delivery is retried (the engine's default: 5 retries,
    /// 10 s apart and doubling).
    fn retry(&self) -> RetryPolicy {
        RetryPolicy::default()
    }

    fn handle(&self, ctx: &DbCtx, event: Self::Event) -> impl Future<Output = anyhow::Result<()>> + Send;
}

type BoxedDelivery = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

trait ErasedSubscriber: Send + Sync {
    fn retry(&self) -> RetryPolicy;
    fn deliver(&self, app: AppState, payload: serde_json::Value) -> BoxedDelivery;
}

struct Erased<S>(Arc<S>);

impl<S: Subscriber> ErasedSubscriber for Erased<S> {
    fn retry(&self) -> RetryPolicy {
        self.0.retry()
    }

    fn deliver(&self, app: AppState, payload: serde_json::Value) -> BoxedDelivery {
        let subscriber = self.0.clone();
        Box::pin(async move {
            let event: S::Event = serde_json::from_value(payload)
                .map_err(|e| anyhow::anyhow!("event {} does not decode for {}: {e}", S::Event::NAME, S::NAME))?;
            subscriber.handle(&DbCtx(app), event).await
        })
    }
}

/// Every subscriber of this process, by event (built in `features/mod.rs`).
#[derive(Clone, Default)]
pub struct Subscribers {
    by_event: HashMap<&'static str, Vec<&'static str>>,
    by_name: HashMap<&'static str, Arc<dyn ErasedSubscriber>>,
}

impl Subscribers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a subscriber. Panics on a duplicate name: a programming error
    /// found at start-up.
    pub fn subscribe<S: Subscriber>(mut self, subscriber: S) -> Self {
        let previous = self.by_name.insert(S::NAME, Arc::new(Erased(Arc::new(subscriber))));
        assert!(previous.is_none(), "subscriber {} registered twice", S::NAME);
        self.by_event.entry(S::Event::NAME).or_default().push(S::NAME);
        self
    }
}

/// What one emit wrote: the held delivery runs to release after the commit.
#[must_use = "release the deliveries once the change is committed and its caches invalidated"]
#[derive(Debug, Default)]
pub struct Emitted {
    runs: Vec<String>,
}

impl Emitted {
    pub fn join(mut self, other: Emitted) -> Emitted {
        self.runs.extend(other.runs);
        self
    }
}

/// Emits events and hands each to its subscribers.
#[derive(Clone)]
pub struct EventBus(Arc<BusInner>);

struct BusInner {
    subscribers: Subscribers,
    workflows: WorkflowEngine,
    db: Db,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliverParams {
    /// UUIDv7, one per emitted event (shared by its deliveries).
    pub event_id: String,
    pub event: String,
    pub subscriber: String,
    pub payload: serde_json::Value,
}

impl EventBus {
    pub fn new(subscribers: Subscribers, workflows: WorkflowEngine, db: Db) -> Self {
        EventBus(Arc::new(BusInner { subscribers, workflows, db }))
    }

    /// Writes `event`'s deliveries in the caller's transaction (held until
    /// [`EventBus::release`]). An event nobody subscribes to writes nothing.
    pub async fn emit_in<E: DomainEvent>(&self, tx: &mut Tx, event: &E) -> Result<Emitted, EngineError> {
        let Some(names) = self.0.subscribers.by_event.get(E::NAME) else { return Ok(Emitted::default()) };
        let payload = serde_json::to_value(event).map_err(|e| EngineError::Params(e.to_string()))?;
        let event_id = uuid::Uuid::now_v7().to_string();
        let mut runs = Vec::with_capacity(names.len());
        for name in names {
            let params = DeliverParams {
                event_id: event_id.clone(),
                event: E::NAME.to_owned(),
                subscriber: (*name).to_owned(),
                payload: payload.clone(),
            };
            let options = CreateOptions { key: Some(format!("event-{event_id}-{name}")), replace: false, delay: Some(HOLD) };
            runs.push(self.0.workflows.create_in::<Deliver>(tx, &params, options).await?.id);
        }
        Ok(Emitted { runs })
    }

    /// Emits `event` in a transaction of its own and releases it at once
    /// (for emitters whose change is already committed and invalidated).
    pub async fn emit<E: DomainEvent>(&self, event: &E) -> Result<(), EngineError> {
        let mut tx = self.0.db.begin().await?;
        let emitted = self.emit_in(&mut tx, event).await?;
        tx.commit().await?;
        self.release(emitted).await;
        Ok(())
    }

    /// Lets the deliveries run now. Failing here only delays them by the hold.
    pub async fn release(&self, emitted: Emitted) {
        if emitted.runs.is_empty() {
            return;
        }
        if let Err(error) = self.0.workflows.make_due(&emitted.runs).await {
            tracing::warn!(%error, runs = emitted.runs.len(), "could not release event deliveries; they run when their hold ends");
        }
    }

    /// Forgets delivery records older than `before` (epoch ms).
    pub async fn prune(&self, before: crate::platform::clock::Millis) -> sqlx::Result<u64> {
        data::prune(&self.0.db, before).await
    }
}

/// `event.deliver`: hands one event to one subscriber, as one memoised step
/// with the subscriber's retry policy, and records the delivery.
pub struct Deliver;

impl Workflow for Deliver {
    const NAME: &'static str = "event.deliver";
    type Params = DeliverParams;
    type Output = ();

    async fn run(&self, event: Event<DeliverParams>, step: Step) -> anyhow::Result<()> {
        let app = event.app;
        let p = event.params;
        let subscriber = app
            .events
            .0
            .subscribers
            .by_name
            .get(p.subscriber.as_str())
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no subscriber named {} is registered in this build", p.subscriber))?;
        let name = format!("deliver {} to {}", p.event, p.subscriber);
        step.run(&name, subscriber.retry(), || async {
            subscriber.deliver(app.clone(), p.payload.clone()).await.map_err(|e| format!("{e:#}"))?;
            data::record(&app.db, &p.event_id, &p.subscriber, app.clock.now_ms()).await.map_err(|e| e.to_string())
        })
        .await?;
        Ok(())
    }
}
