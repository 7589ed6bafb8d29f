//! In-process buckets: sharded maps behind short-held locks. Buckets that
//! have refilled are dropped (absent means full), and each shard is capped,
//! so a flood of distinct clients cannot grow memory without bound.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

use super::bucket::{Bucket, Decision, Limit, decide, is_full};

const SHARDS: usize = 32;

pub struct MemoryLimiter {
    shards: Vec<Mutex<HashMap<String, Stored>>>,
    hasher: RandomState,
    max_per_shard: usize,
}

struct Stored {
    bucket: Bucket,
    limit: Limit,
}

impl MemoryLimiter {
    /// Holds at most about `max_buckets` partially drained buckets.
    pub fn new(max_buckets: usize) -> Self {
        MemoryLimiter {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            max_per_shard: (max_buckets / SHARDS).max(8),
        }
    }

    pub fn check(&self, id: &str, limit: Limit, now_ms: i64) -> Decision {
        let shard = &self.shards[(self.hasher.hash_one(id) as usize) % SHARDS];
        let mut buckets = shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (decision, next) = decide(buckets.get(id).map(|s| s.bucket), now_ms, limit);
        if let Some(bucket) = next {
            if !buckets.contains_key(id) && buckets.len() >= self.max_per_shard {
                make_room(&mut buckets, now_ms, self.max_per_shard);
            }
            buckets.insert(id.to_owned(), Stored { bucket, limit });
        }
        decision
    }

    /// Buckets currently held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Drops every refilled bucket; if the shard is still full, the bucket that
/// has been idle longest (the closest to full) goes too.
fn make_room(buckets: &mut HashMap<String, Stored>, now_ms: i64, max: usize) {
    buckets.retain(|_, stored| !is_full(&stored.bucket, now_ms, stored.limit));
    if buckets.len() >= max
        && let Some(oldest) = buckets.iter().min_by_key(|(_, s)| s.bucket.updated_ms).map(|(k, _)| k.clone())
    {
        buckets.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_stays_bounded_under_a_flood() {
        let limiter = MemoryLimiter::new(1_000);
        let limit = Limit::per(5, "1h").unwrap();
        for i in 0..100_000 {
            limiter.check(&format!("client-{i}"), limit, 0);
        }
        assert!(limiter.len() <= 1_000 + SHARDS, "held {}", limiter.len());
    }

    #[test]
    fn refilled_buckets_make_room_first() {
        let limiter = MemoryLimiter::new(SHARDS * 8);
        let limit = Limit::per(1, "1s").unwrap();
        for i in 0..SHARDS * 8 {
            limiter.check(&format!("old-{i}"), limit, 0);
        }
        // A second later every old bucket is full again and is dropped on demand.
        limiter.check("busy", Limit::per(3, "1h").unwrap(), 5_000);
        limiter.check("busy", Limit::per(3, "1h").unwrap(), 5_000);
        let decision = limiter.check("busy", Limit::per(3, "1h").unwrap(), 5_000);
        assert_eq!(decision.remaining, 0, "the busy client's bucket was kept");
    }
}
