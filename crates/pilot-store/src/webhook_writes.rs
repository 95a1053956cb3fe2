//! What the two backends write alike for webhooks: ids, the delivery a terminal
//! event makes and its job, a run event's data, and what an attempt does to its
//! delivery and endpoint ([`plan_attempt`]). The SQL stays in each backend.

use std::time::{Duration, UNIX_EPOCH};

use pilot_domain::webhook::{
    AUTO_DISABLE_AFTER, DeliveryId, DeliveryState, DisabledReason, EndpointId, EndpointState,
    EventId, EventKind, RunEventData, Verdict,
};
use pilot_domain::{ApiKeyId, Environment, RunStatus, UnixMillis, WorkspaceId};
use serde::Serialize;

use crate::deliberation_rows::corrupt;
use crate::deliberation_writes::NewEvent;
use crate::deliberations::DeliberationRecord;
use crate::error::StoreResult;
use crate::webhook_rows::{EndedRun, EndpointStanding};
use crate::webhooks::{AttemptOutcome, DeliveryJob};

/// A ULID's text whose time part is `now`, not the system clock, so ids sort with
/// the instants the caller's clock stamped; its random part is random.
pub(crate) fn ulid_text_at(now: UnixMillis) -> StoreResult<String> {
    let millis = u64::try_from(now.0).map_err(|e| corrupt("webhook id instant", e))?;
    Ok(ulid::Ulid::from_datetime(UNIX_EPOCH + Duration::from_millis(millis)).to_string())
}

pub(crate) fn new_event_id(now: UnixMillis) -> StoreResult<EventId> {
    Ok(EventId::from_ulid_text(&ulid_text_at(now)?))
}

pub(crate) fn new_delivery_id(now: UnixMillis) -> StoreResult<DeliveryId> {
    Ok(DeliveryId::from_ulid_text(&ulid_text_at(now)?))
}

pub(crate) fn new_endpoint_id(now: UnixMillis) -> StoreResult<EndpointId> {
    Ok(EndpointId::from_ulid_text(&ulid_text_at(now)?))
}

/// `value` as JSON text. The types written here always serialize; an error is
/// reported, never a panic.
fn json_of<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| corrupt("webhook JSON", e))
}

/// A `deliver_webhook` job's payload as text, for a statement that inserts the job.
pub(crate) fn delivery_job_payload(id: &DeliveryId, manual: bool) -> StoreResult<String> {
    json_of(&DeliveryJob {
        delivery_id: id.clone(),
        manual,
    })
}

/// The delivery a terminal event makes, written with the state it reports: to the
/// endpoint `(workspace, environment, url)`, which is created (as `endpoint_id`) if
/// it does not exist yet. `pending` with its job when that endpoint is enabled,
/// else `disabled` without one.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NewDelivery {
    pub(crate) id: DeliveryId,
    /// The endpoint's id, should this delivery create it.
    pub(crate) endpoint_id: EndpointId,
    pub(crate) event_id: EventId,
    pub(crate) event: EventKind,
    pub(crate) workspace_id: WorkspaceId,
    pub(crate) environment: Environment,
    pub(crate) url: String,
    /// Whose webhook secret signs: the submitting key's, or the tenant's (`None`).
    pub(crate) key_id: Option<ApiKeyId>,
    /// The event body's `data`, as text.
    pub(crate) payload: String,
}

impl NewDelivery {
    /// A deliberation's terminal event, for its `webhook_url`; `None` without one.
    pub(crate) fn of_deliberation(
        record: &DeliberationRecord,
        event: &NewEvent,
        now: UnixMillis,
    ) -> StoreResult<Option<NewDelivery>> {
        let Some(url) = &record.webhook_url else {
            return Ok(None);
        };
        Ok(Some(NewDelivery {
            id: new_delivery_id(now)?,
            endpoint_id: new_endpoint_id(now)?,
            event_id: EventId::parse(&event.id)
                .ok_or_else(|| corrupt("deliberation_events.id", &event.id))?,
            event: event
                .event
                .parse()
                .map_err(|e| corrupt("deliberation_events.event", e))?,
            workspace_id: record.workspace_id,
            environment: record.environment,
            url: url.clone(),
            key_id: record.key_id,
            payload: event.payload.clone(),
        }))
    }

    /// A run's `run.completed` / `run.failed`, for its pilot's `notify_url`, with a
    /// fresh event id; `None` without a notify URL or if the run has not ended.
    pub(crate) fn of_run(run: &EndedRun, now: UnixMillis) -> StoreResult<Option<NewDelivery>> {
        let (Some(url), Some(event)) = (&run.notify_url, run_event_kind(run.status)) else {
            return Ok(None);
        };
        Ok(Some(NewDelivery {
            id: new_delivery_id(now)?,
            endpoint_id: new_endpoint_id(now)?,
            event_id: new_event_id(now)?,
            event,
            workspace_id: run.workspace_id,
            environment: run.environment,
            url: url.clone(),
            key_id: None,
            payload: json_of(&run_event_data(run))?,
        }))
    }

    /// Its (scheduled) job's payload as text.
    pub(crate) fn job_payload(&self) -> StoreResult<String> {
        delivery_job_payload(&self.id, false)
    }
}

/// The event a run that ends in `status` reports: `run.completed` for `success` and
/// `filtered`, `run.failed` for `failed`; `None` for a status that is not terminal.
pub(crate) fn run_event_kind(status: RunStatus) -> Option<EventKind> {
    match status {
        RunStatus::Success | RunStatus::Filtered => Some(EventKind::RunCompleted),
        RunStatus::Failed => Some(EventKind::RunFailed),
        RunStatus::Queued | RunStatus::Running | RunStatus::Waiting => None,
    }
}

/// A run event's `data`: durations in milliseconds, `finishedAt` in Unix seconds.
pub(crate) fn run_event_data(run: &EndedRun) -> RunEventData {
    RunEventData {
        run_id: run.id.0,
        pilot_id: run.pilot_id.0,
        status: run.status.as_str().to_owned(),
        duration_ms: run
            .finished_at
            .zip(run.started_at)
            .map(|(finished, started)| finished.0 - started.0),
        error: run.error.clone(),
        finished_at: run.finished_at.map(UnixMillis::as_secs),
    }
}

/// What one attempt does to its delivery and endpoint, decided alike on both
/// backends from the endpoint as it stood (locked) before it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AttemptPlan {
    /// The endpoint after the attempt.
    pub(crate) endpoint: EndpointStanding,
    /// Whether its state or reason changed (its `updated_at` moves only then).
    pub(crate) endpoint_changed: bool,
    /// A 2xx came back: the endpoint's `last_success_at`, else its `last_failure_at`.
    pub(crate) succeeded: bool,
    /// The attempt counts in the schedule (it was not manual).
    pub(crate) scheduled: bool,
    /// The delivery's state and next attempt after it; `None` leaves both as they are
    /// (a manual attempt that did not succeed).
    pub(crate) delivery: Option<(DeliveryState, Option<UnixMillis>)>,
}

/// The rules of `webhooks.rs`' module docs: a success resets the endpoint's
/// failures; a failure counts one, and `410 Gone` or the
/// [`AUTO_DISABLE_AFTER`]th in a row disables it. A success ends the delivery; a
/// manual attempt otherwise leaves it; a scheduled one waits for its retry
/// (`disabled` instead if the endpoint is disabled now), or ends `dead` after the
/// last, or `failed` on a response that is not retried.
pub(crate) fn plan_attempt(before: &EndpointStanding, outcome: &AttemptOutcome) -> AttemptPlan {
    let manual = outcome.attempt.manual;
    let succeeded = outcome.verdict == Verdict::Succeeded;
    let mut endpoint = before.clone();
    if succeeded {
        endpoint.consecutive_failures = 0;
    } else {
        endpoint.consecutive_failures = before.consecutive_failures.saturating_add(1);
        if outcome.verdict == Verdict::Gone {
            endpoint.state = EndpointState::Disabled;
            endpoint.disabled_reason = Some(DisabledReason::Gone);
        } else if endpoint.consecutive_failures >= AUTO_DISABLE_AFTER
            && before.state == EndpointState::Enabled
        {
            endpoint.state = EndpointState::Disabled;
            endpoint.disabled_reason = Some(DisabledReason::ConsecutiveFailures);
        }
    }
    let delivery = match (outcome.verdict, manual) {
        (Verdict::Succeeded, _) => Some((DeliveryState::Succeeded, None)),
        (_, true) => None,
        (Verdict::Retry, false) => Some(match outcome.retry_at {
            Some(_) if endpoint.state == EndpointState::Disabled => (DeliveryState::Disabled, None),
            Some(at) => (DeliveryState::Pending, Some(at)),
            None => (DeliveryState::Dead, None),
        }),
        (Verdict::Fail | Verdict::Gone, false) => Some((DeliveryState::Failed, None)),
    };
    AttemptPlan {
        endpoint_changed: endpoint.state != before.state
            || endpoint.disabled_reason != before.disabled_reason,
        endpoint,
        succeeded,
        scheduled: !manual,
        delivery,
    }
}

#[cfg(test)]
mod tests {
    use pilot_domain::{PilotId, RunId};

    use super::*;
    use crate::webhooks::AttemptRecord;

    fn standing(state: EndpointState, failures: i64) -> EndpointStanding {
        EndpointStanding {
            endpoint_id: EndpointId::from_ulid_text("01HV4Z2X8Q9T7M3N5P6R8S0W2Y"),
            state,
            disabled_reason: (state == EndpointState::Disabled)
                .then_some(DisabledReason::ConsecutiveFailures),
            consecutive_failures: failures,
        }
    }

    fn outcome(verdict: Verdict, retry_at: Option<i64>, manual: bool) -> AttemptOutcome {
        AttemptOutcome {
            attempt: AttemptRecord {
                number: 1,
                manual,
                started_at: UnixMillis(1),
                status: None,
                response_excerpt: None,
                latency_ms: 3,
                error: None,
            },
            verdict,
            retry_at: retry_at.map(UnixMillis),
        }
    }

    #[test]
    fn ids_carry_the_callers_instant() {
        let id = new_delivery_id(UnixMillis(1_745_923_452_999)).unwrap();
        let ulid: ulid::Ulid = id.as_str()[4..].parse().unwrap();
        assert_eq!(ulid.timestamp_ms(), 1_745_923_452_999);
        assert!(DeliveryId::parse(id.as_str()).is_some());
        assert_ne!(
            new_event_id(UnixMillis(5)).unwrap(),
            new_event_id(UnixMillis(5)).unwrap()
        );
        assert!(new_endpoint_id(UnixMillis(-1)).is_err());
    }

    #[test]
    fn the_run_event_data_is_the_documents_shape() {
        let run = EndedRun {
            id: RunId(7),
            pilot_id: PilotId(3),
            workspace_id: WorkspaceId(1),
            environment: Environment::Live,
            status: RunStatus::Failed,
            started_at: Some(UnixMillis(1_700_000_000_250)),
            finished_at: Some(UnixMillis(1_700_000_001_999)),
            error: Some("step post failed".into()),
            notify_url: Some("https://hooks.example/runs".into()),
        };
        assert_eq!(
            json_of(&run_event_data(&run)).unwrap(),
            r#"{"runId":7,"pilotId":3,"status":"failed","durationMs":1749,"error":"step post failed","finishedAt":1700000001}"#
        );
        let delivery = NewDelivery::of_run(&run, UnixMillis(9)).unwrap().unwrap();
        assert_eq!(
            (delivery.event, delivery.key_id),
            (EventKind::RunFailed, None)
        );
        let running = EndedRun {
            status: RunStatus::Running,
            ..run.clone()
        };
        assert_eq!(NewDelivery::of_run(&running, UnixMillis(9)).unwrap(), None);
        let silent = EndedRun {
            notify_url: None,
            ..run
        };
        assert_eq!(NewDelivery::of_run(&silent, UnixMillis(9)).unwrap(), None);
    }

    #[test]
    fn the_twentieth_failure_in_a_row_disables() {
        let plan = plan_attempt(
            &standing(EndpointState::Enabled, 18),
            &outcome(Verdict::Retry, Some(60), false),
        );
        assert_eq!(plan.endpoint.state, EndpointState::Enabled);
        assert_eq!(
            plan.delivery,
            Some((DeliveryState::Pending, Some(UnixMillis(60))))
        );
        let plan = plan_attempt(
            &standing(EndpointState::Enabled, 19),
            &outcome(Verdict::Retry, Some(60), false),
        );
        assert_eq!(
            (plan.endpoint.state, plan.endpoint.disabled_reason),
            (
                EndpointState::Disabled,
                Some(DisabledReason::ConsecutiveFailures)
            )
        );
        assert!(plan.endpoint_changed);
        assert_eq!(plan.delivery, Some((DeliveryState::Disabled, None)));
    }

    #[test]
    fn gone_disables_and_a_success_resets() {
        let gone = plan_attempt(
            &standing(EndpointState::Enabled, 2),
            &outcome(Verdict::Gone, None, false),
        );
        assert_eq!(gone.endpoint.disabled_reason, Some(DisabledReason::Gone));
        assert_eq!(gone.delivery, Some((DeliveryState::Failed, None)));
        let ok = plan_attempt(
            &standing(EndpointState::Enabled, 7),
            &outcome(Verdict::Succeeded, None, false),
        );
        assert_eq!(ok.endpoint.consecutive_failures, 0);
        assert!(ok.succeeded && !ok.endpoint_changed);
        assert_eq!(ok.delivery, Some((DeliveryState::Succeeded, None)));
        let last = plan_attempt(
            &standing(EndpointState::Enabled, 0),
            &outcome(Verdict::Retry, None, false),
        );
        assert_eq!(last.delivery, Some((DeliveryState::Dead, None)));
    }

    #[test]
    fn a_manual_attempt_moves_no_schedule() {
        let failed = plan_attempt(
            &standing(EndpointState::Disabled, 30),
            &outcome(Verdict::Retry, Some(60), true),
        );
        assert_eq!(failed.delivery, None);
        assert!(!failed.scheduled && !failed.endpoint_changed);
        assert_eq!(failed.endpoint.consecutive_failures, 31);
        let ok = plan_attempt(
            &standing(EndpointState::Disabled, 30),
            &outcome(Verdict::Succeeded, None, true),
        );
        assert_eq!(ok.delivery, Some((DeliveryState::Succeeded, None)));
        assert_eq!(ok.endpoint.state, EndpointState::Disabled);
    }
}
