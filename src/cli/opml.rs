//! `feedsieve opml import FILE` / `feedsieve opml export`: the feed list to and from OPML.
//! Import prints `[[feeds]]` TOML to paste into the config (the config stays the user's file:
//! nothing is written to it); export prints the config's feeds as OPML 2.0.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use feedsieve::config::Config;
use feedsieve::opml::{self, ExportFeed};

use super::UsageError;

#[derive(Debug, clap::Args)]
pub struct OpmlArgs {
    #[command(subcommand)]
    pub action: OpmlAction,
}

#[derive(Debug, clap::Subcommand)]
pub enum OpmlAction {
    /// Print the feeds of an OPML file as `[[feeds]]` TOML (stdout), to add to the config
    Import {
        /// The OPML file ("-" reads standard input)
        file: PathBuf,
    },
    /// Print the config's feeds as an OPML 2.0 document (stdout)
    Export,
}

/// Largest OPML file read: a feed list of a few hundred thousand entries.
const MAX_OPML: u64 = 64 * 1024 * 1024;

pub fn import(file: &Path) -> anyhow::Result<ExitCode> {
    let mut bytes = Vec::new();
    let read = if file == Path::new("-") {
        std::io::stdin().lock().take(MAX_OPML).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(MAX_OPML).read_to_end(&mut bytes))
    };
    read.map_err(|e| UsageError(format!("cannot read {}: {e}", file.display())))?;
    let decoded = feedsieve::pipeline::parse::decode(&bytes, None, MAX_OPML)
        .map_err(|e| UsageError(format!("{}: {e}", file.display())))?;
    let feeds = opml::parse(&decoded.text).map_err(|e| UsageError(format!("{}: {e}", file.display())))?;
    let toml = opml::to_toml(&feeds).context("cannot write the feed list as TOML")?;
    println!("# {} feeds imported from {}", feeds.len(), file.display());
    print!("{toml}");
    eprintln!("{} feeds found; add the [[feeds]] above to your config file", feeds.len());
    Ok(ExitCode::SUCCESS)
}

pub fn export(config: &Config) -> anyhow::Result<ExitCode> {
    let feeds: Vec<ExportFeed<'_>> =
        config.feeds.iter().map(|f| ExportFeed { url: &f.url, name: &f.name, tags: &f.tags }).collect();
    print!("{}", opml::write("feedsieve feeds", &feeds));
    Ok(ExitCode::SUCCESS)
}
