//! Dashboard output (spec §8.9).

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::platform::cache::{Key, Namespace};
use crate::platform::clock::Timestamp;

/// The traffic figures (spec: `dashboard:traffic`, 3 hours); `refreshDashboardCache` bumps it.
pub const DASHBOARD: Namespace = Namespace::versioned("dashboard");

pub fn traffic_key() -> Key<BTreeMap<String, RangeTraffic>> {
    Key::json(DASHBOARD, Duration::from_secs(3 * 3600)).part("traffic")
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DashboardStats {
    pub stats: Counts,
    /// The 10 latest: comments, published posts and new accounts.
    pub activities: Vec<Activity>,
    /// By range: `24h`, `7d`, `30d`, `90d`.
    pub traffic_by_range: BTreeMap<String, RangeTraffic>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Comments waiting for an admin (not those waiting for the AI).
    pub pending_comments: i64,
    pub published_posts: i64,
    pub drafts: i64,
    /// Bytes of stored media.
    pub media_size: i64,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActivityType {
    Comment,
    Post,
    User,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    #[serde(rename = "type")]
    pub kind: ActivityType,
    pub text: String,
    pub time: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_id: Option<i64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RangeTraffic {
    pub overview: Overview,
    /// Views by hour (24h) or by day, oldest first; `date` is the bucket's start.
    pub traffic: Vec<TrafficPoint>,
    /// The 5 most viewed posts of the range.
    pub top_pages: Vec<TopPage>,
    pub last_updated: Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    pub page_views: Compared,
    /// Distinct visitors (a visitor is distinct per day).
    pub visitors: Compared,
}

/// A figure and the same figure over the window before.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Compared {
    pub value: i64,
    pub prev: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct TrafficPoint {
    pub date: Timestamp,
    pub views: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct TopPage {
    pub slug: String,
    pub title: String,
    pub views: i64,
}
