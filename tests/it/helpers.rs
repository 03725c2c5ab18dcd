//! The test harness: a temp folder with a config and a real SQLite file, the real `feedsieve`
//! binary, and a real HTTP server (wiremock) on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Row, SqlitePool};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const BIN: &str = env!("CARGO_BIN_EXE_feedsieve");

pub fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

/// Serves `body` at `route` with `content_type`.
pub async fn serve(server: &MockServer, route: &str, body: &str, content_type: &str) {
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), content_type))
        .mount(server)
        .await;
}

/// A config file and database in a fresh temp folder.
#[derive(Debug)]
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl TestEnv {
    /// `feeds` is TOML appended after a test-friendly `[fetch]` section (loopback allowed, no
    /// per-host spacing, short timeouts).
    pub fn new(feeds: &str) -> Self {
        Self::with_fetch("", feeds)
    }

    pub fn with_fetch(extra_fetch: &str, rest: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("feedsieve.toml");
        // Test-friendly defaults; a line of `extra_fetch` with the same key replaces one.
        let mut fetch: Vec<String> = [
            "allow_private = true",
            "per_host_interval = \"0s\"",
            "timeout = \"5s\"",
            "min_interval = \"1s\"",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for line in extra_fetch.lines().filter(|l| !l.trim().is_empty()) {
            let key = line.split('=').next().unwrap_or_default().trim();
            fetch.retain(|l| l.split('=').next().unwrap_or_default().trim() != key);
            fetch.push(line.to_string());
        }
        let text = format!("[database]\npath = \"test.db\"\n\n[fetch]\n{}\n\n{rest}\n", fetch.join("\n"));
        std::fs::write(&config, text).expect("write config");
        TestEnv { dir, config }
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("test.db")
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(BIN);
        c.arg("--config").arg(&self.config).args(args);
        c.env("FEEDSIEVE_LOG", "warn").env_remove("FEEDSIEVE_CONFIG");
        for (k, _) in std::env::vars() {
            if k.starts_with("FEEDSIEVE__") {
                c.env_remove(k);
            }
        }
        c.kill_on_drop(true).stdin(Stdio::null());
        c
    }

    /// Runs the binary to completion (at most 60 s).
    pub async fn run(&self, args: &[&str]) -> Output {
        tokio::time::timeout(Duration::from_secs(60), self.command(args).output())
            .await
            .expect("command finished within 60 s")
            .expect("binary runs")
    }

    /// `run --once`, asserting exit 0; returns the summary line.
    pub async fn run_once(&self) -> String {
        let out = self.run(&["run", "--once"]).await;
        assert_eq!(out.status.code(), Some(0), "run --once failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub async fn export(&self, extra: &[&str]) -> Vec<Value> {
        let mut args = vec!["export"];
        args.extend_from_slice(extra);
        self.jsonl(&args).await
    }

    /// Runs a command with `--format jsonl` (exit 0 asserted) and parses its output lines.
    pub async fn jsonl(&self, args: &[&str]) -> Vec<Value> {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--format", "jsonl"]);
        let out = self.run(&all).await;
        assert_eq!(out.status.code(), Some(0), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{args:?}: line is not JSON ({e}): {l}"))
            })
            .collect()
    }

    pub async fn db(&self) -> SqlitePool {
        let opts = SqliteConnectOptions::new().filename(self.db_path()).read_only(true);
        SqlitePool::connect_with(opts).await.expect("open test database")
    }

    /// Fails unless the full-text index holds exactly the stored articles' terms (FTS5's own
    /// check against the content table; it needs a writable connection).
    pub async fn assert_index_in_step(&self, context: &str) {
        let pool = SqlitePool::connect_with(SqliteConnectOptions::new().filename(self.db_path()))
            .await
            .expect("open test database");
        sqlx::query("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)")
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{context}: full-text index out of step with the articles: {e}"));
        pool.close().await;
    }

    /// One row of `feeds` by url, as JSON-ish map of the health columns.
    pub async fn feed_health(&self, url: &str) -> FeedHealth {
        let pool = self.db().await;
        let row = sqlx::query(
            "SELECT last_status, last_error_kind, last_error, last_http_status, consecutive_errors, items_stored
             FROM feed_health WHERE url = ?1",
        )
        .bind(url)
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|e| panic!("feed {url} in feed_health: {e}"));
        let h = FeedHealth {
            last_status: row.get("last_status"),
            last_error_kind: row.get("last_error_kind"),
            last_error: row.get("last_error"),
            last_http_status: row.get("last_http_status"),
            consecutive_errors: row.get("consecutive_errors"),
            items_stored: row.get("items_stored"),
        };
        pool.close().await;
        h
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeedHealth {
    pub last_status: Option<String>,
    pub last_error_kind: Option<String>,
    pub last_error: Option<String>,
    pub last_http_status: Option<i64>,
    pub consecutive_errors: i64,
    pub items_stored: i64,
}

/// Parses "feeds: 3 ok, 2 failed; items: 7 new, ..." into (name, number) pairs.
pub fn summary_counts(line: &str) -> std::collections::HashMap<String, u64> {
    let mut out = std::collections::HashMap::new();
    let words: Vec<&str> = line.split([' ', ',', ';', ':']).filter(|w| !w.is_empty()).collect();
    for pair in words.windows(2) {
        if let Ok(n) = pair[0].parse::<u64>() {
            out.insert(pair[1].to_string(), n);
        }
    }
    out
}

pub fn feed_toml(url: &str, name: &str) -> String {
    format!("[[feeds]]\nurl = \"{url}\"\nname = \"{name}\"\n")
}

/// A bare HTTP/1.1 server on 127.0.0.1 for what wiremock cannot do (count concurrent requests,
/// trickle a body). Each connection serves one request and closes. Returns the base URL and
/// the highest number of requests it ever handled at once.
pub async fn counting_server(
    delay: Duration,
    body: String,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let current = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let max_out = Arc::clone(&max);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (current, max, body) = (Arc::clone(&current), Arc::clone(&max), body.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                current.fetch_sub(1, Ordering::SeqCst);
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/rss+xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}"), max_out)
}

/// A server that sends headers, then one byte of body per `gap`, forever.
pub async fn trickle_server(gap: Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/rss+xml\r\ncontent-length: 100000\r\n\r\n<rss")
                    .await;
                for _ in 0..1000 {
                    tokio::time::sleep(gap).await;
                    if sock.write_all(b" ").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// Sends `signal` to a running child and waits (at most 5 s) for it to exit.
pub async fn stop(
    child: &mut tokio::process::Child,
    signal: nix::sys::signal::Signal,
) -> Option<std::process::ExitStatus> {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id().expect("running")).expect("pid fits"));
    nix::sys::signal::kill(pid, signal).expect("signal");
    tokio::time::timeout(Duration::from_secs(5), child.wait()).await.ok().and_then(Result::ok)
}
