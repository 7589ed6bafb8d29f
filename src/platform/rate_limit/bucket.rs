//! The token bucket of the original (spec §3), as pure arithmetic: a bucket
//! starts full, refills continuously at `capacity / interval`, a request
//! takes `cost` tokens, and a denial changes nothing. The Redis script
//! computes exactly the same (see `redis.lua`).

use std::time::Duration;

/// `capacity` requests per `interval`, each costing `cost` tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub capacity: u32,
    pub interval: Duration,
    pub cost: u32,
}

impl Limit {
    pub const fn new(capacity: u32, interval: Duration) -> Self {
        Limit { capacity, interval, cost: 1 }
    }

    /// `Limit::per(5, "1m")`, in the original's duration syntax.
    pub fn per(capacity: u32, interval: &str) -> Result<Self, String> {
        let interval = crate::platform::duration::parse_duration(interval)?;
        if capacity == 0 || interval.is_zero() {
            return Err("a limit needs a capacity and an interval above zero".into());
        }
        Ok(Limit::new(capacity, interval))
    }

    pub fn with_cost(self, cost: u32) -> Self {
        Limit { cost, ..self }
    }

    pub fn interval_ms(self) -> f64 {
        self.interval.as_millis() as f64
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    pub tokens: f64,
    /// When `tokens` was last computed (epoch ms).
    pub updated_ms: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Whole tokens left after this request (or at the time of the denial).
    pub remaining: u32,
    /// How long until the request could succeed; `None` when it never can
    /// (cost above capacity). Zero when allowed.
    pub retry_after_ms: Option<u64>,
    /// How long until the bucket is full again.
    pub reset_after_ms: u64,
}

/// Decides one request. Returns the decision and, when allowed, the bucket to store.
pub fn decide(bucket: Option<Bucket>, now_ms: i64, limit: Limit) -> (Decision, Option<Bucket>) {
    let capacity = f64::from(limit.capacity);
    let interval = limit.interval_ms();
    let cost = f64::from(limit.cost);
    let current = match bucket {
        Some(b) => (b.tokens + (now_ms - b.updated_ms).max(0) as f64 * capacity / interval).min(capacity),
        None => capacity,
    };
    // Multiplying before dividing keeps the spec's example exact (5/1m: 12000 ms).
    let until_full = ((capacity - current) * interval / capacity).ceil() as u64;
    if limit.cost > limit.capacity {
        return (Decision { allowed: false, remaining: current.floor() as u32, retry_after_ms: None, reset_after_ms: until_full }, None);
    }
    if current < cost {
        let retry = ((cost - current) * interval / capacity).ceil() as u64;
        return (
            Decision { allowed: false, remaining: current.floor() as u32, retry_after_ms: Some(retry), reset_after_ms: until_full },
            None,
        );
    }
    let left = current - cost;
    let reset = ((capacity - left) * interval / capacity).ceil() as u64;
    (
        Decision { allowed: true, remaining: left.floor() as u32, retry_after_ms: Some(0), reset_after_ms: reset },
        Some(Bucket { tokens: left, updated_ms: now_ms }),
    )
}

/// A stored bucket that has refilled completely is the same as no bucket.
pub fn is_full(bucket: &Bucket, now_ms: i64, limit: Limit) -> bool {
    decide(Some(*bucket), now_ms, Limit { cost: 0, ..limit }).0.reset_after_ms == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(limit: Limit, times: &[i64]) -> Vec<Decision> {
        let mut bucket = None;
        times
            .iter()
            .map(|&t| {
                let (decision, next) = decide(bucket, t, limit);
                if next.is_some() {
                    bucket = next;
                }
                decision
            })
            .collect()
    }

    #[test]
    fn the_spec_example_five_per_minute() {
        let limit = Limit::per(5, "1m").unwrap();
        let d = run(limit, &[0, 0, 0, 0, 0, 0]);
        assert_eq!(d[0], Decision { allowed: true, remaining: 4, retry_after_ms: Some(0), reset_after_ms: 12_000 });
        assert!(d[..5].iter().all(|d| d.allowed));
        assert_eq!(d[5], Decision { allowed: false, remaining: 0, retry_after_ms: Some(12_000), reset_after_ms: 60_000 });
        let later = run(limit, &[0, 0, 0, 0, 0, 11_900, 12_100]);
        assert!(!later[5].allowed, "still denied after 11.9 s");
        assert!(later[6].allowed, "allowed after 12.1 s");
    }

    #[test]
    fn denials_do_not_consume() {
        let limit = Limit::per(1, "10s").unwrap();
        let d = run(limit, &[0, 1_000, 2_000, 3_000, 10_000]);
        assert!(d[0].allowed);
        assert!(!d[1].allowed && !d[2].allowed && !d[3].allowed);
        assert!(d[4].allowed, "the bucket refilled on time despite denials");
    }

    #[test]
    fn cost_above_capacity_is_never_allowed() {
        let (d, stored) = decide(None, 0, Limit::per(3, "1s").unwrap().with_cost(4));
        assert!(!d.allowed);
        assert_eq!(d.retry_after_ms, None);
        assert_eq!(stored, None);
    }

    #[test]
    fn custom_cost() {
        let limit = Limit::per(10, "10s").unwrap().with_cost(4);
        let d = run(limit, &[0, 0, 0]);
        assert_eq!((d[0].remaining, d[1].remaining), (6, 2));
        assert_eq!(d[2].retry_after_ms, Some(2_000));
    }

    #[test]
    fn full_buckets_are_recognised() {
        let limit = Limit::per(2, "1s").unwrap();
        let bucket = Bucket { tokens: 1.0, updated_ms: 0 };
        assert!(!is_full(&bucket, 100, limit));
        assert!(is_full(&bucket, 500, limit));
    }
}
