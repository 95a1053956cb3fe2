//! What the store hands back and takes in: plain data, already validated.

use pilot_domain::{ApiKeyId, Environment, JobId, JobState, Scopes, UnixMillis, WorkspaceId};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkspaceRecord {
    pub id: WorkspaceId,
    pub name: String,
    pub created_at: UnixMillis,
}

/// A key to store: only its digest and display prefix, never the key.
#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub environment: Environment,
    pub name: String,
    pub prefix: String,
    pub digest: String,
    pub scopes: Scopes,
    pub webhook_secret_sealed: String,
}

impl NewApiKey {
    /// The record this key becomes once stored under `id`.
    pub(crate) fn stored_as(
        &self,
        id: ApiKeyId,
        workspace_id: WorkspaceId,
        now: UnixMillis,
    ) -> ApiKeyRecord {
        ApiKeyRecord {
            id,
            workspace_id,
            environment: self.environment,
            name: self.name.clone(),
            prefix: self.prefix.clone(),
            scopes: self.scopes.clone(),
            created_at: now,
            revoked_at: None,
            last_used_at: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub workspace_id: WorkspaceId,
    pub environment: Environment,
    pub name: String,
    pub prefix: String,
    pub scopes: Scopes,
    pub created_at: UnixMillis,
    pub revoked_at: Option<UnixMillis>,
    /// When it last authenticated a request, to the minute (see
    /// `KeyStore::touch_api_key`).
    pub last_used_at: Option<UnixMillis>,
}

/// A key found by digest, with what authentication needs besides.
#[derive(Clone, Debug)]
pub struct KeyLookup {
    pub key: ApiKeyRecord,
    pub workspace_name: String,
}

pub struct ClaimRequest<'a> {
    /// Who holds the leases: unique per worker process.
    pub owner: &'a str,
    pub limit: u32,
    pub now: UnixMillis,
    pub lease_until: UnixMillis,
    /// Fair use: at most this many jobs of one workspace running at once, across all
    /// workers, and due jobs taken round-robin across workspaces (each one's oldest
    /// first, then each one's second…). Jobs without a workspace form one uncapped
    /// lane. `None` turns fairness off: due jobs are taken oldest first.
    pub workspace_cap: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClaimedJob {
    pub id: JobId,
    pub kind: String,
    pub payload: Value,
    pub workspace_id: Option<WorkspaceId>,
    /// Attempts so far, this one included.
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: UnixMillis,
    pub created_at: UnixMillis,
}

/// How a job that did not complete is settled.
#[derive(Clone, Debug, PartialEq)]
pub enum JobFinish {
    /// Failed; try again at `run_at`.
    Retry { run_at: UnixMillis, error: String },
    /// Not failed, not done: run again at `run_at` without counting an attempt
    /// (a durable wait that holds no worker and no lease).
    Snooze { run_at: UnixMillis },
    /// Failed for good.
    Dead { error: String },
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub queued: i64,
    pub running: i64,
    pub dead: i64,
}

impl QueueCounts {
    pub fn get(&self, state: JobState) -> i64 {
        match state {
            JobState::Queued => self.queued,
            JobState::Running => self.running,
            JobState::Dead => self.dead,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct JobRecord {
    pub id: JobId,
    pub kind: String,
    pub state: JobState,
    pub workspace_id: Option<WorkspaceId>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: UnixMillis,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<UnixMillis>,
    pub last_error: Option<String>,
}
