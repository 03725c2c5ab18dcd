//! What the end-to-end benches share: a keep-alive HTTP/1.1 server on a loopback listener, and
//! the CPU and peak RSS of the child processes they run.

#![allow(dead_code, reason = "each bench uses part of this module")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves every connection of `listener`: for each request, `respond` gets the request head
/// (request line and headers) and returns the whole response.
pub async fn serve_keep_alive(
    listener: tokio::net::TcpListener,
    respond: Arc<dyn Fn(&str) -> String + Send + Sync>,
) {
    while let Ok((mut sock, _)) = listener.accept().await {
        let respond = Arc::clone(&respond);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            let mut pending: Vec<u8> = Vec::new();
            loop {
                let end = loop {
                    if let Some(p) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        break p + 4;
                    }
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => pending.extend_from_slice(&buf[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&pending[..end]).to_string();
                pending.drain(..end);
                if sock.write_all(respond(&head).as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// User plus system CPU time of `who` so far.
pub fn cpu(who: nix::sys::resource::UsageWho) -> Duration {
    let Ok(u) = nix::sys::resource::getrusage(who) else { return Duration::ZERO };
    let (us, sy) = (u.user_time(), u.system_time());
    Duration::from_secs_f64(
        us.tv_sec() as f64 + us.tv_usec() as f64 / 1e6 + sy.tv_sec() as f64 + sy.tv_usec() as f64 / 1e6,
    )
}

/// One `feedsieve run --once`: wall time, CPU seconds, peak resident set and its summary line.
pub struct Pass {
    pub wall: Duration,
    pub cpu: Duration,
    pub peak_rss_mib: f64,
    pub summary: String,
}

/// Set (to the binary) in the environment of the measuring process [`run_pass`] starts.
const MEASURE_BIN: &str = "FEEDSIEVE_BENCH_MEASURE_BIN";
const MEASURE_CONFIG: &str = "FEEDSIEVE_BENCH_MEASURE_CONFIG";

/// Runs `bin run --once` on `config` and measures it.
///
/// The pass runs under a fresh, small copy of this bench process (see [`measure_if_asked`]):
/// a child's peak RSS as `getrusage` reports it includes the memory of the process that spawned
/// it (the spawn shares the parent's address space until `exec`), and this process holds the
/// whole generated farm.
pub fn run_pass(bin: &str, config: &std::path::Path) -> Pass {
    let started = Instant::now();
    let out = std::env::current_exe().and_then(|me| {
        std::process::Command::new(me).env(MEASURE_BIN, bin).env(MEASURE_CONFIG, config).output()
    });
    let wall = started.elapsed();
    let text =
        out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_else(|e| e.to_string());
    // The measuring process prints the pass's stdout, then `measured <cpu µs> <peak RSS KiB>`.
    let (summary, measured) = text.rsplit_once("\nmeasured ").unwrap_or((text.as_str(), ""));
    let mut numbers = measured.split_whitespace().filter_map(|n| n.parse::<u64>().ok());
    let (cpu, rss) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    Pass {
        wall,
        cpu: Duration::from_micros(cpu),
        peak_rss_mib: rss as f64 / 1024.0,
        summary: summary.trim().to_string(),
    }
}

/// Call first in a bench's `main`: when this process is [`run_pass`]'s measuring process, runs
/// the pass, prints its stdout and `measured <CPU µs> <peak RSS KiB>`, and exits.
pub fn measure_if_asked() {
    let (Some(bin), Some(config)) = (std::env::var_os(MEASURE_BIN), std::env::var_os(MEASURE_CONFIG)) else {
        return;
    };
    let out = std::process::Command::new(bin)
        .arg("--config")
        .arg(config)
        .args(["run", "--once"])
        .env("FEEDSIEVE_LOG", "error")
        .output();
    let summary =
        out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_else(|e| e.to_string());
    let spent = cpu(nix::sys::resource::UsageWho::RUSAGE_CHILDREN);
    // ru_maxrss is in KiB on Linux.
    let rss = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .map(|u| u.max_rss())
        .unwrap_or(0);
    println!("{summary}\nmeasured {} {rss}", spent.as_micros());
    std::process::exit(0);
}
/// Writes a bench config in `dir`: database `db`, loopback allowed, no per-host spacing (many
/// feeds share a host), every other setting the default; one feed per url. Returns its path.
pub fn write_config(
    dir: &std::path::Path,
    db: &str,
    urls: impl Iterator<Item = String>,
) -> Option<std::path::PathBuf> {
    use std::fmt::Write as _;
    let mut text =
        format!("[database]\npath = \"{db}\"\n[fetch]\nallow_private = true\nper_host_interval = \"0s\"\n\n");
    for (i, url) in urls.enumerate() {
        let _ = writeln!(text, "[[feeds]]\nurl = \"{url}\"\nname = \"feed {i}\"\n");
    }
    let path = dir.join("bench.toml");
    std::fs::write(&path, text).ok().map(|()| path)
}
