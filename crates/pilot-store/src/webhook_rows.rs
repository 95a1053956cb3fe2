//! Rows of webhook storage as both backends return them, and their checked
//! conversion to records.
//!
//! A delivery's `payload` is text on both backends (see the `0007_webhooks`
//! migrations), decoded here; a column that does not parse is
//! [`StoreError::Corrupt`], never a panic.

use std::fmt::Display;
use std::str::FromStr;

use pilot_domain::webhook::{DeliveryId, DisabledReason, EndpointId, EndpointState, EventId};
use pilot_domain::{ApiKeyId, Environment, PilotId, RunId, RunStatus, UnixMillis, WorkspaceId};

use crate::deliberation_rows::corrupt;
use crate::error::{StoreError, StoreResult};
use crate::pilot_rows::json_column;
use crate::row_decode::{FromSqliteRow, from_sqlite_row};
use crate::webhooks::{AttemptRecord, DeliveryRecord, DeliveryWork, EndpointRecord};

/// Column list of every endpoint query.
macro_rules! endpoint_columns {
    () => {
        "id, workspace_id, environment, url, state, disabled_reason, consecutive_failures, \
         last_success_at, last_failure_at, created_at, updated_at"
    };
}
pub(crate) use endpoint_columns;

/// Column list of every delivery query, over [`deliveries_joined!`] (`d`, with its
/// endpoint `e` for the URL). Every column is named, so both backends read it by name.
macro_rules! delivery_columns {
    () => {
        "d.id AS id, d.event_id AS event_id, d.event AS event, d.workspace_id AS workspace_id, \
         d.environment AS environment, d.endpoint_id AS endpoint_id, e.url AS url, \
         d.key_id AS key_id, d.payload AS payload, d.event_at AS event_at, d.state AS state, \
         d.attempts AS attempts, d.scheduled_attempts AS scheduled_attempts, \
         d.next_attempt_at AS next_attempt_at, d.last_status AS last_status, \
         d.last_error AS last_error, d.created_at AS created_at, d.updated_at AS updated_at"
    };
}
pub(crate) use delivery_columns;

/// What [`delivery_columns!`] selects from.
macro_rules! deliveries_joined {
    () => {
        "webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id"
    };
}
pub(crate) use deliveries_joined;

/// Column list of every attempt query.
macro_rules! attempt_columns {
    () => {
        "number, manual, started_at, status, response_excerpt, latency_ms, error"
    };
}
pub(crate) use attempt_columns;

fn parsed<T: FromStr>(column: &str, raw: &str) -> StoreResult<T>
where
    T::Err: Display,
{
    raw.parse().map_err(|e| corrupt(column, e))
}

fn prefixed<T>(column: &str, raw: &str, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    parse(raw).ok_or_else(|| corrupt(column, format!("not an id: {raw:?}")))
}

#[derive(sqlx::FromRow)]
pub(crate) struct EndpointRow {
    id: String,
    workspace_id: i64,
    environment: String,
    url: String,
    state: String,
    disabled_reason: Option<String>,
    consecutive_failures: i64,
    last_success_at: Option<i64>,
    last_failure_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

from_sqlite_row!(EndpointRow {
    id,
    workspace_id,
    environment,
    url,
    state,
    disabled_reason,
    consecutive_failures,
    last_success_at,
    last_failure_at,
    created_at,
    updated_at
});

impl TryFrom<EndpointRow> for EndpointRecord {
    type Error = StoreError;

    fn try_from(row: EndpointRow) -> Result<Self, Self::Error> {
        Ok(EndpointRecord {
            id: prefixed("webhook_endpoints.id", &row.id, EndpointId::parse)?,
            workspace_id: WorkspaceId(row.workspace_id),
            environment: parsed("webhook_endpoints.environment", &row.environment)?,
            url: row.url,
            state: parsed("webhook_endpoints.state", &row.state)?,
            disabled_reason: row
                .disabled_reason
                .as_deref()
                .map(|reason| parsed("webhook_endpoints.disabled_reason", reason))
                .transpose()?,
            consecutive_failures: row.consecutive_failures,
            last_success_at: row.last_success_at.map(UnixMillis),
            last_failure_at: row.last_failure_at.map(UnixMillis),
            created_at: UnixMillis(row.created_at),
            updated_at: UnixMillis(row.updated_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    id: String,
    event_id: String,
    event: String,
    workspace_id: i64,
    environment: String,
    endpoint_id: String,
    url: String,
    key_id: Option<i64>,
    payload: String,
    event_at: i64,
    state: String,
    attempts: i64,
    scheduled_attempts: i64,
    next_attempt_at: Option<i64>,
    last_status: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    updated_at: i64,
}

from_sqlite_row!(DeliveryRow {
    id,
    event_id,
    event,
    workspace_id,
    environment,
    endpoint_id,
    url,
    key_id,
    payload,
    event_at,
    state,
    attempts,
    scheduled_attempts,
    next_attempt_at,
    last_status,
    last_error,
    created_at,
    updated_at
});

impl TryFrom<DeliveryRow> for DeliveryRecord {
    type Error = StoreError;

    fn try_from(row: DeliveryRow) -> Result<Self, Self::Error> {
        Ok(DeliveryRecord {
            id: prefixed("webhook_deliveries.id", &row.id, DeliveryId::parse)?,
            event_id: prefixed("webhook_deliveries.event_id", &row.event_id, EventId::parse)?,
            event: parsed("webhook_deliveries.event", &row.event)?,
            workspace_id: WorkspaceId(row.workspace_id),
            environment: parsed("webhook_deliveries.environment", &row.environment)?,
            endpoint_id: prefixed(
                "webhook_deliveries.endpoint_id",
                &row.endpoint_id,
                EndpointId::parse,
            )?,
            url: row.url,
            key_id: row.key_id.map(ApiKeyId),
            payload: json_column("webhook_deliveries.payload", &row.payload)?,
            event_at: UnixMillis(row.event_at),
            state: parsed("webhook_deliveries.state", &row.state)?,
            attempts: row.attempts,
            scheduled_attempts: row.scheduled_attempts,
            next_attempt_at: row.next_attempt_at.map(UnixMillis),
            last_status: row.last_status,
            last_error: row.last_error,
            created_at: UnixMillis(row.created_at),
            updated_at: UnixMillis(row.updated_at),
        })
    }
}

/// A delivery for the sender: [`delivery_columns!`], then `endpoint_state` (the
/// endpoint's `state`) and `sealed_secret`.
#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryWorkRow {
    #[sqlx(flatten)]
    delivery: DeliveryRow,
    endpoint_state: String,
    sealed_secret: Option<String>,
}

impl FromSqliteRow for DeliveryWorkRow {
    fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(DeliveryWorkRow {
            delivery: DeliveryRow::from_sqlite_row(row)?,
            endpoint_state: row.get("endpoint_state")?,
            sealed_secret: row.get("sealed_secret")?,
        })
    }
}

impl TryFrom<DeliveryWorkRow> for DeliveryWork {
    type Error = StoreError;

    fn try_from(row: DeliveryWorkRow) -> Result<Self, Self::Error> {
        Ok(DeliveryWork {
            delivery: row.delivery.try_into()?,
            endpoint_state: parsed("webhook_endpoints.state", &row.endpoint_state)?,
            sealed_secret: row.sealed_secret,
        })
    }
}

/// Also read from JSON, where PostgreSQL aggregates a delivery's attempts into one
/// column.
#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct AttemptRow {
    number: i64,
    manual: bool,
    started_at: i64,
    status: Option<i64>,
    response_excerpt: Option<String>,
    latency_ms: i64,
    error: Option<String>,
}

from_sqlite_row!(AttemptRow {
    number,
    manual,
    started_at,
    status,
    response_excerpt,
    latency_ms,
    error
});

impl From<AttemptRow> for AttemptRecord {
    fn from(row: AttemptRow) -> Self {
        AttemptRecord {
            number: row.number,
            manual: row.manual,
            started_at: UnixMillis(row.started_at),
            status: row.status,
            response_excerpt: row.response_excerpt,
            latency_ms: row.latency_ms,
            error: row.error,
        }
    }
}

/// What recording an attempt reads first: the delivery's endpoint as it stands.
#[derive(sqlx::FromRow)]
pub(crate) struct EndpointStandingRow {
    endpoint_id: String,
    state: String,
    disabled_reason: Option<String>,
    consecutive_failures: i64,
}

from_sqlite_row!(EndpointStandingRow {
    endpoint_id,
    state,
    disabled_reason,
    consecutive_failures
});

/// [`EndpointStandingRow`], checked.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct EndpointStanding {
    pub(crate) endpoint_id: EndpointId,
    pub(crate) state: EndpointState,
    pub(crate) disabled_reason: Option<DisabledReason>,
    pub(crate) consecutive_failures: i64,
}

impl TryFrom<EndpointStandingRow> for EndpointStanding {
    type Error = StoreError;

    fn try_from(row: EndpointStandingRow) -> Result<Self, Self::Error> {
        Ok(EndpointStanding {
            endpoint_id: prefixed("webhook_endpoints.id", &row.endpoint_id, EndpointId::parse)?,
            state: parsed("webhook_endpoints.state", &row.state)?,
            disabled_reason: row
                .disabled_reason
                .as_deref()
                .map(|reason| parsed("webhook_endpoints.disabled_reason", reason))
                .transpose()?,
            consecutive_failures: row.consecutive_failures,
        })
    }
}

/// A run that a statement just ended, with its pilot's `notify_url`: what a run
/// event is made of. Also read from JSON, where PostgreSQL aggregates the runs that
/// buried jobs ended.
#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct EndedRunRow {
    id: i64,
    pilot_id: i64,
    workspace_id: i64,
    environment: String,
    status: String,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    error: Option<String>,
    notify_url: Option<String>,
}

from_sqlite_row!(EndedRunRow {
    id,
    pilot_id,
    workspace_id,
    environment,
    status,
    started_at,
    finished_at,
    error,
    notify_url
});

/// [`EndedRunRow`], checked.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct EndedRun {
    pub(crate) id: RunId,
    pub(crate) pilot_id: PilotId,
    pub(crate) workspace_id: WorkspaceId,
    pub(crate) environment: Environment,
    pub(crate) status: RunStatus,
    pub(crate) started_at: Option<UnixMillis>,
    pub(crate) finished_at: Option<UnixMillis>,
    pub(crate) error: Option<String>,
    pub(crate) notify_url: Option<String>,
}

impl TryFrom<EndedRunRow> for EndedRun {
    type Error = StoreError;

    fn try_from(row: EndedRunRow) -> Result<Self, Self::Error> {
        Ok(EndedRun {
            id: RunId(row.id),
            pilot_id: PilotId(row.pilot_id),
            workspace_id: WorkspaceId(row.workspace_id),
            environment: parsed("runs.environment", &row.environment)?,
            status: RunStatus::parse(&row.status).ok_or_else(|| {
                corrupt(
                    "runs.status",
                    format!("unknown run status {:?}", row.status),
                )
            })?,
            started_at: row.started_at.map(UnixMillis),
            finished_at: row.finished_at.map(UnixMillis),
            error: row.error,
            notify_url: row.notify_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_id_or_payload_is_corrupt_not_a_panic() {
        assert!(matches!(
            prefixed("webhook_deliveries.id", "dlv_nope", DeliveryId::parse),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            parsed::<pilot_domain::webhook::DeliveryState>("webhook_deliveries.state", "sent"),
            Err(StoreError::Corrupt(_))
        ));
    }
}
