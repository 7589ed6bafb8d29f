//! The comment moderation workflow (spec §9.1, issue 20): the AI reviewer's
//! verdict on a comment that passed the rule check, retried, with a failure
//! meaning manual review, never publication; and a status write that an
//! admin's decision made meanwhile wins over.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::platform::ai::ModerationVerdict;
use crate::platform::state::DbCtx;
use crate::platform::workflow::{Backoff, Event, RetryPolicy, Step, Workflow};

use super::service;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModerateParams {
    pub comment_id: i64,
}

pub struct ModerateComment;

impl Workflow for ModerateComment {
    const NAME: &'static str = "comment-moderation";
    type Params = ModerateParams;
    type Output = &'static str;

    async fn run(&self, event: Event<ModerateParams>, step: Step) -> anyhow::Result<&'static str> {
        let (app, id) = (DbCtx(event.app), event.params.comment_id);
        let request = step.run("fetch comment", RetryPolicy::default(), || service::moderation_request(&app, id)).await?;
        let Some(request) = request else { return Ok("no longer waiting") };
        // The spec's retries (3, from 5 s, doubling); then an admin decides.
        let retry = RetryPolicy::new(3, Duration::from_secs(5), Backoff::Exponential);
        let verdict = match step.run("moderate comment", retry, || service::ask_ai(&app, &request)).await {
            Ok(verdict) => verdict,
            Err(failed) => {
                tracing::warn!(comment_id = id, error = %failed.error, "AI moderation failed; the comment waits for an admin");
                ModerationVerdict { safe: false, reason: "AI moderation is unavailable: waiting for manual review".into() }
            }
        };
        let applied = step.run("update comment status", RetryPolicy::default(), || service::apply_verdict(&app, id, &verdict)).await?;
        Ok(match (applied, verdict.safe) {
            (false, _) => "decided by an admin first",
            (true, true) => "published",
            (true, false) => "pending review",
        })
    }
}
