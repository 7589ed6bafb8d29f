//! Events of editorial writes (see `platform::events`).

use serde::{Deserialize, Serialize};

use crate::platform::events::DomainEvent;

/// A post's editable state changed (fields, tags, or a restored revision).
/// Readers see nothing of it until the post is published again.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostEdited {
    pub post_id: i64,
}

impl DomainEvent for PostEdited {
    const NAME: &'static str = "post.edited";
}
