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
