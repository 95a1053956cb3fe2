//! Runs as the Pilots surface shows them: each with its per-step results.

use pilot_store::{RunDetail, StepResultRecord};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One step's result in a run.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepResultView {
    /// Executions so far, each re-execution after a crash and each retry included.
    pub attempts: i32,
    pub duration_ms: i64,
    pub error: Option<String>,
    pub id: String,
    /// What the step produced (redacted, capped), or `null`: any JSON value (an `llm`
    /// step's text is a string).
    #[schema(schema_with = any_json)]
    pub output: Option<Value>,
    pub started_at: i64,
    /// `running`, `success`, `failed`, `skipped` or `filtered`.
    pub status: String,
    #[serde(rename = "type")]
    pub step_type: String,
}

/// Any JSON value, `null` included.
fn any_json() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::AnyValue)
        .description(Some(
            "What the step produced (redacted, capped), or `null`: any JSON value.",
        ))
        .build()
}

impl StepResultView {
    pub fn of(result: &StepResultRecord) -> StepResultView {
        StepResultView {
            attempts: result.attempts,
            duration_ms: result.duration_ms,
            error: result.error.clone(),
            id: result.step_id.clone(),
            output: result.output.clone(),
            started_at: result.started_at.as_secs(),
            status: result.status.as_str().to_owned(),
            step_type: result.step_type.clone(),
        }
    }
}

/// A run with its per-step results.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    pub created_at: i64,
    /// From start to finish, once finished.
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    pub finished_at: Option<i64>,
    /// What fired the run: `api` (`POST …/run`, MCP's `run_pilot`), `webhook` (the
    /// pilot's webhook URL), `schedule`, `email` or `retry`.
    pub fired_by: String,
    pub id: i64,
    pub pilot_id: i64,
    /// For a retry: the run it repeats.
    pub retry_of: Option<i64>,
    pub started_at: Option<i64>,
    /// `queued`, `running`, `waiting`, `success`, `failed` or `filtered`.
    pub status: String,
    pub steps: Vec<StepResultView>,
    /// The pilot's trigger type when the run was fired (a retry: its original's),
    /// whatever fired it.
    pub trigger_type: String,
}

impl RunView {
    pub fn of(detail: &RunDetail) -> RunView {
        let run = &detail.run;
        let duration_ms = match (run.started_at, run.finished_at) {
            (Some(start), Some(end)) => Some((end.0 - start.0).max(0)),
            _ => None,
        };
        RunView {
            created_at: run.created_at.as_secs(),
            duration_ms,
            error: run.error.clone(),
            finished_at: run.finished_at.map(|t| t.as_secs()),
            fired_by: run.fired_by.as_str().to_owned(),
            id: run.id.0,
            pilot_id: run.pilot_id.0,
            retry_of: run.retry_of.map(|id| id.0),
            started_at: run.started_at.map(|t| t.as_secs()),
            status: run.status.as_str().to_owned(),
            steps: detail.steps.iter().map(StepResultView::of).collect(),
            trigger_type: run.trigger_type.as_str().to_owned(),
        }
    }
}

/// A page of a pilot's runs, newest first; `nextBefore` pages back.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunPage {
    /// Pass as `?before=` for the next page; `null` on the last one.
    pub next_before: Option<i64>,
    pub runs: Vec<RunView>,
}

/// `202` to a fired run: the seed's `{"queued": true, "jobId": N}`; `jobId` is the
/// run's id.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunQueued {
    pub job_id: i64,
    pub queued: bool,
}

/// `202` to a retried run.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryQueued {
    pub job_id: i64,
    pub queued: bool,
    pub retry_of: i64,
}
