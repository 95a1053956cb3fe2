//! One file per command; each takes the loaded configuration.

mod ask;
mod credits;
mod default_config;
mod keys;
mod migrate;
mod serve;
mod usage;
mod worker;
mod workspaces;

use tracing_subscriber::EnvFilter;

use crate::cli::{BenchCommand, Cli, Command};
use crate::config::Config;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::DefaultConfig => return default_config::run(),
        Command::Openapi { server } => {
            print!("{}", pilot_http::openapi::to_json(server));
            return Ok(());
        }
        _ => {}
    }
    let config = Config::load(cli.global.config.as_deref(), &cli.overrides())?;
    init_logging(&config);
    match cli.command {
        Command::Serve { no_worker, .. } => serve::run(config, !no_worker).await,
        Command::Worker => worker::run(config).await,
        Command::Migrate => migrate::run(config).await,
        Command::Workspaces(command) => workspaces::run(config, command).await,
        Command::Keys(command) => keys::run(config, command).await,
        Command::Ask(args) => ask::run(config, args).await,
        Command::Usage(args) => usage::run(config, args).await,
        Command::Credits(command) => credits::run(config, command).await,
        Command::Bench(BenchCommand::Queue(args)) => crate::bench::queue::run(config, args).await,
        Command::Bench(BenchCommand::Runs(args)) => crate::bench::runs::run(config, args).await,
        Command::Bench(BenchCommand::Recovery(args)) => {
            crate::bench::recovery::run(config, args).await
        }
        Command::DefaultConfig | Command::Openapi { .. } => unreachable!("handled above"),
    }
}

/// Logs go to stderr, so stdout stays for what commands print for people and scripts.
fn init_logging(config: &Config) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log.filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
        .ok();
}
