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
mod memo;

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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn html_body() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[A-Za-z ,.]{0,60}".prop_map(|t| format!("<p>{t}</p>")),
            "[A-Za-z ]{0,30}".prop_map(|t| format!("<p>Also read: <a href=\"/x\">{t}</a></p>")),
            Just("<p>2 min read</p>".to_string()),
            Just("<p>(This story has not been edited by Example staff and is auto-generated from a syndicated feed.)</p>".to_string()),
            Just("<script>alert(1)</script><br><em>x</em>&amp;&nbsp;".to_string()),
            "\\PC{0,40}",
        ];
        prop::collection::vec(piece, 0..8).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// The pure middle of the pipeline is a function: the same item gives the same outcome,
        /// it never panics, and stored text carries no markup.
        #[test]
        fn process_is_deterministic_and_leaves_no_markup(
            body in html_body(),
            title in proptest::option::of("[A-Za-z ]{0,40}"),
        ) {
            let raw = RawItem {
                guid: "p".into(),
                title,
                link: Some("https://example.org/a?utm_source=x".into()),
                content: Some(body),
                ..RawItem::default()
            };
            let config = crate::config::RawConfig::default()
                .validate(std::path::Path::new("/tmp"))
                .map_err(|(k, r)| TestCaseError::fail(format!("{k}: {r}")))?;
            let feed = config.feed_or_default("p.xml").into_owned();
            let settings = ItemSettings::for_feed(&config, &feed, Timestamp::now());
            let mut counts = ItemCounts::default();
            let first = process(raw.clone(), &settings, &mut counts);
            let second = process(raw, &settings, &mut counts);
            match (&first, &second) {
                (ItemOutcome::Article(a), ItemOutcome::Article(b)) => {
                    prop_assert_eq!(&a.clean, &b.clean);
                    prop_assert_eq!(&a.flag, &b.flag);
                    prop_assert_eq!(&a.dedup.text_hash, &b.dedup.text_hash);
                    prop_assert!(!a.clean.text.contains("<script"), "{}", a.clean.text);
                    if let Some(f) = &a.flag {
                        prop_assert!(!f.marker.trim().is_empty());
                        prop_assert!(!a.clean.text.contains(f.marker.as_str()), "the marker is removed from the text");
                    }
                }
                (ItemOutcome::Dropped { reason: r1, .. }, ItemOutcome::Dropped { reason: r2, .. }) => {
                    prop_assert_eq!(r1, r2);
                }
                _ => prop_assert!(false, "the same item gave two different outcomes"),
            }
        }
    }
}
