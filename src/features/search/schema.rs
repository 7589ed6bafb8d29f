//! Search inputs, results and cache keys.

use std::time::Duration;

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::platform::cache::{CachedBody, Key, Namespace};
use crate::platform::clock::Timestamp;

/// Every cached result list; bumped on every index change.
pub const SEARCH: Namespace = Namespace::versioned("search");

/// Results as the JSON body of a `Vec<SearchResult>`.
pub fn results_key(terms: &[String], limit: u32) -> Key<CachedBody> {
    Key::body(SEARCH, Duration::from_secs(86_400)).part(terms.join(" ")).part(limit)
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchInput {
    /// 1-200 characters.
    #[garde(length(chars, min = 1, max = 200))]
    pub q: String,
    /// 1-25, default 10.
    #[garde(range(min = 1, max = 25))]
    pub limit: Option<u32>,
    /// The original's index version parameter; accepted and ignored.
    #[garde(skip)]
    pub v: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchPost {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub tags: Vec<String>,
}

/// Text with the matched terms in `<mark>` and everything else HTML-escaped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Matches {
    pub title: String,
    pub summary: String,
    pub content_snippet: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult {
    pub post: SearchPost,
    /// Higher is better (BM25 on SQLite, ts_rank_cd on PostgreSQL).
    pub score: f64,
    pub matches: Matches,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IndexVersion {
    pub version: i64,
    pub updated_at: Option<Timestamp>,
    pub documents: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RebuildOutput {
    pub documents: usize,
}
