//! Raw rows as both backends return them, and their checked conversion to records.
//!
//! `FromRow` derives generically over the database, so the two backends share these.

use pilot_domain::{ApiKeyId, JobId, JobState, Scopes, UnixMillis, WorkspaceId};
use serde_json::Value;

use crate::error::StoreError;
use crate::processes::ProcessRecord;
use crate::records::{
    ApiKeyRecord, ClaimedJob, JobFinish, JobRecord, KeyLookup, QueueCounts, WorkspaceRecord,
};
use crate::row_decode::from_sqlite_row;

#[derive(sqlx::FromRow)]
pub(crate) struct WorkspaceRow {
    id: i64,
    name: String,
    created_at: i64,
}

from_sqlite_row!(WorkspaceRow {
    id,
    name,
    created_at
});

impl From<WorkspaceRow> for WorkspaceRecord {
    fn from(row: WorkspaceRow) -> Self {
        WorkspaceRecord {
            id: WorkspaceId(row.id),
            name: row.name,
            created_at: UnixMillis(row.created_at),
        }
    }
}

/// Columns selected for a key: [`key_columns!`] lists them.
#[derive(sqlx::FromRow)]
pub(crate) struct ApiKeyRow {
    id: i64,
    workspace_id: i64,
    environment: String,
    name: String,
    prefix: String,
    scopes: String,
    created_at: i64,
    revoked_at: Option<i64>,
    last_used_at: Option<i64>,
}

from_sqlite_row!(ApiKeyRow {
    id,
    workspace_id,
    environment,
    name,
    prefix,
    scopes,
    created_at,
    revoked_at,
    last_used_at
});

impl TryFrom<ApiKeyRow> for ApiKeyRecord {
    type Error = StoreError;

    fn try_from(row: ApiKeyRow) -> Result<Self, Self::Error> {
        Ok(ApiKeyRecord {
            id: ApiKeyId(row.id),
            workspace_id: WorkspaceId(row.workspace_id),
            environment: row
                .environment
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("api_keys.environment: {e}")))?,
            name: row.name,
            prefix: row.prefix,
            scopes: Scopes::parse(&row.scopes)
                .map_err(|e| StoreError::Corrupt(format!("api_keys.scopes: {e}")))?,
            created_at: UnixMillis(row.created_at),
            revoked_at: row.revoked_at.map(UnixMillis),
            last_used_at: row.last_used_at.map(UnixMillis),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct KeyLookupRow {
    #[sqlx(flatten)]
    key: ApiKeyRow,
    workspace_name: String,
}

impl crate::row_decode::FromSqliteRow for KeyLookupRow {
    fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(KeyLookupRow {
            key: ApiKeyRow::from_sqlite_row(row)?,
            workspace_name: row.get("workspace_name")?,
        })
    }
}

impl TryFrom<KeyLookupRow> for KeyLookup {
    type Error = StoreError;

    fn try_from(row: KeyLookupRow) -> Result<Self, Self::Error> {
        Ok(KeyLookup {
            key: row.key.try_into()?,
            workspace_name: row.workspace_name,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ClaimedJobRow {
    id: i64,
    kind: String,
    payload: sqlx::types::Json<Value>,
    workspace_id: Option<i64>,
    attempts: i32,
    max_attempts: i32,
    run_at: i64,
    created_at: i64,
}

impl crate::row_decode::FromSqliteRow for ClaimedJobRow {
    /// SQLite keeps the payload as JSON text.
    fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let payload: String = row.get("payload")?;
        let payload = serde_json::from_str(&payload).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
        })?;
        Ok(ClaimedJobRow {
            id: row.get("id")?,
            kind: row.get("kind")?,
            payload: sqlx::types::Json(payload),
            workspace_id: row.get("workspace_id")?,
            attempts: row.get("attempts")?,
            max_attempts: row.get("max_attempts")?,
            run_at: row.get("run_at")?,
            created_at: row.get("created_at")?,
        })
    }
}

impl From<ClaimedJobRow> for ClaimedJob {
    fn from(row: ClaimedJobRow) -> Self {
        ClaimedJob {
            id: JobId(row.id),
            kind: row.kind,
            payload: row.payload.0,
            workspace_id: row.workspace_id.map(WorkspaceId),
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            run_at: UnixMillis(row.run_at),
            created_at: UnixMillis(row.created_at),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct JobRow {
    id: i64,
    kind: String,
    state: String,
    workspace_id: Option<i64>,
    attempts: i32,
    max_attempts: i32,
    run_at: i64,
    lease_owner: Option<String>,
    lease_expires_at: Option<i64>,
    last_error: Option<String>,
}

from_sqlite_row!(JobRow {
    id,
    kind,
    state,
    workspace_id,
    attempts,
    max_attempts,
    run_at,
    lease_owner,
    lease_expires_at,
    last_error
});

impl TryFrom<JobRow> for JobRecord {
    type Error = StoreError;

    fn try_from(row: JobRow) -> Result<Self, Self::Error> {
        Ok(JobRecord {
            id: JobId(row.id),
            kind: row.kind,
            state: row.state.parse().map_err(StoreError::Corrupt)?,
            workspace_id: row.workspace_id.map(WorkspaceId),
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            run_at: UnixMillis(row.run_at),
            lease_owner: row.lease_owner,
            lease_expires_at: row.lease_expires_at.map(UnixMillis),
            last_error: row.last_error,
        })
    }
}

/// The JSON array `enqueue_many` binds as one parameter on both backends.
pub(crate) fn jobs_as_json(jobs: &[pilot_domain::NewJob]) -> Value {
    Value::Array(
        jobs.iter()
            .map(|job| {
                serde_json::json!({
                    "kind": job.kind,
                    "payload": job.payload,
                    "workspace_id": job.workspace_id.map(|w| w.0),
                    "run_at": job.run_at.0,
                    "max_attempts": job.max_attempts,
                })
            })
            .collect(),
    )
}

/// Column list shared by every key query (qualified with the `k` alias), as a literal
/// so queries stay `&'static str`.
macro_rules! key_columns {
    () => {
        "k.id, k.workspace_id, k.environment, k.name, k.prefix, k.scopes, k.created_at, k.revoked_at, \
         k.last_used_at"
    };
}
pub(crate) use key_columns;

/// The columns a [`JobFinish`] writes: state, new `run_at`, error, attempts given back.
pub(crate) fn finish_columns(
    finish: &JobFinish,
) -> (JobState, Option<UnixMillis>, Option<&str>, i32) {
    match finish {
        JobFinish::Retry { run_at, error } => (JobState::Queued, Some(*run_at), Some(error), 0),
        JobFinish::Snooze { run_at } => (JobState::Queued, Some(*run_at), None, 1),
        JobFinish::Dead { error } => (JobState::Dead, None, Some(error), 0),
    }
}

pub(crate) fn counts_from(rows: Vec<(String, i64)>) -> QueueCounts {
    let mut counts = QueueCounts::default();
    for (state, count) in rows {
        match state.parse::<JobState>() {
            Ok(JobState::Queued) => counts.queued = count,
            Ok(JobState::Running) => counts.running = count,
            Ok(JobState::Dead) => counts.dead = count,
            Err(_) => {}
        }
    }
    counts
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProcessRow {
    id: String,
    host: String,
    pid: i64,
    started_at: i64,
    heartbeat_at: i64,
    expires_at: i64,
}

from_sqlite_row!(ProcessRow {
    id,
    host,
    pid,
    started_at,
    heartbeat_at,
    expires_at
});

impl From<ProcessRow> for ProcessRecord {
    fn from(row: ProcessRow) -> Self {
        ProcessRecord {
            id: row.id,
            host: row.host,
            pid: row.pid,
            started_at: UnixMillis(row.started_at),
            heartbeat_at: UnixMillis(row.heartbeat_at),
            expires_at: UnixMillis(row.expires_at),
        }
    }
}
