//! Queue messages (the original's Queues: email, webhook, page view,
//! auto-snapshot) as single-step workflow runs: a message is stored as a run,
//! delivered by one durable step, and retried with backoff when delivery
//! fails, surviving restarts like any run.

use std::marker::PhantomData;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Backoff, CreateOptions, Created, EngineError, Event, RetryPolicy, Step, Workflow, WorkflowEngine};
use crate::platform::state::AppState;

/// A message type and how it is handled.
pub trait QueueMessage: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The queue's name (stored with every message).
    const QUEUE: &'static str;

    /// The original retries queue messages 3 times; flint waits 5 s, then 10 s, then 20 s.
    fn retry() -> RetryPolicy {
        RetryPolicy::new(3, Duration::from_secs(5), Backoff::Exponential)
    }

    fn handle(self, app: AppState) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// The workflow that delivers messages of type `M`; register it with
/// `Registry::register(Queue::<M>::new())`.
pub struct Queue<M>(PhantomData<fn() -> M>);

impl<M> Queue<M> {
    pub fn new() -> Self {
        Queue(PhantomData)
    }
}

impl<M> Default for Queue<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: QueueMessage> Workflow for Queue<M> {
    const NAME: &'static str = M::QUEUE;
    type Params = M;
    type Output = ();

    async fn run(&self, event: Event<M>, step: Step) -> anyhow::Result<()> {
        let Event { params: message, app, .. } = event;
        step.run("deliver", M::retry(), || message.handle(app)).await?;
        Ok(())
    }
}

impl WorkflowEngine {
    /// Queues a message for delivery.
    pub async fn send<M: QueueMessage>(&self, message: &M) -> Result<Created, EngineError> {
        self.create::<Queue<M>>(message, CreateOptions::default()).await
    }
}
