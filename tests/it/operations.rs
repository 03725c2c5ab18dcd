//! Operations through the real binary: retention (`[retention] keep`) and `backup`.

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Row, SqlitePool};

use crate::helpers::*;

/// Distinct stories (no two are duplicates of each other), one per guid.
const STORIES: [&str; 5] = [
    "The harbour authority said work on the northern berth would finish within weeks.",
    "Farmers in the eastern valley began the rice harvest early after a dry autumn.",
    "The city council approved a new cycling lane along the river promenade on Tuesday.",
    "A museum reopened its textile gallery after two years of restoration of the berth hall.",
    "Rail operators announced a timetable change for night trains crossing the border.",
];

fn rss(guids: &[&str]) -> String {
    let items: String = guids
        .iter()
        .enumerate()
        .map(|(i, g)| {
            format!(
                "<item><guid>{g}</guid><title>Story {g}</title><link>https://news.example/{g}</link>\
                 <description>{}</description></item>",
                STORIES[i % STORIES.len()]
            )
        })
        .collect();
    format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>{items}</channel></rss>")
}

async fn writable(env: &TestEnv) -> SqlitePool {
    SqlitePool::connect_with(SqliteConnectOptions::new().filename(env.db_path())).await.expect("open db")
}

async fn guids(env: &TestEnv) -> Vec<String> {
    let mut g: Vec<String> = env
        .export(&["--all"])
        .await
        .iter()
        .map(|a| a["guid"].as_str().unwrap_or_default().to_string())
        .collect();
    g.sort();
    g
}

#[tokio::test]
async fn retention_prunes_old_items_and_never_ingests_them_again() {
    let env = TestEnv::new(&format!("[retention]\nkeep = \"30d\"\n\n{}", feed_toml("local.xml", "Local")));
    let feed = env.dir.path().join("local.xml");
    std::fs::write(&feed, rss(&["a", "b", "c"])).expect("write feed");
    assert_eq!(summary_counts(&env.run_once().await)["new"], 3);

    // a and b were first stored long ago.
    let db = writable(&env).await;
    sqlx::query("UPDATE raw_items SET first_seen_at = '2020-01-01T00:00:00Z' WHERE guid IN ('a', 'b')")
        .execute(&db)
        .await
        .expect("age items");
    db.close().await;

    // The feed still lists a and b; the pass prunes them at its end.
    std::fs::write(&feed, rss(&["a", "b", "c", "d"])).expect("write feed");
    let summary = env.run_once().await;
    assert_eq!(summary_counts(&summary)["new"], 1, "{summary}");
    assert_eq!(guids(&env).await, ["c", "d"]);

    // Still listed, never stored again.
    std::fs::write(&feed, rss(&["a", "b", "c", "d", "e"])).expect("write feed");
    let summary = env.run_once().await;
    assert_eq!(summary_counts(&summary)["new"], 1, "{summary}");
    assert_eq!(guids(&env).await, ["c", "d", "e"]);

    let db = env.db().await;
    let tombstones: Vec<String> = sqlx::query_scalar("SELECT guid FROM pruned_items ORDER BY guid")
        .fetch_all(&db)
        .await
        .expect("tombstones");
    assert_eq!(tombstones, ["a", "b"]);
    // "berth" is in stories a (pruned) and d (kept).
    let fts: Vec<String> = sqlx::query_scalar(
        "SELECT a.guid FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid WHERE articles_fts MATCH 'berth'",
    )
    .fetch_all(&db)
    .await
    .expect("fts");
    assert_eq!(fts, ["d"], "the search index follows the pruned articles");
    let ok: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&db).await.expect("check");
    assert_eq!(ok, "ok");
    db.close().await;
}

#[tokio::test]
async fn retention_is_off_by_default() {
    let env = TestEnv::new(&feed_toml("local.xml", "Local"));
    std::fs::write(env.dir.path().join("local.xml"), rss(&["a"])).expect("write feed");
    env.run_once().await;
    let db = writable(&env).await;
    sqlx::query("UPDATE raw_items SET first_seen_at = '2000-01-01T00:00:00Z'")
        .execute(&db)
        .await
        .expect("age");
    db.close().await;
    env.run_once().await;
    assert_eq!(guids(&env).await, ["a"]);
}

#[tokio::test]
async fn backup_writes_a_consistent_copy_and_never_overwrites() {
    let env = TestEnv::new(&feed_toml("local.xml", "Local"));
    std::fs::write(env.dir.path().join("local.xml"), rss(&["a", "b"])).expect("write feed");
    env.run_once().await;
    let target = env.dir.path().join("backup.db");
    let out = env.run(&["backup", target.to_str().expect("utf-8")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let copy = SqlitePool::connect_with(SqliteConnectOptions::new().filename(&target).read_only(true))
        .await
        .expect("the backup opens");
    let row = sqlx::query(
        "SELECT (SELECT count(*) FROM articles) AS n, (SELECT count(*) FROM _sqlx_migrations) AS m",
    )
    .fetch_one(&copy)
    .await
    .expect("query the backup");
    assert_eq!(row.get::<i64, _>("n"), 2);
    assert!(row.get::<i64, _>("m") >= 6, "the copy carries the migration history");
    let ok: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&copy).await.expect("check");
    assert_eq!(ok, "ok");
    copy.close().await;

    let out = env.run(&["backup", target.to_str().expect("utf-8")]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("never overwrites"));
}

const OUTLET: &str = "<p>The regional water board approved a plan to rebuild three pumping stations along the \
    lower river before next summer, at a cost the board put at forty million euros.</p>\
    <p>Construction is to start in March and traffic on the river road will be diverted for six weeks.</p>\
    <p>This report was generated automatically by Pumpwatch from public records.</p>";
const COPY: &str = "<p>The regional water board approved a plan to rebuild three pumping stations along the \
    lower river before next summer, at a cost the board put at forty million euros.</p>\
    <p>Construction is to start in March and traffic on the river road will be diverted for six weeks.</p>";

fn outlet_feed() -> String {
    let item = |g: &str, body: &str| {
        format!(
            "<item><guid>{g}</guid><title>Water board to rebuild pumping stations</title>\
             <link>https://outlet.example/{g}</link><pubDate>Mon, 23 Nov 2026 08:00:00 GMT</pubDate>\
             <description><![CDATA[{body}]]></description></item>"
        )
    };
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>{}{}{}</channel></rss>",
        item("original", COPY),
        item("generated", OUTLET),
        other_item()
    )
}

fn other_item() -> String {
    format!(
        "<item><guid>other</guid><title>Museum reopens</title><link>https://outlet.example/other</link>\
             <description>{}</description></item>",
        STORIES[3]
    )
}

/// (guid, auto_generated_rule, duplicate_of guid) for every stored article.
async fn derived(env: &TestEnv) -> Vec<(String, Option<String>, Option<String>)> {
    let rows = env.export(&["--all"]).await;
    let guid_of = |id: &serde_json::Value| {
        rows.iter().find(|r| r["id"] == *id).and_then(|r| r["guid"].as_str()).map(str::to_string)
    };
    let mut out: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r["guid"].as_str().unwrap_or_default().to_string(),
                r["auto_generated_rule"].as_str().map(str::to_string),
                guid_of(&r["duplicate_of"]),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn reprocess_applies_new_rules_and_keeps_the_clusters() {
    // Built-in markers off: only the user's rule can flag (the built-ins know this wording).
    let env = TestEnv::new(&format!("[flag]\nbuiltin = false\n\n{}", feed_toml("outlet.xml", "Outlet")));
    std::fs::write(env.dir.path().join("outlet.xml"), outlet_feed()).expect("write feed");
    env.run_once().await;
    let before = derived(&env).await;
    assert!(before.iter().all(|(_, rule, _)| rule.is_none()), "{before:?}");
    let dup = before.iter().find(|(g, ..)| g == "generated").and_then(|(.., d)| d.clone());
    assert_eq!(dup.as_deref(), Some("original"), "{before:?}");

    // A rule added to the config applies to stored items only after `reprocess`.
    let base = std::fs::read_to_string(&env.config).expect("config");
    let rule = "\n[[flag.rules]]\nid = \"pumpwatch\"\npattern = \"(?i)generated automatically by pumpwatch[^.]*\\\\.\"\n";
    std::fs::write(&env.config, format!("{base}{rule}")).expect("write config");
    let out = env.run(&["reprocess"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("reprocessed 3 items") && summary.contains("1 flagged"), "{summary}");
    let after = derived(&env).await;
    let expected: Vec<(String, Option<String>, Option<String>)> = before
        .iter()
        .map(|(g, _, d)| (g.clone(), (g == "generated").then(|| "pumpwatch".to_string()), d.clone()))
        .collect();
    assert_eq!(after, expected, "the flag is new, the cluster links are as before");
    let generated = env
        .export(&["--all"])
        .await
        .into_iter()
        .find(|r| r["guid"] == "generated")
        .expect("the generated article");
    assert_eq!(
        generated["auto_generated_marker"].as_str(),
        Some("generated automatically by Pumpwatch from public records.")
    );
    assert!(!generated["text"].as_str().unwrap_or_default().contains("Pumpwatch"), "{generated}");

    // Running it again changes nothing.
    assert_eq!(env.run(&["reprocess"]).await.status.code(), Some(0));
    assert_eq!(derived(&env).await, expected);

    // With `action = "drop"`, the flagged item loses its article; back to "keep", it returns.
    let dropping = base.replace("builtin = false", "builtin = false\naction = \"drop\"");
    std::fs::write(&env.config, format!("{dropping}{rule}")).expect("write config");
    assert_eq!(env.run(&["reprocess"]).await.status.code(), Some(0));
    assert_eq!(
        derived(&env).await.iter().map(|(g, ..)| g.as_str()).collect::<Vec<_>>(),
        ["original", "other"]
    );
    std::fs::write(&env.config, format!("{base}{rule}")).expect("write config");
    assert_eq!(env.run(&["reprocess"]).await.status.code(), Some(0));
    assert_eq!(derived(&env).await, expected);

    let db = env.db().await;
    let ok: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&db).await.expect("check");
    assert_eq!(ok, "ok");
    db.close().await;
    // The full-text index followed the replaced, deleted and restored articles.
    env.assert_index_in_step("after reprocess").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_opening_a_new_database_at_once_all_succeed() {
    // The daemon and a query command (or several) may create and migrate the same file at once.
    for _ in 0..3 {
        let env = TestEnv::new("");
        let runs: Vec<_> = (0..6).map(|_| env.command(&["stats"]).output()).collect();
        for out in futures_util::future::join_all(runs).await {
            let out = out.expect("runs");
            assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        }
    }
}
