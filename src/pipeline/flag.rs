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
    /// The rules' patterns as one set (a prefilter); `None` tries every rule.
    pub rule_set: Option<&'a regex::RegexSet>,
    /// Apply the built-in notice families.
    pub builtin: bool,
}

/// Returns the first rule that matches, with the marker text it matched.
pub fn flag(cleaned: &Cleaned, settings: &FlagSettings<'_>) -> Option<Flag> {
    let text: &str = &cleaned.item.text;
    // One scan of every text with the whole set says which rules can match at all.
    let candidates: Option<Vec<bool>> = settings.rule_set.map(|set| {
        let mut hit = vec![false; settings.rules.len()];
        let texts = std::iter::once(text)
            .chain(cleaned.item.title.as_deref())
            .chain(cleaned.removed.iter().map(|r| r.text.as_str()));
        for t in texts {
            for i in set.matches(t).iter() {
                if let Some(h) = hit.get_mut(i) {
                    *h = true;
                }
            }
        }
        hit
    });
    for (i, rule) in settings.rules.iter().enumerate() {
        if candidates.as_ref().is_some_and(|c| !c.get(i).copied().unwrap_or(true)) {
            continue;
        }
        if let Some(m) = rule.regex.find(text) {
            let marker = m.as_str().trim();
            if !marker.is_empty() {
                let paragraph = text[..m.start()].matches("\n\n").count();
                let position = Position::of(paragraph, text.matches("\n\n").count() + 1);
                return Some(Flag { rule: rule.id.clone(), marker: marker.to_string(), position });
            }
        }
        if let Some(m) = cleaned.item.title.as_deref().and_then(|t| rule.regex.find(t))
            && !m.as_str().trim().is_empty()
        {
            return Some(Flag {
                rule: rule.id.clone(),
                marker: m.as_str().trim().to_string(),
                position: Position::Start,
            });
        }
        for removed in &cleaned.removed {
            if let Some(m) = rule.regex.find(&removed.text)
                && !m.as_str().trim().is_empty()
            {
                let marker = m.as_str().trim().to_string();
                return Some(Flag { rule: rule.id.clone(), marker, position: removed.position });
            }
        }
    }
    if settings.builtin {
        // A notice at the end of the body is the usual place; prefer it when there are several.
        let best =
            cleaned.notices.iter().find(|n| n.position == Position::End).or_else(|| cleaned.notices.first());
        if let Some(n) = best {
            return Some(Flag {
                rule: n.family.rule_id().to_string(),
                marker: n.text.clone(),
                position: n.position,
            });
        }
    }
    None
}

/// Feed-level syndication evidence: the item's `<source>`, `dc:source` or `dc:publisher` when it
/// names a news agency. A weak signal, recorded beside the article; it never flags by itself.
pub fn syndication_evidence(raw: &crate::model::RawItem) -> Option<String> {
    if let Some(agency) = raw.sources.iter().find(|s| crate::pipeline::classify::names_agency(s)) {
        return Some(agency.trim().to_string());
    }
    // From the article page (`full_text`): JSON-LD `isBasedOn`, or a canonical link on another
    // site than the item's own. Weak evidence: recorded, never a flag by itself.
    let meta = &raw.page.as_ref()?.meta;
    let host = |u: &str| {
        url::Url::parse(u).ok().and_then(|u| u.host_str().map(|h| h.trim_start_matches("www.").to_string()))
    };
    if let Some(based) = meta.is_based_on.as_deref().and_then(host) {
        return Some(format!("isBasedOn:{based}"));
    }
    let own = raw.link.as_deref().and_then(host)?;
    let canonical = crate::pipeline::page::article_canonical(meta).and_then(host)?;
    (canonical != own).then(|| format!("canonical:{canonical}"))
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
                .map(|t| RemovedLine {
                    reason: RemovalReason::UserPattern,
                    text: (*t).into(),
                    position: Position::End,
                })
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
            &FlagSettings { rules: &rules, rule_set: None, builtin: true },
        );
        assert_eq!(
            f,
            Some(Flag { rule: "a".into(), marker: "Written By A Robot".into(), position: Position::End })
        );
    }

    #[test]
    fn removed_lines_are_still_evidence() {
        let rules = [rule("syndicated", r"\(Auto-generated\.\)")];
        let f = flag(
            &cleaned("Body.", &["(Auto-generated.)"]),
            &FlagSettings { rules: &rules, rule_set: None, builtin: true },
        );
        assert_eq!(f.map(|f| f.marker), Some("(Auto-generated.)".into()));
    }

    #[test]
    fn no_rules_no_flag() {
        assert_eq!(
            flag(&cleaned("anything", &[]), &FlagSettings { rules: &[], rule_set: None, builtin: true }),
            None
        );
    }
}
