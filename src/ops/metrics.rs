//! Counters for the `/metrics` endpoint (Prometheus/OpenMetrics text, every series named
//! `feedsieve_*`), and the scheduler heartbeat `/healthz` and the watchdog check.
//!
//! Label values come from small fixed sets (outcomes, error kinds, drop reasons); per-feed series
//! exist only with `[http] per_feed_metrics = true`, one set per configured feed.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::model::ItemCounts;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ItemResult {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FeedOutcome {
    feed: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FeedItems {
    feed: String,
    result: &'static str,
}

/// The daemon's counters. Cheap to update from any task.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    fetches: Family<Outcome, Counter>,
    pages: Family<Outcome, Counter>,
    bytes: Counter,
    items: Family<ItemResult, Counter>,
    dropped: Family<Reason, Counter>,
    not_modified_ratio: Gauge<f64, AtomicU64>,
    scheduler_lag: Histogram,
    write_seconds: Histogram,
    heartbeat_gauge: Gauge,
    feeds_configured: Gauge,
    per_feed: bool,
    feed_fetches: Family<FeedOutcome, Counter>,
    feed_items: Family<FeedItems, Counter>,
    /// Unix seconds of the scheduler loop's last turn (0: not started).
    heartbeat: AtomicI64,
}

impl Metrics {
    pub fn new(per_feed: bool) -> Metrics {
        let mut registry = Registry::default();
        let fetches = Family::<Outcome, Counter>::default();
        registry.register(
            "feedsieve_fetches",
            "Feed polls by outcome: ok (parsed), not_modified (304), unchanged (same body), or the error kind",
            fetches.clone(),
        );
        let pages = Family::<Outcome, Counter>::default();
        registry.register(
            "feedsieve_page_fetches",
            "Article page fetches (full_text) by outcome: ok, not_modified, no_article, or the error kind",
            pages.clone(),
        );
        let bytes = Counter::default();
        registry.register("feedsieve_fetch_bytes", "Feed body bytes received", bytes.clone());
        let items = Family::<ItemResult, Counter>::default();
        registry.register(
            "feedsieve_items",
            "Items by result: new, updated, unchanged, duplicate, flagged",
            items.clone(),
        );
        let dropped = Family::<Reason, Counter>::default();
        registry.register(
            "feedsieve_items_dropped",
            "Items that became no article, by reason",
            dropped.clone(),
        );
        let not_modified_ratio = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "feedsieve_fetch_not_modified_ratio",
            "Share of successful polls answered 304 Not Modified",
            not_modified_ratio.clone(),
        );
        let scheduler_lag = Histogram::new(exponential_buckets(0.01, 4.0, 9));
        registry.register(
            "feedsieve_scheduler_lag_seconds",
            "How late polls start after their feed was due",
            scheduler_lag.clone(),
        );
        let write_seconds = Histogram::new(exponential_buckets(0.001, 3.0, 10));
        registry.register(
            "feedsieve_write_seconds",
            "Time to write one feed's batch (one transaction)",
            write_seconds.clone(),
        );
        let heartbeat_gauge = Gauge::default();
        registry.register(
            "feedsieve_scheduler_heartbeat_timestamp_seconds",
            "Unix time of the scheduler loop's last turn",
            heartbeat_gauge.clone(),
        );
        let feeds_configured = Gauge::default();
        registry.register("feedsieve_feeds_polled", "Feeds the scheduler polls", feeds_configured.clone());
        let feed_fetches = Family::<FeedOutcome, Counter>::default();
        let feed_items = Family::<FeedItems, Counter>::default();
        if per_feed {
            registry.register("feedsieve_feed_fetches", "Polls per feed by outcome", feed_fetches.clone());
            registry.register("feedsieve_feed_items", "Items per feed by result", feed_items.clone());
        }
        Metrics {
            registry,
            fetches,
            pages,
            bytes,
            items,
            dropped,
            not_modified_ratio,
            scheduler_lag,
            write_seconds,
            heartbeat_gauge,
            feeds_configured,
            per_feed,
            feed_fetches,
            feed_items,
            heartbeat: AtomicI64::new(0),
        }
    }

    /// One poll of `feed` ended with `outcome` after receiving `bytes`.
    pub fn fetch(&self, feed: &str, outcome: &'static str, bytes: usize) {
        self.fetches.get_or_create(&Outcome { outcome }).inc();
        self.bytes.inc_by(bytes as u64);
        if self.per_feed {
            self.feed_fetches.get_or_create(&FeedOutcome { feed: feed.to_string(), outcome }).inc();
        }
    }

    /// One article page fetch ended with `outcome`.
    pub fn page(&self, outcome: &'static str) {
        self.pages.get_or_create(&Outcome { outcome }).inc();
    }

    /// What one stored batch of `feed` did to its items.
    pub fn items(&self, feed: &str, c: &ItemCounts) {
        for (result, n) in [
            ("new", c.new),
            ("updated", c.updated),
            ("unchanged", c.unchanged),
            ("duplicate", c.duplicate),
            ("flagged", c.flagged),
        ] {
            if n > 0 {
                self.items.get_or_create(&ItemResult { result }).inc_by(n);
                if self.per_feed {
                    self.feed_items.get_or_create(&FeedItems { feed: feed.to_string(), result }).inc_by(n);
                }
            }
        }
        for (reason, n) in &c.dropped {
            self.dropped.get_or_create(&Reason { reason }).inc_by(*n);
        }
    }

    pub fn scheduler_lag(&self, lag: Duration) {
        self.scheduler_lag.observe(lag.as_secs_f64());
    }

    pub fn write_latency(&self, spent: Duration) {
        self.write_seconds.observe(spent.as_secs_f64());
    }

    pub fn feeds_polled(&self, n: usize) {
        self.feeds_configured.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// The scheduler loop turned (it is alive and not stuck).
    pub fn beat(&self) {
        let now = chrono::Utc::now().timestamp();
        self.heartbeat.store(now, Ordering::Relaxed);
        self.heartbeat_gauge.set(now);
    }

    /// Time since the scheduler loop last turned; `None` before it started.
    pub fn heartbeat_age(&self) -> Option<Duration> {
        let at = self.heartbeat.load(Ordering::Relaxed);
        (at > 0).then(|| Duration::from_secs(u64::try_from(chrono::Utc::now().timestamp() - at).unwrap_or(0)))
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let polls = |o: &'static str| self.fetches.get_or_create(&Outcome { outcome: o }).get();
        let ok = polls("ok") + polls("not_modified") + polls("unchanged");
        if ok > 0 {
            self.not_modified_ratio.set(polls("not_modified") as f64 / ok as f64);
        }
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_named_and_counted() {
        let m = Metrics::new(true);
        m.fetch("a.xml", "ok", 100);
        m.fetch("a.xml", "not_modified", 0);
        m.fetch("b.xml", "timeout", 0);
        let mut c = ItemCounts { new: 3, duplicate: 1, ..ItemCounts::default() };
        c.drop(crate::model::DropReason::Empty);
        m.items("a.xml", &c);
        m.beat();
        let text = m.render();
        assert!(text.contains("feedsieve_fetches_total{outcome=\"ok\"} 1"), "{text}");
        assert!(text.contains("feedsieve_fetches_total{outcome=\"timeout\"} 1"), "{text}");
        assert!(text.contains("feedsieve_fetch_bytes_total 100"), "{text}");
        assert!(text.contains("feedsieve_items_total{result=\"new\"} 3"), "{text}");
        assert!(text.contains("feedsieve_items_dropped_total{reason=\"empty\"} 1"), "{text}");
        assert!(text.contains("feedsieve_fetch_not_modified_ratio 0.5"), "{text}");
        assert!(text.contains("feedsieve_feed_fetches_total{feed=\"a.xml\",outcome=\"ok\"} 1"), "{text}");
        for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            assert!(line.starts_with("feedsieve_"), "{line}");
        }
        assert!(m.heartbeat_age().is_some_and(|a| a < Duration::from_secs(5)));
    }
}
