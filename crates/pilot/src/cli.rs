//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Overrides;

/// Pilot: a self-hosted AI operations server — automations (Pilots) and AI panel
/// deliberations behind two REST APIs, on SQLite or PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "pilot", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file (TOML); see `pilot default-config`.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Store URL: sqlite://PATH or postgres://… [env: PILOT_DATABASE_URL]
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Data directory for the SQLite store and master key [env: PILOT_DATA_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API with an embedded worker (one process does everything).
    Serve {
        /// Address to listen on; port 0 picks a free port [env: PILOT_BIND]
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
        /// Serve HTTP only; leave jobs to `pilot worker` processes.
        #[arg(long)]
        no_worker: bool,
    },
    /// Run workers only, for scale-out beside `pilot serve` on a shared store.
    Worker,
    /// Apply pending store migrations and exit.
    Migrate,
    /// Manage workspaces.
    #[command(subcommand)]
    Workspaces(WorkspacesCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print the commented default configuration.
    DefaultConfig,
    /// Measure Pilot's parts on this machine.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum WorkspacesCommand {
    /// Create a workspace with a live and a test key (printed once).
    Create {
        /// Lowercase letters, digits, '-' and '_'.
        name: String,
    },
    /// List workspaces.
    List,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum EnvArg {
    Live,
    Test,
}

impl From<EnvArg> for pilot_domain::Environment {
    fn from(env: EnvArg) -> Self {
        match env {
            EnvArg::Live => pilot_domain::Environment::Live,
            EnvArg::Test => pilot_domain::Environment::Test,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key; the key and its webhook signing secret are printed once.
    Create {
        /// The workspace's name.
        #[arg(long, default_value = "default")]
        workspace: String,
        /// Which environment the key reads and writes.
        #[arg(long = "env", value_enum)]
        environment: EnvArg,
        /// A label for people.
        #[arg(long, default_value = "api key")]
        name: String,
        /// Space- or comma-separated: pilots:read pilots:write deliberations:read
        /// deliberations:write (write implies read). Default: all.
        #[arg(long)]
        scopes: Option<String>,
    },
    /// List a workspace's keys (prefixes only; keys are never stored).
    List {
        /// The workspace's name.
        #[arg(long, default_value = "default")]
        workspace: String,
        /// Only keys of this environment.
        #[arg(long = "env", value_enum)]
        environment: Option<EnvArg>,
    },
    /// Revoke a key by its id (see `pilot keys list`).
    Revoke {
        /// The workspace's name.
        #[arg(long, default_value = "default")]
        workspace: String,
        /// The key's id.
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Enqueue, claim and complete no-op jobs through the real worker; prints jobs/s.
    Queue(QueueBenchArgs),
}

#[derive(Clone, Debug, Args)]
pub struct QueueBenchArgs {
    /// Jobs per run.
    #[arg(long, default_value_t = 20_000)]
    pub jobs: u32,
    /// Worker processes' worth of workers to run at once; repeat for several runs.
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    pub workers: Vec<u32>,
    /// Jobs each worker runs at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: u32,
    /// Jobs per enqueue statement (1 enqueues one at a time).
    #[arg(long, default_value_t = 500)]
    pub enqueue_batch: u32,
    /// Concurrent producers enqueuing (as concurrent API requests would).
    #[arg(long, default_value_t = 1)]
    pub producers: u32,
    /// PostgreSQL server to bench on (a scratch database is created and dropped);
    /// without it, SQLite in a temporary directory.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
}

impl Cli {
    pub fn overrides(&self) -> Overrides {
        let bind = match &self.command {
            Command::Serve { bind, .. } => bind.clone(),
            _ => None,
        };
        Overrides {
            bind,
            data_dir: self.global.data_dir.clone(),
            database_url: self.global.database_url.clone(),
        }
    }
}
