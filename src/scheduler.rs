//! When is a feed polled next? [`next_check`] is a pure function of the poll's outcome, the
//! feed's settings, the publisher's signals, a jitter value and the current time; the daemon
//! persists its answer and the reason that decided it.
//!
//! The rule, in order:
//! 1. **Base**: the feed's `interval`; else, with `adaptive`, the median spacing of its latest
//!    entries ([`adaptive_interval`]); else `default_interval`. After a failure: capped
//!    exponential backoff from the base (base × 2^(errors-1)), so a broken feed keeps being probed
//!    at the cap and is never abandoned.
//! 2. **Publisher signals are lower bounds**: RSS `<ttl>` and `sy:updatePeriod`/`sy:updateFrequency`,
//!    `Cache-Control: max-age` / `Expires`, `Retry-After`.
//! 3. **Jitter** of ±10% so that feeds never move in lockstep (`Retry-After` is then applied as an
//!    exact floor: the poll comes as soon as the publisher allows, not up to 10% later).
//! 4. **Clamp** to `[min_interval, max_interval]`; a `Retry-After` still wins over the upper bound
//!    (up to [`MAX_RETRY_AFTER`]): no request before the publisher's time has passed.
//! 5. **skipHours / skipDays** (UTC) move the poll to the next allowed hour.

use std::time::Duration;

use chrono::{DateTime, Datelike, Timelike, Utc, Weekday};

use crate::config::FetchConfig;
use crate::model::Timestamp;

/// The longest `Retry-After` honoured (a misconfigured server must not silence a feed forever).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(2 * 86_400);

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
    Adaptive,
    DefaultInterval,
    Backoff,
    Ttl,
    CacheControl,
    RetryAfter,
    MinInterval,
    MaxInterval,
    SkipHours,
    SkipDays,
}

impl NextReason {
    pub fn as_str(self) -> &'static str {
        match self {
            NextReason::Interval => "interval",
            NextReason::Adaptive => "adaptive",
            NextReason::DefaultInterval => "default_interval",
            NextReason::Backoff => "backoff",
            NextReason::Ttl => "ttl",
            NextReason::CacheControl => "cache_control",
            NextReason::RetryAfter => "retry_after",
            NextReason::MinInterval => "min_interval",
            NextReason::MaxInterval => "max_interval",
            NextReason::SkipHours => "skip_hours",
            NextReason::SkipDays => "skip_days",
        }
    }
}

/// The scheduling part of `[fetch]`.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub default_interval: Duration,
    pub min_interval: Duration,
    pub max_interval: Duration,
    pub adaptive: bool,
}

impl From<&FetchConfig> for Policy {
    fn from(f: &FetchConfig) -> Self {
        Policy {
            default_interval: f.default_interval,
            min_interval: f.min_interval,
            max_interval: f.max_interval,
            adaptive: f.adaptive,
        }
    }
}

/// What the publisher said about polling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hints {
    /// The feed's own minimum refresh: RSS `<ttl>`, `sy:updatePeriod` / `sy:updateFrequency`.
    pub feed_min: Option<Duration>,
    /// `Cache-Control: max-age`, or `Expires` relative to the response time.
    pub fresh_for: Option<Duration>,
    /// `Retry-After`.
    pub retry_after: Option<Duration>,
    /// RSS `skipHours` (0-23, UTC).
    pub skip_hours: Vec<u32>,
    /// RSS `skipDays`.
    pub skip_days: Vec<Weekday>,
}

/// The median spacing of the latest (up to 10) dated entries, or `None` with fewer than three.
pub fn adaptive_interval(entry_dates: &[DateTime<Utc>]) -> Option<Duration> {
    let mut dates: Vec<DateTime<Utc>> = entry_dates.to_vec();
    dates.sort_unstable_by(|a, b| b.cmp(a));
    dates.dedup();
    dates.truncate(10);
    if dates.len() < 3 {
        return None;
    }
    let mut gaps: Vec<i64> = dates.windows(2).map(|w| (w[0] - w[1]).num_seconds().max(0)).collect();
    gaps.sort_unstable();
    let median = gaps[gaps.len() / 2];
    Some(Duration::from_secs(u64::try_from(median).unwrap_or(0)))
}

/// The delay until the next poll and its reason, before skipHours/skipDays. `jitter` is a random
/// value in `[-1, 1]` (0 for none), scaled to ±10%.
pub fn next_delay(
    policy: &Policy,
    feed_interval: Option<Duration>,
    adaptive: Option<Duration>,
    outcome: PollOutcome,
    hints: &Hints,
    jitter: f64,
) -> (Duration, NextReason) {
    let (base, mut reason) = match (feed_interval, adaptive.filter(|_| policy.adaptive)) {
        (Some(i), _) => (i, NextReason::Interval),
        (None, Some(a)) if !a.is_zero() => (a, NextReason::Adaptive),
        _ => (policy.default_interval, NextReason::DefaultInterval),
    };
    let mut delay = match outcome {
        PollOutcome::Success => base,
        PollOutcome::Failure { consecutive_errors } => {
            reason = NextReason::Backoff;
            let exp = consecutive_errors.saturating_sub(1).min(20);
            base.saturating_mul(1u32 << exp)
        }
    };
    // Retry-After is applied after the jitter, as an exact floor (below).
    for (bound, why) in [(hints.feed_min, NextReason::Ttl), (hints.fresh_for, NextReason::CacheControl)] {
        if let Some(b) = bound
            && b > delay
        {
            delay = b;
            reason = why;
        }
    }
    let factor = 1.0 + 0.1 * jitter.clamp(-1.0, 1.0);
    delay = Duration::from_secs_f64((delay.as_secs_f64() * factor).min(1e12));
    if delay < policy.min_interval {
        (delay, reason) = (policy.min_interval, NextReason::MinInterval);
    } else if delay > policy.max_interval {
        (delay, reason) = (policy.max_interval, NextReason::MaxInterval);
    }
    if let Some(ra) = hints.retry_after.map(|r| r.min(MAX_RETRY_AFTER))
        && ra > delay
    {
        (delay, reason) = (ra, NextReason::RetryAfter);
    }
    (delay, reason)
}

/// The instant of the next poll and its reason.
pub fn next_check(
    now: Timestamp,
    policy: &Policy,
    feed_interval: Option<Duration>,
    adaptive: Option<Duration>,
    outcome: PollOutcome,
    hints: &Hints,
    jitter: f64,
) -> (Timestamp, NextReason) {
    let (delay, reason) = next_delay(policy, feed_interval, adaptive, outcome, hints, jitter);
    let delay = chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
    let at = now.0.checked_add_signed(delay).unwrap_or(DateTime::<Utc>::MAX_UTC);
    let (at, skipped) = skip_forward(at, &hints.skip_hours, &hints.skip_days);
    (Timestamp(at), skipped.unwrap_or(reason))
}

/// Moves `at` to the start of the next hour that is neither a skipped hour nor on a skipped day.
fn skip_forward(
    mut at: DateTime<Utc>,
    hours: &[u32],
    days: &[Weekday],
) -> (DateTime<Utc>, Option<NextReason>) {
    let mut reason = None;
    // A week of hours is enough: if every hour is skipped, the feed is polled anyway.
    for _ in 0..(24 * 7) {
        let why = if days.contains(&at.weekday()) {
            NextReason::SkipDays
        } else if hours.contains(&at.hour()) {
            NextReason::SkipHours
        } else {
            return (at, reason);
        };
        reason = Some(why);
        let next_hour = at
            .with_minute(0)
            .and_then(|t| t.with_second(0))
            .and_then(|t| t.with_nanosecond(0))
            .and_then(|t| t.checked_add_signed(chrono::Duration::hours(1)));
        match next_hour {
            Some(t) => at = t,
            None => return (at, reason),
        }
    }
    (at, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN: Duration = Duration::from_secs(300);
    const MAX: Duration = Duration::from_secs(86_400);

    fn policy() -> Policy {
        Policy {
            default_interval: Duration::from_secs(1800),
            min_interval: MIN,
            max_interval: MAX,
            adaptive: true,
        }
    }

    fn d(
        policy: &Policy,
        interval: Option<u64>,
        outcome: PollOutcome,
        hints: &Hints,
    ) -> (Duration, NextReason) {
        next_delay(policy, interval.map(Duration::from_secs), None, outcome, hints, 0.0)
    }

    #[test]
    fn success_uses_feed_interval_else_adaptive_else_default() {
        let h = Hints::default();
        assert_eq!(
            d(&policy(), Some(600), PollOutcome::Success, &h),
            (Duration::from_secs(600), NextReason::Interval)
        );
        assert_eq!(
            d(&policy(), None, PollOutcome::Success, &h),
            (Duration::from_secs(1800), NextReason::DefaultInterval)
        );
        assert_eq!(d(&policy(), Some(1), PollOutcome::Success, &h).1, NextReason::MinInterval);
        let a = next_delay(&policy(), None, Some(Duration::from_secs(3600)), PollOutcome::Success, &h, 0.0);
        assert_eq!(a, (Duration::from_secs(3600), NextReason::Adaptive));
        let off = Policy { adaptive: false, ..policy() };
        let a = next_delay(&off, None, Some(Duration::from_secs(3600)), PollOutcome::Success, &h, 0.0);
        assert_eq!(a.1, NextReason::DefaultInterval);
    }

    #[test]
    fn failures_back_off_exponentially_up_to_the_cap() {
        let h = Hints::default();
        let f = |n| d(&policy(), None, PollOutcome::Failure { consecutive_errors: n }, &h);
        assert_eq!(f(1), (Duration::from_secs(1800), NextReason::Backoff));
        assert_eq!(f(2), (Duration::from_secs(3600), NextReason::Backoff));
        assert_eq!(f(3), (Duration::from_secs(7200), NextReason::Backoff));
        assert_eq!(f(50), (MAX, NextReason::MaxInterval));
    }

    #[test]
    fn publisher_signals_are_lower_bounds() {
        let ttl = Hints { feed_min: Some(Duration::from_secs(7200)), ..Hints::default() };
        assert_eq!(
            d(&policy(), Some(600), PollOutcome::Success, &ttl),
            (Duration::from_secs(7200), NextReason::Ttl)
        );
        let cc = Hints { fresh_for: Some(Duration::from_secs(2400)), ..Hints::default() };
        assert_eq!(
            d(&policy(), None, PollOutcome::Success, &cc),
            (Duration::from_secs(2400), NextReason::CacheControl)
        );
        // a shorter signal does not shorten the interval
        let short = Hints { fresh_for: Some(Duration::from_secs(60)), ..Hints::default() };
        assert_eq!(d(&policy(), Some(600), PollOutcome::Success, &short).1, NextReason::Interval);
        // Retry-After wins over max_interval, up to two days
        let ra = Hints { retry_after: Some(Duration::from_secs(3 * 86_400)), ..Hints::default() };
        assert_eq!(d(&policy(), None, PollOutcome::Success, &ra), (MAX_RETRY_AFTER, NextReason::RetryAfter));
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let h = Hints::default();
        let lo =
            next_delay(&policy(), Some(Duration::from_secs(1000)), None, PollOutcome::Success, &h, -1.0).0;
        let hi =
            next_delay(&policy(), Some(Duration::from_secs(1000)), None, PollOutcome::Success, &h, 1.0).0;
        assert_eq!((lo.as_secs(), hi.as_secs()), (900, 1100));
    }

    #[test]
    fn skip_hours_and_days_move_the_poll() {
        let now = Timestamp::parse("2026-11-30T01:50:00Z").expect("valid"); // a Monday
        let h = Hints { skip_hours: vec![2, 3], ..Hints::default() };
        let (at, why) =
            next_check(now, &policy(), Some(Duration::from_secs(1200)), None, PollOutcome::Success, &h, 0.0);
        assert_eq!((at.to_db().as_str(), why), ("2026-11-30T04:00:00Z", NextReason::SkipHours));
        let h = Hints { skip_days: vec![Weekday::Mon], ..Hints::default() };
        let (at, why) =
            next_check(now, &policy(), Some(Duration::from_secs(1200)), None, PollOutcome::Success, &h, 0.0);
        assert_eq!((at.to_db().as_str(), why), ("2026-12-01T00:00:00Z", NextReason::SkipDays));
    }

    #[test]
    fn adaptive_interval_is_the_median_spacing() {
        let base = Utc::now();
        let t = |h: i64| base - chrono::Duration::hours(h);
        assert_eq!(adaptive_interval(&[t(0), t(2), t(4), t(6), t(30)]), Some(Duration::from_secs(7200)));
        assert_eq!(adaptive_interval(&[t(0), t(1)]), None);
    }

    proptest! {
        #[test]
        fn delay_is_always_within_bounds(
            interval in proptest::option::of(0u64..10_000_000),
            errors in 0u32..1000,
            ok: bool,
            ttl in proptest::option::of(0u64..10_000_000),
            jitter in -1.0f64..1.0,
        ) {
            let outcome = if ok { PollOutcome::Success } else { PollOutcome::Failure { consecutive_errors: errors } };
            let hints = Hints { feed_min: ttl.map(Duration::from_secs), ..Hints::default() };
            let (d, _) = next_delay(&policy(), interval.map(Duration::from_secs), None, outcome, &hints, jitter);
            prop_assert!(d >= MIN && d <= MAX);
        }

        #[test]
        fn retry_after_is_never_undercut(ra in 0u64..200_000, jitter in -1.0f64..1.0) {
            let hints = Hints { retry_after: Some(Duration::from_secs(ra)), ..Hints::default() };
            let (d, _) = next_delay(&policy(), None, None, PollOutcome::Failure { consecutive_errors: 1 }, &hints, jitter);
            prop_assert!(d >= Duration::from_secs(ra).min(MAX_RETRY_AFTER));
        }
    }
}
