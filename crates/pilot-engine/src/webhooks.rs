//! Webhook delivery: one attempt of one delivery per `deliver_webhook` job run.
//!
//! [`deliver`] loads the delivery, skips it when it is no longer due (another attempt
//! settled it, or its endpoint is disabled: it then waits as `disabled`), builds the
//! event's body, signs it afresh with this attempt's timestamp under both schemes
//! (`X-Pilot5-Signature`, and Standard Webhooks' `webhook-*` headers), `POST`s it
//! through the outbound guard — addresses checked at connect time, redirects
//! answered rather than followed, the body read up to the 2 KB kept for the record,
//! 10 s for the whole exchange — and records the outcome with what it means for the
//! delivery and its endpoint in one store transaction. A retry waits as a snooze:
//! the job holds no worker and no lease until it is due.
//!
//! At least once: a worker that dies mid-attempt leaves the job to be claimed again
//! after its lease, and the same event (same `evt_` id) goes out again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pilot_domain::webhook::signature::sign;
use pilot_domain::webhook::{
    ATTEMPT_TIMEOUT_MS, DeliberationEventData, DeliveryState, EndpointState, EventBody, EventKind,
    RESPONSE_EXCERPT_BYTES, RunEventData, USER_AGENT, Verdict, next_attempt_delay_ms, verdict,
};
use pilot_domain::{MasterKey, UnixMillis};
use pilot_outbound::header::{HeaderMap, HeaderName, HeaderValue};
use pilot_outbound::{OutboundClient, OutboundError, OutboundRequest, OutboundResponse};
use pilot_store::{
    AttemptOutcome, AttemptRecord, DeliveryJob, DeliveryRecord, DeliveryWork, Store,
};
use rand::Rng;

use crate::clock::Clock;
use crate::job::{JobError, JobOutcome};

/// What delivering reaches.
#[derive(Clone)]
pub struct DeliveryDeps {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Opens the sealed signing secrets.
    pub master_key: MasterKey,
    /// The guard deliveries go through (HTTPS required unless `[webhooks]
    /// allow_http`).
    pub client: OutboundClient,
    /// The base URL clients reach this server at, for a deliberation's `result_url`.
    pub public_url: String,
    /// How long an attempt may take (§5: 10 s).
    pub timeout: Duration,
    /// The retries' delays after a failed attempt (§5: +1 min … +12 h).
    pub retry_delays_ms: Vec<i64>,
}

impl DeliveryDeps {
    /// The policy a delivery client needs on top of `[outbound]`: the response body
    /// read no further than what an attempt keeps, and the attempt's time limit.
    pub fn client_policy(
        outbound: &pilot_outbound::OutboundPolicy,
        require_https: bool,
        timeout_ms: u64,
    ) -> pilot_outbound::OutboundPolicy {
        pilot_outbound::OutboundPolicy {
            require_https,
            max_response_bytes: RESPONSE_EXCERPT_BYTES,
            timeout_ms: std::num::NonZeroU64::new(timeout_ms.max(1))
                .unwrap_or(std::num::NonZeroU64::MIN),
            ..outbound.clone()
        }
    }
}

/// The default attempt time limit.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(ATTEMPT_TIMEOUT_MS);

/// Runs one attempt of `job`'s delivery, if it is due (see the module's docs).
pub async fn deliver(deps: &DeliveryDeps, job: DeliveryJob) -> Result<JobOutcome, JobError> {
    let store_error = |e: pilot_store::StoreError| JobError::Retryable(e.to_string());
    let Some(work) = deps
        .store
        .load_delivery_work(&job.delivery_id)
        .await
        .map_err(store_error)?
    else {
        return Ok(JobOutcome::Done);
    };
    let now = deps.clock.now();
    let delivery = &work.delivery;
    if !job.manual {
        if delivery.state != DeliveryState::Pending {
            return Ok(JobOutcome::Done);
        }
        if let Some(due) = delivery.next_attempt_at.filter(|due| *due > now) {
            return Ok(JobOutcome::SnoozeUntil(due));
        }
        if work.endpoint_state == EndpointState::Disabled
            && deps
                .store
                .hold_delivery(&delivery.id, now)
                .await
                .map_err(store_error)?
        {
            tracing::info!(delivery = %delivery.id, "endpoint disabled: the delivery waits");
            return Ok(JobOutcome::Done);
        }
    }
    let outcome = attempt(deps, &work, job.manual, now).await;
    if outcome.verdict == Verdict::Succeeded {
        tracing::debug!(
            delivery = %delivery.id,
            attempt = outcome.attempt.number,
            status = outcome.attempt.status,
            "webhook delivered"
        );
    } else {
        tracing::info!(
            delivery = %delivery.id,
            attempt = outcome.attempt.number,
            status = outcome.attempt.status,
            error = outcome.attempt.error.as_deref(),
            verdict = ?outcome.verdict,
            "webhook attempt failed"
        );
    }
    let recorded = deps
        .store
        .record_attempt(&delivery.id, &outcome, deps.clock.now())
        .await
        .map_err(store_error)?;
    Ok(match recorded {
        Some(recorded) if !job.manual && recorded.state == DeliveryState::Pending => recorded
            .next_attempt_at
            .map_or(JobOutcome::Done, JobOutcome::SnoozeUntil),
        _ => JobOutcome::Done,
    })
}

/// Makes the attempt and judges it.
async fn attempt(
    deps: &DeliveryDeps,
    work: &DeliveryWork,
    manual: bool,
    now: UnixMillis,
) -> AttemptOutcome {
    let delivery = &work.delivery;
    let number = delivery.attempts + 1;
    let started = Instant::now();
    let sent = send(deps, work, number, now).await;
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let mut unsendable = false;
    let (status, excerpt, error, retry_after) = match sent {
        Ok(response) => {
            let status = response.status.as_u16();
            let error = response
                .status
                .is_redirection()
                .then(|| "redirects are not followed".to_owned());
            (
                Some(status),
                Some(String::from_utf8_lossy(&response.body).into_owned()),
                error,
                retry_after_ms(&response.headers, now),
            )
        }
        Err(Unsent::Unsendable(error)) => {
            unsendable = true;
            (None, None, Some(error), None)
        }
        Err(Unsent::NoResponse(error)) => (None, None, Some(error.to_string()), None),
    };
    // What cannot be signed or built will not be on a later try either.
    let verdict = if unsendable {
        Verdict::Fail
    } else {
        verdict(status)
    };
    let retry_at = (verdict == Verdict::Retry && !manual)
        .then(|| {
            next_attempt_delay_ms(
                &deps.retry_delays_ms,
                delivery.scheduled_attempts + 1,
                retry_after,
                rand::rng().random(),
            )
        })
        .flatten()
        .map(|delay| now.plus_ms(delay));
    AttemptOutcome {
        attempt: AttemptRecord {
            number,
            manual,
            started_at: now,
            status: status.map(i64::from),
            response_excerpt: excerpt,
            latency_ms,
            error,
        },
        verdict,
        retry_at,
    }
}

/// Why an attempt got no response.
enum Unsent {
    /// It was never sent: no secret, or a body that does not build.
    Unsendable(String),
    /// Sent (or tried): refused address, timeout, connection or protocol error.
    NoResponse(OutboundError),
}

/// Builds, signs and sends the body; a response of any status, or why none came.
async fn send(
    deps: &DeliveryDeps,
    work: &DeliveryWork,
    number: i64,
    now: UnixMillis,
) -> Result<OutboundResponse, Unsent> {
    let delivery = &work.delivery;
    let secret = work.sealed_secret.as_deref().ok_or_else(|| {
        Unsent::Unsendable("no signing secret: the key or tenant has none".into())
    })?;
    let secret = deps
        .master_key
        .open(secret)
        .map_err(|e| Unsent::Unsendable(format!("the signing secret cannot be opened: {e}")))?;
    let body = body(delivery, &deps.public_url).map_err(Unsent::Unsendable)?;
    let timestamp = now.as_secs();
    let signed = sign(&secret, delivery.event_id.as_str(), timestamp, &body)
        .map_err(|e| Unsent::Unsendable(e.to_string()))?;
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    put("content-type", "application/json".into());
    put("user-agent", USER_AGENT.into());
    put("x-pilot5-event", delivery.event.as_str().into());
    put("x-pilot5-timestamp", timestamp.to_string());
    put("x-pilot5-signature", signed.pilot5);
    put("x-pilot5-event-id", delivery.event_id.to_string());
    put("x-pilot5-delivery-id", delivery.id.to_string());
    put("x-pilot5-attempt", number.to_string());
    put("webhook-id", delivery.event_id.to_string());
    put("webhook-timestamp", timestamp.to_string());
    put("webhook-signature", signed.standard);
    let request = OutboundRequest::post(delivery.url.clone())
        .headers(headers)
        .body(body)
        .timeout(deps.timeout)
        .without_redirects();
    deps.client.send(request).await.map_err(Unsent::NoResponse)
}

/// The event's body, exactly as the documents show it.
pub fn body(delivery: &DeliveryRecord, public_url: &str) -> Result<Vec<u8>, String> {
    let created_at = delivery
        .event_at
        .to_rfc3339()
        .ok_or("the event's instant is out of range")?;
    fn envelope<D>(delivery: &DeliveryRecord, created_at: &str, data: D) -> EventBody<D> {
        EventBody {
            id: delivery.event_id.to_string(),
            event: delivery.event.as_str().to_owned(),
            created_at: created_at.to_owned(),
            data,
        }
    }
    let corrupt = |e: serde_json::Error| format!("the stored event does not decode: {e}");
    match delivery.event {
        EventKind::DeliberationCompleted | EventKind::DeliberationFailed => {
            let mut data: DeliberationEventData =
                serde_json::from_value(delivery.payload.clone()).map_err(corrupt)?;
            data.result_url = format!(
                "{}/v1/api/deliberations/{}/result",
                public_url.trim_end_matches('/'),
                data.deliberation_id
            );
            serde_json::to_vec(&envelope(delivery, &created_at, data)).map_err(corrupt)
        }
        EventKind::RunCompleted | EventKind::RunFailed => {
            let data: RunEventData =
                serde_json::from_value(delivery.payload.clone()).map_err(corrupt)?;
            serde_json::to_vec(&envelope(delivery, &created_at, data)).map_err(corrupt)
        }
    }
}

/// A `Retry-After` in delta-seconds or as an HTTP date, as milliseconds from `now`.
fn retry_after_ms(headers: &HeaderMap, now: UnixMillis) -> Option<i64> {
    let raw = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(seconds) = raw.parse::<u64>() {
        return Some(i64::try_from(seconds).ok()?.saturating_mul(1000));
    }
    let at = httpdate::parse_http_date(raw).ok()?;
    let at_ms = i64::try_from(at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis()).ok()?;
    Some((at_ms - now.0).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        let now = UnixMillis(1_745_923_452_000);
        headers.insert("retry-after", HeaderValue::from_static("120"));
        assert_eq!(retry_after_ms(&headers, now), Some(120_000));
        headers.insert(
            "retry-after",
            HeaderValue::from_static("Tue, 29 Apr 2025 10:49:12 GMT"),
        );
        assert_eq!(retry_after_ms(&headers, now), Some(300_000));
        headers.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after_ms(&headers, now), None);
    }
}
