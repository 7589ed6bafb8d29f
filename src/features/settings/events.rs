//! Events of settings changes (see `platform::events`).

use serde::{Deserialize, Serialize};

use crate::platform::events::DomainEvent;

/// What every page shows of the site (title, author, icons, theme, ...)
/// changed: pages cached anywhere are stale.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteSettingsChanged {
    /// The settings version that made the change.
    pub version: i64,
}

impl DomainEvent for SiteSettingsChanged {
    const NAME: &'static str = "site-settings.changed";
}
