//! Politeness and robustness of fetching, through the real binary against a local server.

use std::time::{Duration, Instant};

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

async fn feed_row(
    env: &TestEnv,
    url: &str,
) -> (Option<String>, Option<String>, Option<String>, i64, i64, i64, Option<String>) {
    let pool = env.db().await;
    let row = sqlx::query_as(
        "SELECT etag, next_poll_at, next_poll_reason, count_200, count_304, consecutive_errors, retired_at
         FROM feeds WHERE url = ?1",
    )
    .bind(url)
    .fetch_one(&pool)
    .await
    .expect("feed row");
    pool.close().await;
    row
}

#[tokio::test(flavor = "multi_thread")]
async fn conditional_get_sends_validators_and_a_304_is_not_parsed() {
    let server = MockServer::start().await;
    let lm = "Tue, 24 Nov 2026 08:00:00 GMT";
    Mock::given(method("GET"))
        .and(path("/rss.xml"))
        .and(header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304).insert_header("cache-control", "max-age=7200"))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rss.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"v1\"")
                .insert_header("last-modified", lm)
                .set_body_raw(fixture("feeds/rss2.xml").into_bytes(), "application/rss+xml"),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let url = format!("{}/rss.xml", server.uri());
    let env = TestEnv::new(&format!("[[feeds]]\nurl = \"{url}\"\n"));
    assert_eq!(summary_counts(&env.run_once().await)["new"], 3);
    let second = summary_counts(&env.run_once().await);
    assert_eq!((second["ok"], second["new"], second["updated"]), (1, 0, 0));

    let requests = server.received_requests().await.expect("recording is on");
    assert_eq!(requests.len(), 2);
    assert!(requests[0].headers.get("if-none-match").is_none());
    assert_eq!(requests[1].headers.get("if-none-match").and_then(|v| v.to_str().ok()), Some("\"v1\""));
    assert_eq!(requests[1].headers.get("if-modified-since").and_then(|v| v.to_str().ok()), Some(lm));
    let ua = requests[0].headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(ua.starts_with("feedsieve/") && ua.contains("+http"), "{ua}");
    let accept = requests[0].headers.get("accept").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(accept.contains("application/rss+xml") && accept.contains("application/feed+json"), "{accept}");

    let (etag, _, reason, c200, c304, errors, _) = feed_row(&env, &url).await;
    assert_eq!((etag.as_deref(), c200, c304, errors), (Some("\"v1\""), 1, 1, 0));
    // max-age=7200 with the default 30m interval: the publisher's signal decides.
    assert_eq!(reason.as_deref(), Some("cache_control"));
}

#[tokio::test(flavor = "multi_thread")]
async fn new_validators_are_saved_even_when_the_body_is_unchanged() {
    let server = MockServer::start().await;
    for (etag, times) in [("\"v1\"", 1), ("\"v2\"", 1)] {
        Mock::given(method("GET"))
            .and(path("/rss.xml"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("etag", etag)
                    .set_body_raw(fixture("feeds/rss2.xml").into_bytes(), "application/rss+xml"),
            )
            .up_to_n_times(times)
            .mount(&server)
            .await;
    }
    let url = format!("{}/rss.xml", server.uri());
    let env = TestEnv::new(&format!("[[feeds]]\nurl = \"{url}\"\n"));
    env.run_once().await;
    let second = summary_counts(&env.run_once().await);
    assert_eq!((second["new"], second["updated"]), (0, 0));
    let (etag, _, _, c200, _, _, _) = feed_row(&env, &url).await;
    assert_eq!((etag.as_deref(), c200), (Some("\"v2\""), 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_pauses_the_whole_host() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "120"))
        .mount(&server)
        .await;
    let u = server.uri();
    // One request at a time to the host, so the first 429 is seen before the second request.
    let env = TestEnv::with_fetch(
        "per_host = 1",
        &[feed_toml(&format!("{u}/a.xml"), "a"), feed_toml(&format!("{u}/b.xml"), "b")].concat(),
    );
    let summary = summary_counts(&env.run_once().await);
    assert_eq!(summary["failed"], 2);
    let requests = server.received_requests().await.expect("recording is on");
    assert_eq!(requests.len(), 1, "no request to a paused host");
    let soon = chrono::Utc::now() + chrono::Duration::seconds(100);
    for route in ["/a.xml", "/b.xml"] {
        let (_, next, reason, _, _, _, _) = feed_row(&env, &format!("{u}{route}")).await;
        let next = next.and_then(|n| chrono::DateTime::parse_from_rfc3339(&n).ok()).expect("next poll");
        assert!(next > soon, "{route} waits out Retry-After: {next}");
        assert!(matches!(reason.as_deref(), Some("retry_after" | "backoff")), "{reason:?}");
    }
    let paused: Vec<(String, i64)> = {
        let pool = env.db().await;
        sqlx::query_as(
            "SELECT last_error_kind, consecutive_errors FROM feeds WHERE last_error_kind = 'host_paused'",
        )
        .fetch_all(&pool)
        .await
        .expect("query")
    };
    assert_eq!(paused, vec![("host_paused".to_string(), 0)], "the paused feed is not blamed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_503_with_an_http_date_pauses_that_feed() {
    let server = MockServer::start().await;
    let until = chrono::Utc::now() + chrono::Duration::hours(3);
    Mock::given(method("GET"))
        .and(path("/busy.xml"))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("retry-after", until.to_rfc2822().replace("+0000", "GMT")),
        )
        .mount(&server)
        .await;
    let url = format!("{}/busy.xml", server.uri());
    let env = TestEnv::new(&format!("[[feeds]]\nurl = \"{url}\"\n"));
    env.run_once().await;
    let (_, next, reason, _, _, errors, _) = feed_row(&env, &url).await;
    let next = next.and_then(|n| chrono::DateTime::parse_from_rfc3339(&n).ok()).expect("next poll");
    assert!((next.to_utc() - until).num_seconds().abs() <= 2, "{next} vs {until}");
    assert_eq!((reason.as_deref(), errors), (Some("retry_after"), 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_410_retires_the_feed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/gone.xml"))
        .respond_with(ResponseTemplate::new(410))
        .mount(&server)
        .await;
    serve(&server, "/rss.xml", &fixture("feeds/rss2.xml"), "application/rss+xml").await;
    let gone = format!("{}/gone.xml", server.uri());
    let env = TestEnv::new(
        &[feed_toml(&gone, "Gone"), feed_toml(&format!("{}/rss.xml", server.uri()), "Alive")].concat(),
    );
    env.run_once().await;
    let second = summary_counts(&env.run_once().await);
    assert_eq!((second["ok"], second["failed"]), (1, 0), "the retired feed is not polled again");
    let hits = server
        .received_requests()
        .await
        .expect("recording")
        .iter()
        .filter(|r| r.url.path() == "/gone.xml")
        .count();
    assert_eq!(hits, 1);
    let (_, next, reason, _, _, _, retired) = feed_row(&env, &gone).await;
    assert!(retired.is_some() && next.is_none());
    assert_eq!(reason.as_deref(), Some("retired"));
    let out = env.run(&["feeds"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.starts_with("Gone") && l.contains("retired")), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_back_off_and_are_shown_by_feeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/missing.xml"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let url = format!("{}/missing.xml", server.uri());
    let env = TestEnv::with_fetch(
        "default_interval = \"10m\"\nmax_interval = \"1h\"",
        &format!("[[feeds]]\nurl = \"{url}\"\nname = \"Missing\"\n"),
    );
    let mut delays = Vec::new();
    for _ in 0..4 {
        let before = chrono::Utc::now();
        env.run_once().await;
        let (_, next, _, _, _, _, _) = feed_row(&env, &url).await;
        let next = next.and_then(|n| chrono::DateTime::parse_from_rfc3339(&n).ok()).expect("next poll");
        delays.push((next.to_utc() - before).num_seconds());
    }
    // 10m, 20m, 40m, then the 1h cap, each ±10% jitter.
    for (d, expected) in delays.iter().zip([600, 1200, 2400, 3600]) {
        let (lo, hi) = (expected * 9 / 10 - 2, expected * 11 / 10 + 2);
        assert!((lo..=hi.min(3602)).contains(d), "delays {delays:?}");
    }
    let json = env.run(&["feeds", "--format", "json"]).await;
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).expect("feeds JSON");
    assert_eq!(rows[0]["consecutive_errors"], 4);
    assert_eq!(rows[0]["last_error_kind"], "http_status");
    assert_eq!(rows[0]["last_http_status"], 404);
    assert_eq!(rows[0]["count_errors"], 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn when_every_feed_fails_at_the_network_level_it_is_not_counted() {
    // Nothing listens on these ports: connection refused, on two different hosts.
    let env = TestEnv::new(
        &[feed_toml("http://127.0.0.1:9/a.xml", "a"), feed_toml("http://127.0.0.2:9/b.xml", "b")].concat(),
    );
    env.run_once().await;
    let pool = env.db().await;
    let rows: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT last_error_kind, consecutive_errors, last_error FROM feeds ORDER BY url")
            .fetch_all(&pool)
            .await
            .expect("query");
    assert_eq!(rows.len(), 2);
    for (kind, errors, message) in &rows {
        assert_eq!(kind, "connect");
        assert_eq!(*errors, 0, "our network being down is not the feeds' fault");
        assert!(message.contains("network looks down"), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_host_is_counted_while_others_work() {
    let server = MockServer::start().await;
    serve(&server, "/rss.xml", &fixture("feeds/rss2.xml"), "application/rss+xml").await;
    let env = TestEnv::with_fetch(
        "",
        &[
            feed_toml(&format!("{}/rss.xml", server.uri()), "ok"),
            feed_toml("http://127.0.0.2:9/dead.xml", "dead"),
        ]
        .concat(),
    );
    env.run_once().await;
    let (_, _, _, _, _, errors, _) = feed_row(&env, "http://127.0.0.2:9/dead.xml").await;
    assert_eq!(errors, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_waits_out_retry_after_and_keeps_polling_healthy_feeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/busy.xml"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "3"))
        .mount(&server)
        .await;
    serve(&server, "/rss.xml", &fixture("feeds/rss2.xml"), "application/rss+xml").await;
    let u = server.uri();
    let env = TestEnv::new(&format!(
        "[[feeds]]\nurl = \"{u}/busy.xml\"\ninterval = \"1s\"\n[[feeds]]\nurl = \"{u}/rss.xml\"\ninterval = \"1s\"\n"
    ));
    let mut child = env.command(&["run"]).spawn().expect("daemon starts");
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(5500)).await;
    stop(&mut child, nix::sys::signal::Signal::SIGTERM).await;
    let requests = server.received_requests().await.expect("recording");
    let busy: Vec<_> = requests.iter().filter(|r| r.url.path() == "/busy.xml").collect();
    let healthy = requests.iter().filter(|r| r.url.path() == "/rss.xml").count();
    assert!(started.elapsed() >= Duration::from_secs(5));
    assert!(busy.len() <= 2, "Retry-After: 3 allows at most 2 requests in 5.5 s, got {}", busy.len());
    assert!(healthy >= 3, "the healthy feed kept being polled every second: {healthy}");
}

#[tokio::test(flavor = "multi_thread")]
async fn redirect_loops_fail_and_temporary_redirects_are_followed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/loop-a"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/loop-b"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/loop-b"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/loop-a"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/temp"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/feed.xml"))
        .mount(&server)
        .await;
    serve(&server, "/feed.xml", &fixture("feeds/rss2.xml"), "application/rss+xml").await;
    let u = server.uri();
    let env = TestEnv::new(
        &[feed_toml(&format!("{u}/loop-a"), "loop"), feed_toml(&format!("{u}/temp"), "temp")].concat(),
    );
    for _ in 0..4 {
        env.run_once().await;
    }
    let health = env.feed_health(&format!("{u}/loop-a")).await;
    assert_eq!(health.last_error_kind.as_deref(), Some("redirect"), "{health:?}");
    let pool = env.db().await;
    let (effective,): (Option<String>,) = sqlx::query_as("SELECT effective_url FROM feeds WHERE url = ?1")
        .bind(format!("{u}/temp"))
        .fetch_one(&pool)
        .await
        .expect("row");
    assert_eq!(effective, None, "a 302 never changes the feed's URL");
    assert_eq!(env.feed_health(&format!("{u}/temp")).await.items_stored, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_redirect_is_adopted_after_three_polls() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/old.xml"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/new.xml"))
        .mount(&server)
        .await;
    serve(&server, "/new.xml", &fixture("feeds/rss2.xml"), "application/rss+xml").await;
    let old = format!("{}/old.xml", server.uri());
    let env = TestEnv::new(&format!("[[feeds]]\nurl = \"{old}\"\n"));
    for _ in 0..4 {
        env.run_once().await;
    }
    let requests = server.received_requests().await.expect("recording");
    let old_hits = requests.iter().filter(|r| r.url.path() == "/old.xml").count();
    let new_hits = requests.iter().filter(|r| r.url.path() == "/new.xml").count();
    assert_eq!(
        (old_hits, new_hits),
        (3, 4),
        "adopted after three polls; the fourth goes straight to the new URL"
    );
    let out = env.run(&["feeds", "--format", "json"]).await;
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(rows[0]["url"], old.as_str(), "the config's url stays the identity");
    assert_eq!(rows[0]["effective_url"], format!("{}/new.xml", server.uri()));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_per_host_limit_is_never_exceeded() {
    let (base, max) = counting_server(Duration::from_millis(300), fixture("feeds/rss2.xml")).await;
    let feeds: String =
        (0..8).map(|i| feed_toml(&format!("{base}/feed-{i}.xml"), &format!("f{i}"))).collect();
    let env = TestEnv::with_fetch("per_host = 2", &feeds);
    let summary = summary_counts(&env.run_once().await);
    assert_eq!(summary["ok"], 8);
    let seen = max.load(std::sync::atomic::Ordering::SeqCst);
    assert!((1..=2).contains(&seen), "at most 2 requests at once to one host, saw {seen}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trickling_server_is_cut_off_and_healthy_feeds_go_on() {
    let trickle = trickle_server(Duration::from_millis(200)).await;
    let server = MockServer::start().await;
    serve(&server, "/rss.xml", &fixture("feeds/rss2.xml"), "application/rss+xml").await;
    let env = TestEnv::with_fetch(
        "timeout = \"2s\"",
        &[
            feed_toml(&format!("{trickle}/slow.xml"), "slow"),
            feed_toml(&format!("{}/rss.xml", server.uri()), "ok"),
        ]
        .concat(),
    );
    let started = Instant::now();
    let summary = summary_counts(&env.run_once().await);
    assert_eq!((summary["ok"], summary["failed"], summary["new"]), (1, 1, 3));
    assert!(started.elapsed() < Duration::from_secs(15));
    let h = env.feed_health(&format!("{trickle}/slow.xml")).await;
    assert_eq!(h.last_error_kind.as_deref(), Some("timeout"), "{h:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_sends_validators_on_every_re_poll() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rss.xml"))
        .and(header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rss.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"v1\"")
                .set_body_raw(fixture("feeds/rss2.xml").into_bytes(), "application/rss+xml"),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let env = TestEnv::new(&format!("[[feeds]]\nurl = \"{}/rss.xml\"\ninterval = \"1s\"\n", server.uri()));
    let mut child = env.command(&["run"]).spawn().expect("daemon starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.received_requests().await.map_or(0, |r| r.len()) < 4 {
        assert!(Instant::now() < deadline, "the daemon did not re-poll");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop(&mut child, nix::sys::signal::Signal::SIGTERM).await;
    let requests = server.received_requests().await.expect("recording");
    assert!(requests[0].headers.get("if-none-match").is_none());
    for r in &requests[1..] {
        assert_eq!(
            r.headers.get("if-none-match").and_then(|v| v.to_str().ok()),
            Some("\"v1\""),
            "every re-poll is conditional"
        );
    }
}
