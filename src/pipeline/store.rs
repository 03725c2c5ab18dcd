//! Stage 6, `store`: decide what is new, changed or unchanged, and persist a feed's batch.
//!
//! Identity is (feed, guid): the same guid seen again in the same feed is that item, updated in
//! place when its content (the raw item's hash) changed, skipped when it did not, and never a
//! duplicate. Unchanged items are filtered out *before* clean/flag/dedup run, so a re-poll of an
//! unchanged feed costs one hash per item. The batch is written in one transaction
//! ([`Store::write_batch`]).

use std::collections::HashMap;

use crate::db::{FeedBatch, Store, StoreError};
use crate::model::{ItemCounts, RawItem};

/// Keeps the items that are new or whose content changed; returns them and how many were
/// unchanged. `known` maps guid -> stored content hash.
pub fn changed_items(items: Vec<RawItem>, known: &HashMap<String, String>) -> (Vec<RawItem>, u64) {
    let mut unchanged = 0;
    let changed = items
        .into_iter()
        .filter(|item| match known.get(&item.guid) {
            Some(hash) if *hash == item.content_hash().0 => {
                unchanged += 1;
                false
            }
            _ => true,
        })
        .collect();
    (changed, unchanged)
}

/// Persists one feed's batch atomically and returns what happened to its items.
pub async fn store(db: &Store, batch: FeedBatch<'_>) -> Result<ItemCounts, StoreError> {
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
        let (changed, unchanged) =
            changed_items(vec![item("a", "same"), item("b", "edited"), item("c", "new")], &known);
        assert_eq!(unchanged, 1);
        assert_eq!(changed.iter().map(|i| i.guid.as_str()).collect::<Vec<_>>(), ["b", "c"]);
    }
}
