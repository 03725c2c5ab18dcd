use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

async fn article_count(env: &TestEnv) -> i64 {
    if !env.db_path().exists() {
        return 0;
    }
    let pool = env.db().await;
    let n = sqlx::query_as::<_, (i64,)>("SELECT count(*) FROM articles")
        .fetch_one(&pool)
        .await
        .map(|r| r.0)
        .unwrap_or(0);
    pool.close().await;
    n
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_daemon_cleanly() {
    let server = MockServer::start().await;
    serve(&server, "/rss.xml", &fixture("feeds/rss2.xml"), "application/rss+xml").await;
    serve(&server, "/atom.xml", &fixture("feeds/atom.xml"), "application/atom+xml").await;
    // A feed that is still downloading when SIGTERM arrives.
    Mock::given(method("GET"))
        .and(path("/slow.json"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(30))
                .set_body_string(fixture("feeds/feed.json")),
        )
        .mount(&server)
        .await;
    let u = server.uri();
    let env = TestEnv::new(
        &[
            feed_toml(&format!("{u}/rss.xml"), "rss"),
            feed_toml(&format!("{u}/atom.xml"), "atom"),
            feed_toml(&format!("{u}/slow.json"), "slow"),
        ]
        .concat(),
    );
    let mut child = env.command(&["run"]).spawn().expect("daemon starts");
    let pid = Pid::from_raw(i32::try_from(child.id().expect("running")).expect("pid fits"));

    // Wait until the fast feeds are stored.
    let deadline = Instant::now() + Duration::from_secs(30);
    while article_count(&env).await < 5 {
        assert!(Instant::now() < deadline, "daemon stored nothing within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let sent = Instant::now();
    kill(pid, Signal::SIGTERM).expect("signal");
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("daemon exits within 5 s of SIGTERM")
        .expect("wait");
    assert_eq!(status.code(), Some(0));
    assert!(sent.elapsed() < Duration::from_secs(5));

    let pool = env.db().await;
    let (ok,): (String,) = sqlx::query_as("PRAGMA integrity_check").fetch_one(&pool).await.expect("pragma");
    assert_eq!(ok, "ok");
    // Batches are all or nothing: each feed has all of its items or none.
    let per_feed: Vec<(String, i64)> =
        sqlx::query_as("SELECT url, items_stored FROM feed_health ORDER BY url")
            .fetch_all(&pool)
            .await
            .expect("health");
    let expected = |url: &str| {
        if url.ends_with("rss.xml") {
            3
        } else if url.ends_with("atom.xml") {
            2
        } else {
            0
        }
    };
    for (url, n) in per_feed {
        assert_eq!(n, expected(&url), "{url}");
    }
    // The cancelled poll was not recorded as a failure of the feed.
    let slow = env.feed_health(&format!("{u}/slow.json")).await;
    assert_eq!((slow.last_status, slow.consecutive_errors), (None, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_polls_again_when_a_feed_is_due() {
    let server = MockServer::start().await;
    serve(&server, "/rss.xml", &fixture("feeds/rss2.xml"), "application/rss+xml").await;
    let u = server.uri();
    let env = TestEnv::new(&format!("[[feeds]]\nurl = \"{u}/rss.xml\"\ninterval = \"1s\"\n"));
    let mut child = env.command(&["run"]).spawn().expect("daemon starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let hits = server.received_requests().await.map(|r| r.len()).unwrap_or(0);
        if hits >= 3 {
            break;
        }
        assert!(Instant::now() < deadline, "feed was polled {hits} times in 30 s; expected 3");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = Pid::from_raw(i32::try_from(child.id().expect("running")).expect("pid fits"));
    kill(pid, Signal::SIGINT).expect("signal");
    let status =
        tokio::time::timeout(Duration::from_secs(5), child.wait()).await.expect("exits").expect("wait");
    assert_eq!(status.code(), Some(0));
    assert_eq!(article_count(&env).await, 3, "re-polls of an unchanged feed add nothing");
}
