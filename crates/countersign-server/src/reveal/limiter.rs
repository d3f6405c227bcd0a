//! A per-key sliding-window limit (reveals per staff member per minute).
//! In memory, per server process: with N replicas the effective limit is N×;
//! a shared store is the step up when the server is replicated.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    max: usize,
    window: Duration,
    hits: Mutex<HashMap<uuid::Uuid, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(max: usize, window: Duration) -> Self {
        RateLimiter {
            max,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Records a hit for `key` and says whether it is within the limit.
    pub fn allow(&self, key: uuid::Uuid) -> bool {
        let now = Instant::now();
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        let q = hits.entry(key).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            q.pop_front();
        }
        if q.len() >= self.max {
            return false;
        }
        q.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_within_the_window() {
        let l = RateLimiter::new(2, Duration::from_secs(60));
        let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        assert!(l.allow(a) && l.allow(a));
        assert!(!l.allow(a));
        assert!(l.allow(b));
        let l = RateLimiter::new(1, Duration::ZERO);
        assert!(l.allow(a) && l.allow(a), "an empty window forgets at once");
    }
}
