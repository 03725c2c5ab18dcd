//! Stage 4, `flag`: is this item marked as auto-generated / unedited? Pure: no I/O.
//!
//! Rules are tried in order against the item's text and the lines `clean` removed (a removed
//! disclaimer is still evidence). The first match wins and is recorded with the rule id and the
//! marker exactly as it appeared. This version applies the user's `[[flag.rules]]`; the built-in
//! multilingual families plug in here as further rules (see the flagging issue).

use crate::config::FlagRule;
use crate::model::Flag;
use crate::pipeline::clean::Cleaned;

/// The rules that apply to one feed.
#[derive(Debug, Clone, Copy)]
pub struct FlagSettings<'a> {
    pub rules: &'a [FlagRule],
}

/// Returns the first rule that matches, with the marker text it matched.
pub fn flag(cleaned: &Cleaned, settings: &FlagSettings<'_>) -> Option<Flag> {
    let texts = std::iter::once(cleaned.item.text.as_str())
        .chain(cleaned.item.title.as_deref())
        .chain(cleaned.removed.iter().map(|r| r.text.as_str()));
    for text in texts {
        for rule in settings.rules {
            if let Some(m) = rule.regex.find(text) {
                let marker = m.as_str().trim();
                if !marker.is_empty() {
                    return Some(Flag { rule: rule.id.clone(), marker: marker.to_string() });
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CleanItem;
    use crate::pipeline::clean::{RemovalReason, RemovedLine};
    use regex::Regex;

    fn cleaned(text: &str, removed: &[&str]) -> Cleaned {
        Cleaned {
            item: CleanItem {
                guid: "g".into(),
                url: None,
                canonical_url: None,
                title: None,
                author: None,
                published_at: None,
                updated_at: None,
                lang: None,
                text: text.into(),
                html: None,
            },
            removed: removed
                .iter()
                .map(|t| RemovedLine { reason: RemovalReason::UserPattern, text: (*t).into() })
                .collect(),
        }
    }

    fn rule(id: &str, re: &str) -> FlagRule {
        FlagRule { id: id.into(), regex: Regex::new(re).expect("valid test regex") }
    }

    #[test]
    fn first_matching_rule_wins_with_exact_marker() {
        let rules = [rule("a", "(?i)written by a robot"), rule("b", "robot")];
        let f =
            flag(&cleaned("Intro.\n\nThis was Written By A Robot.", &[]), &FlagSettings { rules: &rules });
        assert_eq!(f, Some(Flag { rule: "a".into(), marker: "Written By A Robot".into() }));
    }

    #[test]
    fn removed_lines_are_still_evidence() {
        let rules = [rule("syndicated", r"\(Auto-generated\.\)")];
        let f = flag(&cleaned("Body.", &["(Auto-generated.)"]), &FlagSettings { rules: &rules });
        assert_eq!(f.map(|f| f.marker), Some("(Auto-generated.)".into()));
    }

    #[test]
    fn no_rules_no_flag() {
        assert_eq!(flag(&cleaned("anything", &[]), &FlagSettings { rules: &[] }), None);
    }
}
