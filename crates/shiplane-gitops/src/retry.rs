//! The retry budget for pushing: a total time limit, a bound on network failures, and capped
//! exponential backoff with full jitter so that writers who lost the same race do not collide
//! again in lockstep.
//!
//! Why lost races are bounded by time and not by a count: twenty promotions of different
//! lanes into one repository conflict on nothing but the branch head, and each lost race means
//! someone else landed. A small attempt count turned that progress into failures ("gave up
//! after 8 attempts in 3.6 s"); the time budget lets every writer land while still ending.
//!
//! Pure except for the jitter's seed; knows nothing about git.

use std::hash::{BuildHasher as _, Hasher as _};
use std::time::Duration;

/// How hard [`crate::GitopsRepo::apply`] tries before giving up on retryable errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts that may fail on the network (an unreachable remote, a dropped connection)
    /// before giving up, at least 1. A lost race for the branch (non-fast-forward) does not
    /// count: those are retried until `total_timeout`.
    pub max_attempts: u32,
    /// The backoff before the second attempt is drawn from `0..=base_delay`; it doubles per
    /// attempt up to `max_delay`.
    pub base_delay: Duration,
    /// The cap on one backoff.
    pub max_delay: Duration,
    /// No new attempt starts once this much time has passed since the first.
    pub total_timeout: Duration,
}

impl Default for RetryPolicy {
    /// 8 network failures, 50 ms doubling to at most 2 s, 60 s in total.
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
            total_timeout: Duration::from_mins(1),
        }
    }
}

impl RetryPolicy {
    /// The upper bound of the backoff before attempt `next_attempt` (2 for the first retry).
    pub(crate) fn ceiling(&self, next_attempt: u32) -> Duration {
        let doublings = next_attempt.saturating_sub(2).min(30);
        self.base_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_delay)
    }
}

/// Draws jittered delays; seeded per instance from the standard library's random hasher keys,
/// so no random-number dependency is needed for something this unimportant.
pub(crate) struct Jitter {
    state: u64,
}

impl Jitter {
    pub(crate) fn new() -> Jitter {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        Jitter {
            state: hasher.finish() | 1,
        }
    }

    /// A delay drawn uniformly from `0..=ceiling` (full jitter).
    pub(crate) fn draw(&mut self, ceiling: Duration) -> Duration {
        // xorshift64: plenty for spreading out retries.
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.state % (nanos + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_and_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.ceiling(2), Duration::from_millis(50));
        assert_eq!(p.ceiling(3), Duration::from_millis(100));
        assert_eq!(p.ceiling(6), Duration::from_millis(800));
        assert_eq!(p.ceiling(7), Duration::from_millis(1600));
        assert_eq!(p.ceiling(8), Duration::from_secs(2));
        assert_eq!(p.ceiling(100), Duration::from_secs(2));
    }

    #[test]
    fn jitter_stays_within_the_ceiling() {
        let mut j = Jitter::new();
        for _ in 0..1000 {
            assert!(j.draw(Duration::from_millis(10)) <= Duration::from_millis(10));
        }
        assert_eq!(j.draw(Duration::ZERO), Duration::ZERO);
    }
}
