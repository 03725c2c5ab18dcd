//! The store's group commit (`Store::write_batch`): feed batches written at the same time share
//! transactions, each keeps its own counts, a failing batch fails alone, and dedup sees the
//! batches written before it in the same transaction. Through the library, on a real SQLite
//! file with the real migrations.

use feedsieve::config::Config;
use feedsieve::db::{FeedBatch, StagedItem, Store};
use feedsieve::model::{Article, CleanItem, ItemOutcome, ParsedFeed, RawItem, Timestamp};
use feedsieve::pipeline::dedup::{DedupSettings, dedup_key};

fn article(guid: &str, text: &str) -> ItemOutcome {
    let dedup = dedup_key(None, text);
    ItemOutcome::Article(Box::new(Article {
        raw: RawItem { guid: guid.into(), content: Some(text.into()), ..RawItem::default() },
        clean: CleanItem {
            guid: guid.into(),
            url: None,
            canonical_url: None,
            title: None,
            author: None,
            published_at: Some(Timestamp::now()),
            updated_at: None,
            lang: Some("en".into()),
            text: text.into(),
            html: None,
        },
        flag: None,
        dedup,
        syndication: None,
    }))
}

/// A story of 60 words unique to `n`.
fn story(n: usize) -> String {
    (0..60).map(|i| format!("w{}x{}", n, i * 7 % 13 + i)).collect::<Vec<_>>().join(" ")
}

fn batch(feed_id: i64, outcomes: Vec<ItemOutcome>, dedup: DedupSettings) -> FeedBatch {
    let now = Timestamp::now();
    FeedBatch {
        feed_id,
        fetched_at: now,
        feed: ParsedFeed::default(),
        body_hash: format!("body-{feed_id}"),
        bytes: 100,
        adaptive: None,
        http_status: Some(200),
        etag: None,
        last_modified: None,
        next_poll_at: now,
        next_poll_reason: "test",
        dedup,
        outcomes: outcomes.into_iter().map(StagedItem::from).collect(),
        pruned_seen: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_batches_commit_together_and_a_failing_one_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let feeds: String = (0..12)
        .map(|i| format!("[[feeds]]\nurl = \"https://site{i}.example/feed.xml\"\nname = \"site {i}\"\n"))
        .collect();
    let path = dir.path().join("feedsieve.toml");
    std::fs::write(&path, format!("[database]\npath = \"store.db\"\n{feeds}")).unwrap();
    let config: Config = feedsieve::config::load(&path).unwrap();
    let store = Store::open(&config.database.path).await.unwrap();
    let rows = store.sync_feeds(&config.feeds).await.unwrap();
    let mut ids: Vec<i64> = rows.values().map(|r| r.id).collect();
    ids.sort_unstable();
    let dedup = DedupSettings::from_config(&config.dedup);

    // Twelve feeds of 20 stories each, the same story 1000 in the first two, and one batch for
    // a feed that does not exist (its items violate the foreign key): all sent at once.
    let mut tasks = tokio::task::JoinSet::new();
    for (f, id) in ids.iter().enumerate() {
        let mut items: Vec<ItemOutcome> =
            (0..20).map(|i| article(&format!("g{f}-{i}"), &story(f * 100 + i))).collect();
        if f < 2 {
            items.push(article(&format!("copy-{f}"), &story(1000)));
        }
        let (store, b) = (store.clone(), batch(*id, items, dedup));
        tasks.spawn(async move { (Some(f), store.write_batch(b).await) });
    }
    let (store2, bad) = (store.clone(), batch(999_999, vec![article("bad", &story(5000))], dedup));
    tasks.spawn(async move { (None, store2.write_batch(bad).await) });
    let mut ok = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined.unwrap() {
            (Some(f), Ok(counts)) => {
                assert_eq!(counts.new, if f < 2 { 21 } else { 20 }, "feed {f}");
                ok += 1;
            }
            (Some(f), Err(e)) => panic!("feed {f} failed: {e}"),
            (None, r) => assert!(r.is_err(), "a batch of an unknown feed must fail"),
        }
    }
    assert_eq!(ok, 12);

    let db = sqlx::SqlitePool::connect(&format!("sqlite:{}", dir.path().join("store.db").display()))
        .await
        .unwrap();
    let (articles,): (i64,) = sqlx::query_as("SELECT count(*) FROM articles").fetch_one(&db).await.unwrap();
    assert_eq!(articles, 12 * 20 + 2);
    let (bad,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM raw_items WHERE guid = 'bad'").fetch_one(&db).await.unwrap();
    assert_eq!(bad, 0);
    // Every feed's health was recorded with its batch.
    let (healthy,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM feeds WHERE last_status = 'ok' AND body_hash LIKE 'body-%'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(healthy, 12);
    // The story both first feeds carry: one copy is the other's exact duplicate, whichever
    // batch was written first (same transaction or not).
    let copies: Vec<(i64, Option<i64>, Option<String>)> = sqlx::query_as(
        "SELECT id, duplicate_of, duplicate_kind FROM articles WHERE guid LIKE 'copy-%' ORDER BY id",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(copies.len(), 2);
    assert_eq!(copies[0].1, None);
    assert_eq!(copies[1].1, Some(copies[0].0));
    assert_eq!(copies[1].2.as_deref(), Some("exact"));
    let (integrity,): (String,) = sqlx::query_as("PRAGMA integrity_check").fetch_one(&db).await.unwrap();
    assert_eq!(integrity, "ok");
}
