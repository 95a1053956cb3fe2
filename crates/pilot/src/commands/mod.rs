//! One file per command; each takes the loaded configuration. Commands that change
//! data call the operator's operations (`pilot_operations`, as the [`Operator`] at
//! this console) and only parse their arguments and print what they answer.

mod ask;
mod credits;
mod default_config;
mod deliveries;
mod endpoints;
mod keys;
mod mcp;
mod migrate;
mod serve;
mod usage;
mod users;
mod webhooks;
mod worker;
mod workspaces;

use pilot_operations::{ErrorKind, OpError, Operations, Operator, unknown_workspace};
use tracing_subscriber::EnvFilter;

use crate::app::App;
use crate::cli::{BenchCommand, Cli, Command};
use crate::config::Config;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::DefaultConfig => return default_config::run(),
        // The stdio bridge needs no configuration, store or key file, and must keep
        // stdout for the protocol: it starts before any of them is loaded.
        Command::Mcp(args) => return mcp::run(args.clone()).await,
        Command::Openapi { server } => {
            print!("{}", pilot_http::openapi::to_json(server, None));
            return Ok(());
        }
        _ => {}
    }
    let config = Config::load(cli.global.config.as_deref(), &cli.overrides())?;
    init_logging(&config);
    config.warn_deprecations();
    match cli.command {
        Command::Serve { no_worker, .. } => serve::run(config, !no_worker).await,
        Command::Worker => worker::run(config).await,
        Command::Migrate => migrate::run(config).await,
        Command::Workspaces(command) => workspaces::run(config, command).await,
        Command::Keys(command) => keys::run(config, command).await,
        Command::Users(command) => users::run(config, command).await,
        Command::Ask(args) => ask::run(config, args).await,
        Command::Usage(args) => usage::run(config, args).await,
        Command::Credits(command) => credits::run(config, command).await,
        Command::Deliveries(command) => deliveries::run(config, command).await,
        Command::Endpoints(command) => endpoints::run(config, command).await,
        Command::Webhooks(command) => webhooks::run(config, command).await,
        Command::Bench(BenchCommand::Queue(args)) => crate::bench::queue::run(config, args).await,
        Command::Bench(BenchCommand::Claims(args)) => crate::bench::claims::run(config, args).await,
        Command::Bench(BenchCommand::Webhook(args)) => crate::bench::webhook::run(args).await,
        Command::Bench(BenchCommand::Runs(args)) => crate::bench::runs::run(config, args).await,
        Command::Bench(BenchCommand::Deliveries(args)) => {
            crate::bench::deliveries::run(config, args).await
        }
        Command::Bench(BenchCommand::Recovery(args)) => {
            crate::bench::recovery::run(config, args).await
        }
        Command::Bench(BenchCommand::DashboardReads(args)) => {
            crate::bench::dashboard_reads::run(config, args).await
        }
        Command::DefaultConfig | Command::Openapi { .. } | Command::Mcp(_) => {
            unreachable!("handled above")
        }
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

/// The operations, and the operator a command acts as: the person at this console.
fn console(app: &App) -> (Operations, Operator) {
    (
        app.operations(app.config.configured_public_url()),
        Operator::console(),
    )
}

/// An operation's refusal as a command reports it: its message. A failure of ours
/// says only that much (the store's error is logged where it happened, on stderr).
fn refused(error: OpError) -> anyhow::Error {
    match error.kind {
        ErrorKind::Internal => anyhow::anyhow!("the store failed; see the error logged above"),
        _ => anyhow::anyhow!(error.message),
    }
}

/// [`refused`], for a command naming `workspace`: an unknown one is answered with
/// where to find the names.
fn refused_in(workspace: &str) -> impl Fn(OpError) -> anyhow::Error {
    let unknown = unknown_workspace(workspace);
    move |error: OpError| {
        if error == unknown {
            anyhow::anyhow!("{} (see `pilot workspaces list`)", error.message)
        } else {
            refused(error)
        }
    }
}
