//! Events of friend links (see `platform::events`): notifications subscribes.

use serde::{Deserialize, Serialize};

use crate::platform::events::DomainEvent;

use super::schema::FriendLink;

/// A reader asked to be linked.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FriendLinkSubmitted {
    pub link: FriendLink,
    pub submitter_name: String,
}

impl DomainEvent for FriendLinkSubmitted {
    const NAME: &'static str = "friend-link.submitted";
}

/// An admin decided on a link (`approved` or `rejected` is in its status).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FriendLinkDecided {
    pub link: FriendLink,
}

impl DomainEvent for FriendLinkDecided {
    const NAME: &'static str = "friend-link.decided";
}
