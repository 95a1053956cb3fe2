//! What the webhook scenarios share: one backend only when asked, fixtures for
//! pilots that notify and the runs that end, a look at deliveries and their jobs, and
//! attempts.
//!
//! `PILOT_TEST_ONLY_BACKEND=sqlite|postgres` runs the webhook scenarios on one
//! backend only (for working on one half while the other is unfinished); unset, they
//! run on every backend as every other scenario does.

use pilot_domain::webhook::{DeliveryId, Verdict};
use pilot_domain::{Environment, PilotId, RunStatus, Scopes, StepStatus, UnixMillis, WorkspaceId};
use pilot_store::{
    AttemptOutcome, AttemptRecord, Backend, ClaimedJob, DELIVERY_JOB_KIND, DeliveryJob,
    DeliveryQuery, DeliveryRecord, EndpointRecord, NewApiKey, NewPilot, RecordedAttempt,
    RunProgress, RunRecord, Store,
};

use super::{LIVE, new_pilot, queue_run, step, take_jobs};

pub const TEST: Environment = Environment::Test;
pub const RUN_HOOK: &str = "https://hooks.example/runs";
pub const OTHER_HOOK: &str = "https://other.example/runs";
pub const MINUTE: i64 = 60_000;

/// `pilot_testkit::backends()`, or only the one `PILOT_TEST_ONLY_BACKEND` names.
pub fn backends() -> Vec<Backend> {
    let only = std::env::var("PILOT_TEST_ONLY_BACKEND").ok();
    pilot_testkit::backends()
        .into_iter()
        .filter(|backend| {
            only.as_deref()
                .is_none_or(|only| format!("{backend:?}").eq_ignore_ascii_case(only))
        })
        .collect()
}

pub fn api_key(name: &str) -> NewApiKey {
    NewApiKey {
        environment: LIVE,
        name: name.into(),
        prefix: "pk_live_abcd".into(),
        digest: format!("digest-{name}"),
        scopes: Scopes::all(),
        webhook_secret_sealed: format!("sealed-{name}"),
    }
}

pub fn notifying(title: &str, url: &str) -> NewPilot {
    NewPilot {
        notify_url: Some(url.into()),
        webhook_verification: None,
        ..new_pilot(title)
    }
}

/// A run of `pilot` started 1.75 s before `at` and ended `status` at `at`.
pub async fn end_run(
    store: &dyn Store,
    workspace: WorkspaceId,
    pilot: PilotId,
    status: RunStatus,
    at: UnixMillis,
) -> RunRecord {
    let run = queue_run(store, workspace, pilot, at.plus_ms(-2_000)).await;
    let started = RunProgress {
        status: Some(RunStatus::Running),
        started_at: Some(at.plus_ms(-1_750)),
        ..RunProgress::default()
    };
    store.record_progress(run.id, &started).await.unwrap();
    let error = (status == RunStatus::Failed).then(|| "step post failed".to_owned());
    let mut end = RunProgress {
        steps: vec![step(0, step_status(status), 1)],
        ..RunProgress::default()
    };
    end.finish(status, error, at);
    store.record_progress(run.id, &end).await.unwrap();
    run
}

/// The status of the one step of a run that ends `status`.
pub fn step_status(status: RunStatus) -> StepStatus {
    match status {
        RunStatus::Failed => StepStatus::Failed,
        _ => StepStatus::Success,
    }
}

/// A successful run of `pilot` ending at `at`, and the delivery its event made.
pub async fn run_event(
    store: &dyn Store,
    workspace: WorkspaceId,
    pilot: PilotId,
    at: UnixMillis,
) -> DeliveryRecord {
    let run = end_run(store, workspace, pilot, RunStatus::Success, at).await;
    let newest = list(store, workspace, LIVE, &DeliveryQuery::default()).await;
    let delivery = newest.into_iter().next().expect("a delivery");
    assert_eq!(
        delivery.payload["runId"], run.id.0,
        "the run's own delivery"
    );
    delivery
}

pub async fn list(
    store: &dyn Store,
    workspace: WorkspaceId,
    env: Environment,
    query: &DeliveryQuery,
) -> Vec<DeliveryRecord> {
    let query = DeliveryQuery {
        limit: if query.limit == 0 { 100 } else { query.limit },
        ..query.clone()
    };
    store.list_deliveries(workspace, env, &query).await.unwrap()
}

pub fn ids(deliveries: &[DeliveryRecord]) -> Vec<DeliveryId> {
    deliveries.iter().map(|d| d.id.clone()).collect()
}

pub fn ids_in(deliveries: &[&DeliveryRecord]) -> Vec<DeliveryId> {
    deliveries.iter().map(|d| d.id.clone()).collect()
}

/// A delivery of the workspace's live environment, with its attempts.
pub async fn get(
    store: &dyn Store,
    workspace: WorkspaceId,
    id: &DeliveryId,
) -> (DeliveryRecord, Vec<AttemptRecord>) {
    store
        .get_delivery(workspace, LIVE, id)
        .await
        .unwrap()
        .expect("the delivery")
}

/// Every queued `deliver_webhook` job, leased away, with its payload.
pub async fn delivery_jobs(store: &dyn Store) -> Vec<(DeliveryJob, ClaimedJob)> {
    take_jobs(store)
        .await
        .into_iter()
        .filter(|job| job.kind == DELIVERY_JOB_KIND)
        .map(|job| (serde_json::from_value(job.payload.clone()).unwrap(), job))
        .collect()
}

pub async fn endpoint_at(store: &dyn Store, workspace: WorkspaceId, url: &str) -> EndpointRecord {
    store
        .list_endpoints(workspace, LIVE)
        .await
        .unwrap()
        .into_iter()
        .find(|endpoint| endpoint.url == url)
        .expect("the endpoint")
}

pub fn attempt(number: i64, manual: bool, at: UnixMillis, status: Option<i64>) -> AttemptRecord {
    AttemptRecord {
        number,
        manual,
        started_at: at,
        status,
        response_excerpt: status.map(|s| format!("answered {s}")),
        latency_ms: 42,
        error: status
            .is_none_or(|s| !(200..300).contains(&s))
            .then(|| format!("failed with {status:?}")),
    }
}

pub fn outcome(
    attempt: AttemptRecord,
    verdict: Verdict,
    retry_at: Option<UnixMillis>,
) -> AttemptOutcome {
    AttemptOutcome {
        attempt,
        verdict,
        retry_at,
    }
}

/// Records a scheduled attempt `number` failing with `503` at `at`, retried at
/// `retry_at`.
pub async fn fail_once(
    store: &dyn Store,
    id: &DeliveryId,
    number: i64,
    at: UnixMillis,
    retry_at: Option<UnixMillis>,
) -> RecordedAttempt {
    let failed = outcome(
        attempt(number, false, at, Some(503)),
        Verdict::Retry,
        retry_at,
    );
    store
        .record_attempt(id, &failed, at)
        .await
        .unwrap()
        .unwrap()
}

pub fn ulid_ms(text: &str) -> u64 {
    text[4..].parse::<ulid::Ulid>().unwrap().timestamp_ms()
}

pub fn ids_of(jobs: &[(DeliveryJob, ClaimedJob)]) -> Vec<DeliveryId> {
    jobs.iter()
        .map(|(job, _)| job.delivery_id.clone())
        .collect()
}
