//! The daemon as a service, through the real binary: systemd's notify protocol on a real unix
//! datagram socket, SIGHUP reload, and the HTTP endpoint (`/healthz`, `/metrics`).

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixDatagram;

use crate::helpers::*;

fn pid_of(child: &tokio::process::Child) -> Pid {
    Pid::from_raw(i32::try_from(child.id().expect("running")).expect("pid fits"))
}

fn rss(items: &[(&str, &str)]) -> String {
    let items: String = items
        .iter()
        .map(|(guid, text)| {
            format!("<item><guid>{guid}</guid><title>{guid}</title><link>https://s.example/{guid}</link><description>{text}</description></item>")
        })
        .collect();
    format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>{items}</channel></rss>")
}

/// Waits (at most `secs`) for the next datagram containing `want`; returns every message read.
async fn expect_message(sock: &UnixDatagram, want: &str, secs: u64, seen: &mut Vec<String>) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut buf = vec![0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let n = tokio::time::timeout(left, sock.recv(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no {want:?} within {secs} s; got {seen:#?}"))
            .expect("recv");
        let msg = String::from_utf8_lossy(&buf[..n]).to_string();
        seen.push(msg.clone());
        if msg.lines().any(|l| l == want || l.starts_with(want)) {
            return msg;
        }
    }
}

async fn migrated(db: &Path) -> i64 {
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(db).read_only(true);
    let pool = sqlx::SqlitePool::connect_with(opts).await.expect("database exists at READY");
    let n = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success = 1")
        .fetch_one(&pool)
        .await
        .expect("migrations table");
    pool.close().await;
    n
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_speaks_systemds_notify_protocol() {
    let env = TestEnv::new(&feed_toml("local.xml", "Local"));
    std::fs::write(env.dir.path().join("local.xml"), rss(&[("a", "One story about the harbour.")]))
        .expect("feed");
    let socket_path = env.dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&socket_path).expect("bind notify socket");
    let mut child = env
        .command(&["run"])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "2000000")
        .env_remove("WATCHDOG_PID")
        .spawn()
        .expect("daemon starts");
    let mut seen = Vec::new();

    let ready = expect_message(&sock, "READY=1", 30, &mut seen).await;
    assert!(ready.contains("STATUS=polling 1 feeds"), "{ready}");
    // READY means the database is open and fully migrated.
    assert!(migrated(&env.db_path()).await >= 6);

    // The watchdog is pinged (every second with a 2 s timeout) while the daemon works.
    expect_message(&sock, "WATCHDOG=1", 5, &mut seen).await;
    // STATUS lines carry live counts.
    let status =
        expect_message(&sock, "STATUS=polling 1 feeds; since start: 1 polls ok", 20, &mut seen).await;
    assert!(status.contains("1 new"), "{status}");

    // A reload is bracketed by RELOADING=1 (with the monotonic time) and READY=1.
    kill(pid_of(&child), Signal::SIGHUP).expect("SIGHUP");
    let reloading = expect_message(&sock, "RELOADING=1", 5, &mut seen).await;
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading}");
    expect_message(&sock, "READY=1", 5, &mut seen).await;

    kill(pid_of(&child), Signal::SIGTERM).expect("SIGTERM");
    expect_message(&sock, "STOPPING=1", 5, &mut seen).await;
    let status =
        tokio::time::timeout(Duration::from_secs(10), child.wait()).await.expect("exits").expect("wait");
    assert_eq!(status.code(), Some(0));
    // The WAL was checkpointed into the database file at exit.
    let wal = env.dir.path().join("test.db-wal");
    assert!(!wal.exists() || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) == 0, "WAL left behind");
}

async fn feed_fetches(env: &TestEnv, url: &str) -> Option<String> {
    let db = env.db().await;
    let at: Option<String> = sqlx::query_scalar("SELECT last_fetch_at FROM feeds WHERE url = ?1")
        .bind(url)
        .fetch_optional(&db)
        .await
        .expect("query")
        .flatten();
    db.close().await;
    at
}

/// (guid, auto_generated_rule) of a stored article, read from the database (not through the
/// binary: the config file may be invalid on purpose).
async fn article(env: &TestEnv, guid: &str) -> Option<(String, Option<String>)> {
    if !env.db_path().exists() {
        return None;
    }
    let db = env.db().await;
    let row = sqlx::query_as("SELECT guid, auto_generated_rule FROM articles WHERE guid = ?1")
        .bind(guid)
        .fetch_optional(&db)
        .await
        .ok()
        .flatten();
    db.close().await;
    row
}

async fn wait_for<F: Future<Output = bool>>(what: &str, secs: u64, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(Instant::now() < deadline, "{what} did not happen within {secs} s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads_feeds_and_rules_and_keeps_the_old_config_on_error() {
    let dir_feeds =
        |name: &str| format!("[[feeds]]\nurl = \"{name}\"\nname = \"{name}\"\ninterval = \"1s\"\n");
    let env = TestEnv::new(&dir_feeds("old.xml"));
    let write = |name: &str, body: String| std::fs::write(env.dir.path().join(name), body).expect("feed");
    write("old.xml", rss(&[("old-1", "The first story of the old feed, about the river port.")]));
    write(
        "new.xml",
        rss(&[(
            "new-1",
            "Budget talks resumed on Monday. Compiled by the Quillbot news engine without review.",
        )]),
    );
    let base = std::fs::read_to_string(&env.config).expect("config");
    let child = env.command(&["run"]).stderr(std::process::Stdio::piped()).spawn().expect("daemon starts");
    wait_for("the old feed stored", 30, || async { article(&env, "old-1").await.is_some() }).await;

    // New config: the old feed removed, a new one added, a new flag rule.
    let rule = "[[flag.rules]]\nid = \"quillbot\"\npattern = \"(?i)compiled by the quillbot news engine[^.]*\\\\.\"\n";
    let without_old = base.replace(&dir_feeds("old.xml"), "");
    std::fs::write(&env.config, format!("{without_old}\n{}\n{rule}", dir_feeds("new.xml"))).expect("config");
    kill(pid_of(&child), Signal::SIGHUP).expect("SIGHUP");
    // The added feed is polled at once, under the new rule.
    wait_for("the added feed stored", 10, || async { article(&env, "new-1").await.is_some() }).await;
    let new = article(&env, "new-1").await.expect("stored");
    assert_eq!(new.1.as_deref(), Some("quillbot"), "{new:?}");
    // The removed feed is no longer polled (its interval is 1 s), and its data stays.
    let last = feed_fetches(&env, "old.xml").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(feed_fetches(&env, "old.xml").await, last, "the removed feed was polled again");
    assert!(article(&env, "old-1").await.is_some());

    // An invalid config is refused: the daemon keeps running on the one it has.
    std::fs::write(&env.config, format!("{base}\n[fetch.nonsense]\n")).expect("config");
    kill(pid_of(&child), Signal::SIGHUP).expect("SIGHUP");
    write("new.xml", rss(&[("new-2", "Harbour cranes were replaced over the weekend, the port said.")]));
    wait_for("the running config kept polling", 10, || async { article(&env, "new-2").await.is_some() })
        .await;

    kill(pid_of(&child), Signal::SIGTERM).expect("SIGTERM");
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("exits")
        .expect("wait");
    assert_eq!(out.status.code(), Some(0));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("config reload failed") && log.contains("fetch"), "{log}");
}

/// A GET over a plain TCP connection; returns (status code, body).
async fn get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("response");
    let code = response.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (code, body)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_and_metrics_are_served_when_configured() {
    let addr = format!("127.0.0.1:{}", free_port());
    let env = TestEnv::new(&format!(
        "[http]\nlisten = \"{addr}\"\nper_feed_metrics = true\n\n{}",
        feed_toml("local.xml", "Local")
    ));
    std::fs::write(
        env.dir.path().join("local.xml"),
        rss(&[("a", "One story about the harbour."), ("b", "Another story, about the rail line.")]),
    )
    .expect("feed");
    let mut child = env.command(&["run"]).spawn().expect("daemon starts");
    wait_for("the feed stored", 30, || async { article(&env, "a").await.is_some() }).await;

    let (code, body) = get(&addr, "/healthz").await;
    assert_eq!(code, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(body.trim()).expect("JSON health");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], "ok");

    let (code, text) = get(&addr, "/metrics").await;
    assert_eq!(code, 200);
    for series in [
        "feedsieve_fetches_total{outcome=\"ok\"} 1",
        "feedsieve_items_total{result=\"new\"} 2",
        "feedsieve_feed_fetches_total{feed=\"local.xml\",outcome=\"ok\"} 1",
        "feedsieve_write_seconds_count 1",
        "feedsieve_scheduler_lag_seconds_count 1",
        "feedsieve_scheduler_heartbeat_timestamp_seconds",
        "feedsieve_fetch_bytes_total",
    ] {
        assert!(text.contains(series), "missing {series} in\n{text}");
    }
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        assert!(line.starts_with("feedsieve_"), "series not named feedsieve_*: {line}");
    }
    assert_eq!(get(&addr, "/nothing").await.0, 404);
    assert_eq!(stop(&mut child, Signal::SIGTERM).await.and_then(|s| s.code()), Some(0));
}

#[tokio::test]
async fn the_endpoint_is_off_without_an_http_section_and_a_busy_port_is_fatal() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = busy.local_addr().expect("addr");
    let env = TestEnv::new(&format!("[http]\nlisten = \"{addr}\"\n"));
    let out = tokio::time::timeout(Duration::from_secs(20), env.command(&["run"]).output())
        .await
        .expect("exits")
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot listen on"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `run --once` on a missing feed (one WARN line) with stderr going to a file; returns it.
async fn log_lines(env: &TestEnv, args: &[&str], journal: bool) -> Vec<String> {
    let path = env.dir.path().join(format!("stderr-{}-{journal}.log", args.len()));
    let file = std::fs::File::create(&path).expect("log file");
    let mut cmd = env.command(args);
    cmd.env("FEEDSIEVE_LOG", "info").stderr(file.try_clone().expect("clone"));
    if journal {
        use std::os::unix::fs::MetadataExt as _;
        let meta = file.metadata().expect("stat");
        cmd.env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()));
    } else {
        cmd.env_remove("JOURNAL_STREAM");
    }
    let status = cmd.status().await.expect("runs");
    assert_eq!(status.code(), Some(0));
    std::fs::read_to_string(&path).expect("log").lines().map(str::to_string).collect()
}

#[tokio::test]
async fn logs_are_text_json_or_journald_friendly() {
    let env = TestEnv::new(&feed_toml("missing.xml", "Missing"));
    let starts_with_time = |l: &String| l.get(..4).is_some_and(|y| y.chars().all(|c| c.is_ascii_digit()));

    let text = log_lines(&env, &["run", "--once"], false).await;
    let warn = text.iter().find(|l| l.contains("WARN")).expect("a WARN line for the missing feed");
    assert!(starts_with_time(warn), "a terminal or file log carries its timestamp: {warn}");

    // Under journald (JOURNAL_STREAM names our stderr), no second timestamp.
    let journal = log_lines(&env, &["run", "--once"], true).await;
    let warn = journal.iter().find(|l| l.contains("WARN")).expect("a WARN line");
    assert!(!starts_with_time(warn), "journald stamps lines itself: {warn}");

    let json = log_lines(&env, &["--log-format", "json", "run", "--once"], false).await;
    let warn = json.iter().find(|l| l.contains("WARN")).expect("a WARN line");
    let v: serde_json::Value = serde_json::from_str(warn).expect("one JSON object per line");
    assert_eq!(v["level"], "WARN");
    assert!(v["fields"]["message"].as_str().is_some_and(|m| m.contains("failed")), "{v}");
}
