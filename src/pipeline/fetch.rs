//! Stage 1, `fetch`: get a feed's bytes, politely and safely.
//!
//! HTTP(S) through one shared reqwest client (rustls with the ring provider): connect and total
//! timeouts, a byte cap counted on the *decompressed* body (so a gzip bomb stops at the cap), at
//! most `per_host` requests at once to one host with `per_host_interval` between their starts,
//! and an SSRF guard that refuses loopback, private and link-local addresses unless the feed (or
//! `[fetch] allow_private`) allows them. Local files (`file://` or a plain path) are read with the
//! same byte cap and no host limits.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::config::{FeedConfig, FeedSource, FetchConfig};
use crate::model::{FetchOutcome, FetchedBody, Validators};

/// Redirect hops followed before giving up.
pub const MAX_REDIRECTS: usize = 10;

/// Pause of a host that answered 429 without a usable `Retry-After`.
pub const DEFAULT_RATE_LIMIT_PAUSE: Duration = Duration::from_secs(600);

/// Why a fetch failed. `kind()` is the stable name stored in the feed's health record.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("address {addr} of {host} is private, loopback or link-local (allow_private is off)")]
    Blocked { host: String, addr: IpAddr },
    #[error("DNS lookup failed: {0}")]
    Dns(String),
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("too many redirects or a redirect loop: {0}")]
    Redirect(String),
    #[error("HTTP status {status}")]
    HttpStatus {
        status: u16,
        /// `Retry-After` (seconds or an HTTP date), when the server sent one.
        retry_after: Option<Duration>,
    },
    #[error("host {host} asked us to wait (429 Retry-After); {remaining:?} left")]
    HostPaused { host: String, remaining: Duration },
    #[error("body exceeds the {limit}-byte limit (fetch.max_body)")]
    TooLarge { limit: u64 },
    #[error("I/O error: {0}")]
    Io(String),
    #[error("request failed: {0}")]
    Other(String),
}

impl FetchError {
    /// Stable, machine-readable failure class (stored as `feeds.last_error_kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::Blocked { .. } => "blocked",
            FetchError::Dns(_) => "dns",
            FetchError::Connect(_) => "connect",
            FetchError::Tls(_) => "tls",
            FetchError::Timeout(_) => "timeout",
            FetchError::Redirect(_) => "redirect",
            FetchError::HttpStatus { .. } => "http_status",
            FetchError::HostPaused { .. } => "host_paused",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::Io(_) => "io",
            FetchError::Other(_) => "other",
        }
    }

    /// True for failures of the network path itself (as opposed to a publisher's answer).
    pub fn is_network(&self) -> bool {
        matches!(self, FetchError::Dns(_) | FetchError::Connect(_) | FetchError::Timeout(_))
    }

    /// How long the publisher asked us to wait, for 429/503 and paused hosts.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::HttpStatus { retry_after, .. } => *retry_after,
            FetchError::HostPaused { remaining, .. } => Some(*remaining),
            _ => None,
        }
    }

    pub fn http_status(&self) -> Option<u16> {
        match self {
            FetchError::HttpStatus { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Fetches feed documents. Cheap to share (`Arc`); one per daemon.
#[derive(Debug)]
pub struct Fetcher {
    /// Client whose resolver refuses non-public addresses.
    guarded: reqwest::Client,
    /// Client for feeds with `allow_private`.
    open: reqwest::Client,
    max_body: u64,
    timeout: Duration,
    hosts: HostLimiter,
    /// Hosts that answered 429, and until when no request may go to them. A std Mutex: held only
    /// to read or write the map.
    paused: Mutex<HashMap<String, Instant>>,
}

/// Accept header of article page requests (`full_text`).
const ACCEPT_PAGE: &str = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5";

const ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
    application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5";

impl Fetcher {
    pub fn new(cfg: &FetchConfig) -> Result<Self, FetchError> {
        // reqwest is built without a default crypto provider (no aws-lc); install ring once.
        // `Err` only means a provider is already installed, which is what we want.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let build = |guard: bool| {
            let mut b = reqwest::Client::builder()
                .user_agent(cfg.user_agent.clone())
                .connect_timeout(cfg.connect_timeout)
                .timeout(cfg.timeout)
                .read_timeout(cfg.read_timeout)
                // Redirects are followed by hand (see `fetch_http`): each hop gets the SSRF check,
                // the host's limits, and we learn whether the move was permanent.
                .redirect(reqwest::redirect::Policy::none());
            if guard {
                b = b.dns_resolver(Arc::new(PublicOnlyResolver));
            }
            b.build().map_err(|e| FetchError::Other(error_chain(&e)))
        };
        Ok(Self {
            guarded: build(true)?,
            open: build(false)?,
            max_body: cfg.max_body,
            timeout: cfg.timeout,
            hosts: HostLimiter::new(cfg.per_host, cfg.per_host_interval),
            paused: Mutex::new(HashMap::new()),
        })
    }

    /// Fetches one feed: the whole body, capped at `max_body` decompressed bytes. `validators`
    /// from the last good response make it a conditional GET.
    ///
    /// `effective` replaces the configured URL once a permanent redirect has been adopted.
    pub async fn fetch(
        &self,
        feed: &FeedConfig,
        validators: &Validators,
        effective: Option<&url::Url>,
    ) -> Result<FetchOutcome, FetchError> {
        match &feed.source {
            FeedSource::File(path) => self.read_file(path).await.map(FetchOutcome::Fresh),
            FeedSource::Http(url) => {
                self.fetch_http(effective.unwrap_or(url), feed.allow_private, validators, ACCEPT).await
            }
        }
    }

    /// Fetches an article page (`full_text`) with the same guards and limits as feeds: the SSRF
    /// check, host pauses and per-host limits, timeouts, the body cap, redirects by hand. A 503
    /// with `Retry-After` pauses the page's host like a 429 does.
    pub async fn fetch_page(
        &self,
        url: &url::Url,
        allow_private: bool,
        validators: &Validators,
    ) -> Result<FetchOutcome, FetchError> {
        let result = self.fetch_http(url, allow_private, validators, ACCEPT_PAGE).await;
        if let Err(FetchError::HttpStatus { status: 503, retry_after: Some(pause) }) = &result
            && let Some(host) = url.host_str()
        {
            self.pause_host(&host.to_ascii_lowercase(), (*pause).min(crate::scheduler::MAX_RETRY_AFTER));
        }
        result
    }

    fn host_pause(&self, host: &str) -> Option<Duration> {
        let paused = self.paused.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        paused
            .get(host)
            .and_then(|until| until.checked_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }

    fn pause_host(&self, host: &str, for_: Duration) {
        let mut paused = self.paused.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        paused.insert(host.to_string(), Instant::now() + for_);
    }

    async fn read_file(&self, path: &std::path::Path) -> Result<FetchedBody, FetchError> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| FetchError::Io(format!("{}: {e}", path.display())))?;
        let mut bytes = Vec::new();
        file.take(self.max_body + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| FetchError::Io(format!("{}: {e}", path.display())))?;
        if bytes.len() as u64 > self.max_body {
            return Err(FetchError::TooLarge { limit: self.max_body });
        }
        Ok(FetchedBody {
            bytes,
            content_type: None,
            final_url: url::Url::from_file_path(path).ok().map(String::from),
            http_status: None,
            etag: None,
            last_modified: None,
            fresh_for: None,
            moved_to: None,
        })
    }

    async fn fetch_http(
        &self,
        url: &url::Url,
        allow_private: bool,
        validators: &Validators,
        accept: &'static str,
    ) -> Result<FetchOutcome, FetchError> {
        let mut current = url.clone();
        let mut visited = std::collections::HashSet::new();
        // Whether every hop so far was a permanent redirect (301/308).
        let mut permanent = true;
        let (mut resp, _permit, host) = loop {
            if !visited.insert(current.to_string()) {
                return Err(FetchError::Redirect(format!("redirect loop at {current}")));
            }
            if visited.len() > MAX_REDIRECTS + 1 {
                return Err(FetchError::Redirect(format!("more than {MAX_REDIRECTS} redirects")));
            }
            if !matches!(current.scheme(), "http" | "https") {
                return Err(FetchError::Redirect(format!("redirect to a non-HTTP URL: {current}")));
            }
            let (resp, permit, host) = self.request(&current, allow_private, validators, accept).await?;
            let status = resp.status().as_u16();
            let location = resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok());
            match (status, location) {
                (301 | 302 | 303 | 307 | 308, Some(location)) => {
                    permanent &= matches!(status, 301 | 308);
                    current = current
                        .join(location)
                        .map_err(|e| FetchError::Redirect(format!("bad Location {location:?}: {e}")))?;
                }
                _ => break (resp, permit, host),
            }
        };
        let moved_to = (permanent && current != *url).then(|| current.to_string());
        let status = resp.status();
        let header = |name: reqwest::header::HeaderName| {
            resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
        };
        let now = chrono::Utc::now();
        let fresh_for = freshness(
            header(reqwest::header::CACHE_CONTROL).as_deref(),
            header(reqwest::header::EXPIRES).as_deref(),
            header(reqwest::header::DATE).as_deref(),
            now,
        );
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(FetchOutcome::NotModified {
                validators: Validators {
                    etag: header(reqwest::header::ETAG),
                    last_modified: header(reqwest::header::LAST_MODIFIED),
                },
                fresh_for,
                moved_to,
            });
        }
        if !status.is_success() {
            let retry_after = header(reqwest::header::RETRY_AFTER).and_then(|v| parse_retry_after(&v, now));
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                // 429 is about the host: every feed on it waits.
                let pause =
                    retry_after.unwrap_or(DEFAULT_RATE_LIMIT_PAUSE).min(crate::scheduler::MAX_RETRY_AFTER);
                self.pause_host(&host, pause);
                tracing::warn!(host = %host, pause = ?pause, "host rate-limited us (429); pausing it");
                return Err(FetchError::HttpStatus { status: status.as_u16(), retry_after: Some(pause) });
            }
            return Err(FetchError::HttpStatus { status: status.as_u16(), retry_after });
        }
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let etag = header(reqwest::header::ETAG);
        let last_modified = header(reqwest::header::LAST_MODIFIED);
        let final_url = resp.url().to_string();
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.classify(&e))? {
            if (bytes.len() + chunk.len()) as u64 > self.max_body {
                return Err(FetchError::TooLarge { limit: self.max_body });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(FetchOutcome::Fresh(FetchedBody {
            bytes,
            content_type,
            final_url: Some(final_url),
            http_status: Some(status.as_u16()),
            etag,
            last_modified,
            fresh_for,
            moved_to,
        }))
    }

    /// One request (one hop): SSRF check, host pause, host limits, conditional headers.
    async fn request(
        &self,
        url: &url::Url,
        allow_private: bool,
        validators: &Validators,
        accept: &'static str,
    ) -> Result<(reqwest::Response, Option<OwnedSemaphorePermit>, String), FetchError> {
        if !allow_private {
            check_literal_host(url)?;
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if let Some(remaining) = self.host_pause(&host) {
            return Err(FetchError::HostPaused { host, remaining });
        }
        let permit = self.hosts.acquire(&host).await;
        // A pause may have started while we waited for the host's slot.
        if let Some(remaining) = self.host_pause(&host) {
            return Err(FetchError::HostPaused { host, remaining });
        }
        let client = if allow_private { &self.open } else { &self.guarded };
        let mut request = client.get(url.clone()).header(reqwest::header::ACCEPT, accept);
        if let Some(etag) = &validators.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &validators.last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, lm);
        }
        let resp = request.send().await.map_err(|e| self.classify(&e))?;
        Ok((resp, permit, host))
    }

    fn classify(&self, e: &reqwest::Error) -> FetchError {
        let chain = error_chain(e);
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(s) = source {
            if let Some(b) = s.downcast_ref::<BlockedAddress>() {
                return FetchError::Blocked { host: b.host.clone(), addr: b.addr };
            }
            if s.downcast_ref::<rustls::Error>().is_some() {
                return FetchError::Tls(chain);
            }
            source = s.source();
        }
        if e.is_timeout() {
            FetchError::Timeout(self.timeout)
        } else if e.is_redirect() {
            FetchError::Redirect(chain)
        } else if e.is_connect() {
            if chain.contains("dns error") || chain.contains("failed to lookup address") {
                FetchError::Dns(chain)
            } else if chain.contains("certificate") || chain.contains("tls") {
                FetchError::Tls(chain)
            } else {
                FetchError::Connect(chain)
            }
        } else if e.is_body() || e.is_decode() {
            FetchError::Io(chain)
        } else {
            FetchError::Other(chain)
        }
    }
}

/// `Retry-After`: delay-seconds or an HTTP date (RFC 9110), relative to `now`.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&chrono::Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// How long a response stays fresh: `Cache-Control: max-age` (`no-cache`/`no-store`: none), else
/// `Expires` minus the response's `Date` (or `now`).
pub fn freshness(
    cache_control: Option<&str>,
    expires: Option<&str>,
    date: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Duration> {
    if let Some(cc) = cache_control {
        let cc = cc.to_ascii_lowercase();
        if cc.contains("no-cache") || cc.contains("no-store") {
            return None;
        }
        if let Some(age) = cc
            .split(',')
            .filter_map(|d| d.trim().strip_prefix("max-age="))
            .find_map(|v| v.trim_matches('"').parse::<u64>().ok())
        {
            return Some(Duration::from_secs(age));
        }
    }
    let expires = chrono::DateTime::parse_from_rfc2822(expires?.trim()).ok()?.with_timezone(&chrono::Utc);
    let base = date
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d.trim()).ok())
        .map_or(now, |d| d.with_timezone(&chrono::Utc));
    (expires - base).to_std().ok()
}

/// The error and its causes, joined: "error sending request: client error (Connect): dns error".
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        source = s.source();
    }
    out
}

// ---------------------------------------------------------------------------------------------
// SSRF guard
// ---------------------------------------------------------------------------------------------

/// True for addresses a feed on the public internet may resolve to.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10 carrier-grade NAT
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24 IETF
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15 benchmarking
                || o[0] >= 240) // reserved
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x64 && s[1] == 0xff9b)) // NAT64 can reach private v4
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to non-public addresses (first: {addr})")]
struct BlockedAddress {
    host: String,
    addr: IpAddr,
}

fn check_literal_host(url: &url::Url) -> Result<(), FetchError> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    if is_public(ip) {
        Ok(())
    } else {
        Err(FetchError::Blocked { host: url.host_str().unwrap_or_default().to_string(), addr: ip })
    }
}

/// DNS resolver that drops non-public addresses (the literal-IP case is checked before sending,
/// since reqwest does not consult the resolver for IP literals).
#[derive(Debug)]
struct PublicOnlyResolver;

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all.iter().copied().filter(|a| is_public(a.ip())).collect();
            match (public.is_empty(), all.first()) {
                (false, _) => Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs),
                (true, Some(first)) => Err(Box::new(BlockedAddress { host, addr: first.ip() }) as _),
                (true, None) => Err(format!("{host}: no addresses").into()),
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Per-host politeness
// ---------------------------------------------------------------------------------------------

/// At most `per_host` requests in flight to one host, and at least `interval` between two
/// request starts to it.
#[derive(Debug)]
struct HostLimiter {
    per_host: usize,
    interval: Duration,
    /// Host -> its slot. A std Mutex: held only to look up or insert, never across an await.
    slots: Mutex<HashMap<String, Arc<HostSlot>>>,
}

#[derive(Debug)]
struct HostSlot {
    /// Caps concurrent requests to the host; a semaphore because waiters queue fairly.
    in_flight: Arc<Semaphore>,
    /// Earliest start of the next request. A tokio Mutex: held across the spacing sleep so that
    /// waiters start one after another.
    next_start: tokio::sync::Mutex<Instant>,
}

impl HostLimiter {
    fn new(per_host: usize, interval: Duration) -> Self {
        Self { per_host: per_host.max(1), interval, slots: Mutex::new(HashMap::new()) }
    }

    async fn acquire(&self, host: &str) -> Option<OwnedSemaphorePermit> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            slots
                .entry(host.to_string())
                .or_insert_with(|| {
                    Arc::new(HostSlot {
                        in_flight: Arc::new(Semaphore::new(self.per_host)),
                        next_start: tokio::sync::Mutex::new(Instant::now()),
                    })
                })
                .clone()
        };
        // The semaphore is never closed, so acquire cannot fail; `ok()` keeps this panic-free.
        let permit = slot.in_flight.clone().acquire_owned().await.ok();
        if !self.interval.is_zero() {
            let mut next = slot.next_start.lock().await;
            tokio::time::sleep_until(*next).await;
            // ±10% jitter, so that feeds sharing a host do not fall into a fixed rhythm.
            *next = Instant::now() + self.interval.mul_f64(0.9 + 0.2 * fastrand::f64());
        }
        permit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = s.parse().expect("valid literal");
            assert!(!is_public(ip), "{s} must be refused");
        }
        for s in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            let ip: IpAddr = s.parse().expect("valid literal");
            assert!(is_public(ip), "{s} must be allowed");
        }
    }

    #[test]
    fn retry_after_in_seconds_or_http_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z").expect("valid").to_utc();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Sun, 29 Nov 2026 12:10:00 GMT", now), Some(Duration::from_secs(600)));
        assert_eq!(parse_retry_after("Sun, 29 Nov 2026 11:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn freshness_from_max_age_or_expires() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z").expect("valid").to_utc();
        assert_eq!(freshness(Some("public, max-age=900"), None, None, now), Some(Duration::from_secs(900)));
        assert_eq!(freshness(Some("no-cache, max-age=900"), None, None, now), None);
        assert_eq!(
            freshness(
                None,
                Some("Sun, 29 Nov 2026 13:00:00 GMT"),
                Some("Sun, 29 Nov 2026 12:30:00 GMT"),
                now
            ),
            Some(Duration::from_secs(1800))
        );
        assert_eq!(freshness(None, Some("0"), None, now), None);
    }

    #[tokio::test(start_paused = true)]
    async fn host_limiter_spaces_request_starts() {
        let limiter = HostLimiter::new(2, Duration::from_secs(1));
        let start = Instant::now();
        let _a = limiter.acquire("example.org").await;
        let _b = limiter.acquire("example.org").await;
        assert!(Instant::now() - start >= Duration::from_millis(900));
        // another host is not delayed by the first one
        let before = Instant::now();
        let _c = limiter.acquire("example.net").await;
        assert_eq!(Instant::now(), before);
    }
}
