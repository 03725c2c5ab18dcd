//! feedsieve's integration tests: the real binary, a real SQLite file, a real HTTP server.
//!
//! - `config_cli`: config lookup, validation, exit codes, `check`.
//! - `ingest`: `run --once` over RSS, Atom and JSON Feed; export contract; updates; failures.
//! - `fetch_safety`: byte caps, gzip bombs, timeouts, the SSRF guard.
//! - `daemon`: the long-running `run` and its shutdown.
//! - `flagging`: user rules, keep and drop.
//! - `queries`: `search` and `opml`.
//! - `operations`: retention, backup, reprocess.
//! - `crash`: SIGKILL at random moments during ingest; consistency and no loss.
//! - `fuzz_regressions`: inputs the fuzzers found, through the stage they broke.
//! - `extraction`: extraction quality on labelled article pages (printed).
//! - `full_text`: article pages fetched, extracted and stored for summary-only feeds.
//! - `service`: sd_notify on a real socket, SIGHUP reload, `/healthz` and `/metrics`.
//! - `store`: the store's group commit, through the library.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    reason = "test harness: a failed step is a failed test"
)]

mod helpers;

mod config_cli;
mod ingest;
mod fetch_safety;
mod fetching;
mod daemon;
mod flagging;
mod corpus;
mod feed_corpus;
mod parsing;
mod dedup;
mod queries;
mod operations;
mod service;
mod full_text;
mod extraction;
mod fuzz_regressions;
mod store;
mod crash;
