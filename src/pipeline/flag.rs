//! Stage 4, `flag`: is this item marked as auto-generated / unedited? Pure: no I/O.
//!
//! The user's `[[flag.rules]]` are tried first, in order, against the item's text, its title and
//! the lines `clean` removed (a removed disclaimer is still evidence). Then, when `flag.builtin`
//! is on, the built-in notice families: the auto-generated / unedited notices that
//! [`crate::pipeline::classify`] recognised while cleaning (rule ids `builtin:unedited-syndicated`
//! and `builtin:automated`). The first match wins and is recorded with the rule id and the marker
//! exactly as it appeared in the text.

use crate::config::FlagRule;
use crate::model::Flag;
use crate::pipeline::clean::{Cleaned, Position};

/// The rules that apply to one feed.
#[derive(Debug, Clone, Copy)]
pub struct FlagSettings<'a> {
    pub rules: &'a [FlagRule],
    /// Apply the built-in notice families.
    pub builtin: bool,
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
    if settings.builtin {
        // A notice at the end of the body is the usual place; prefer it when there are several.
        let best =
            cleaned.notices.iter().find(|n| n.position == Position::End).or_else(|| cleaned.notices.first());
        if let Some(n) = best {
            return Some(Flag { rule: n.family.rule_id().to_string(), marker: n.text.clone() });
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
            notices: vec![],
        }
    }

    fn rule(id: &str, re: &str) -> FlagRule {
        FlagRule { id: id.into(), regex: Regex::new(re).expect("valid test regex") }
    }

    #[test]
    fn first_matching_rule_wins_with_exact_marker() {
        let rules = [rule("a", "(?i)written by a robot"), rule("b", "robot")];
        let f = flag(
            &cleaned("Intro.\n\nThis was Written By A Robot.", &[]),
            &FlagSettings { rules: &rules, builtin: true },
        );
        assert_eq!(f, Some(Flag { rule: "a".into(), marker: "Written By A Robot".into() }));
    }

    #[test]
    fn removed_lines_are_still_evidence() {
        let rules = [rule("syndicated", r"\(Auto-generated\.\)")];
        let f =
            flag(&cleaned("Body.", &["(Auto-generated.)"]), &FlagSettings { rules: &rules, builtin: true });
        assert_eq!(f.map(|f| f.marker), Some("(Auto-generated.)".into()));
    }

    #[test]
    fn no_rules_no_flag() {
        assert_eq!(flag(&cleaned("anything", &[]), &FlagSettings { rules: &[], builtin: true }), None);
    }
}
