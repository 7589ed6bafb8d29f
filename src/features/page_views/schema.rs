//! Page view types and inputs (spec §8.17).

use std::collections::BTreeMap;
use std::time::Duration;

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::platform::cache::{Key, Namespace};
use crate::platform::clock::Millis;

/// View counts and popular posts; bumped after each batch is written.
pub const VIEWS: Namespace = Namespace::versioned("page-views");

/// The day's visitor salt (kept only for its day and the next).
pub const VISITOR_SALT: Namespace = Namespace::plain("visitor-salt");

/// One view as queued.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageView {
    pub post_id: i64,
    pub visitor_hash: String,
    pub at: Millis,
}

pub fn counts_key(slugs: &str) -> Key<BTreeMap<String, i64>> {
    Key::json(VIEWS, Duration::from_secs(300)).part("counts").part(slugs)
}

pub fn popular_ids_key(limit: u32) -> Key<Vec<i64>> {
    Key::json(VIEWS, Duration::from_secs(3600)).part("popular").part(limit)
}

pub fn salt_key(day: &str) -> Key<String> {
    Key::json(VISITOR_SALT, Duration::from_secs(26 * 3600)).part(day)
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordInput {
    #[garde(range(min = 1))]
    #[schemars(range(min = 1))]
    pub post_id: i64,
}

const SLUG_LIST: &str = r"^[a-z0-9-]{1,200}(,[a-z0-9-]{1,200}){0,49}$";

fn slug_list(value: &str, _: &()) -> garde::Result {
    let slugs: Vec<&str> = value.split(',').collect();
    if slugs.len() > 50 {
        return Err(garde::Error::new("at most 50 slugs"));
    }
    if slugs.iter().any(|s| s.is_empty() || s.len() > 200 || !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
    {
        return Err(garde::Error::new("slugs are lowercase letters, digits and '-', separated by commas"));
    }
    Ok(())
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ViewCountsInput {
    /// Up to 50 post slugs, separated by commas (2,000 characters at most: it is a URL).
    #[garde(length(max = 2000), custom(slug_list))]
    #[schemars(length(min = 1, max = 2000), regex(pattern = SLUG_LIST))]
    pub slugs: String,
}

#[derive(Debug, Default, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PopularInput {
    /// 1-20, default 5.
    #[garde(range(min = 1, max = 20))]
    #[schemars(range(min = 1, max = 20))]
    pub limit: Option<u32>,
}
