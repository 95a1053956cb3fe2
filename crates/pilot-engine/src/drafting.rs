//! Drafting a pilot's steps from plain English.
//!
//! The drafter model gets the step catalog (instructions and a JSON schema) and the
//! pilot's title, description and trigger, and what the trigger's payload looks
//! like ([`payload_shape`]): for `schedule` and `email` the exact shapes those
//! triggers produce, for `webhook` and `manual` the client's `samplePayload`, or
//! "unknown JSON object" — and then prompts pass the whole payload
//! (`{{ trigger | tojson }}`) rather than guessing a field. Its answer is parsed by
//! [`Steps::parse`] — the same validation a client's own `steps` go through — and
//! its templates checked (`pilot_domain::template_checks`: syntax, earlier steps,
//! the sample's fields), and when it is not valid, the model is shown its answer and every validation error and
//! asked to repair it, a bounded number of times. In test mode the scripted model
//! drafts, deterministically.

use std::sync::Arc;

use pilot_domain::step_schema::{DRAFTER_INSTRUCTIONS, draft_schema};
use pilot_domain::{
    Environment, StepErrors, Steps, TriggerType, WorkspaceId, template_checks, trigger_payload,
};
use pilot_models::{CallContext, ChatRequest, JsonSchema, Message, ModelError, Models, Role};
use serde_json::Value;

/// What to draft, for whom.
#[derive(Clone, Debug)]
pub struct DraftRequest<'a> {
    pub workspace_id: WorkspaceId,
    pub environment: Environment,
    pub title: &'a str,
    pub description: &'a str,
    pub trigger_type: TriggerType,
    /// For `webhook` and `manual`: an example payload (a JSON object), if the client
    /// gave one.
    pub sample_payload: Option<&'a Value>,
}

/// What a run's `trigger` is, for the drafter: the `Payload:` line of its message.
pub fn payload_shape(trigger_type: TriggerType, sample: Option<&Value>) -> String {
    match (trigger_type, sample) {
        (TriggerType::Schedule, _) => SCHEDULE_PAYLOAD.to_owned(),
        (TriggerType::Email, _) => EMAIL_PAYLOAD.to_owned(),
        (_, Some(sample)) => format!(
            "{SAMPLE_PREFIX}{sample} (reference only these fields, e.g. {{{{ trigger.<field> }}}})"
        ),
        (_, None) => UNKNOWN_PAYLOAD.to_owned(),
    }
}

/// Starts the `Payload:` line of a request with a sample; the sample's JSON follows.
pub const SAMPLE_PREFIX: &str = "sample ";

/// The `Payload:` line without a sample.
pub const UNKNOWN_PAYLOAD: &str = "unknown JSON object: do not guess its fields; pass the whole \
     payload to prompts as {{ trigger | tojson }}";

/// The schedule trigger's payload (`triggers::schedule` in the operations).
pub const SCHEDULE_PAYLOAD: &str = "exactly {\"scheduledAt\": <the tick, Unix seconds>, \
     \"firedAt\": <when it fired, Unix seconds>}";

/// The email trigger's payload (`pilot-smtp`'s `InboundMail::to_payload`).
pub const EMAIL_PAYLOAD: &str = "exactly {\"from\": string or null, \"fromName\": string or \
     null, \"to\": [string], \"recipient\": string, \"subject\": string, \"text\": string \
     (the plain-text body), \"html\": string or null, \"messageId\": string or null, \
     \"receivedAt\": RFC 3339 string, \"headers\": object, \"cc\": [string], \"date\": RFC \
     3339 string or null, \"attachments\": [{\"name\": string or null, \"contentType\": \
     string, \"size\": integer, \"content\": base64 string or null, \"omitted\": boolean}]}";

#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    /// No valid draft after every repair: the last answer's problems.
    #[error("the drafter did not produce valid steps: {0}")]
    Invalid(StepErrors),
    /// The model layer could not answer (not configured, unreachable, timed out …).
    #[error("{0}")]
    Model(#[from] ModelError),
}

pub struct Drafter {
    models: Arc<Models>,
    /// Repairs after the first answer.
    max_repairs: u32,
}

impl Drafter {
    pub fn new(models: Arc<Models>, max_repairs: u32) -> Drafter {
        Drafter {
            models,
            max_repairs,
        }
    }

    pub async fn draft(&self, request: &DraftRequest<'_>) -> Result<Steps, DraftError> {
        let call = CallContext::new(request.environment, "draft", "pilot")
            .in_workspace(request.workspace_id);
        let mut messages = vec![
            Message::system(DRAFTER_INSTRUCTIONS),
            Message::user(format!(
                "Title: {}\nTrigger: {}\nPayload: {}\nDescription: {}",
                request.title,
                request.trigger_type,
                payload_shape(request.trigger_type, request.sample_payload),
                request.description
            )),
        ];
        let mut last_errors = StepErrors(vec!["no answer".to_owned()]);
        for _ in 0..=self.max_repairs {
            let chat = ChatRequest::new(messages.clone())
                .with_schema(JsonSchema::new("pilot_steps", draft_schema()));
            let answer = self.models.complete(&call, &Role::Drafter, &chat).await?;
            let shape = trigger_payload::checked_shape(
                request.trigger_type,
                request.sample_payload.and_then(Value::as_object),
            );
            let checked = parse_answer(&answer.text).and_then(|steps| {
                // Its templates must fit too: earlier steps, the payload's fields.
                let problems = template_checks::check(&steps, shape.as_ref());
                if problems.is_empty() {
                    Ok(steps)
                } else {
                    Err(StepErrors(problems))
                }
            });
            match checked {
                Ok(steps) => return Ok(steps),
                Err(errors) => {
                    messages.push(Message::assistant(answer.text.clone()));
                    messages.push(Message::user(format!(
                        "That answer is not valid. Fix these problems and answer with the \
                         whole corrected JSON object only:\n- {}",
                        errors.0.join("\n- ")
                    )));
                    last_errors = errors;
                }
            }
        }
        Err(DraftError::Invalid(last_errors))
    }
}

/// `{"steps": [...]}` (or a bare list) → validated steps.
fn parse_answer(text: &str) -> Result<Steps, StepErrors> {
    let value: Value = serde_json::from_str(text.trim())
        .map_err(|e| StepErrors(vec![format!("the answer is not JSON: {e}")]))?;
    let list = match value {
        Value::Object(mut object) => object
            .remove("steps")
            .ok_or_else(|| StepErrors(vec!["the answer has no \"steps\" field".to_owned()]))?,
        list @ Value::Array(_) => list,
        _ => {
            return Err(StepErrors(vec![
                "the answer must be {\"steps\": [...]}".to_owned(),
            ]));
        }
    };
    Steps::parse(&list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_parsed_or_explained() {
        let ok = parse_answer(r#"{"steps":[{"id":"a","type":"llm","prompt":"hi"}]}"#).unwrap();
        assert_eq!(ok.len(), 1);
        assert!(parse_answer("nope").unwrap_err().0[0].contains("not JSON"));
        assert!(parse_answer(r#"{"stops":[]}"#).unwrap_err().0[0].contains("no \"steps\""));
        let bad = parse_answer(r#"{"steps":[{"id":"a","type":"http"}]}"#).unwrap_err();
        assert!(bad.to_string().contains("steps[0] (a)"), "{bad}");
    }
}
