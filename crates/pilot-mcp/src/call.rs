//! A tool call: its arguments read into the operation's own input, the operation
//! called as the key's `Principal`, its answer as a tool result.

use pilot_domain::{Channel, Principal, RunStatus};
use pilot_operations::deliberations::{CheckpointReply, DeliberationQuery};
use pilot_operations::pilots::{CreatePilot, RunsQuery, UpdatePilot};
use pilot_operations::runs::RetryRequest;
use pilot_operations::views::{DeliberationView, RunView};
use pilot_operations::webhooks::DeliveriesQuery;
use pilot_operations::{Idempotency, IdempotencyKey, OpError, Operations};
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::checkpoints;
use crate::wait::Waiter;

/// What a call answers before it is a tool result.
type Outcome = Result<CallToolResult, OpError>;

/// Runs tool `name` with `arguments` for `who`.
pub async fn call(
    ops: &Operations,
    who: &Principal,
    name: &str,
    arguments: JsonObject,
    waiter: Waiter,
) -> CallToolResult {
    match dispatch(ops, who, name, Args(arguments), waiter).await {
        Ok(result) => result,
        Err(error) => failure(&error),
    }
}

async fn dispatch(
    ops: &Operations,
    who: &Principal,
    name: &str,
    mut args: Args,
    waiter: Waiter,
) -> Outcome {
    match name {
        "list_pilots" => ok(&ops.list_pilots(who).await?),
        "get_pilot" => ok(&ops.get_pilot(who, &args.id()?).await?),
        "create_pilot" => {
            let body = args.body::<CreatePilot>();
            ok(&answer(ops.create_pilot(who, body, None).await.result)?)
        }
        "update_pilot" => {
            let id = args.id()?;
            ok(&ops
                .update_pilot(who, &id, args.body::<UpdatePilot>())
                .await?)
        }
        "run_pilot" => {
            let id = args.id()?;
            let wait = args.wait_seconds()?;
            let payload = args.take("payload").map(Some).unwrap_or(None);
            args.closed()?;
            let queued = answer(ops.run_pilot(who, &id, Ok(payload), None).await.result)?;
            let run = waiter.run(ops, who, &job_id(&queued)?, wait).await?;
            ok_linked(&run, &format!("pilot://runs/{}", run.id), "run")
        }
        "get_runs" => {
            let id = args.id()?;
            let query = RunsQuery {
                before: args.take("before").map(|v| text(&v)),
                limit: args.take("limit").map(|v| text(&v)),
            };
            args.closed()?;
            ok(&ops.list_runs(who, &id, &query).await?)
        }
        "get_run" => {
            let id = args.id()?;
            args.closed()?;
            ok(&ops.get_run(who, &id).await?)
        }
        "retry_run" => {
            let id = args.id()?;
            let body = args.body::<RetryRequest>().map(Some);
            let queued = answer(ops.retry_run(who, &id, body, None).await.result)?;
            let run = waiter.run(ops, who, &job_id(&queued)?, 0).await?;
            ok_linked(&run, &format!("pilot://runs/{}", run.id), "run")
        }
        "submit_deliberation" => {
            let wait = args.wait_seconds()?;
            let key = args.take("idempotency_key");
            let body = args.clone_body();
            let idempotency = match key {
                None => None,
                Some(key) => {
                    let key = IdempotencyKey::parse(text(&key).as_bytes())?;
                    Some(Idempotency::new(
                        key,
                        &[b"mcp", b"submit_deliberation", body.as_bytes()],
                    ))
                }
            };
            let request = serde_json::from_str(&body).map_err(|e| invalid(&e));
            let accepted = answer(
                ops.submit_deliberation(who, request, idempotency, Channel::Interactive)
                    .await
                    .result,
            )?;
            let id = accepted
                .get("deliberation_id")
                .map(text)
                .ok_or_else(OpError::internal)?;
            let view = checkpoints::steer(ops, who, &id, wait, &waiter).await?;
            Ok(view_result(&view, &id))
        }
        "respond_checkpoint" => {
            let id = args.text_id()?;
            let checkpoint = match args.take("checkpoint_id") {
                Some(Value::String(checkpoint)) => checkpoint,
                _ => return Err(OpError::validation("checkpoint_id must be a string")),
            };
            let wait = args.wait_seconds()?;
            let reply = match (args.take("answer"), args.take("form")) {
                (Some(answer), None) => CheckpointReply::Answer(answer),
                (None, Some(Value::Object(fields))) => CheckpointReply::Form {
                    fields,
                    defaults: true,
                },
                (None, Some(_)) => return Err(OpError::validation("form must be an object")),
                _ => {
                    return Err(OpError::validation(
                        "give exactly one of answer (the structured answer) or form (the \
                         checkpoint's form fields)",
                    ));
                }
            };
            args.closed()?;
            ops.respond_checkpoint(who, &id, &checkpoint, reply)
                .await
                .result?;
            let view = checkpoints::steer(ops, who, &id, wait, &waiter).await?;
            Ok(view_result(&view, &id))
        }
        "get_deliberation" => {
            let id = args.text_id()?;
            let panel = args.take("include_panel").and_then(|v| v.as_bool());
            args.closed()?;
            let query = DeliberationQuery {
                include: panel.filter(|p| *p).map(|_| "panel".to_owned()),
            };
            ok(&ops.get_deliberation(who, &id, &query).await.result?)
        }
        "get_balance" => {
            args.closed()?;
            ok(&ops.balance(who).await?)
        }
        "get_pricing" => {
            args.closed()?;
            ok(&ops.pricing(who)?)
        }
        "list_deliveries" => {
            let query = DeliveriesQuery {
                status: args.take("status").map(|v| text(&v)),
                endpoint: args.take("endpoint").map(|v| text(&v)),
                before: args.take("before").map(|v| text(&v)),
                limit: args.take("limit").map(|v| text(&v)),
            };
            args.closed()?;
            ok(&ops.list_deliveries(who, &query).await?)
        }
        "replay_delivery" => {
            let id = args.text_id()?;
            args.closed()?;
            ok(&answer(ops.replay_delivery(who, &id, None).await.result)?)
        }
        other => Err(OpError::not_found(format!("no tool named {other:?}"))),
    }
}

/// A tool's arguments, taken one by one.
struct Args(JsonObject);

impl Args {
    fn take(&mut self, name: &str) -> Option<Value> {
        self.0.remove(name).filter(|v| !v.is_null())
    }

    /// `id` as the operations read ids from a path: its text.
    fn id(&mut self) -> Result<String, OpError> {
        self.take("id")
            .map(|v| text(&v))
            .ok_or_else(|| OpError::validation("id is required".to_owned()))
    }

    fn text_id(&mut self) -> Result<String, OpError> {
        match self.take("id") {
            Some(Value::String(id)) => Ok(id),
            Some(_) => Err(OpError::validation("id must be a string".to_owned())),
            None => Err(OpError::validation("id is required".to_owned())),
        }
    }

    fn wait_seconds(&mut self) -> Result<u64, OpError> {
        wait_seconds(self.take("wait_seconds").as_ref())
    }

    /// The rest of the arguments as the request body `T` (its own validation).
    fn body<T: DeserializeOwned>(&mut self) -> Result<T, OpError> {
        serde_json::from_value(Value::Object(std::mem::take(&mut self.0))).map_err(|e| invalid(&e))
    }

    fn clone_body(&mut self) -> String {
        Value::Object(std::mem::take(&mut self.0)).to_string()
    }

    /// No argument is left over.
    fn closed(&self) -> Result<(), OpError> {
        match self.0.keys().next() {
            None => Ok(()),
            Some(name) => Err(OpError::validation(format!("unknown argument {name:?}"))),
        }
    }
}

/// `wait_seconds`, given or not: 0 to 50.
pub(crate) fn wait_seconds(value: Option<&Value>) -> Result<u64, OpError> {
    match value.filter(|v| !v.is_null()) {
        None => Ok(0),
        Some(value) => value.as_u64().filter(|s| *s <= 50).ok_or_else(|| {
            OpError::validation("wait_seconds must be an integer from 0 to 50".to_owned())
        }),
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn invalid(error: &serde_json::Error) -> OpError {
    OpError::validation(error.to_string())
}

/// An operation's answer as JSON (a replayed one as it was first answered), or its
/// error.
fn answer<T: Serialize>(
    result: Result<pilot_operations::Replayable<T>, OpError>,
) -> Result<Value, OpError> {
    Ok(result?.to_json())
}

/// The id a queued run's answer names (`jobId`).
fn job_id(queued: &Value) -> Result<String, OpError> {
    queued.get("jobId").map(text).ok_or_else(OpError::internal)
}

/// A view as the result: structured, and the same JSON as text.
fn ok<T: Serialize>(view: &T) -> Outcome {
    let value = serde_json::to_value(view).map_err(|_| OpError::internal())?;
    Ok(CallToolResult::structured(value))
}

/// [`ok`] with a link to the resource that keeps answering it.
fn ok_linked<T: Serialize>(view: &T, uri: &str, name: &str) -> Outcome {
    let mut result = ok(view)?;
    result
        .content
        .push(ContentBlock::resource_link(Resource::new(uri, name)));
    Ok(result)
}

/// An operation's error as a tool result: the surface's code and message.
pub(crate) fn failure(error: &OpError) -> CallToolResult {
    let mut text = format!("{}: {}", error.code.as_str(), error.message);
    if let Some(secs) = error.retry_after_secs {
        text.push_str(&format!(" (retry after {secs} s)"));
    }
    CallToolResult::error(vec![ContentBlock::text(text)])
}

/// A deliberation as a tool result, linked to its resource.
pub(crate) fn view_result(view: &DeliberationView, id: &str) -> CallToolResult {
    ok_linked(view, &format!("pilot://deliberations/{id}"), "deliberation")
        .unwrap_or_else(|error| failure(&error))
}

/// Views read back as JSON objects, for resources.
pub fn json_of<T: Serialize>(view: &T) -> Result<String, OpError> {
    serde_json::to_string(view).map_err(|_| OpError::internal())
}

pub(crate) fn terminal_run(run: &RunView) -> bool {
    RunStatus::parse(&run.status).is_some_and(RunStatus::is_terminal)
}

pub(crate) fn terminal_deliberation(view: &DeliberationView) -> bool {
    view.is_terminal()
}
