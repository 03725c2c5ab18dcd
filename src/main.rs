//! The `feedsieve` binary: parse the command line, start logging, load the config, dispatch.
//! Errors become exit codes here and only here: 0 success, 1 runtime failure, 2 usage or config.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    if let Err(e) = cli::init_logging(args.log_format) {
        eprintln!("feedsieve: cannot start logging: {e}");
        return ExitCode::from(1);
    }
    match cli::dispatch(args) {
        Ok(code) => code,
        Err(e) => {
            let usage = e.chain().any(|c| {
                c.downcast_ref::<feedsieve::config::ConfigError>().is_some()
                    || c.downcast_ref::<cli::UsageError>().is_some()
            });
            tracing::error!(error = format!("{e:#}"), "fatal");
            eprintln!("feedsieve: {e:#}");
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}
