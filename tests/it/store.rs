//! The store's group commit (`Store::write_batch`): feed batches written at the same time share
//! transactions, each keeps its own counts, a failing batch fails alone, and dedup sees the
//! batches written before it in the same transaction. Through the library, on a real SQLite
//! file with the real migrations.

use feedsieve::config::Config;
use feedsieve::db::{FeedBatch, StagedItem, Store};
use feedsieve::model::{Article, CleanItem, DropReason, ItemOutcome, ParsedFeed, RawItem, Timestamp};
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

/// A store in `dir` with `n` feeds: the store, the feeds' ids (ascending), the dedup settings.
async fn open_store(dir: &std::path::Path, n: usize) -> (Store, Vec<i64>, DedupSettings) {
    let feeds: String = (0..n)
        .map(|i| format!("[[feeds]]\nurl = \"https://site{i}.example/feed.xml\"\nname = \"site {i}\"\n"))
        .collect();
    let path = dir.join("feedsieve.toml");
    std::fs::write(&path, format!("[database]\npath = \"store.db\"\n{feeds}")).unwrap();
    let config: Config = feedsieve::config::load(&path).unwrap();
    let store = Store::open(&config.database.path).await.unwrap();
    let rows = store.sync_feeds(&config.feeds).await.unwrap();
    let mut ids: Vec<i64> = rows.values().map(|r| r.id).collect();
    ids.sort_unstable();
    (store, ids, DedupSettings::from_config(&config.dedup))
}

async fn connect(dir: &std::path::Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite:{}", dir.join("store.db").display())).await.unwrap()
}

/// Fails unless the full-text index holds exactly the stored articles' terms.
async fn assert_index_in_step(db: &sqlx::SqlitePool) {
    sqlx::query("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)")
        .execute(db)
        .await
        .unwrap_or_else(|e| panic!("full-text index out of step with the articles: {e}"));
}

async fn matches(db: &sqlx::SqlitePool, query: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT a.guid FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
         WHERE articles_fts MATCH ?1 ORDER BY a.guid",
    )
    .bind(query)
    .fetch_all(db)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_batches_commit_together_and_a_failing_one_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ids, dedup) = open_store(dir.path(), 12).await;

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

    let db = connect(dir.path()).await;
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
    assert_index_in_step(&db).await;
}

/// Batches of the same feeds sent at once (so that a transaction may carry two polls of one
/// feed): the second poll changes one item and a rule now drops another. Whatever the grouping,
/// the full-text index ends up with exactly the current articles' terms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_text_index_follows_new_changed_and_dropped_articles() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ids, dedup) = open_store(dir.path(), 6).await;
    let first =
        |f: usize| (0..10).map(|i| article(&format!("g{f}-{i}"), &story(f * 100 + i))).collect::<Vec<_>>();
    let second = |f: usize| {
        let mut items = first(f);
        items[0] = article(&format!("g{f}-0"), &format!("{} rewritten{f}", story(f * 100)));
        items[1] = ItemOutcome::Dropped {
            raw: Box::new(RawItem {
                guid: format!("g{f}-1"),
                content: Some("changed".into()),
                ..RawItem::default()
            }),
            reason: DropReason::FlaggedDrop,
            flag: None,
        };
        items
    };
    for round in 0..3 {
        let mut tasks = tokio::task::JoinSet::new();
        for (f, id) in ids.iter().enumerate() {
            for items in [first(f), second(f)] {
                let (store, b) = (store.clone(), batch(*id, items, dedup));
                tasks.spawn(async move { store.write_batch(b).await });
            }
        }
        while let Some(joined) = tasks.join_next().await {
            joined.unwrap().unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
        let db = connect(dir.path()).await;
        assert_index_in_step(&db).await;
        db.close().await;
    }
    let db = connect(dir.path()).await;
    // The last poll of each feed was either version: its first item's text matches it.
    let (articles,): (i64,) = sqlx::query_as("SELECT count(*) FROM articles").fetch_one(&db).await.unwrap();
    assert!(articles >= 6 * 9, "{articles}");
    for f in 0..6 {
        let rewritten = matches(&db, &format!("rewritten{f}")).await;
        let stored: Option<String> = sqlx::query_scalar("SELECT text FROM articles WHERE guid = ?1")
            .bind(format!("g{f}-0"))
            .fetch_optional(&db)
            .await
            .unwrap();
        let has_word = stored.is_some_and(|t| t.contains(&format!("rewritten{f}")));
        assert_eq!(rewritten.len(), usize::from(has_word), "feed {f}: {rewritten:?}");
    }
    assert_eq!(matches(&db, "nosuchword").await, Vec::<String>::new());
}

/// Copies inside one write (a feed that carries a story twice, once lightly edited) are found
/// without a stored original: exact by hash, near by shared LSH bands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_within_one_write_are_linked() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ids, dedup) = open_store(dir.path(), 1).await;
    let long = |n: usize| (0..3).map(|k| story(n * 10 + k)).collect::<Vec<_>>().join(" ");
    let mut items: Vec<ItemOutcome> = (0..300).map(|i| article(&format!("s{i}"), &long(i))).collect();
    items.push(article("exact-of-7", &long(7)));
    let edited = long(42).replacen("w420x0", "changed", 1).replacen("w421x5", "edited", 1);
    items.push(article("near-of-42", &edited));
    let counts = store.write_batch(batch(ids[0], items, dedup)).await.unwrap();
    assert_eq!(counts.new, 302);
    assert_eq!(counts.duplicate, 2);
    let db = connect(dir.path()).await;
    let links: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT a.guid, o.guid, a.duplicate_kind FROM articles a JOIN articles o ON o.id = a.duplicate_of ORDER BY a.guid",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(
        links,
        vec![
            ("exact-of-7".to_string(), "s7".to_string(), "exact".to_string()),
            ("near-of-42".to_string(), "s42".to_string(), "near".to_string()),
        ]
    );
}
