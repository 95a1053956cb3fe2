//! A `deliberation2`'s checkpoints over MCP. Three ways to the person, whichever
//! the client has:
//!
//! * **elicitation** — a client that declared the `elicitation` capability (form
//!   mode) is asked at each checkpoint while a tool call waits (`wait_seconds`):
//!   the checkpoint's choices as a form (`CheckpointView::form`), its answer taken
//!   through the operations as the flat form, and the wait goes on to the next
//!   checkpoint or the end. An answer the checkpoint refuses (too few personas
//!   kept, say) is asked again with the reason, twice at most. Declined, cancelled,
//!   unanswered within the checkpoint's time, or refused three times: the call
//!   answers the deliberation with its open checkpoint, as below.
//! * **the tool result** — any other client gets the pending deliberation with its
//!   `checkpoint` (choices and form) and answers it with `respond_checkpoint`.
//! * **input required** (2026-07-28 clients, which a server may not send requests
//!   to mid-call) — a client that declared elicitation and waits with
//!   `wait_seconds` gets an `InputRequiredResult` at a checkpoint: the checkpoint's
//!   elicitation keyed by its id, and the deliberation's id as `requestState`. It
//!   retries the same call with the elicitation's result; the retry answers the
//!   checkpoint (never submitting again: the state names the deliberation, read as
//!   the key's own like any id) and waits on, to the next checkpoint or the end.
//! * **tasks** — a `submit_deliberation` run as a task reads `input_required` at a
//!   checkpoint, its `inputRequests` the checkpoint's elicitation keyed by the
//!   checkpoint id; `tasks/update` with the elicitation's result answers it.
//!
//! The time a person takes to answer is not counted against `wait_seconds`: the
//! wait starts again after each answer.

use std::time::Duration;

use pilot_domain::Principal;
use pilot_operations::deliberations::CheckpointReply;
use pilot_operations::views::{CheckpointView, DeliberationView};
use pilot_operations::{OpError, Operations};
use rmcp::model::{
    CallToolResponse, CallToolResult, ElicitRequest, ElicitRequestParams, ElicitResult,
    ElicitationAction, ElicitationSchema, InputRequest, InputRequests, InputRequiredResult,
    InputResponses,
};
use serde_json::{Map, Value};

use crate::call;
use crate::wait::Waiter;

/// The longest a tool call waits for a person's answer to one elicitation.
const ASK_AT_MOST: Duration = Duration::from_secs(15 * 60);
/// Elicitations per checkpoint before the call gives the checkpoint back.
const TRIES: usize = 3;

/// The checkpoint as an elicitation request: its prompt, and its form. `note` goes
/// first (why an earlier answer was refused).
pub fn elicitation(checkpoint: &CheckpointView, note: Option<&str>) -> Option<ElicitRequestParams> {
    let requested_schema: ElicitationSchema =
        serde_json::from_value(checkpoint.form.clone()).ok()?;
    let mut message = String::new();
    if let Some(note) = note {
        message.push_str(&format!("That answer was refused: {note}\n\n"));
    }
    message.push_str(&checkpoint.prompt);
    for position in &checkpoint.positions {
        message.push_str(&format!(
            "\n- {} ({}): {} — {}",
            position.persona, position.role, position.stance, position.position
        ));
    }
    if let Some(draft) = &checkpoint.draft {
        message.push_str(&format!("\n\nDraft:\n{}", draft.synthesis));
    }
    Some(ElicitRequestParams::FormElicitationParams {
        meta: None,
        message,
        requested_schema,
    })
}

/// The request a task's `inputRequests` carries for `checkpoint`.
pub fn elicit_request(checkpoint: &CheckpointView) -> Option<ElicitRequest> {
    elicitation(checkpoint, None).map(ElicitRequest::new)
}

/// The tools whose wait may stop at a checkpoint.
pub fn waits_at_checkpoints(tool: &str) -> bool {
    matches!(tool, "submit_deliberation" | "respond_checkpoint")
}

/// Asks for `checkpoint` of deliberation `id` as an `InputRequiredResult`; `note`
/// says why an earlier answer was refused.
fn input_required(
    id: &str,
    checkpoint: &CheckpointView,
    note: Option<&str>,
) -> Option<InputRequiredResult> {
    let request = ElicitRequest::new(elicitation(checkpoint, note)?);
    let mut requests = InputRequests::new();
    requests.insert(checkpoint.id.clone(), InputRequest::Elicitation(request));
    Some(InputRequiredResult::new(
        Some(requests),
        Some(id.to_owned()),
    ))
}

/// A tool's result as the call's answer: input required when it is a deliberation
/// waiting at a checkpoint (for a client that answers that way), else the result.
pub fn answer_of(result: CallToolResult) -> CallToolResponse {
    let waiting = result.structured_content.as_ref().and_then(|view| {
        let id = view.get("id")?.as_str()?.to_owned();
        let checkpoint: CheckpointView =
            serde_json::from_value(view.get("checkpoint")?.clone()).ok()?;
        Some((id, checkpoint))
    });
    match waiting.and_then(|(id, checkpoint)| input_required(&id, &checkpoint, None)) {
        Some(asked) => CallToolResponse::InputRequired(asked),
        None => CallToolResponse::Complete(result),
    }
}

/// The retry of a call that answered input required: `state` is the deliberation's
/// id, `responses` the elicitation results by checkpoint id. Answers them, then
/// waits `wait_seconds` as the call does.
pub async fn resumed(
    ops: &Operations,
    who: &Principal,
    state: &str,
    responses: InputResponses,
    wait_seconds: u64,
    waiter: &Waiter,
) -> CallToolResponse {
    for (checkpoint, response) in responses {
        let fields = match elicited(&checkpoint, response) {
            Ok(fields) => fields,
            Err(error) => return refused(&error),
        };
        let Some(fields) = fields else {
            // Declined: the deliberation as it stands, its checkpoint open.
            return match waiter.deliberation(ops, who, state, 0).await {
                Ok(view) => CallToolResponse::Complete(call::view_result(&view, state)),
                Err(error) => refused(&error),
            };
        };
        if let Err(error) = answer_with_form(ops, who, state, &checkpoint, fields).await {
            if error.code != pilot_operations::ErrorCode::ValidationError {
                return refused(&error);
            }
            // Asked again, with the reason.
            let view = match waiter.deliberation(ops, who, state, 0).await {
                Ok(view) => view,
                Err(error) => return refused(&error),
            };
            let again = view
                .checkpoint()
                .and_then(|open| input_required(state, open, Some(&error.message)));
            return match again {
                Some(asked) => CallToolResponse::InputRequired(asked),
                None => CallToolResponse::Complete(call::view_result(&view, state)),
            };
        }
    }
    match steer(ops, who, state, wait_seconds, waiter).await {
        Ok(view) => answer_of(call::view_result(&view, state)),
        Err(error) => refused(&error),
    }
}

fn refused(error: &OpError) -> CallToolResponse {
    CallToolResponse::Complete(call::failure(error))
}

/// Response `response` to the elicitation for `checkpoint`, read: the accepted
/// form's fields, or `None` when the person declined or cancelled.
pub fn elicited(checkpoint: &str, response: Value) -> Result<Option<Map<String, Value>>, OpError> {
    let result: ElicitResult = serde_json::from_value(response).map_err(|e| {
        OpError::validation(format!(
            "inputResponses.{checkpoint} is not an elicitation result: {e}"
        ))
    })?;
    Ok(accepted(&result))
}

/// An accepted elicitation's fields; `None` when the person declined or cancelled.
fn accepted(result: &ElicitResult) -> Option<Map<String, Value>> {
    match (&result.action, &result.content) {
        (ElicitationAction::Accept, Some(Value::Object(fields))) => Some(fields.clone()),
        (ElicitationAction::Accept, None) => Some(Map::new()),
        _ => None,
    }
}

/// Answers `checkpoint` of deliberation `id` with an elicitation's fields.
pub async fn answer_with_form(
    ops: &Operations,
    who: &Principal,
    id: &str,
    checkpoint: &str,
    fields: Map<String, Value>,
) -> Result<DeliberationView, OpError> {
    let reply = CheckpointReply::Form {
        fields,
        defaults: true,
    };
    ops.respond_checkpoint(who, id, checkpoint, reply)
        .await
        .result
}

/// Waits for deliberation `id` up to `wait_seconds` at a time, asking the person at
/// each checkpoint when the client can be asked (see the module).
pub async fn steer(
    ops: &Operations,
    who: &Principal,
    id: &str,
    wait_seconds: u64,
    waiter: &Waiter,
) -> Result<DeliberationView, OpError> {
    loop {
        let view = waiter.deliberation(ops, who, id, wait_seconds).await?;
        let Some(checkpoint) = view.checkpoint() else {
            return Ok(view);
        };
        if wait_seconds == 0 || !waiter.can_elicit() {
            return Ok(view);
        }
        if !ask(ops, who, id, checkpoint, waiter).await {
            return Ok(view);
        }
    }
}

/// Asks the person about `checkpoint` until an answer is taken (`true`) or the
/// person or the client gives up (`false`).
async fn ask(
    ops: &Operations,
    who: &Principal,
    id: &str,
    checkpoint: &CheckpointView,
    waiter: &Waiter,
) -> bool {
    let mut note: Option<String> = None;
    for _ in 0..TRIES {
        let Some(request) = elicitation(checkpoint, note.as_deref()) else {
            return false;
        };
        let asked = tokio::select! {
            () = waiter.cancelled.cancelled() => return false,
            asked = waiter.peer.create_elicitation_with_timeout(request, Some(ASK_AT_MOST)) => asked,
        };
        let Some(fields) = asked.ok().as_ref().and_then(accepted) else {
            return false;
        };
        match answer_with_form(ops, who, id, &checkpoint.id, fields).await {
            Ok(_) => return true,
            Err(refused) if refused.code == pilot_operations::ErrorCode::ValidationError => {
                note = Some(refused.message);
            }
            Err(other) => {
                tracing::info!(checkpoint = %checkpoint.id, error = %other.message, "an elicited answer was not taken");
                return false;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use pilot_domain::checkpoint::{PersonaChoice, PositionBrief};
    use pilot_domain::{CheckpointKind, CheckpointOffer};

    use super::*;

    #[test]
    fn every_checkpoint_form_is_an_elicitation_schema() {
        let position = PositionBrief {
            confidence: 7.0,
            peer_score: Some(6.5),
            persona: "skeptic".into(),
            position: "No.".into(),
            revised: false,
            role: "Devil's advocate".into(),
            stance: "no".into(),
        };
        for kind in CheckpointKind::ALL {
            let offer = CheckpointOffer {
                kind: *kind,
                prompt: "?".into(),
                positions: vec![position.clone()],
                addable: vec![PersonaChoice {
                    name: "cfo".into(),
                    role: "CFO".into(),
                }],
                min_panel: 1,
                suggested: vec!["skeptic".into()],
                draft: None,
                can_send_back: true,
            };
            let form = offer.form_schema();
            let schema: ElicitationSchema = serde_json::from_value(form.clone())
                .unwrap_or_else(|e| panic!("{kind}: {e}: {form}"));
            let back = serde_json::to_value(&schema).unwrap();
            assert_eq!(back["properties"], form["properties"], "{kind}");
        }
    }
}
