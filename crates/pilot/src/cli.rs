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
    /// Manage dashboard users: create (prints a set-password link), list, disable,
    /// reset-link.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Send one prompt through the configured model layer; print the answer, its
    /// token usage, latency and cost. The call is metered like any other.
    Ask(AskArgs),
    /// Print model usage by day and model: calls, tokens and cost.
    Usage(UsageArgs),
    /// Grant credits, or show a workspace environment's balance and ledger.
    #[command(subcommand)]
    Credits(CreditsCommand),
    /// Webhook deliveries of a workspace environment: list, show with their
    /// attempts, replay.
    #[command(subcommand)]
    Deliveries(DeliveriesCommand),
    /// Webhook endpoints of a workspace environment: list, enable, recover.
    #[command(subcommand)]
    Endpoints(EndpointsCommand),
    /// Webhook settings of a workspace environment: the run events' signing secret.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Serve MCP over stdio for an AI agent (Claude Desktop and the like), forwarding
    /// every message to a Pilot server's `/mcp` and back. Nothing but protocol is
    /// written to stdout; logs go to stderr.
    Mcp(McpArgs),
    /// Print the commented default configuration.
    DefaultConfig,
    /// Print the OpenAPI 3.1 document of both APIs (the committed `openapi.json` is
    /// this command's output).
    Openapi {
        /// Base URL for the document's `servers`; a running server publishes its own
        /// `public_url` at `/openapi.json`.
        #[arg(long, value_name = "URL", default_value = pilot_http::openapi::COMMITTED_PUBLIC_URL)]
        server: String,
    },
    /// Measure Pilot's parts on this machine.
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// Where `pilot mcp` forwards to, and as whom.
#[derive(Debug, Clone, Args)]
pub struct McpArgs {
    /// The Pilot server's base URL (`/mcp` is added unless given)
    /// [env: PILOT_API_URL, else BIZOPS_API_URL] [default: http://127.0.0.1:8080]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The API key (`pk_…`) the server authenticates; prefer the environment, which
    /// other users of this machine cannot list [env: PILOT_API_KEY, else BIZOPS_API_KEY]
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
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

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a dashboard user in a workspace; prints the link that sets their
    /// password (shown once).
    Create {
        email: String,
        /// The workspace's name.
        #[arg(long, default_value = "default")]
        workspace: String,
        #[arg(long, value_enum, default_value_t = RoleArg::Member)]
        role: RoleArg,
    },
    /// List dashboard users, one line per workspace they belong to.
    List,
    /// Disable a user: no more sign-ins, their sessions end.
    Disable { email: String },
    /// Print a fresh link that sets the user's password (shown once).
    ResetLink { email: String },
}

/// A dashboard user's role in a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    Member,
    Owner,
}

#[derive(Debug, Subcommand)]
pub enum CreditsCommand {
    /// Add credits to a workspace environment (an append-only ledger entry).
    Grant {
        #[command(flatten)]
        target: CreditsTarget,
        /// Credits to add, e.g. 25 or 4.2.
        amount: f64,
        /// Why, kept in the ledger.
        #[arg(long, default_value = "granted by an operator")]
        note: String,
    },
    /// Print the balance.
    Balance {
        #[command(flatten)]
        target: CreditsTarget,
    },
    /// Print the newest ledger entries.
    Ledger {
        #[command(flatten)]
        target: CreditsTarget,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[derive(Debug, Args)]
pub struct CreditsTarget {
    /// The workspace's name.
    #[arg(long, default_value = "default")]
    pub workspace: String,
    /// Live and test credits are separate balances.
    #[arg(long = "env", value_enum)]
    pub env: EnvArg,
}

/// Whose webhooks a command reads or steers.
#[derive(Debug, Args)]
pub struct WebhooksTarget {
    /// The workspace's name.
    #[arg(long, default_value = "default")]
    pub workspace: String,
    /// Live and test keep their own deliveries, endpoints and signing secrets.
    #[arg(long = "env", value_enum)]
    pub env: EnvArg,
}

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// List deliveries, newest first.
    List {
        #[command(flatten)]
        target: WebhooksTarget,
        /// Only this state: pending, succeeded, failed, dead or disabled.
        #[arg(long)]
        status: Option<String>,
        /// Only deliveries to this endpoint (wep_…).
        #[arg(long)]
        endpoint: Option<String>,
        /// Only deliveries older than this one (dlv_…): the next page.
        #[arg(long)]
        before: Option<String>,
        /// How many, 1 to 100.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Show a delivery with every attempt kept.
    Show {
        #[command(flatten)]
        target: WebhooksTarget,
        /// The delivery's id (dlv_…).
        id: String,
    },
    /// Send a delivery once more, now (a manual attempt; the retry schedule is
    /// left as it is).
    Replay {
        #[command(flatten)]
        target: WebhooksTarget,
        /// The delivery's id (dlv_…).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EndpointsCommand {
    /// List endpoints with their state, failures, last success and last failure.
    List {
        #[command(flatten)]
        target: WebhooksTarget,
    },
    /// Re-enable an endpoint; the deliveries that waited for it go out.
    Enable {
        #[command(flatten)]
        target: WebhooksTarget,
        /// The endpoint's id (wep_…).
        id: String,
    },
    /// Replay every dead or failed delivery of an endpoint since an instant.
    Recover {
        #[command(flatten)]
        target: WebhooksTarget,
        /// The endpoint's id (wep_…).
        id: String,
        /// RFC 3339, at most 14 days back, e.g. 2026-04-29T10:00:00Z.
        #[arg(long)]
        since: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Print the signing secret of run.completed / run.failed deliveries (made now
    /// if there is none).
    Secret {
        #[command(flatten)]
        target: WebhooksTarget,
        /// Replace it with a new one first: deliveries signed from now on use it.
        #[arg(long)]
        rotate: bool,
    },
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

#[derive(Clone, Debug, Args)]
pub struct AskArgs {
    /// The prompt (one user message).
    pub prompt: String,
    /// The model to use instead of the role's configured one.
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// What the call is for, which picks the model (models.roles.*): drafter, step,
    /// router, arbiter, moderation, persona or persona:NAME.
    #[arg(long, default_value = "step", value_parser = parse_role)]
    pub role: pilot_models::Role,
    /// Which provider answers: `live` is models.live_provider, `test` is
    /// models.test_provider (the scripted model by default).
    #[arg(long = "env", value_enum, default_value = "live")]
    pub environment: EnvArg,
    /// Ask for JSON following the JSON schema in FILE; the answer must parse as JSON.
    #[arg(long, value_name = "FILE")]
    pub json_schema: Option<PathBuf>,
    /// Charge the call to this workspace (default: none, an operator's call).
    #[arg(long, value_name = "NAME")]
    pub workspace: Option<String>,
}

fn parse_role(raw: &str) -> Result<pilot_models::Role, pilot_models::roles::UnknownRole> {
    raw.parse()
}

#[derive(Clone, Debug, Args)]
pub struct UsageArgs {
    /// Days to cover, today (UTC) included.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=3660))]
    pub days: u32,
    /// Only this workspace's calls (default: every call, operators' included).
    #[arg(long, value_name = "NAME")]
    pub workspace: Option<String>,
    /// Only calls of this environment.
    #[arg(long = "env", value_enum)]
    pub environment: Option<EnvArg>,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Enqueue, claim and complete no-op jobs through the real worker; prints jobs/s.
    Queue(QueueBenchArgs),
    /// Time single fair claims with many workspaces waiting; prints p50/p99 per claim.
    Claims(ClaimsBenchArgs),
    /// `pilot serve` with the default configuration, a webhook pilot (transform →
    /// condition → http) fired by `wrk`; prints completed runs/s.
    Webhook(WebhookBenchArgs),
    /// Fire 3-step pilot runs through the run endpoint; prints runs/s and latencies.
    Runs(RunsBenchArgs),
    /// Deliver signed webhooks of ended deliberations to a local receiver; prints
    /// deliveries/s and the terminal-commit-to-first-attempt latency at a fixed rate.
    Deliveries(DeliveriesBenchArgs),
    /// Kill -9 a `pilot serve` child mid-step with runs queued behind the workspace
    /// cap, restart it on the same store, and time until the queued runs move again.
    Recovery(RecoveryBenchArgs),
    /// Time the dashboard's tenant-wide reads (runs across pilots, deliberations,
    /// usage by day) on a store filled with 10,000 runs; prints p50/p99 per query.
    DashboardReads(DashboardReadsBenchArgs),
}

#[derive(Clone, Debug, Args)]
pub struct DashboardReadsBenchArgs {
    /// Runs in the tenant, over the last 30 days.
    #[arg(long, default_value_t = 10_000)]
    pub runs: u32,
    /// Pilots they belong to.
    #[arg(long, default_value_t = 20)]
    pub pilots: u32,
    /// Calls of each query measured.
    #[arg(long, default_value_t = 200)]
    pub calls: u32,
    /// PostgreSQL server to bench on (a scratch database is created and dropped);
    /// without it, SQLite in a temporary directory.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
}

#[derive(Clone, Debug, Args)]
pub struct RecoveryBenchArgs {
    /// Kill, restart and measure this many times, each on a fresh scratch store.
    #[arg(long, default_value_t = 5)]
    pub trials: u32,
    /// Runs mid-step when the server is killed; they must fill the workspace cap
    /// (default: `queue.workspace_cap`).
    #[arg(long)]
    pub held: Option<u32>,
    /// Runs queued behind them.
    #[arg(long, default_value_t = 40)]
    pub queued: u32,
    /// PostgreSQL server to bench on (a scratch database is created and dropped);
    /// without it, SQLite in a temporary data directory.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
}

#[derive(Clone, Debug, Args)]
pub struct DeliveriesBenchArgs {
    /// Deliveries in the throughput phase's backlog.
    #[arg(long, default_value_t = 20_000)]
    pub deliveries: u32,
    /// Jobs the worker runs at once.
    #[arg(long, default_value_t = 128)]
    pub concurrency: u32,
    /// Terminal commits per second in the paced phase.
    #[arg(long, default_value_t = 500)]
    pub rate: u32,
    /// Length of the paced phase, in seconds.
    #[arg(long, default_value_t = 5)]
    pub seconds: u32,
    /// PostgreSQL server to bench on (a scratch database is created and dropped);
    /// without it, SQLite in a temporary directory.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
}

#[derive(Clone, Debug, Args)]
pub struct RunsBenchArgs {
    /// Runs fired in the throughput phase.
    #[arg(long, default_value_t = 5_000)]
    pub runs: u32,
    /// Concurrent HTTP clients firing in the throughput phase.
    #[arg(long, default_value_t = 32)]
    pub clients: u32,
    /// Runs the embedded worker executes at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: u32,
    /// Concurrent runs allowed per workspace (the bench uses one workspace).
    #[arg(long, default_value_t = 64)]
    pub workspace_cap: u32,
    /// Runs per second offered in the paced phase.
    #[arg(long, default_value_t = 500)]
    pub rate: u32,
    /// Length of the paced phase, in seconds.
    #[arg(long, default_value_t = 5)]
    pub seconds: u32,
    /// PostgreSQL server to bench on (a scratch database is created and dropped);
    /// without it, SQLite in a temporary directory.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
    /// Run the jobs in this many `pilot worker` processes beside the bench's API
    /// process (which then runs no worker), each with `--concurrency`; 0: the
    /// embedded worker. On PostgreSQL, lock waits are sampled meanwhile.
    #[arg(long, default_value_t = 0)]
    pub workers: u32,
}

#[derive(Clone, Debug, Args)]
pub struct WebhookBenchArgs {
    /// wrk's connections (`-c`).
    #[arg(long, default_value_t = 8)]
    pub connections: u32,
    /// wrk's threads (`-t`).
    #[arg(long, default_value_t = 2)]
    pub threads: u32,
    /// How long wrk fires (`-d`), in seconds.
    #[arg(long, default_value_t = 10)]
    pub seconds: u32,
    /// The `pilot` binary to serve with (default: this one), to measure another
    /// build the same way.
    #[arg(long, value_name = "PATH")]
    pub server_binary: Option<std::path::PathBuf>,
    /// PostgreSQL server to bench on (a scratch database is created and dropped);
    /// without it, SQLite in a temporary data directory.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
}

#[derive(Clone, Debug, Args)]
pub struct ClaimsBenchArgs {
    /// Workspaces with due jobs waiting.
    #[arg(long, default_value_t = 10_000)]
    pub workspaces: u32,
    /// Due jobs queued in each.
    #[arg(long, default_value_t = 3)]
    pub jobs_per_workspace: u32,
    /// Claims timed.
    #[arg(long, default_value_t = 500)]
    pub claims: u32,
    /// Jobs asked for per claim (a worker asks for its free slots).
    #[arg(long, default_value_t = 32)]
    pub limit: u32,
    /// The workspace cap claims carry.
    #[arg(long, default_value_t = 10)]
    pub cap: u32,
    /// PostgreSQL server to bench on (a scratch database is created and dropped);
    /// without it, SQLite in a temporary directory.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
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
