//! Webhooks out as the Deliberations surface shows them (its conventions: snake_case,
//! prefixed ids — `dlv_`, `evt_`, `wep_` —, RFC 3339 instants): deliveries with their
//! attempts, endpoints, and what replaying, recovering and enabling did. The
//! operator's view of a tenant's signing secret ([`SigningSecretView`]) is the one
//! answer here that holds a secret, and no API serves it.
//!
//! Nothing here shows what a delivery carries (its event's `data`) or what signs it:
//! a delivery is its event's id and kind, where it goes and how it went.

use pilot_domain::WebhookSecret;
use pilot_domain::webhook::{DeliveryState, DisabledReason, EndpointState, EventKind};
use pilot_store::{AttemptRecord, DeliveryRecord, EndpointRecord};
use serde::Serialize;
use utoipa::ToSchema;

use super::deliberation::rfc3339;
use super::key::expose_secret;

/// One event on its way to one URL.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Attempts made so far, manual ones included (the last `X-Pilot5-Attempt`).
    pub attempts: i64,
    pub created_at: String,
    /// `wep_…`: the workspace environment's endpoint for `url`.
    pub endpoint_id: String,
    /// `deliberation.completed`, `deliberation.failed`, `run.completed` or
    /// `run.failed`.
    #[schema(value_type = EventKind)]
    pub event: String,
    /// `evt_…`, the same on every attempt: the receiver's deduplication key.
    pub event_id: String,
    /// `dlv_…` (`X-Pilot5-Delivery-Id`).
    pub id: String,
    /// Why the last attempt failed, when it did: no response (refused address,
    /// timeout, network), or what made its response a failure.
    pub last_error: Option<String>,
    /// The last attempt's response status, if a response came back.
    pub last_response_status: Option<i64>,
    /// When the schedule's next attempt is due; `null` unless `pending`.
    pub next_attempt_at: Option<String>,
    /// `pending` (an attempt is due or will be), `succeeded` (a 2xx came back),
    /// `failed` (a response that is not retried: 3xx, or 4xx but 408/429), `dead`
    /// (the last retry failed) or `disabled` (its endpoint is disabled; it goes out
    /// when the endpoint is enabled again).
    #[schema(value_type = DeliveryState)]
    pub status: String,
    pub updated_at: String,
    /// Where it is sent.
    pub url: String,
}

impl DeliveryView {
    pub fn of(delivery: &DeliveryRecord) -> DeliveryView {
        DeliveryView {
            attempts: delivery.attempts,
            created_at: rfc3339(delivery.created_at),
            endpoint_id: delivery.endpoint_id.to_string(),
            event: delivery.event.as_str().to_owned(),
            event_id: delivery.event_id.to_string(),
            id: delivery.id.to_string(),
            last_error: delivery.last_error.clone(),
            last_response_status: delivery.last_status,
            next_attempt_at: delivery.next_attempt_at.map(rfc3339),
            status: delivery.state.as_str().to_owned(),
            updated_at: rfc3339(delivery.updated_at),
            url: delivery.url.clone(),
        }
    }
}

/// One `POST` of a delivery, as made.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct AttemptView {
    /// Why no usable response came back (refused address, timeout, network), or
    /// what made the response a failure; `null` for a success.
    pub error: Option<String>,
    /// From sending the request to the end of the response (or the failure).
    pub latency_ms: i64,
    /// Made by a replay or a recovery, outside the retry schedule.
    pub manual: bool,
    /// Its `X-Pilot5-Attempt`: 1 for the first.
    pub number: i64,
    /// The first 2 KiB of the response body (invalid UTF-8 replaced), if one came
    /// back.
    pub response_body: Option<String>,
    /// The response's status, if one came back.
    pub response_status: Option<i64>,
    pub started_at: String,
}

impl AttemptView {
    pub fn of(attempt: &AttemptRecord) -> AttemptView {
        AttemptView {
            error: attempt.error.clone(),
            latency_ms: attempt.latency_ms,
            manual: attempt.manual,
            number: attempt.number,
            response_body: attempt.response_excerpt.clone(),
            response_status: attempt.status,
            started_at: rfc3339(attempt.started_at),
        }
    }
}

/// A delivery with every attempt kept (attempts are purged after
/// `webhooks.attempt_retention_days`), oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DeliveryDetailView {
    #[serde(flatten)]
    pub delivery: DeliveryView,
    /// Each attempt, oldest first. (`attempts` counts them, purged ones included.)
    pub attempts_detail: Vec<AttemptView>,
}

impl DeliveryDetailView {
    pub fn of(delivery: &DeliveryRecord, attempts: &[AttemptRecord]) -> DeliveryDetailView {
        DeliveryDetailView {
            delivery: DeliveryView::of(delivery),
            attempts_detail: attempts.iter().map(AttemptView::of).collect(),
        }
    }
}

/// A page of deliveries, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DeliveryPage {
    pub data: Vec<DeliveryView>,
    /// Whether older deliveries match too.
    pub has_more: bool,
    /// Pass as `?before=` for the next page; `null` on the last one.
    pub next_before: Option<String>,
}

/// Where a workspace environment's deliveries to one URL go, and how that has gone.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct EndpointView {
    /// Failed attempts since the last success; at 20 the endpoint is disabled.
    pub consecutive_failures: i64,
    pub created_at: String,
    /// Why it is disabled: `consecutive_failures` or `gone` (it answered `410`);
    /// `null` while enabled.
    #[schema(value_type = Option<DisabledReason>)]
    pub disabled_reason: Option<String>,
    /// `wep_…`.
    pub id: String,
    pub last_failure_at: Option<String>,
    pub last_success_at: Option<String>,
    /// `enabled` or `disabled` (its deliveries wait, `disabled`, until it is
    /// enabled again).
    #[schema(value_type = EndpointState)]
    pub state: String,
    pub url: String,
}

impl EndpointView {
    pub fn of(endpoint: &EndpointRecord) -> EndpointView {
        EndpointView {
            consecutive_failures: endpoint.consecutive_failures,
            created_at: rfc3339(endpoint.created_at),
            disabled_reason: endpoint.disabled_reason.map(|r| r.as_str().to_owned()),
            id: endpoint.id.to_string(),
            last_failure_at: endpoint.last_failure_at.map(rfc3339),
            last_success_at: endpoint.last_success_at.map(rfc3339),
            state: endpoint.state.as_str().to_owned(),
            url: endpoint.url.clone(),
        }
    }
}

/// A workspace environment's endpoints, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct EndpointList {
    pub data: Vec<EndpointView>,
}

/// `202` to a recovery: how many dead or failed deliveries got a manual attempt.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct RecoveryQueued {
    pub endpoint_id: String,
    /// Deliveries queued for one manual attempt each.
    pub queued: u64,
    /// From when, as understood (RFC 3339, UTC, whole seconds).
    pub since: String,
}

/// `200` to enabling an endpoint: the endpoint now, and how many of its waiting
/// (`disabled`) deliveries were sent on their way.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct EndpointEnabled {
    pub endpoint: EndpointView,
    pub released: u64,
}

/// A tenant's signing secret for run events, in clear, for the operator who asked
/// (`pilot webhooks secret`). `Debug` does not show it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SigningSecretView {
    pub environment: String,
    /// Whether this answer replaced the secret (deliveries signed from now on use
    /// the new one).
    pub rotated: bool,
    /// `whsec_…`: verifies `run.completed` / `run.failed` deliveries.
    #[serde(serialize_with = "expose_secret")]
    #[schema(value_type = String)]
    pub secret: WebhookSecret,
    pub workspace: String,
}
