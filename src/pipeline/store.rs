//! Stage 6, `store`: decide what is new, changed or unchanged, and persist a feed's batch.
//!
//! Identity is (feed, guid): the same guid seen again in the same feed is that item, updated in
//! place when its content (the raw item's hash) changed, skipped when it did not, and never a
//! duplicate. Unchanged items are filtered out *before* clean/flag/dedup run, so a re-poll of an
//! unchanged feed costs one hash per item. The batch is written in one transaction
//! ([`Store::write_batch`]).

use std::collections::HashMap;

use crate::db::{FeedBatch, PRUNED, Store, StoreError};
use crate::model::{ItemCounts, RawItem};

/// A document's items sorted against what is stored.
#[derive(Debug, Default)]
pub struct Changed {
    /// New items, and items whose content changed.
    pub items: Vec<RawItem>,
    /// Items stored with the same content (pruned ones included).
    pub unchanged: u64,
    /// Guids of items pruned by retention that the document still lists: never stored again.
    pub pruned: Vec<String>,
}

/// Keeps the items that are new or whose content changed. `known` maps guid -> stored content
/// hash ([`PRUNED`] for an item retention removed).
pub fn changed_items(items: Vec<RawItem>, known: &HashMap<String, String>) -> Changed {
    let mut out = Changed::default();
    for item in items {
        match known.get(&item.guid) {
            Some(hash) if hash == PRUNED => {
                out.unchanged += 1;
                out.pruned.push(item.guid);
            }
            Some(hash) if *hash == item.content_hash().0 => out.unchanged += 1,
            _ => out.items.push(item),
        }
    }
    out
}

/// Persists one feed's batch atomically and returns what happened to its items.
pub async fn store(db: &Store, batch: FeedBatch) -> Result<ItemCounts, StoreError> {
    db.write_batch(batch).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(guid: &str, title: &str) -> RawItem {
        RawItem { guid: guid.into(), title: Some(title.into()), ..RawItem::default() }
    }

    #[test]
    fn unchanged_items_are_filtered_and_counted() {
        let stored = item("a", "same");
        let known =
            HashMap::from([("a".to_string(), stored.content_hash().0), ("b".to_string(), "old".to_string())]);
        let known = known.into_iter().chain([("p".to_string(), PRUNED.to_string())]).collect();
        let changed = changed_items(
            vec![item("a", "same"), item("b", "edited"), item("c", "new"), item("p", "pruned")],
            &known,
        );
        assert_eq!(changed.unchanged, 2);
        assert_eq!(changed.items.iter().map(|i| i.guid.as_str()).collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!(changed.pruned, ["p"]);
    }
}
