//! The tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) for the two
//! tools whose work outlives a call, `run_pilot` and `submit_deliberation`.
//!
//! A client that declares the extension and calls either without `wait_seconds`
//! gets a task instead of a result. Its state is not kept here: the task *is* the
//! run (`run_{id}`) or the deliberation (`del_…`), read from the store through the
//! operations on every `tasks/get` — so a task survives this process, any node
//! answers for it, and only the key's own tenant can read it. `working` until the
//! work is terminal, then `completed` with the same tool result `get_run` or
//! `get_deliberation` would give. A `deliberation2` waiting at a checkpoint is
//! `input_required`, and `tasks/update` answers it (see `checkpoints.rs`). Runs and
//! deliberations cannot be cancelled, so `tasks/cancel` is refused.

use pilot_domain::Principal;
use pilot_operations::deliberations::DeliberationQuery;
use pilot_operations::{OpError, Operations};
use rmcp::model::{
    CallToolResult, CreateTaskResult, DetailedTask, ErrorData, GetTaskResult, InputRequest,
    InputRequests, InputResponses, JsonObject, Task, TaskPayload, TaskStatus,
};
use serde_json::Value;

use crate::call::{terminal_deliberation, terminal_run};
use crate::checkpoints;

/// The tools that may answer with a task.
pub fn eligible(tool: &str) -> bool {
    matches!(tool, "run_pilot" | "submit_deliberation")
}

/// A task for the run or deliberation a tool call just started, from its result.
pub fn created(tool: &str, result: &CallToolResult) -> Option<CreateTaskResult> {
    let view = result.structured_content.as_ref()?;
    let (id, poll_ms) = match tool {
        "run_pilot" => (format!("run_{}", view.get("id")?), 1_000),
        _ => (view.get("id")?.as_str()?.to_owned(), 2_000),
    };
    let (created, updated) = instants(view);
    Some(CreateTaskResult::new(
        Task::new(id, TaskStatus::Working, created, updated).with_poll_interval_ms(poll_ms),
    ))
}

/// `tasks/get`: the run or deliberation as it stands — `input_required` while a
/// `deliberation2` waits at a checkpoint, its elicitation keyed by the checkpoint's
/// id.
pub async fn get(ops: &Operations, who: &Principal, id: &str) -> Result<GetTaskResult, ErrorData> {
    let (view, done, waiting) = if let Some(run) = id.strip_prefix("run_") {
        let view = ops.get_run(who, run).await.map_err(refused)?;
        let done = terminal_run(&view);
        (to_value(&view)?, done, None)
    } else {
        let view = ops
            .get_deliberation(who, id, &DeliberationQuery::default())
            .await
            .result
            .map_err(refused)?;
        let done = terminal_deliberation(&view);
        let waiting = view.checkpoint().and_then(|checkpoint| {
            let request = checkpoints::elicit_request(checkpoint)?;
            Some((checkpoint.id.clone(), request))
        });
        (to_value(&view)?, done, waiting)
    };
    let (created, updated) = instants(&view);
    let task = Task::new(id, TaskStatus::Working, created, updated);
    let payload = if done {
        let result = serde_json::to_value(CallToolResult::structured(view))
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        match result {
            Value::Object(result) => TaskPayload::Completed { result },
            _ => TaskPayload::Completed {
                result: JsonObject::new(),
            },
        }
    } else if let Some((checkpoint, request)) = waiting {
        let mut input_requests = InputRequests::new();
        input_requests.insert(checkpoint, InputRequest::Elicitation(request));
        TaskPayload::InputRequired { input_requests }
    } else {
        TaskPayload::Working
    };
    Ok(GetTaskResult::new(DetailedTask::new(task, payload)))
}

/// `tasks/update`: the person's answer to a waiting deliberation's checkpoint — the
/// elicitation result under the checkpoint's id, as `tasks/get` asked.
pub async fn update(
    ops: &Operations,
    who: &Principal,
    id: &str,
    responses: InputResponses,
) -> Result<(), ErrorData> {
    if id.starts_with("run_") {
        return Err(ErrorData::invalid_params("a run asks for no input", None));
    }
    for (checkpoint, response) in responses {
        let Some(fields) = checkpoints::elicited(&checkpoint, response).map_err(refused)? else {
            // Declined: the checkpoint stays open until answered or expired.
            continue;
        };
        checkpoints::answer_with_form(ops, who, id, &checkpoint, fields)
            .await
            .map_err(refused)?;
    }
    Ok(())
}

/// `tasks/cancel`: the work goes on whatever the client does.
pub fn cancel() -> ErrorData {
    ErrorData::invalid_request(
        "runs and deliberations cannot be cancelled; the task keeps its course",
        None,
    )
}

fn refused(error: OpError) -> ErrorData {
    ErrorData::invalid_params(format!("{}: {}", error.code.as_str(), error.message), None)
}

fn to_value<T: serde::Serialize>(view: &T) -> Result<Value, ErrorData> {
    serde_json::to_value(view).map_err(|e| ErrorData::internal_error(e.to_string(), None))
}

/// ISO 8601 creation and update instants of a run (Unix seconds) or a deliberation
/// (RFC 3339 already).
fn instants(view: &Value) -> (String, String) {
    let at = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| match view.get(*name)? {
                Value::String(text) => Some(text.clone()),
                Value::Number(secs) => chrono_like(secs.as_i64()?),
                _ => None,
            })
            .unwrap_or_default()
    };
    (
        at(&["created_at", "createdAt"]),
        at(&["updated_at", "finishedAt", "startedAt", "createdAt"]),
    )
}

fn chrono_like(secs: i64) -> Option<String> {
    pilot_domain::UnixMillis(secs.checked_mul(1000)?).to_rfc3339()
}
