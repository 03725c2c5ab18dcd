//! Crash consistency: the real binary, SIGKILLed at seeded random moments while it ingests a
//! served farm of feeds (20 feeds, many stories syndicated across feeds; each round the feeds
//! grow by 8 items, so every pass has work to be killed in). After every kill the database must pass `PRAGMA integrity_check`, hold no duplicated row, and still hold
//! every article that was there after the previous kill; a final clean run must reach exactly
//! the state an uninterrupted run reaches.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use wiremock::MockServer;

use crate::helpers::*;

const SEED: u64 = 20_261_129;
const FEEDS: usize = 20;
/// Items per feed at round 0, and added per round.
const ITEMS: usize = 16;
const GROWTH: usize = 8;
const STORIES: usize = 60;
const KILLS: usize = 24;

fn story(n: usize) -> (String, String) {
    let title = format!("Council {n} approves the river district plan");
    let mut body = format!(
        "<p>The council of district {n} approved plan {n} on Tuesday after a debate about bridges, schools and \
         the budget for the coming {n} years.</p><p>Work on the first section, officials said, would start in \
         spring and cost about {} million, most of it covered by the regional government.</p>",
        n * 3 + 7
    );
    if n.is_multiple_of(9) {
        body.push_str("<p>(This story has not been edited by Farm Daily staff and is auto-generated from a syndicated feed.)</p>");
    }
    (title, body)
}

fn feed(f: usize, items: usize) -> String {
    let items: String = (0..items)
        .map(|i| {
            let (title, body) = story((f * 7 + i * 3) % STORIES);
            format!(
                "<item><guid>f{f}-i{i}</guid><title>{title}</title><link>https://farm{f}.example/{i}</link>\
                 <pubDate>Tue, 24 Nov 2026 08:{:02}:00 GMT</pubDate><description><![CDATA[{body}]]></description></item>",
                i % 60
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Farm {f}</title>{items}</channel></rss>"
    )
}

/// Serves the farm as it is at `round` (newest items first, as feeds list them).
async fn farm_at(server: &MockServer, round: usize) {
    server.reset().await;
    for f in 0..FEEDS {
        serve(server, &format!("/feed{f}.xml"), &feed(f, ITEMS + GROWTH * round), "application/rss+xml")
            .await;
    }
}

fn farm_config(server: &MockServer) -> String {
    (0..FEEDS).map(|f| feed_toml(&format!("{}/feed{f}.xml", server.uri()), &format!("Farm {f}"))).collect()
}

/// The state a run reaches: each article (feed, guid) with its text hash and flag, and the
/// partition of articles into stories (which copy is the root depends on timing, the partition
/// does not).
#[derive(Debug, PartialEq, Eq)]
struct State {
    articles: BTreeMap<(String, String), (String, bool)>,
    clusters: BTreeSet<BTreeSet<(String, String)>>,
}

async fn state(env: &TestEnv) -> State {
    let db = env.db().await;
    let rows: Vec<(i64, String, String, String, bool, Option<i64>)> = sqlx::query_as(
        "SELECT a.id, f.url, a.guid, a.text_hash, a.auto_generated, a.duplicate_of
         FROM articles a JOIN feeds f ON f.id = a.feed_id",
    )
    .fetch_all(&db)
    .await
    .expect("articles");
    db.close().await;
    let key_of: BTreeMap<i64, (String, String)> =
        rows.iter().map(|r| (r.0, (r.1.clone(), r.2.clone()))).collect();
    let mut groups: BTreeMap<i64, BTreeSet<(String, String)>> = BTreeMap::new();
    for r in &rows {
        groups.entry(r.5.unwrap_or(r.0)).or_default().insert(key_of[&r.0].clone());
    }
    State {
        articles: rows.iter().map(|r| ((r.1.clone(), r.2.clone()), (r.3.clone(), r.4))).collect(),
        clusters: groups.into_values().collect(),
    }
}

async fn check_consistent(env: &TestEnv, round: usize) {
    let db = env.db().await;
    let ok: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&db).await.expect("integrity");
    assert_eq!(ok, "ok", "round {round}");
    let fk: Vec<(String,)> =
        sqlx::query_as("PRAGMA foreign_key_check").fetch_all(&db).await.expect("fk check");
    assert!(fk.is_empty(), "round {round}: foreign key violations {fk:?}");
    for (what, sql) in [
        ("raw items", "SELECT count(*) - count(DISTINCT feed_id || '/' || guid) FROM raw_items"),
        ("articles", "SELECT count(*) - count(DISTINCT feed_id || '/' || guid) FROM articles"),
        (
            "orphan articles",
            "SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM raw_items r WHERE r.id = a.id)",
        ),
        (
            "chained duplicates",
            "SELECT count(*) FROM articles a JOIN articles b ON b.id = a.duplicate_of WHERE b.duplicate_of IS NOT NULL",
        ),
    ] {
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&db).await.expect(what);
        assert_eq!(n, 0, "round {round}: {what}");
    }
    db.close().await;
    // The full-text index is written in the same transactions as the articles.
    env.assert_index_in_step(&format!("round {round}")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_at_any_moment_loses_nothing_committed() {
    let server = MockServer::start().await;
    let feeds = farm_config(&server);
    let env = TestEnv::new(&feeds);
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut before: BTreeSet<(String, String)> = BTreeSet::new();
    let mut killed_mid_pass = 0;
    // The kill lands within `window` ms of the start. A pass that finished first shrinks the
    // window (a fast machine); a kill before anything new was committed widens it (a slow one);
    // so the kills spread over the pass: startup, fetching, and writing.
    let mut window = 1000u64;
    for round in 0..KILLS {
        farm_at(&server, round).await;
        let mut child = env.command(&["run", "--once"]).spawn().expect("starts");
        let pid = Pid::from_raw(i32::try_from(child.id().expect("running")).expect("pid"));
        tokio::time::sleep(Duration::from_millis(rng.u64(0..window))).await;
        let finished = child.try_wait().expect("wait").is_some();
        let _ = kill(pid, Signal::SIGKILL);
        let _ = child.wait().await;
        killed_mid_pass += usize::from(!finished);

        if !env.db_path().exists() {
            continue;
        }
        check_consistent(&env, round).await;
        let now: BTreeSet<(String, String)> = state(&env).await.articles.into_keys().collect();
        window = if finished {
            (window * 7 / 10).max(20)
        } else if now.len() == before.len() {
            window * 3 / 2
        } else {
            window
        };
        let lost: Vec<_> = before.difference(&now).collect();
        assert!(lost.is_empty(), "round {round}: committed articles lost: {lost:?}");
        println!(
            "round {round:>2}: {} after the kill ({})",
            now.len(),
            if finished { "pass had finished" } else { "killed mid-pass" }
        );
        before = now;
    }
    assert!(killed_mid_pass >= KILLS / 3, "only {killed_mid_pass} kills landed mid-pass");

    // A clean run finishes the job: the same state as one uninterrupted run over the final farm.
    farm_at(&server, KILLS).await;
    let reference_env = TestEnv::new(&feeds);
    let summary = reference_env.run_once().await;
    assert_eq!(summary_counts(&summary)["new"], (FEEDS * (ITEMS + GROWTH * KILLS)) as u64, "{summary}");
    let reference = state(&reference_env).await;
    assert!(reference.clusters.len() < reference.articles.len(), "the farm has syndicated copies");
    assert!(reference.articles.values().any(|(_, flagged)| *flagged));
    env.run_once().await;
    check_consistent(&env, KILLS).await;
    let finished = state(&env).await;
    assert_eq!(finished.articles, reference.articles);
    assert_eq!(finished.clusters, reference.clusters);
}
