//! Configuration: the TOML file (plus `FEEDSIEVE__SECTION__KEY` environment overrides) is read
//! into [`RawConfig`] (serde, `deny_unknown_fields`) and validated exactly once into [`Config`].
//! Nothing downstream re-parses a string: durations, sizes, regexes and paths are typed here,
//! and every error names the key path it came from (`fetch.timeout`, `feeds[2].url`).

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize, Serializer};

/// Environment variable naming the config file when `--config` is not given.
pub const CONFIG_ENV: &str = "FEEDSIEVE_CONFIG";
/// Prefix of environment overrides: `FEEDSIEVE__FETCH__TIMEOUT=10s` sets `fetch.timeout`.
pub const ENV_PREFIX: &str = "FEEDSIEVE";

/// Why a configuration could not be loaded. Every variant is a usage error (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no config file found; looked for {}", display_paths(.searched))]
    NotFound { searched: Vec<PathBuf> },
    #[error("config file {}: {reason}", .path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("config file {}: key `{key}`: {reason}", .path.display())]
    Invalid { path: PathBuf, key: String, reason: String },
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Finds the config file: `explicit` (from `--config`), then `$FEEDSIEVE_CONFIG`,
/// `./config/feedsieve.toml`, `/etc/feedsieve/feedsieve.toml`. An explicitly named file that does
/// not exist is an error naming that file; it never falls through to the next candidate.
pub fn locate(explicit: Option<&Path>, env_value: Option<&str>) -> Result<PathBuf, ConfigError> {
    let named =
        explicit.map(Path::to_path_buf).or_else(|| env_value.filter(|v| !v.is_empty()).map(PathBuf::from));
    if let Some(path) = named {
        return if path.is_file() { Ok(path) } else { Err(ConfigError::NotFound { searched: vec![path] }) };
    }
    let candidates = [PathBuf::from("config/feedsieve.toml"), PathBuf::from("/etc/feedsieve/feedsieve.toml")];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or(ConfigError::NotFound { searched: candidates.to_vec() })
}

/// Loads and validates the config file at `path`, applying environment overrides from the
/// process environment.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_with_env(path, None)
}

/// Like [`load`], with the environment given explicitly (`None`: the process environment).
pub fn load_with_env(
    path: &Path,
    env: Option<std::collections::HashMap<String, String>>,
) -> Result<Config, ConfigError> {
    #[allow(
        clippy::disallowed_methods,
        reason = "a config file is small and local; the ban is for feed input"
    )]
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Unreadable { path: path.to_path_buf(), reason: e.to_string() })?;
    load_text(path, &text, env)
}

/// Validates config `text` as if read from `path` (relative paths resolve against its folder);
/// `env` as for [`load_with_env`].
pub fn load_text(
    path: &Path,
    text: &str,
    env: Option<std::collections::HashMap<String, String>>,
) -> Result<Config, ConfigError> {
    let environment = config::Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
        .source(env);
    let layered = config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml))
        .add_source(environment)
        .build()
        .map_err(|e| ConfigError::Unreadable { path: path.to_path_buf(), reason: e.to_string() })?;
    let raw: RawConfig = serde_path_to_error::deserialize(layered).map_err(|e| {
        let mut key = e.path().to_string();
        let reason = e.into_inner().to_string();
        // serde reports an unknown key at its parent's path; name the key itself.
        if let Some(unknown) = reason.strip_prefix("unknown field `").and_then(|r| r.split('`').next()) {
            if key == "." {
                key = unknown.to_string();
            } else if !key.ends_with(&format!(".{unknown}")) && key != unknown {
                key = format!("{key}.{unknown}");
            }
        }
        ConfigError::Invalid {
            path: path.to_path_buf(),
            key: if key == "." { "(top level)".into() } else { key },
            reason,
        }
    })?;
    let base = path
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    raw.validate(&base).map_err(|(key, reason)| ConfigError::Invalid {
        path: path.to_path_buf(),
        key,
        reason,
    })
}

// ---------------------------------------------------------------------------------------------
// Raw config: exactly the file's shape. Every field has a default so that a minimal file works.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    pub database: RawDatabase,
    pub fetch: RawFetch,
    pub clean: RawClean,
    pub flag: RawFlag,
    pub dedup: RawDedup,
    pub http: Option<RawHttp>,
    pub retention: RawRetention,
    pub full_text: RawFullText,
    pub feeds: Vec<RawFeed>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDatabase {
    pub path: String,
}

impl Default for RawDatabase {
    fn default() -> Self {
        Self { path: "feedsieve.db".into() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawFetch {
    pub user_agent: String,
    pub timeout: String,
    pub connect_timeout: String,
    pub read_timeout: String,
    pub max_body: String,
    pub concurrency: u32,
    pub per_host: u32,
    pub per_host_interval: String,
    pub default_interval: String,
    pub min_interval: String,
    pub max_interval: String,
    pub allow_private: bool,
    pub adaptive: bool,
    pub redirect_adopt_after: u32,
}

impl Default for RawFetch {
    fn default() -> Self {
        Self {
            user_agent: default_user_agent(),
            timeout: "30s".into(),
            connect_timeout: "10s".into(),
            read_timeout: "15s".into(),
            max_body: "16MiB".into(),
            concurrency: 64,
            per_host: 2,
            per_host_interval: "1s".into(),
            default_interval: "30m".into(),
            min_interval: "5m".into(),
            max_interval: "24h".into(),
            allow_private: false,
            adaptive: true,
            redirect_adopt_after: 3,
        }
    }
}

/// `feedsieve/VERSION (+project URL)`.
pub fn default_user_agent() -> String {
    format!("feedsieve/{} (+{})", env!("CARGO_PKG_VERSION"), env!("CARGO_PKG_REPOSITORY"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawClean {
    pub boilerplate: bool,
    pub extra_patterns: Vec<String>,
}

impl Default for RawClean {
    fn default() -> Self {
        Self { boilerplate: true, extra_patterns: Vec::new() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawFlag {
    pub builtin: bool,
    pub action: FlagAction,
    pub rules: Vec<RawRule>,
}

impl Default for RawFlag {
    fn default() -> Self {
        Self { builtin: true, action: FlagAction::Keep, rules: Vec::new() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub id: String,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub phrases: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDedup {
    pub near: bool,
    pub threshold: f64,
    pub window: String,
    pub cross_language: bool,
}

impl Default for RawDedup {
    fn default() -> Self {
        Self { near: true, threshold: 0.5, window: "30d".into(), cross_language: true }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub listen: String,
    /// Per-feed metric series (one set per configured feed): off by default, as their number
    /// grows with the feed list.
    #[serde(default)]
    pub per_feed_metrics: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawFullText {
    /// `full_text = "auto"`: fetch the page when the feed's body has fewer words than this.
    pub min_words: u32,
    /// Article pages fetched at once (all feeds together), apart from the feed polls' budget.
    pub concurrency: u32,
}

impl Default for RawFullText {
    fn default() -> Self {
        Self { min_words: 150, concurrency: 4 }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRetention {
    /// How long articles are kept after they were first stored; absent: forever.
    pub keep: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFeed {
    pub url: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub full_text: FullText,
    #[serde(default)]
    pub allow_private: Option<bool>,
    #[serde(default)]
    pub flag: Option<RawFlagOverride>,
    #[serde(default)]
    pub clean: Option<RawCleanOverride>,
}

fn yes() -> bool {
    true
}

/// Per-feed `flag.*` keys: each replaces the global value for that feed only.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlagOverride {
    pub builtin: Option<bool>,
    pub action: Option<FlagAction>,
}

/// Per-feed `clean.*` keys: each replaces the global value for that feed only.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCleanOverride {
    pub boilerplate: Option<bool>,
    pub extra_patterns: Option<Vec<String>>,
}

// ---------------------------------------------------------------------------------------------
// Validated config.
// ---------------------------------------------------------------------------------------------

/// What to do with an item a flag rule matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagAction {
    /// Store the article and mark it `auto_generated`.
    #[default]
    Keep,
    /// Record the sighting (the raw item), store no article.
    Drop,
}

/// Whether to fetch the linked article page for an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FullText {
    #[default]
    Off,
    Always,
    Auto,
}

/// The validated configuration. Built once by [`load`]; never mutated (a reload builds a new one).
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// The file this config was read from (absolute when it could be resolved).
    #[serde(skip)]
    pub source: PathBuf,
    pub database: DatabaseConfig,
    pub fetch: FetchConfig,
    pub clean: CleanConfig,
    pub flag: FlagConfig,
    pub dedup: DedupConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpConfig>,
    pub retention: RetentionConfig,
    pub full_text: FullTextConfig,
    pub feeds: Vec<FeedConfig>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FullTextConfig {
    pub min_words: usize,
    pub concurrency: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RetentionConfig {
    /// Articles and raw items first stored longer ago than this are pruned; `None`: kept forever.
    #[serde(serialize_with = "ser_opt_duration", skip_serializing_if = "Option::is_none")]
    pub keep: Option<Duration>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DatabaseConfig {
    /// Absolute path of the SQLite file.
    pub path: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
pub struct FetchConfig {
    pub user_agent: String,
    /// Whole request, body included.
    #[serde(serialize_with = "ser_duration")]
    pub timeout: Duration,
    /// TCP + TLS connect.
    #[serde(serialize_with = "ser_duration")]
    pub connect_timeout: Duration,
    /// Longest silence while reading a response (a trickling server is cut off).
    #[serde(serialize_with = "ser_duration")]
    pub read_timeout: Duration,
    /// Cap on the decompressed body, in bytes.
    #[serde(serialize_with = "ser_size")]
    pub max_body: u64,
    pub concurrency: usize,
    pub per_host: usize,
    #[serde(serialize_with = "ser_duration")]
    pub per_host_interval: Duration,
    #[serde(serialize_with = "ser_duration")]
    pub default_interval: Duration,
    #[serde(serialize_with = "ser_duration")]
    pub min_interval: Duration,
    #[serde(serialize_with = "ser_duration")]
    pub max_interval: Duration,
    pub allow_private: bool,
    pub adaptive: bool,
    /// Consecutive polls a permanent redirect must be seen before its target is adopted.
    pub redirect_adopt_after: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct CleanConfig {
    pub boilerplate: bool,
    #[serde(serialize_with = "ser_regexes")]
    pub extra_patterns: Vec<Regex>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FlagConfig {
    pub builtin: bool,
    pub action: FlagAction,
    pub rules: Vec<FlagRule>,
    /// All rule patterns in one set: one scan tells which rules can match at all.
    #[serde(skip)]
    pub rule_set: regex::RegexSet,
}

/// A user rule from `[[flag.rules]]`: a regex, or a list of phrases matched case-insensitively.
#[derive(Debug, Clone, Serialize)]
pub struct FlagRule {
    pub id: String,
    /// The compiled matcher (a phrase list is compiled into one escaped alternation).
    #[serde(rename = "pattern", serialize_with = "ser_regex")]
    pub regex: Regex,
}

#[derive(Debug, Clone, Serialize)]
pub struct DedupConfig {
    pub near: bool,
    pub threshold: f64,
    #[serde(serialize_with = "ser_duration")]
    pub window: Duration,
    pub cross_language: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct HttpConfig {
    pub listen: std::net::SocketAddr,
    pub per_feed_metrics: bool,
}

/// Where a feed is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedSource {
    Http(url::Url),
    File(PathBuf),
}

impl fmt::Display for FeedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedSource::Http(u) => write!(f, "{u}"),
            FeedSource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedConfig {
    /// The url exactly as written in the config: the feed's identity in the database and exports.
    pub url: String,
    #[serde(skip)]
    pub source: FeedSource,
    pub name: String,
    /// Explicit polling interval; `None` means adaptive (or `default_interval`).
    #[serde(serialize_with = "ser_opt_duration", skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    pub enabled: bool,
    pub full_text: FullText,
    pub allow_private: bool,
    pub flag: FeedFlag,
    pub clean: FeedClean,
}

/// A feed's effective flag settings (global values with its overrides applied).
#[derive(Debug, Clone, Serialize)]
pub struct FeedFlag {
    pub builtin: bool,
    pub action: FlagAction,
}

/// A feed's effective clean settings (global values with its overrides applied).
#[derive(Debug, Clone, Serialize)]
pub struct FeedClean {
    pub boilerplate: bool,
    #[serde(serialize_with = "ser_regexes")]
    pub extra_patterns: Vec<Regex>,
}

type KeyError = (String, String);

fn key_err(key: impl Into<String>, reason: impl fmt::Display) -> KeyError {
    (key.into(), reason.to_string())
}

fn duration(key: &str, value: &str) -> Result<Duration, KeyError> {
    humantime::parse_duration(value.trim()).map_err(|e| {
        key_err(key, format!("invalid duration {value:?} ({e}); use e.g. \"30s\", \"15m\", \"24h\""))
    })
}

fn size(key: &str, value: &str) -> Result<u64, KeyError> {
    value
        .trim()
        .parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| key_err(key, format!("invalid size {value:?} ({e}); use e.g. \"16MiB\"")))
}

fn regex(key: &str, pattern: &str) -> Result<Regex, KeyError> {
    Regex::new(pattern).map_err(|e| key_err(key, format!("invalid regex: {e}")))
}

fn regexes(key: &str, patterns: &[String]) -> Result<Vec<Regex>, KeyError> {
    patterns.iter().enumerate().map(|(i, p)| regex(&format!("{key}[{i}]"), p)).collect()
}

fn resolve_path(base: &Path, value: &str) -> PathBuf {
    let p = PathBuf::from(value);
    if p.is_absolute() { p } else { base.join(p) }
}

/// Parses a feed's `url`: http(s) URLs, `file://` URLs and plain paths (relative to `base`).
pub fn parse_feed_source(base: &Path, value: &str) -> Result<FeedSource, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {
            if u.host_str().is_none_or(str::is_empty) {
                return Err("URL has no host".into());
            }
            Ok(FeedSource::Http(u))
        }
        Ok(u) if u.scheme() == "file" => {
            // `file://relative/x.xml` is not a valid file URL; `file:///abs` and `file:rel` are
            // accepted, the latter resolved against the config folder like a plain path.
            let rest = value.trim_start_matches("file://").trim_start_matches("file:");
            if rest.starts_with('/') {
                u.to_file_path().map(FeedSource::File).map_err(|()| "invalid file URL".to_string())
            } else {
                Ok(FeedSource::File(resolve_path(base, rest)))
            }
        }
        // A single letter "scheme" is a Windows drive, anything else unknown is an error.
        Ok(u) if u.scheme().len() > 1 => {
            Err(format!("unsupported scheme {:?} (use http, https, file or a path)", u.scheme()))
        }
        _ => Ok(FeedSource::File(resolve_path(base, value))),
    }
}

/// ISO 639-1 (two lowercase letters), optionally followed by a region that is dropped.
fn lang(key: &str, value: &str) -> Result<String, KeyError> {
    let primary = value.trim().split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
    if primary.len() == 2 && primary.bytes().all(|b| b.is_ascii_lowercase()) {
        Ok(primary)
    } else {
        Err(key_err(key, format!("{value:?} is not an ISO 639-1 language code (e.g. \"en\", \"id\")")))
    }
}

impl RawConfig {
    /// Turns the raw file into a [`Config`]; relative paths resolve against `base` (the config
    /// file's folder). The error is `(key path, reason)`.
    pub fn validate(self, base: &Path) -> Result<Config, KeyError> {
        let f = &self.fetch;
        let at_least_one = |key: &str, v: u32| -> Result<usize, KeyError> {
            if v == 0 { Err(key_err(key, "must be at least 1")) } else { Ok(v as usize) }
        };
        if f.user_agent.trim().is_empty() {
            return Err(key_err("fetch.user_agent", "must not be empty"));
        }
        let fetch = FetchConfig {
            user_agent: f.user_agent.clone(),
            timeout: duration("fetch.timeout", &f.timeout)?,
            connect_timeout: duration("fetch.connect_timeout", &f.connect_timeout)?,
            read_timeout: duration("fetch.read_timeout", &f.read_timeout)?,
            max_body: size("fetch.max_body", &f.max_body)?,
            concurrency: at_least_one("fetch.concurrency", f.concurrency)?,
            per_host: at_least_one("fetch.per_host", f.per_host)?,
            per_host_interval: duration("fetch.per_host_interval", &f.per_host_interval)?,
            default_interval: duration("fetch.default_interval", &f.default_interval)?,
            min_interval: duration("fetch.min_interval", &f.min_interval)?,
            max_interval: duration("fetch.max_interval", &f.max_interval)?,
            allow_private: f.allow_private,
            adaptive: f.adaptive,
            redirect_adopt_after: u32::try_from(at_least_one(
                "fetch.redirect_adopt_after",
                f.redirect_adopt_after,
            )?)
            .unwrap_or(u32::MAX),
        };
        for (key, d) in [
            ("fetch.timeout", fetch.timeout),
            ("fetch.connect_timeout", fetch.connect_timeout),
            ("fetch.read_timeout", fetch.read_timeout),
        ] {
            if d.is_zero() {
                return Err(key_err(key, "must be greater than 0s"));
            }
        }
        if fetch.max_body == 0 {
            return Err(key_err("fetch.max_body", "must be greater than 0"));
        }
        if fetch.min_interval < Duration::from_secs(1) {
            return Err(key_err("fetch.min_interval", "must be at least 1s"));
        }
        if fetch.max_interval < fetch.min_interval {
            return Err(key_err("fetch.max_interval", "must not be less than fetch.min_interval"));
        }
        if fetch.default_interval < Duration::from_secs(1) {
            return Err(key_err("fetch.default_interval", "must be at least 1s"));
        }

        let clean = CleanConfig {
            boilerplate: self.clean.boilerplate,
            extra_patterns: regexes("clean.extra_patterns", &self.clean.extra_patterns)?,
        };

        let mut rule_ids = HashSet::new();
        let mut rules = Vec::with_capacity(self.flag.rules.len());
        for (i, r) in self.flag.rules.iter().enumerate() {
            let key = format!("flag.rules[{i}]");
            if r.id.trim().is_empty() {
                return Err(key_err(format!("{key}.id"), "must not be empty"));
            }
            if !rule_ids.insert(r.id.clone()) {
                return Err(key_err(format!("{key}.id"), format!("duplicate rule id {:?}", r.id)));
            }
            let regex = match (&r.pattern, r.phrases.is_empty()) {
                (Some(p), true) => regex(&format!("{key}.pattern"), p)?,
                (None, false) => {
                    if r.phrases.iter().any(|p| p.trim().is_empty()) {
                        return Err(key_err(format!("{key}.phrases"), "phrases must not be empty"));
                    }
                    let alternation =
                        r.phrases.iter().map(|p| regex::escape(p.trim())).collect::<Vec<_>>().join("|");
                    regex(&format!("{key}.phrases"), &format!("(?i)(?:{alternation})"))?
                }
                (Some(_), false) => {
                    return Err(key_err(key, "set either `pattern` or `phrases`, not both"));
                }
                (None, true) => return Err(key_err(key, "needs `pattern` or `phrases`")),
            };
            rules.push(FlagRule { id: r.id.clone(), regex });
        }
        let rule_set = regex::RegexSet::new(rules.iter().map(|r| r.regex.as_str()))
            .map_err(|e| key_err("flag.rules", format!("rules cannot be compiled together: {e}")))?;
        let flag = FlagConfig { builtin: self.flag.builtin, action: self.flag.action, rules, rule_set };

        if !(self.dedup.threshold > 0.0 && self.dedup.threshold <= 1.0) {
            return Err(key_err("dedup.threshold", "must be in (0, 1]"));
        }
        let dedup = DedupConfig {
            near: self.dedup.near,
            threshold: self.dedup.threshold,
            window: duration("dedup.window", &self.dedup.window)?,
            cross_language: self.dedup.cross_language,
        };

        let http = match &self.http {
            None => None,
            Some(h) => Some(HttpConfig {
                listen: h.listen.trim().parse().map_err(|e| {
                    key_err(
                        "http.listen",
                        format!("{:?} is not an address like 127.0.0.1:9184 ({e})", h.listen),
                    )
                })?,
                per_feed_metrics: h.per_feed_metrics,
            }),
        };
        let full_text = FullTextConfig {
            min_words: self.full_text.min_words as usize,
            concurrency: at_least_one("full_text.concurrency", self.full_text.concurrency)?,
        };
        let retention = RetentionConfig {
            keep: match &self.retention.keep {
                None => None,
                Some(v) => {
                    let d = duration("retention.keep", v)?;
                    if d.is_zero() {
                        return Err(key_err(
                            "retention.keep",
                            "must be longer than 0s (leave it out to keep everything)",
                        ));
                    }
                    Some(d)
                }
            },
        };

        let mut seen = HashSet::new();
        let mut feeds = Vec::with_capacity(self.feeds.len());
        for (i, raw) in self.feeds.into_iter().enumerate() {
            let key = format!("feeds[{i}]");
            let source = parse_feed_source(base, &raw.url).map_err(|r| key_err(format!("{key}.url"), r))?;
            if !seen.insert(raw.url.clone()) {
                return Err(key_err(format!("{key}.url"), format!("feed {:?} is listed twice", raw.url)));
            }
            let interval = match &raw.interval {
                None => None,
                Some(v) => {
                    let d = duration(&format!("{key}.interval"), v)?;
                    if d < Duration::from_secs(1) {
                        return Err(key_err(format!("{key}.interval"), "must be at least 1s"));
                    }
                    Some(d)
                }
            };
            let lang = raw.lang.as_deref().map(|l| lang(&format!("{key}.lang"), l)).transpose()?;
            let fo = raw.flag.unwrap_or_default();
            let co = raw.clean.unwrap_or_default();
            let extra_patterns = match &co.extra_patterns {
                Some(p) => regexes(&format!("{key}.clean.extra_patterns"), p)?,
                None => clean.extra_patterns.clone(),
            };
            let name = raw.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| raw.url.clone());
            feeds.push(FeedConfig {
                url: raw.url,
                source,
                name,
                interval,
                tags: raw.tags,
                lang,
                enabled: raw.enabled,
                full_text: raw.full_text,
                allow_private: raw.allow_private.unwrap_or(fetch.allow_private),
                flag: FeedFlag {
                    builtin: fo.builtin.unwrap_or(flag.builtin),
                    action: fo.action.unwrap_or(flag.action),
                },
                clean: FeedClean { boilerplate: co.boilerplate.unwrap_or(clean.boilerplate), extra_patterns },
            });
        }

        Ok(Config {
            source: PathBuf::new(),
            database: DatabaseConfig { path: resolve_path(base, &self.database.path) },
            fetch,
            clean,
            flag,
            dedup,
            http,
            retention,
            full_text,
            feeds,
        })
    }
}

impl Config {
    /// The effective configuration as TOML (what `feedsieve check` prints).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render config: {e}\n"))
    }

    /// The feeds that are polled.
    pub fn enabled_feeds(&self) -> impl Iterator<Item = &FeedConfig> {
        self.feeds.iter().filter(|f| f.enabled)
    }

    /// The settings of the feed at `url` as configured, or, for a feed no longer in the config,
    /// the global settings (what `reprocess` applies to items of removed feeds).
    pub fn feed_or_default(&self, url: &str) -> std::borrow::Cow<'_, FeedConfig> {
        if let Some(f) = self.feeds.iter().find(|f| f.url == url) {
            return std::borrow::Cow::Borrowed(f);
        }
        std::borrow::Cow::Owned(FeedConfig {
            url: url.to_string(),
            source: FeedSource::File(PathBuf::from(url)),
            name: url.to_string(),
            interval: None,
            tags: Vec::new(),
            lang: None,
            enabled: false,
            full_text: FullText::default(),
            allow_private: self.fetch.allow_private,
            flag: FeedFlag { builtin: self.flag.builtin, action: self.flag.action },
            clean: FeedClean {
                boilerplate: self.clean.boilerplate,
                extra_patterns: self.clean.extra_patterns.clone(),
            },
        })
    }
}

fn ser_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

fn ser_opt_duration<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => ser_duration(d, s),
        None => s.serialize_none(),
    }
}

fn ser_size<S: Serializer>(n: &u64, s: S) -> Result<S::Ok, S::Error> {
    // Exact units, so that the printed value reads back as the same number of bytes.
    let text = [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        .iter()
        .find(|(_, unit)| *n >= *unit && n.is_multiple_of(*unit))
        .map_or_else(|| format!("{n}B"), |(name, unit)| format!("{}{name}", n / unit));
    s.serialize_str(&text)
}

fn ser_regex<S: Serializer>(r: &Regex, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(r.as_str())
}

fn ser_regexes<S: Serializer>(r: &[Regex], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(r.iter().map(Regex::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("feedsieve.toml");
        std::fs::write(&p, text).expect("temp dir is writable");
        p
    }

    fn load_str(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = write(dir.path(), text);
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        load_with_env(&p, Some(env))
    }

    fn invalid_key(r: Result<Config, ConfigError>) -> String {
        match r {
            Err(ConfigError::Invalid { key, .. }) => key,
            other => panic!("expected an invalid-key error, got {other:?}"),
        }
    }

    #[test]
    fn empty_file_gives_documented_defaults() {
        let c = load_str("", &[]).expect("empty config is valid");
        assert_eq!(c.fetch.timeout, Duration::from_secs(30));
        assert_eq!(c.fetch.max_body, 16 * 1024 * 1024);
        assert_eq!(c.fetch.concurrency, 64);
        assert_eq!(c.fetch.per_host, 2);
        assert_eq!(c.fetch.default_interval, Duration::from_secs(30 * 60));
        assert_eq!(c.dedup.window, Duration::from_secs(30 * 86400));
        assert!(c.flag.builtin && c.clean.boilerplate && c.dedup.near && !c.fetch.allow_private);
        assert!(c.database.path.is_absolute() && c.database.path.ends_with("feedsieve.db"));
        assert!(c.http.is_none());
    }

    #[test]
    fn unknown_keys_are_named() {
        assert_eq!(invalid_key(load_str("[fetch]\ntimeoutt = \"3s\"\n", &[])), "fetch.timeoutt");
        let e = load_str("[fetch]\ntimeoutt = \"3s\"\n", &[]).expect_err("unknown key");
        assert!(e.to_string().contains("timeoutt"), "{e}");
        assert_eq!(invalid_key(load_str("[[feeds]]\nurl = \"a.xml\"\nbogus = 1\n", &[])), "feeds[0].bogus");
        assert!(load_str("colour = 1\n", &[]).expect_err("unknown").to_string().contains("colour"));
    }

    #[test]
    fn bad_values_name_their_key() {
        assert_eq!(invalid_key(load_str("[fetch]\ntimeout = \"soon\"\n", &[])), "fetch.timeout");
        assert_eq!(invalid_key(load_str("[fetch]\nmax_body = \"lots\"\n", &[])), "fetch.max_body");
        assert_eq!(
            invalid_key(load_str("[[flag.rules]]\nid = \"x\"\npattern = \"(\"\n", &[])),
            "flag.rules[0].pattern"
        );
        assert_eq!(
            invalid_key(load_str("[[feeds]]\nurl = \"a.xml\"\n[[feeds]]\nurl = \"gopher://x\"\n", &[])),
            "feeds[1].url"
        );
        assert_eq!(invalid_key(load_str("[fetch]\nconcurrency = \"many\"\n", &[])), "fetch.concurrency");
        assert_eq!(invalid_key(load_str("[flag]\naction = \"burn\"\n", &[])), "flag.action");
    }

    #[test]
    fn env_overrides_nested_keys() {
        let c = load_str(
            "[fetch]\ntimeout = \"30s\"\n",
            &[("FEEDSIEVE__FETCH__TIMEOUT", "7s"), ("FEEDSIEVE__FETCH__PER_HOST", "5")],
        )
        .expect("valid");
        assert_eq!(c.fetch.timeout, Duration::from_secs(7));
        assert_eq!(c.fetch.per_host, 5);
    }

    #[test]
    fn paths_resolve_against_the_config_folder() {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = write(
            dir.path(),
            "[database]\npath = \"data/x.db\"\n[[feeds]]\nurl = \"samples/a.xml\"\n[[feeds]]\nurl = \"https://example.org/rss\"\n",
        );
        let c = load_with_env(&p, Some(HashMap::new())).expect("valid");
        let base = dir.path().canonicalize().expect("exists");
        assert_eq!(c.database.path, base.join("data/x.db"));
        assert_eq!(c.feeds[0].source, FeedSource::File(base.join("samples/a.xml")));
        assert!(matches!(c.feeds[1].source, FeedSource::Http(_)));
        assert_eq!(c.feeds[1].name, "https://example.org/rss");
    }

    #[test]
    fn per_feed_overrides_apply_to_that_feed_only() {
        let c = load_str(
            "[[feeds]]\nurl = \"a.xml\"\nflag.action = \"drop\"\nclean.boilerplate = false\n[[feeds]]\nurl = \"b.xml\"\n",
            &[],
        )
        .expect("valid");
        assert_eq!(c.feeds[0].flag.action, FlagAction::Drop);
        assert!(!c.feeds[0].clean.boilerplate);
        assert_eq!(c.feeds[1].flag.action, FlagAction::Keep);
        assert!(c.feeds[1].clean.boilerplate);
    }

    #[test]
    fn phrase_rules_match_case_insensitively_and_literally() {
        let c =
            load_str("[[flag.rules]]\nid = \"p\"\nphrases = [\"made by (robots)\"]\n", &[]).expect("valid");
        assert!(c.flag.rules[0].regex.is_match("This was MADE BY (robots)."));
        assert!(!c.flag.rules[0].regex.is_match("made by robots"));
    }

    #[test]
    fn effective_config_renders_and_reloads() {
        let c = load_str("[[feeds]]\nurl = \"a.xml\"\ninterval = \"10m\"\n", &[]).expect("valid");
        let text = c.to_toml();
        assert!(text.contains("timeout = \"30s\""), "{text}");
        assert!(text.contains("max_body = \"16MiB\""), "{text}");
        assert!(text.contains("interval = \"10m\""), "{text}");
    }

    #[test]
    fn lookup_order_prefers_explicit_then_env() {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = write(dir.path(), "");
        assert_eq!(locate(Some(&p), Some("/nonexistent")).expect("explicit"), p);
        let env = p.to_string_lossy().to_string();
        assert_eq!(locate(None, Some(&env)).expect("env"), p);
        let missing = dir.path().join("missing.toml");
        let e = locate(Some(&missing), None).expect_err("missing");
        assert!(e.to_string().contains("missing.toml"), "{e}");
    }
}
