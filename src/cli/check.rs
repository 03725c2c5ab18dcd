//! `feedsieve check`: load and validate the config, print the effective configuration.

use std::process::ExitCode;

use feedsieve::config::Config;

pub fn check(config: &Config) -> anyhow::Result<ExitCode> {
    println!("# effective configuration, from {}", config.source.display());
    print!("{}", config.to_toml());
    Ok(ExitCode::SUCCESS)
}
