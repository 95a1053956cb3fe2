//! Typed views: what an operation answers, one struct per resource shape, shared by
//! every transport — the REST surfaces serialize them as they are, MCP returns them
//! as structured content, the dashboard renders them.
//!
//! Each resource keeps its surface's conventions (DESIGN §2): pilots and runs read
//! camelCase with integer ids and Unix seconds (`pilot.rs`, `run.rs`,
//! `secret.rs`), deliberations and the webhooks they are delivered by snake_case
//! with prefixed ids (`del_`, `dlv_`, `wep_`) and RFC 3339 instants (`deliberation.rs`,
//! `webhook.rs`). What operators manage — workspaces, keys, credits
//! (`workspace.rs`, `key.rs`, `credits.rs`) — belongs to no API surface: snake_case,
//! integer ids, Unix milliseconds. Fields are declared in alphabetical order on purpose: the
//! surfaces answered sorted JSON objects before these views existed, and clients
//! may compare bodies byte for byte.

pub mod account;
pub mod checkpoint;
pub mod credits;
pub mod dashboard;
pub mod deliberation;
pub mod health;
pub mod key;
pub mod pilot;
pub mod pricing;
pub mod run;
pub mod secret;
pub mod webhook;
pub mod workspace;

pub use account::{BalanceView, KeyInfo, MeView};
pub use checkpoint::CheckpointView;
pub use credits::{CreditsGranted, LedgerEntryView, LedgerView};
pub use dashboard::{
    DeliberationSummaryView, DeliberationsPage, LedgerPage, RunSummaryView, RunsPage, UsageByDay,
    UsageDayView,
};
pub use deliberation::{
    DeliberationAccepted, DeliberationError, DeliberationView, PanelEntryView, PanelProgressView,
    PendingView, StatusView, TerminalView,
};
pub use health::{HealthView, QueueDepth, ReadinessView};
pub use key::{IssuedKey, KeyList, KeyRevoked, KeyView};
pub use pilot::{PilotDetail, PilotList, PilotSummary, ScheduleView};
pub use pricing::{EstimateView, ModelPriceView, PriceView, PricingView};
pub use run::{RetryQueued, RunPage, RunQueued, RunView, StepResultView};
pub use secret::{SecretList, SecretView, SecretWritten};
pub use webhook::{
    AttemptView, DeliveryDetailView, DeliveryPage, DeliveryView, EndpointEnabled, EndpointList,
    EndpointView, RecoveryQueued, SigningSecretView,
};
pub use workspace::{WorkspaceCreated, WorkspaceList, WorkspaceView};
