//! What the Pilots-half scenarios share: a clock origin, a workspace, a pilot, a run,
//! a step result, and a look at the queued jobs.
#![allow(dead_code)] // each test binary uses its own part

pub mod deliberations;
pub mod webhooks;

use pilot_domain::{
    Environment, FiredBy, PilotId, PilotStatus, StepStatus, UnixMillis, WorkspaceId, WorkspaceName,
};
use pilot_store::{
    ClaimRequest, ClaimedJob, CreateRun, NewPilot, NewRun, PilotRecord, PilotTrigger, RunRecord,
    StepResultRecord, Store,
};
use serde_json::{Value, json};

pub const T0: UnixMillis = UnixMillis(1_700_000_000_000);
pub const LIVE: Environment = Environment::Live;

pub async fn workspace(store: &dyn Store, name: &str) -> WorkspaceId {
    let name = WorkspaceName::parse(name).expect("a valid name");
    store.create_workspace(&name, &[], T0).await.unwrap().0.id
}

pub fn steps() -> Value {
    json!([
        {"id": "shape", "type": "transform", "values": {"text": "{{ trigger.text }}"}},
        {"id": "post", "type": "http", "url": "https://hooks.example/x", "method": "POST"}
    ])
}

pub fn new_pilot(title: &str) -> NewPilot {
    NewPilot {
        title: title.into(),
        description: format!("{title}, described"),
        status: PilotStatus::Active,
        trigger: PilotTrigger::default(),
        steps: steps(),
        steps_key_id: None,
        notify_url: None,
        webhook_verification: None,
    }
}

pub async fn pilot(store: &dyn Store, workspace: WorkspaceId, pilot: &NewPilot) -> PilotRecord {
    store
        .create_pilot(workspace, LIVE, pilot, T0)
        .await
        .unwrap()
}

/// A run fired through the API with `payload`.
pub fn api(payload: &Value) -> NewRun<'_> {
    NewRun {
        fired_by: FiredBy::Api,
        payload,
        request: None,
    }
}

pub async fn queue_run(
    store: &dyn Store,
    workspace: WorkspaceId,
    pilot: PilotId,
    at: UnixMillis,
) -> RunRecord {
    let payload = json!({"text": "hello"});
    match store
        .create_run(workspace, LIVE, pilot, &api(&payload), at)
        .await
        .unwrap()
    {
        CreateRun::Created(run) => run,
        other => panic!("expected a run, got {other:?}"),
    }
}

pub fn step(index: i32, status: StepStatus, attempts: i32) -> StepResultRecord {
    StepResultRecord {
        index,
        step_id: format!("step{index}"),
        step_type: "transform".into(),
        status,
        output: (status == StepStatus::Success).then(|| json!({"n": index})),
        error: (status == StepStatus::Failed).then(|| format!("step {index} failed")),
        attempts,
        started_at: T0.plus_ms(i64::from(index)),
        duration_ms: 5,
    }
}

/// Every queued job, leased to a test owner (fairness off: oldest first).
pub async fn take_jobs(store: &dyn Store) -> Vec<ClaimedJob> {
    store
        .claim(&ClaimRequest {
            owner: "test",
            limit: 1_000,
            now: UnixMillis(i64::MAX / 2),
            lease_until: UnixMillis(i64::MAX / 2),
            workspace_cap: None,
        })
        .await
        .unwrap()
}
