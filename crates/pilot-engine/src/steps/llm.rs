//! The `llm` step: one prompt to the `step` role's model (or the step's own
//! `model`), metered against the run's workspace. With `output: "json"` the answer
//! must parse as JSON (fitting the step's `schema`, or any object) and the output is
//! that value.

use pilot_domain::step::{LlmOutput, LlmStep};
use pilot_models::{
    CallContext, ChatRequest, JsonSchema, Message, Models, Role, parse_json_answer,
};
use serde_json::{Value, json};

use super::template::Templates;
use super::{StepCall, StepOutcome};

pub async fn llm(
    step: &LlmStep,
    step_id: &str,
    templates: &Templates,
    models: &Models,
    call: &StepCall,
) -> Result<StepOutcome, String> {
    let prompt = templates.render(&step.prompt).map_err(|e| e.0)?;
    let mut messages = Vec::with_capacity(2);
    if let Some(system) = &step.system {
        messages.push(Message::system(templates.render(system).map_err(|e| e.0)?));
    }
    if step.output == LlmOutput::Json {
        messages.push(Message::system(
            "Answer with one JSON value and nothing else.",
        ));
    }
    messages.push(Message::user(prompt));
    let mut request = ChatRequest::new(messages);
    if step.output == LlmOutput::Json {
        let schema = step
            .schema
            .clone()
            .unwrap_or_else(|| json!({"type": "object"}));
        request = request.with_schema(JsonSchema::new(step_id, schema));
    }
    if let Some(model) = &step.model {
        request = request.with_model(model.clone());
    }
    let context = CallContext::new(
        call.environment,
        "run_step",
        format!("run:{}:{step_id}", call.run_id),
    )
    .in_workspace(call.workspace_id);
    let completion = models
        .complete(&context, &Role::Step, &request)
        .await
        .map_err(|e| e.to_string())?;
    let output = match step.output {
        LlmOutput::Text => Value::String(completion.text),
        LlmOutput::Json => parse_json_answer(&completion.text).map_err(|e| e.to_string())?,
    };
    Ok(StepOutcome::Output(output))
}
