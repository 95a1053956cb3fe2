//! How pilots and runs read on the Pilots surface: camelCase, integer ids, Unix
//! seconds — the seed document's conventions.

use pilot_domain::MasterKey;
use pilot_store::{PilotRecord, RunDetail, StepResultRecord};
use serde_json::{Value, json};

/// A pilot as `GET /api/v1/pilots` lists it (the seed's fields).
pub fn summary(pilot: &PilotRecord) -> Value {
    json!({
        "id": pilot.id.0,
        "title": pilot.title,
        "status": pilot.status.as_str(),
        "triggerType": pilot.trigger_type.as_str(),
        "runCount": pilot.run_count,
        "lastRunAt": pilot.last_run_at.map(|t| t.as_secs()),
    })
}

/// A pilot with its steps and trigger settings. The webhook URL carries the
/// trigger's secret token: it is shown to the pilot's owners only.
pub fn detail(
    pilot: &PilotRecord,
    master_key: &MasterKey,
    public_url: &str,
    mail_domain: &str,
) -> Value {
    let mut view = summary(pilot);
    let object = view.as_object_mut().expect("summary is an object");
    object.insert("description".into(), json!(pilot.description));
    object.insert("steps".into(), pilot.steps.clone());
    object.insert("createdAt".into(), json!(pilot.created_at.as_secs()));
    object.insert("updatedAt".into(), json!(pilot.updated_at.as_secs()));
    if let (Some(cron), Some(timezone)) = (&pilot.schedule_cron, &pilot.schedule_timezone) {
        object.insert(
            "schedule".into(),
            json!({
                "cron": cron,
                "timezone": timezone,
                "nextRunAt": pilot.next_fire_at.map(|t| t.as_secs()),
            }),
        );
    }
    if let Some(token) = pilot
        .webhook_token_sealed
        .as_deref()
        .and_then(|sealed| master_key.open(sealed).ok())
    {
        object.insert(
            "webhookUrl".into(),
            json!(format!(
                "{}/hooks/pilots/{token}",
                public_url.trim_end_matches('/')
            )),
        );
    }
    if let Some(local) = &pilot.email_address {
        object.insert(
            "emailAddress".into(),
            json!(format!("{local}@{mail_domain}")),
        );
    }
    view
}

/// A run with its per-step results.
pub fn run(detail: &RunDetail) -> Value {
    let run = &detail.run;
    let duration_ms = match (run.started_at, run.finished_at) {
        (Some(start), Some(end)) => Some((end.0 - start.0).max(0)),
        _ => None,
    };
    json!({
        "id": run.id.0,
        "pilotId": run.pilot_id.0,
        "status": run.status.as_str(),
        "triggerType": run.trigger_type.as_str(),
        "durationMs": duration_ms,
        "error": run.error,
        "steps": detail.steps.iter().map(step).collect::<Vec<_>>(),
        "startedAt": run.started_at.map(|t| t.as_secs()),
        "createdAt": run.created_at.as_secs(),
        "finishedAt": run.finished_at.map(|t| t.as_secs()),
        "retryOf": run.retry_of.map(|id| id.0),
    })
}

fn step(result: &StepResultRecord) -> Value {
    json!({
        "id": result.step_id,
        "type": result.step_type,
        "status": result.status.as_str(),
        "output": result.output,
        "error": result.error,
        "durationMs": result.duration_ms,
        "attempts": result.attempts,
        "startedAt": result.started_at.as_secs(),
    })
}
