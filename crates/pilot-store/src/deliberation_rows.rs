//! Rows of the Deliberations half as both backends return them, and their checked
//! conversion to records.
//!
//! JSON columns are text on both backends (see the `0004_deliberations` migrations),
//! decoded here; a column that does not parse is [`StoreError::Corrupt`], never a
//! panic.

use std::fmt::Display;
use std::str::FromStr;

use pilot_domain::{ApiKeyId, Credits, DeliberationId, UnixMillis, WorkspaceId};

use crate::deliberations::{
    DeliberationRecord, DeliberationResult, EventRecord, IdempotencyBegin, LedgerEntry, PanelEntry,
};
use crate::error::{StoreError, StoreResult};
use crate::pilot_rows::json_column;
use crate::row_decode::from_sqlite_row;

/// Column list of every deliberation query, as a literal so queries stay
/// `&'static str`.
macro_rules! deliberation_columns {
    () => {
        "id, workspace_id, environment, key_id, mode, use_case, difficulty, question, \
         webhook_url, metadata, status, estimate_micros, charged_micros, synthesis, summary, \
         minority_report, confidence_index, confidence_inputs, degraded, failure_code, \
         created_at, updated_at, completed_at"
    };
}
pub(crate) use deliberation_columns;

/// Column list of every ledger query.
macro_rules! ledger_columns {
    () => {
        "id, amount_micros, kind, deliberation_id, note, balance_after_micros, created_at"
    };
}
pub(crate) use ledger_columns;

/// Column list of every event query.
macro_rules! event_columns {
    () => {
        "id, event, deliberation_id, workspace_id, environment, key_id, webhook_url, payload, \
         created_at"
    };
}
pub(crate) use event_columns;

pub(crate) fn corrupt(column: &str, error: impl Display) -> StoreError {
    StoreError::Corrupt(format!("{column}: {error}"))
}

pub(crate) fn parsed<T: FromStr>(column: &str, raw: &str) -> StoreResult<T>
where
    T::Err: Display,
{
    raw.parse().map_err(|e| corrupt(column, e))
}

fn deliberation_id(column: &str, raw: &str) -> StoreResult<DeliberationId> {
    DeliberationId::parse(raw).ok_or_else(|| corrupt(column, format!("not an id: {raw:?}")))
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeliberationRow {
    id: String,
    workspace_id: i64,
    environment: String,
    key_id: Option<i64>,
    mode: String,
    use_case: String,
    difficulty: String,
    question: String,
    webhook_url: Option<String>,
    metadata: Option<String>,
    status: String,
    estimate_micros: i64,
    charged_micros: Option<i64>,
    synthesis: Option<String>,
    summary: Option<String>,
    minority_report: Option<String>,
    confidence_index: Option<f64>,
    confidence_inputs: Option<String>,
    degraded: Option<bool>,
    failure_code: Option<String>,
    created_at: i64,
    updated_at: i64,
    completed_at: Option<i64>,
}

from_sqlite_row!(DeliberationRow {
    id,
    workspace_id,
    environment,
    key_id,
    mode,
    use_case,
    difficulty,
    question,
    webhook_url,
    metadata,
    status,
    estimate_micros,
    charged_micros,
    synthesis,
    summary,
    minority_report,
    confidence_index,
    confidence_inputs,
    degraded,
    failure_code,
    created_at,
    updated_at,
    completed_at
});

impl DeliberationRow {
    /// The result columns are written together: all set, or all empty.
    fn result(&mut self) -> StoreResult<Option<DeliberationResult>> {
        let parts = (
            self.synthesis.take(),
            self.summary.take(),
            self.confidence_index,
            self.confidence_inputs.take(),
            self.degraded,
        );
        match parts {
            (
                Some(synthesis),
                Some(summary),
                Some(confidence_index),
                Some(inputs),
                Some(degraded),
            ) => Ok(Some(DeliberationResult {
                synthesis,
                summary,
                minority_report: self.minority_report.take(),
                confidence_index,
                confidence_inputs: json_column("deliberations.confidence_inputs", &inputs)?,
                degraded,
            })),
            (None, None, None, None, None) => Ok(None),
            _ => Err(corrupt("deliberations.synthesis", "a partial result")),
        }
    }
}

impl TryFrom<DeliberationRow> for DeliberationRecord {
    type Error = StoreError;

    fn try_from(mut row: DeliberationRow) -> Result<Self, Self::Error> {
        let result = row.result()?;
        Ok(DeliberationRecord {
            id: deliberation_id("deliberations.id", &row.id)?,
            workspace_id: WorkspaceId(row.workspace_id),
            environment: parsed("deliberations.environment", &row.environment)?,
            key_id: row.key_id.map(ApiKeyId),
            mode: parsed("deliberations.mode", &row.mode)?,
            use_case: parsed("deliberations.use_case", &row.use_case)?,
            difficulty: parsed("deliberations.difficulty", &row.difficulty)?,
            question: row.question,
            webhook_url: row.webhook_url,
            metadata: row
                .metadata
                .as_deref()
                .map(|text| json_column("deliberations.metadata", text))
                .transpose()?,
            status: parsed("deliberations.status", &row.status)?,
            estimate: Credits::from_micros(row.estimate_micros),
            credits_charged: row.charged_micros.map(Credits::from_micros),
            result,
            failure: row
                .failure_code
                .as_deref()
                .map(|code| parsed("deliberations.failure_code", code))
                .transpose()?,
            created_at: UnixMillis(row.created_at),
            updated_at: UnixMillis(row.updated_at),
            completed_at: row.completed_at.map(UnixMillis),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PanelRow {
    stage: String,
    author: String,
    content: String,
    created_at: i64,
}

from_sqlite_row!(PanelRow {
    stage,
    author,
    content,
    created_at
});

impl TryFrom<PanelRow> for PanelEntry {
    type Error = StoreError;

    fn try_from(row: PanelRow) -> Result<Self, Self::Error> {
        Ok(PanelEntry {
            stage: row.stage,
            author: row.author,
            content: json_column("deliberation_panel.content", &row.content)?,
            created_at: UnixMillis(row.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct LedgerRow {
    id: i64,
    amount_micros: i64,
    kind: String,
    deliberation_id: Option<String>,
    note: String,
    balance_after_micros: i64,
    created_at: i64,
}

from_sqlite_row!(LedgerRow {
    id,
    amount_micros,
    kind,
    deliberation_id,
    note,
    balance_after_micros,
    created_at
});

impl TryFrom<LedgerRow> for LedgerEntry {
    type Error = StoreError;

    fn try_from(row: LedgerRow) -> Result<Self, Self::Error> {
        Ok(LedgerEntry {
            id: row.id,
            amount: Credits::from_micros(row.amount_micros),
            kind: row.kind,
            deliberation_id: row
                .deliberation_id
                .as_deref()
                .map(|id| deliberation_id("credit_ledger.deliberation_id", id))
                .transpose()?,
            note: row.note,
            balance_after: Credits::from_micros(row.balance_after_micros),
            created_at: UnixMillis(row.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    id: String,
    event: String,
    deliberation_id: String,
    workspace_id: i64,
    environment: String,
    key_id: Option<i64>,
    webhook_url: Option<String>,
    payload: String,
    created_at: i64,
}

from_sqlite_row!(EventRow {
    id,
    event,
    deliberation_id,
    workspace_id,
    environment,
    key_id,
    webhook_url,
    payload,
    created_at
});

impl TryFrom<EventRow> for EventRecord {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<Self, Self::Error> {
        Ok(EventRecord {
            id: row.id,
            event: row.event,
            deliberation_id: deliberation_id(
                "deliberation_events.deliberation_id",
                &row.deliberation_id,
            )?,
            workspace_id: WorkspaceId(row.workspace_id),
            environment: parsed("deliberation_events.environment", &row.environment)?,
            key_id: row.key_id.map(ApiKeyId),
            webhook_url: row.webhook_url,
            payload: json_column("deliberation_events.payload", &row.payload)?,
            created_at: UnixMillis(row.created_at),
        })
    }
}

/// What an earlier request left under an idempotency key.
#[derive(sqlx::FromRow)]
pub(crate) struct IdempotencyRow {
    body_hash: String,
    status: Option<i32>,
    response: Option<String>,
}

from_sqlite_row!(IdempotencyRow {
    body_hash,
    status,
    response
});

impl IdempotencyRow {
    /// What a request whose body hashes to `body_hash` is told about this key. Another
    /// body is a conflict even while the first request is still running.
    pub(crate) fn outcome(self, body_hash: &str) -> StoreResult<IdempotencyBegin> {
        if self.body_hash != body_hash {
            return Ok(IdempotencyBegin::Conflict);
        }
        let (status, response) = match (self.status, self.response) {
            (None, _) => return Ok(IdempotencyBegin::InFlight),
            (Some(status), Some(response)) => (status, response),
            (Some(_), None) => return Err(corrupt("idempotency_keys.response", "missing")),
        };
        Ok(IdempotencyBegin::Replay {
            status: u16::try_from(status).map_err(|e| corrupt("idempotency_keys.status", e))?,
            body: json_column("idempotency_keys.response", &response)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn row() -> DeliberationRow {
        DeliberationRow {
            id: "del_01HXYZABCDEFGHJKMNPQRSTVWX".into(),
            workspace_id: 1,
            environment: "live".into(),
            key_id: Some(2),
            mode: "smartroute1".into(),
            use_case: "code".into(),
            difficulty: "HARD".into(),
            question: "Which queue?".into(),
            webhook_url: None,
            metadata: None,
            status: "queued".into(),
            estimate_micros: 900_000,
            charged_micros: None,
            synthesis: None,
            summary: None,
            minority_report: None,
            confidence_index: None,
            confidence_inputs: None,
            degraded: None,
            failure_code: None,
            created_at: 1,
            updated_at: 1,
            completed_at: None,
        }
    }

    #[test]
    fn a_partial_result_is_corrupt() {
        assert_eq!(DeliberationRecord::try_from(row()).unwrap().result, None);
        let partial = DeliberationRow {
            synthesis: Some("# Usage-based".into()),
            ..row()
        };
        assert!(matches!(
            DeliberationRecord::try_from(partial),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn an_idempotency_row_answers_by_body_then_by_status() {
        let held = |status, response: Option<&str>| IdempotencyRow {
            body_hash: "h".into(),
            status,
            response: response.map(str::to_owned),
        };
        assert_eq!(
            held(None, None).outcome("h").unwrap(),
            IdempotencyBegin::InFlight
        );
        assert_eq!(
            held(Some(202), Some(r#"{"id":1}"#)).outcome("h").unwrap(),
            IdempotencyBegin::Replay {
                status: 202,
                body: json!({"id": 1})
            }
        );
        assert_eq!(
            held(None, None).outcome("x").unwrap(),
            IdempotencyBegin::Conflict
        );
        for bad in [
            held(Some(202), None),
            held(Some(-1), Some("{}")),
            held(Some(200), Some("{")),
        ] {
            assert!(matches!(bad.outcome("h"), Err(StoreError::Corrupt(_))));
        }
    }
}
