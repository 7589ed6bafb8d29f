//! Events of tag changes that readers can see (see `platform::events`).

use serde::{Deserialize, Serialize};

use crate::platform::events::DomainEvent;

/// A tag's name changed: every public page that shows it is stale.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagRenamed {
    pub tag_id: i64,
    pub name: String,
}

impl DomainEvent for TagRenamed {
    const NAME: &'static str = "tag.renamed";
}

/// A tag was deleted with its links; `post_ids` are the posts that carried
/// it (editable or published) just before.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagDeleted {
    pub tag_id: i64,
    pub post_ids: Vec<i64>,
}

impl DomainEvent for TagDeleted {
    const NAME: &'static str = "tag.deleted";
}
