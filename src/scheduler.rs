//! When is a feed polled next? [`next_check`] is a pure function of the poll's outcome, the
//! feed's settings and the current time; the daemon persists its answer and the reason.
//!
//! This version: after a success, the feed's `interval` (else `default_interval`), clamped to
//! `[min_interval, max_interval]`; after a failure, capped exponential backoff from the same base
//! (base × 2^(errors-1), at most `max_interval`), so a broken feed keeps being probed at the cap
//! and is never abandoned. Publisher signals (ttl, Cache-Control, Retry-After), adaptive
//! intervals and jitter refine this in the scheduling issue.

use std::time::Duration;

use crate::config::FetchConfig;
use crate::model::Timestamp;

/// How the poll went, as far as scheduling cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollOutcome {
    Success,
    /// The poll failed; `consecutive_errors` counts this failure too (>= 1).
    Failure {
        consecutive_errors: u32,
    },
}

/// Why the next poll is when it is (stored as `feeds.next_poll_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextReason {
    Interval,
    DefaultInterval,
    MinInterval,
    MaxInterval,
    Backoff,
}

impl NextReason {
    pub fn as_str(self) -> &'static str {
        match self {
            NextReason::Interval => "interval",
            NextReason::DefaultInterval => "default_interval",
            NextReason::MinInterval => "min_interval",
            NextReason::MaxInterval => "max_interval",
            NextReason::Backoff => "backoff",
        }
    }
}

/// The scheduling part of `[fetch]`.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub default_interval: Duration,
    pub min_interval: Duration,
    pub max_interval: Duration,
}

impl From<&FetchConfig> for Policy {
    fn from(f: &FetchConfig) -> Self {
        Policy {
            default_interval: f.default_interval,
            min_interval: f.min_interval,
            max_interval: f.max_interval,
        }
    }
}

/// The delay until the next poll and its reason.
pub fn next_delay(
    policy: &Policy,
    feed_interval: Option<Duration>,
    outcome: PollOutcome,
) -> (Duration, NextReason) {
    let (base, reason) = match feed_interval {
        Some(i) => (i, NextReason::Interval),
        None => (policy.default_interval, NextReason::DefaultInterval),
    };
    let (delay, reason) = match outcome {
        PollOutcome::Success => (base, reason),
        PollOutcome::Failure { consecutive_errors } => {
            let exp = consecutive_errors.saturating_sub(1).min(20);
            (base.saturating_mul(1u32 << exp), NextReason::Backoff)
        }
    };
    if delay < policy.min_interval {
        (policy.min_interval, NextReason::MinInterval)
    } else if delay > policy.max_interval {
        (policy.max_interval, NextReason::MaxInterval)
    } else {
        (delay, reason)
    }
}

/// The instant of the next poll and its reason.
pub fn next_check(
    now: Timestamp,
    policy: &Policy,
    feed_interval: Option<Duration>,
    outcome: PollOutcome,
) -> (Timestamp, NextReason) {
    let (delay, reason) = next_delay(policy, feed_interval, outcome);
    let delay = chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
    let at = now.0.checked_add_signed(delay).unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    (Timestamp(at), reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN: Duration = Duration::from_secs(300);
    const MAX: Duration = Duration::from_secs(86_400);

    fn policy() -> Policy {
        Policy { default_interval: Duration::from_secs(1800), min_interval: MIN, max_interval: MAX }
    }

    #[test]
    fn success_uses_feed_interval_else_default() {
        assert_eq!(
            next_delay(&policy(), Some(Duration::from_secs(600)), PollOutcome::Success),
            (Duration::from_secs(600), NextReason::Interval)
        );
        assert_eq!(
            next_delay(&policy(), None, PollOutcome::Success),
            (Duration::from_secs(1800), NextReason::DefaultInterval)
        );
        assert_eq!(
            next_delay(&policy(), Some(Duration::from_secs(1)), PollOutcome::Success).1,
            NextReason::MinInterval
        );
    }

    #[test]
    fn failures_back_off_exponentially_up_to_the_cap() {
        let d = |n| next_delay(&policy(), None, PollOutcome::Failure { consecutive_errors: n });
        assert_eq!(d(1), (Duration::from_secs(1800), NextReason::Backoff));
        assert_eq!(d(2), (Duration::from_secs(3600), NextReason::Backoff));
        assert_eq!(d(3), (Duration::from_secs(7200), NextReason::Backoff));
        assert_eq!(d(50), (MAX, NextReason::MaxInterval));
    }

    proptest! {
        #[test]
        fn delay_is_always_within_bounds(interval in proptest::option::of(0u64..10_000_000), errors in 0u32..1000, ok: bool) {
            let outcome = if ok { PollOutcome::Success } else { PollOutcome::Failure { consecutive_errors: errors } };
            let (d, _) = next_delay(&policy(), interval.map(Duration::from_secs), outcome);
            prop_assert!(d >= MIN && d <= MAX);
        }
    }
}
