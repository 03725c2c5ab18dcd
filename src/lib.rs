//! feedsieve: polls syndication feeds, cleans every item, flags auto-generated copy,
//! deduplicates wire stories and stores normalized articles in SQLite.
//!
//! # Layout
//!
//! The modules in the order data flows through them:
//!
//! - [`config`]: the TOML file (plus environment overrides) validated once into [`config::Config`].
//! - [`model`]: the nouns: `RawItem`, `CleanItem`, `Article`, `Flag`, `DedupKey`, counts.
//! - [`scheduler`]: when each feed is polled next (a pure function).
//! - [`daemon`]: the poll loop and the worker that takes one feed through the pipeline.
//! - [`pipeline`]: one file per stage, `fetch -> parse -> clean -> flag -> dedup -> store`;
//!   `clean`, `flag` and `dedup` are pure.
//! - [`db`]: the only place SQL lives (SQLite, migrations from `migrations/`); `db/dedup.rs` is
//!   the store's half of deduplication (candidate lookups and key rows inside the write
//!   transaction).
//! - [`ops`]: signals and the other hooks to the process supervisor.
//! - [`opml`]: the feed list to and from OPML (pure).
//!
//! The command line (`src/main.rs`, `src/cli/`) is a thin layer over these.

pub mod config;
pub mod model;
pub mod scheduler;
pub mod daemon;
pub mod pipeline;
pub mod db;
pub mod ops;
pub mod opml;
