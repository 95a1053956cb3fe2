//! Rows of the Pilots half as both backends return them, their checked conversion to
//! records, and what the two backends' run queries share.
//!
//! JSON columns are text on both backends (see the `0003_pilots` migrations), decoded
//! here; a column that does not parse is [`StoreError::Corrupt`], never a panic.

use std::collections::HashMap;
use std::fmt::Display;

use pilot_domain::{
    ApiKeyId, CatchUp, FiredBy, NewJob, PilotId, PilotStatus, RunId, RunStatus, StepStatus,
    TriggerType, UnixMillis, WorkspaceId,
};
use serde_json::{Value, json};

use crate::error::{StoreError, StoreResult};
use crate::pilots::{
    PilotRecord, PilotTrigger, RUN_JOB_KIND, RunDetail, RunRecord, SecretRecord, StepResultRecord,
};
use crate::row_decode::from_sqlite_row;

/// Column list of every pilot query, as a literal so queries stay `&'static str`. The
/// run count and last run add the pilot's tallies (migration 0016) to its own columns.
macro_rules! pilot_columns {
    () => {
        "id, workspace_id, environment, title, description, status, trigger_type, steps, \
         schedule_cron, schedule_timezone, next_fire_at, webhook_token_sealed, email_address, \
         CAST(pilots.run_count + COALESCE((SELECT SUM(t.runs) FROM pilot_run_tallies t \
              WHERE t.pilot_id = pilots.id), 0) AS BIGINT) AS run_count, \
         (SELECT MAX(l.at) FROM (SELECT pilots.last_run_at AS at UNION ALL \
              SELECT t.last_run_at FROM pilot_run_tallies t WHERE t.pilot_id = pilots.id) l) \
              AS last_run_at, \
         created_at, updated_at, steps_key_id, notify_url, webhook_verification, \
         schedule_catch_up"
    };
}
pub(crate) use pilot_columns;

/// Column list of every run query.
macro_rules! run_columns {
    () => {
        "id, pilot_id, workspace_id, environment, status, trigger_type, payload, steps, error, \
         created_at, started_at, finished_at, retry_of, authorized_key_id, fired_by, request"
    };
}
pub(crate) use run_columns;

/// Column list of every step-result query.
macro_rules! step_columns {
    () => {
        "run_id, step_index, step_id, step_type, status, output, error, attempts, started_at, \
         duration_ms"
    };
}
pub(crate) use step_columns;

fn corrupt(column: &str, error: impl Display) -> StoreError {
    StoreError::Corrupt(format!("{column}: {error}"))
}

/// A JSON text column decoded as `T` (a [`Value`], or rows PostgreSQL aggregated).
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(
    column: &str,
    text: &str,
) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| corrupt(column, e))
}

fn run_status(column: &str, raw: &str) -> StoreResult<RunStatus> {
    RunStatus::parse(raw).ok_or_else(|| corrupt(column, format!("unknown run status {raw:?}")))
}

/// JSON as the text stored for it. `Value`'s `Display` cannot fail.
pub(crate) fn json_text(value: &Value) -> String {
    value.to_string()
}

/// The type a trigger is stored as: an unset type is `manual`, the default trigger.
pub(crate) fn trigger_type_of(trigger: &PilotTrigger) -> &'static str {
    trigger.trigger_type.unwrap_or(TriggerType::Manual).as_str()
}

#[derive(sqlx::FromRow)]
pub(crate) struct PilotRow {
    id: i64,
    workspace_id: i64,
    environment: String,
    title: String,
    description: String,
    status: String,
    trigger_type: String,
    steps: String,
    schedule_cron: Option<String>,
    schedule_timezone: Option<String>,
    next_fire_at: Option<i64>,
    webhook_token_sealed: Option<String>,
    email_address: Option<String>,
    run_count: i64,
    last_run_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    steps_key_id: Option<i64>,
    notify_url: Option<String>,
    webhook_verification: Option<String>,
    schedule_catch_up: Option<String>,
}

from_sqlite_row!(PilotRow {
    id,
    workspace_id,
    environment,
    title,
    description,
    status,
    trigger_type,
    steps,
    schedule_cron,
    schedule_timezone,
    next_fire_at,
    webhook_token_sealed,
    email_address,
    run_count,
    last_run_at,
    created_at,
    updated_at,
    steps_key_id,
    notify_url,
    webhook_verification,
    schedule_catch_up
});

impl TryFrom<PilotRow> for PilotRecord {
    type Error = StoreError;

    fn try_from(row: PilotRow) -> Result<Self, Self::Error> {
        Ok(PilotRecord {
            id: PilotId(row.id),
            workspace_id: WorkspaceId(row.workspace_id),
            environment: row
                .environment
                .parse()
                .map_err(|e| corrupt("pilots.environment", e))?,
            title: row.title,
            description: row.description,
            status: row
                .status
                .parse::<PilotStatus>()
                .map_err(|e| corrupt("pilots.status", e))?,
            trigger_type: row
                .trigger_type
                .parse()
                .map_err(|e| corrupt("pilots.trigger_type", e))?,
            steps: json_column("pilots.steps", &row.steps)?,
            schedule_cron: row.schedule_cron,
            schedule_timezone: row.schedule_timezone,
            next_fire_at: row.next_fire_at.map(UnixMillis),
            webhook_token_sealed: row.webhook_token_sealed,
            email_address: row.email_address,
            run_count: row.run_count,
            last_run_at: row.last_run_at.map(UnixMillis),
            created_at: UnixMillis(row.created_at),
            updated_at: UnixMillis(row.updated_at),
            steps_key_id: row.steps_key_id.map(ApiKeyId),
            notify_url: row.notify_url,
            webhook_verification: row.webhook_verification,
            schedule_catch_up: row
                .schedule_catch_up
                .as_deref()
                .map(CatchUp::parse)
                .transpose()
                .map_err(|e| corrupt("pilots.schedule_catch_up", e))?
                .unwrap_or_default(),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RunRow {
    id: i64,
    pilot_id: i64,
    workspace_id: i64,
    environment: String,
    status: String,
    trigger_type: String,
    payload: String,
    steps: String,
    error: Option<String>,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    retry_of: Option<i64>,
    authorized_key_id: Option<i64>,
    fired_by: String,
    request: Option<String>,
}

from_sqlite_row!(RunRow {
    id,
    pilot_id,
    workspace_id,
    environment,
    status,
    trigger_type,
    payload,
    steps,
    error,
    created_at,
    started_at,
    finished_at,
    retry_of,
    authorized_key_id,
    fired_by,
    request
});

impl TryFrom<RunRow> for RunRecord {
    type Error = StoreError;

    fn try_from(row: RunRow) -> Result<Self, Self::Error> {
        Ok(RunRecord {
            id: RunId(row.id),
            pilot_id: PilotId(row.pilot_id),
            workspace_id: WorkspaceId(row.workspace_id),
            environment: row
                .environment
                .parse()
                .map_err(|e| corrupt("runs.environment", e))?,
            status: run_status("runs.status", &row.status)?,
            trigger_type: row
                .trigger_type
                .parse()
                .map_err(|e| corrupt("runs.trigger_type", e))?,
            payload: json_column("runs.payload", &row.payload)?,
            request: row
                .request
                .as_deref()
                .map(|text| json_column("runs.request", text))
                .transpose()?,
            steps: json_column("runs.steps", &row.steps)?,
            error: row.error,
            created_at: UnixMillis(row.created_at),
            started_at: row.started_at.map(UnixMillis),
            finished_at: row.finished_at.map(UnixMillis),
            retry_of: row.retry_of.map(RunId),
            authorized_key_id: row.authorized_key_id.map(ApiKeyId),
            fired_by: FiredBy::parse(&row.fired_by)
                .ok_or_else(|| corrupt("runs.fired_by", format!("unknown {:?}", row.fired_by)))?,
        })
    }
}

/// Also read from JSON, where PostgreSQL aggregates a run's results into one column.
#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct StepRow {
    run_id: i64,
    step_index: i32,
    step_id: String,
    step_type: String,
    status: String,
    output: Option<String>,
    error: Option<String>,
    attempts: i32,
    started_at: i64,
    duration_ms: i64,
}

from_sqlite_row!(StepRow {
    run_id,
    step_index,
    step_id,
    step_type,
    status,
    output,
    error,
    attempts,
    started_at,
    duration_ms
});

impl StepRow {
    fn into_record(self) -> StoreResult<(RunId, StepResultRecord)> {
        let status = StepStatus::parse(&self.status).ok_or_else(|| {
            corrupt(
                "run_steps.status",
                format!("unknown step status {:?}", self.status),
            )
        })?;
        let output = self
            .output
            .as_deref()
            .map(|text| json_column("run_steps.output", text))
            .transpose()?;
        let record = StepResultRecord {
            index: self.step_index,
            step_id: self.step_id,
            step_type: self.step_type,
            status,
            output,
            error: self.error,
            attempts: self.attempts,
            started_at: UnixMillis(self.started_at),
            duration_ms: self.duration_ms,
        };
        Ok((RunId(self.run_id), record))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SecretRow {
    name: String,
    created_at: i64,
    updated_at: i64,
}

from_sqlite_row!(SecretRow {
    name,
    created_at,
    updated_at
});

impl From<SecretRow> for SecretRecord {
    fn from(row: SecretRow) -> Self {
        SecretRecord {
            name: row.name,
            created_at: UnixMillis(row.created_at),
            updated_at: UnixMillis(row.updated_at),
        }
    }
}

/// Runs (in their order) with their step results, which may come in any order and for
/// runs not listed.
pub(crate) fn with_steps(runs: Vec<RunRow>, steps: Vec<StepRow>) -> StoreResult<Vec<RunDetail>> {
    let mut by_run: HashMap<RunId, Vec<StepResultRecord>> = HashMap::new();
    for row in steps {
        let (run_id, step) = row.into_record()?;
        by_run.entry(run_id).or_default().push(step);
    }
    runs.into_iter()
        .map(|row| {
            let run = RunRecord::try_from(row)?;
            let mut steps = by_run.remove(&run.id).unwrap_or_default();
            steps.sort_by_key(|step| step.index);
            Ok(RunDetail { run, steps })
        })
        .collect()
}

/// The raw ids of runs, for the follow-up query that fetches their step results.
pub(crate) fn run_ids(runs: &[RunRow]) -> Vec<i64> {
    runs.iter().map(|run| run.id).collect()
}

/// Whether a run in this status may be retried: only a finished one.
pub(crate) fn is_finished(raw_status: &str) -> StoreResult<bool> {
    Ok(run_status("runs.status", raw_status)?.is_terminal())
}

/// The job that runs `run`, in the run's workspace lane so fair claiming counts it.
pub(crate) fn run_job(run: &RunRecord, now: UnixMillis) -> NewJob {
    NewJob {
        payload: json!({ "run_id": run.id.0 }),
        ..run_job_shape(now)
    }
    .for_workspace(run.workspace_id)
}

/// A run's job before its run exists: kind, due time and attempts, for a statement
/// that builds the payload (`{"run_id": …}`) and lane itself, as [`run_job`] does.
pub(crate) fn run_job_shape(now: UnixMillis) -> NewJob {
    NewJob::new(RUN_JOB_KIND, Value::Null, now)
}

/// `before` as the exclusive upper bound of a run-list page: `None` is no bound.
pub(crate) fn before_bound(before: Option<RunId>) -> i64 {
    before.map_or(i64::MAX, |id| id.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_json_is_corrupt_not_a_panic() {
        assert!(matches!(
            json_column::<Value>("runs.payload", "{nope"),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            is_finished("exploded"),
            Err(StoreError::Corrupt(_))
        ));
        assert!(is_finished("filtered").unwrap() && !is_finished("waiting").unwrap());
    }
}
