//! The pipeline, one stage per file, in the order data flows:
//!
//! ```text
//! fetch -> parse -> (page) -> clean -> flag -> dedup -> store
//! ```
//!
//! `page` runs only for feeds with `full_text`: the item's article page is fetched (by the
//! daemon, through the same fetcher) and its extracted body replaces a short feed body.
//!
//! `fetch` and `store` do I/O; `parse`, `clean`, `flag` and `dedup` are pure functions of their
//! input and settings. [`process`] runs the pure middle for one item.

pub mod fetch;
pub mod parse;
pub mod page;
pub mod classify;
pub mod clean;
pub mod flag;
pub mod dedup;
pub mod store;

use crate::config::{Config, FeedConfig, FlagAction};
use crate::model::{Article, DropReason, ItemCounts, ItemOutcome, RawItem, Timestamp};

/// Everything the pure stages need for one feed's items.
#[derive(Debug, Clone, Copy)]
pub struct ItemSettings<'a> {
    pub clean: clean::CleanSettings<'a>,
    pub flag: flag::FlagSettings<'a>,
    pub action: FlagAction,
}

impl<'a> ItemSettings<'a> {
    /// The effective settings for `feed` (global config with the feed's overrides).
    pub fn for_feed(config: &'a Config, feed: &'a FeedConfig, fetched_at: Timestamp) -> Self {
        ItemSettings {
            clean: clean::CleanSettings {
                boilerplate: feed.clean.boilerplate,
                extra_patterns: &feed.clean.extra_patterns,
                lang_hint: feed.lang.as_deref(),
                fetched_at: Some(fetched_at),
            },
            flag: flag::FlagSettings {
                rules: &config.flag.rules,
                rule_set: Some(&config.flag.rule_set),
                builtin: feed.flag.builtin,
            },
            action: feed.flag.action,
        }
    }
}

/// clean -> flag -> dedup for one raw item; removed lines are counted into `counts`.
pub fn process(raw: RawItem, settings: &ItemSettings<'_>, counts: &mut ItemCounts) -> ItemOutcome {
    let cleaned = clean::clean(&raw, &settings.clean);
    for r in &cleaned.removed {
        *counts.removed_lines.entry(r.reason.as_str()).or_default() += 1;
    }
    let flag = flag::flag(&cleaned, &settings.flag);
    if flag.is_some() && settings.action == FlagAction::Drop {
        return ItemOutcome::Dropped { raw: Box::new(raw), reason: DropReason::FlaggedDrop, flag };
    }
    if cleaned.item.text.is_empty() && cleaned.item.title.is_none() {
        return ItemOutcome::Dropped { raw: Box::new(raw), reason: DropReason::Empty, flag };
    }
    let dedup = dedup::dedup_key(cleaned.item.title.as_deref(), &cleaned.item.text);
    let syndication = flag::syndication_evidence(&raw);
    ItemOutcome::Article(Box::new(Article { raw, clean: cleaned.item, flag, dedup, syndication }))
}
