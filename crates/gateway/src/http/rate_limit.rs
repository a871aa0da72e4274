//! Token-bucket rate limits per key (a tenant or a user): `per_minute` requests a minute,
//! with bursts up to the same number. Idle buckets are dropped after two minutes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::sync::Cache;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// A set of token buckets, one per key.
#[derive(Clone)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: Cache<String, Arc<Mutex<Bucket>>>,
}

impl RateLimiter {
    /// A limiter of `per_minute` requests a minute per key.
    pub fn new(per_minute: u32) -> Self {
        RateLimiter { per_minute: per_minute.max(1), buckets: Cache::builder().time_to_idle(Duration::from_secs(120)).max_capacity(1_000_000).build() }
    }

    /// The configured requests per minute.
    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// Takes one token for `key` at `now`, or says how long until one is available.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(self.per_minute);
        let bucket = self.buckets.get_with_by_ref(key, || Arc::new(Mutex::new(Bucket { tokens: capacity, updated: now })));
        let mut b = match bucket.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        let per_second = capacity / 60.0;
        let elapsed = now.saturating_duration_since(b.updated).as_secs_f64();
        b.tokens = (b.tokens + elapsed * per_second).min(capacity);
        b.updated = now.max(b.updated);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / per_second))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_then_refills_at_the_rate() {
        let l = RateLimiter::new(60);
        let t0 = Instant::now();
        for _ in 0..60 {
            l.check("t", t0).unwrap();
        }
        let wait = l.check("t", t0).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1), "{wait:?}");
        assert!(l.check("other", t0).is_ok(), "keys are independent");
        assert!(l.check("t", t0 + Duration::from_millis(1010)).is_ok());
        assert!(l.check("t", t0 + Duration::from_millis(1020)).is_err());
    }
}
