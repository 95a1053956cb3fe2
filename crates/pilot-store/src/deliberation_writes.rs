//! What the two backends write alike when a deliberation is created or ends: its job,
//! the ledger postings that move its credits, and its terminal event.

use std::time::{Duration, UNIX_EPOCH};

use pilot_domain::{Credits, DeliberationId, Environment, NewJob, UnixMillis, WorkspaceId};
use serde_json::json;

use crate::deliberation_rows::corrupt;
use crate::deliberations::{DELIBERATION_JOB_KIND, DeliberationRecord};
use crate::error::StoreResult;

/// Ledger kinds this store writes (the schema also admits `charge_adjustment`).
pub(crate) const GRANT: &str = "grant";
pub(crate) const RESERVE: &str = "reserve";
pub(crate) const REFUND: &str = "refund";

/// The job that runs a deliberation, in its workspace's lane so fair claiming counts it.
pub(crate) fn deliberation_job(
    id: &DeliberationId,
    workspace_id: WorkspaceId,
    now: UnixMillis,
) -> NewJob {
    NewJob::new(DELIBERATION_JOB_KIND, json!({ "deliberation_id": id }), now)
        .for_workspace(workspace_id)
}

/// One change to a tenant's balance, with the ledger entry that explains it.
pub(crate) struct Posting<'a> {
    pub(crate) workspace_id: WorkspaceId,
    pub(crate) environment: Environment,
    /// Positive credits the balance, negative debits it.
    pub(crate) amount: Credits,
    pub(crate) kind: &'static str,
    pub(crate) deliberation_id: Option<&'a DeliberationId>,
    pub(crate) note: String,
}

/// The reservation for a new deliberation: its whole estimate, debited.
pub(crate) fn reservation<'a>(
    workspace_id: WorkspaceId,
    environment: Environment,
    id: &'a DeliberationId,
    estimate: Credits,
) -> Posting<'a> {
    Posting {
        workspace_id,
        environment,
        amount: Credits::from_micros(estimate.micros().saturating_neg()),
        kind: RESERVE,
        deliberation_id: Some(id),
        note: "reserved at submit".to_owned(),
    }
}

/// What a deliberation that just reached a terminal state gives back: the part of its
/// reservation it was not charged, if any. The charge never exceeds the reservation
/// (the `UPDATE` that ends it caps it), so this is never negative.
pub(crate) fn refund(record: &DeliberationRecord) -> Option<Posting<'_>> {
    let charged = record.credits_charged.unwrap_or(Credits::ZERO);
    let unused = record
        .estimate
        .checked_sub(charged)
        .filter(|unused| *unused > Credits::ZERO)?;
    let note = match record.failure {
        Some(code) => format!("full refund: {code}"),
        None => format!("unused reservation (charged {charged})"),
    };
    Some(Posting {
        workspace_id: record.workspace_id,
        environment: record.environment,
        amount: unused,
        kind: REFUND,
        deliberation_id: Some(&record.id),
        note,
    })
}

/// A terminal event to insert into the outbox.
pub(crate) struct NewEvent {
    /// `evt_` + a ULID stamped with the caller's `now`.
    pub(crate) id: String,
    pub(crate) event: String,
    pub(crate) payload: String,
}

/// The `deliberation.completed` / `deliberation.failed` event for a deliberation that
/// just reached that state. Its payload is the webhook body's `data` (§5) except
/// `result_url`, which depends on the public base URL the store does not know: the
/// webhook sender adds it.
pub(crate) fn terminal_event(
    record: &DeliberationRecord,
    now: UnixMillis,
) -> StoreResult<NewEvent> {
    if !record.status.is_terminal() {
        let status = record.status;
        return Err(corrupt(
            "deliberations.status",
            format!("{status} is not terminal"),
        ));
    }
    let payload = json!({
        "deliberation_id": record.id,
        "status": record.status,
        "mode": record.mode,
        "use_case": record.use_case,
        "completed_at": rfc3339(record.completed_at.unwrap_or(now))?,
        "credits_charged": record.credits_charged.unwrap_or(Credits::ZERO),
        "metadata": record.metadata,
    });
    Ok(NewEvent {
        id: format!("evt_{}", event_ulid(now)?),
        event: format!("deliberation.{}", record.status),
        payload: payload.to_string(),
    })
}

/// An instant as the documents show it: RFC 3339, UTC, whole seconds.
fn rfc3339(at: UnixMillis) -> StoreResult<String> {
    at.to_rfc3339().ok_or_else(|| {
        corrupt(
            "deliberations.completed_at",
            format!("out of range: {}", at.0),
        )
    })
}

/// A ULID whose time part is `now`, not the system clock: ids sort with the instants
/// the caller's clock stamped.
fn event_ulid(now: UnixMillis) -> StoreResult<ulid::Ulid> {
    let millis = u64::try_from(now.0).map_err(|e| corrupt("deliberation_events.created_at", e))?;
    Ok(ulid::Ulid::from_datetime(
        UNIX_EPOCH + Duration::from_millis(millis),
    ))
}

#[cfg(test)]
mod tests {
    use pilot_domain::{ApiKeyId, DeliberationStatus, Difficulty, FailureCode, Mode, UseCase};
    use serde_json::Value;

    use super::*;

    fn record(status: DeliberationStatus) -> DeliberationRecord {
        DeliberationRecord {
            id: DeliberationId::from_ulid_text("01HXYZABCDEFGHJKMNPQRSTVWX"),
            workspace_id: WorkspaceId(1),
            environment: Environment::Live,
            key_id: Some(ApiKeyId(2)),
            mode: Mode::Deliberation1,
            use_case: UseCase::Pricing,
            difficulty: Difficulty::Medium,
            question: "Per seat or usage-based?".into(),
            webhook_url: None,
            metadata: Some(json!({"order_id": "ord_123"})),
            status,
            estimate: Credits::from_micros(4_200_000),
            credits_charged: Some(Credits::from_micros(3_870_000)),
            result: None,
            failure: None,
            created_at: UnixMillis(1_745_923_000_000),
            updated_at: UnixMillis(1_745_923_452_000),
            completed_at: Some(UnixMillis(1_745_923_452_000)),
        }
    }

    #[test]
    fn the_event_payload_is_the_webhook_data_without_result_url() {
        let now = UnixMillis(1_745_923_452_999);
        let event = terminal_event(&record(DeliberationStatus::Completed), now).unwrap();
        assert_eq!(event.event, "deliberation.completed");
        assert!(event.id.starts_with("evt_") && event.id.len() == 30);
        let ulid: ulid::Ulid = event.id[4..].parse().unwrap();
        assert_eq!(ulid.timestamp_ms(), 1_745_923_452_999);
        let payload: Value = serde_json::from_str(&event.payload).unwrap();
        assert_eq!(
            payload,
            json!({
                "deliberation_id": "del_01HXYZABCDEFGHJKMNPQRSTVWX",
                "status": "completed",
                "mode": "deliberation1",
                "use_case": "pricing",
                "completed_at": "2025-04-29T10:44:12Z",
                "credits_charged": 3.87,
                "metadata": {"order_id": "ord_123"},
            })
        );
        assert!(terminal_event(&record(DeliberationStatus::Running), now).is_err());
        assert!(terminal_event(&record(DeliberationStatus::Failed), UnixMillis(-1)).is_err());
    }

    #[test]
    fn a_refund_is_the_unused_reservation_or_nothing() {
        let mut done = record(DeliberationStatus::Completed);
        let posting = refund(&done).unwrap();
        assert_eq!(
            (posting.amount, posting.kind),
            (Credits::from_micros(330_000), REFUND)
        );
        done.credits_charged = Some(done.estimate);
        assert!(refund(&done).is_none());
        let mut failed = record(DeliberationStatus::Failed);
        failed.credits_charged = Some(Credits::ZERO);
        failed.failure = Some(FailureCode::ProcessingTimeout);
        let posting = refund(&failed).unwrap();
        assert_eq!(posting.amount, failed.estimate);
        assert_eq!(posting.note, "full refund: processing_timeout");
    }
}
