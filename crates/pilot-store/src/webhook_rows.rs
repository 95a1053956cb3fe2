//! Webhook rows as both backends read them (see `row_decode.rs`), ids as both
//! backends make them, and the run events' payload.

use std::time::{Duration, UNIX_EPOCH};

use pilot_domain::webhook::{
    DeliveryId, DeliveryState, EndpointId, EndpointState, EventId, RunEventData,
};
use pilot_domain::{ApiKeyId, UnixMillis, WorkspaceId};

use crate::deliberation_rows::{corrupt, parsed};
use crate::error::{StoreError, StoreResult};
use crate::pilot_rows::json_column;
use crate::row_decode::from_sqlite_row;
use crate::webhooks::{AttemptRecord, DeliveryRecord, DeliveryWork, EndpointRecord};

/// A fresh ULID whose time part is `now` (the caller's clock), random otherwise.
pub(crate) fn ulid_at(now: UnixMillis) -> String {
    let millis = u64::try_from(now.0).unwrap_or(0);
    ulid::Ulid::from_datetime(UNIX_EPOCH + Duration::from_millis(millis)).to_string()
}

pub(crate) fn new_delivery_id(now: UnixMillis) -> DeliveryId {
    DeliveryId::from_ulid_text(&ulid_at(now))
}

pub(crate) fn new_endpoint_id(now: UnixMillis) -> EndpointId {
    EndpointId::from_ulid_text(&ulid_at(now))
}

pub(crate) fn new_event_id(now: UnixMillis) -> EventId {
    EventId::from_ulid_text(&ulid_at(now))
}

/// The `data` of a run's terminal event, from the run's row.
pub(crate) fn run_event_payload(
    run_id: i64,
    pilot_id: i64,
    status: &str,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    error: Option<String>,
) -> String {
    let data = RunEventData {
        run_id,
        pilot_id,
        status: status.to_owned(),
        duration_ms: started_at
            .zip(finished_at)
            .map(|(start, end)| (end - start).max(0)),
        error,
        finished_at: finished_at.map(|t| UnixMillis(t).as_secs()),
    };
    serde_json::to_string(&data).expect("a run event serializes")
}

/// The columns an [`EndpointRow`] is read from.
macro_rules! endpoint_columns {
    () => {
        "id, workspace_id, environment, url, state, disabled_reason, consecutive_failures, \
         last_success_at, last_failure_at, created_at, updated_at"
    };
}
pub(crate) use endpoint_columns;

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
            id: endpoint_id(&row.id)?,
            workspace_id: WorkspaceId(row.workspace_id),
            environment: parsed("webhook_endpoints.environment", &row.environment)?,
            url: row.url,
            state: parsed("webhook_endpoints.state", &row.state)?,
            disabled_reason: row
                .disabled_reason
                .map(|r| parsed("webhook_endpoints.disabled_reason", &r))
                .transpose()?,
            consecutive_failures: row.consecutive_failures,
            last_success_at: row.last_success_at.map(UnixMillis),
            last_failure_at: row.last_failure_at.map(UnixMillis),
            created_at: UnixMillis(row.created_at),
            updated_at: UnixMillis(row.updated_at),
        })
    }
}

/// The columns a [`DeliveryRow`] is read from: `d` the delivery, `e` its endpoint.
macro_rules! delivery_columns {
    () => {
        "d.id, d.event_id, d.event, d.workspace_id, d.environment, d.endpoint_id, e.url, \
         d.key_id, d.payload, d.event_at, d.state, d.attempts, d.scheduled_attempts, \
         d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.updated_at"
    };
}
pub(crate) use delivery_columns;

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
            id: DeliveryId::parse(&row.id)
                .ok_or_else(|| corrupt("webhook_deliveries.id", &row.id))?,
            event_id: EventId::parse(&row.event_id)
                .ok_or_else(|| corrupt("webhook_deliveries.event_id", &row.event_id))?,
            event: parsed("webhook_deliveries.event", &row.event)?,
            workspace_id: WorkspaceId(row.workspace_id),
            environment: parsed("webhook_deliveries.environment", &row.environment)?,
            endpoint_id: endpoint_id(&row.endpoint_id)?,
            url: row.url,
            key_id: row.key_id.map(ApiKeyId),
            payload: json_column("webhook_deliveries.payload", &row.payload)?,
            event_at: UnixMillis(row.event_at),
            state: parsed::<DeliveryState>("webhook_deliveries.state", &row.state)?,
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

/// A delivery with its endpoint's state and the signing secret.
#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryWorkRow {
    #[sqlx(flatten)]
    delivery: DeliveryRow,
    endpoint_state: String,
    sealed_secret: Option<String>,
}

impl crate::row_decode::FromSqliteRow for DeliveryWorkRow {
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
            endpoint_state: parsed::<EndpointState>(
                "webhook_endpoints.state",
                &row.endpoint_state,
            )?,
            sealed_secret: row.sealed_secret,
        })
    }
}

/// The columns an [`AttemptRow`] is read from.
macro_rules! attempt_columns {
    () => {
        "number, manual, started_at, status, response_excerpt, latency_ms, error"
    };
}
pub(crate) use attempt_columns;

#[derive(sqlx::FromRow)]
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

fn endpoint_id(raw: &str) -> StoreResult<EndpointId> {
    EndpointId::parse(raw).ok_or_else(|| corrupt("webhook_endpoints.id", raw))
}
