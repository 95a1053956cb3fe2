//! The step catalog as a JSON schema, given to the drafter model so it answers in the
//! shape [`crate::Steps::parse`] accepts. The parser stays the judge: a model may
//! ignore a schema, and its answer is validated in code either way.

use serde_json::{Value, json};

/// The schema of a drafter's answer: `{"steps": [ … ]}`.
pub fn draft_schema() -> Value {
    let template = json!({"type": "string", "minLength": 1, "maxLength": 2000});
    let id = json!({"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"});
    let step = |kind: &str, properties: Value, required: &[&str]| {
        let mut props = properties.as_object().cloned().unwrap_or_default();
        props.insert("id".into(), id.clone());
        props.insert("type".into(), json!({"type": "string", "enum": [kind]}));
        let mut required: Vec<&str> = required.to_vec();
        required.extend(["id", "type"]);
        json!({
            "type": "object",
            "properties": props,
            "required": required,
            "additionalProperties": false
        })
    };
    json!({
        "type": "object",
        "properties": {
            "steps": {
                "type": "array",
                "minItems": 1,
                "maxItems": crate::step::MAX_STEPS,
                "items": {"anyOf": [
                    step("llm", json!({
                        "prompt": template,
                        "output": {"type": "string", "enum": ["text", "json"]}
                    }), &["prompt"]),
                    step("http", json!({
                        "method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
                        "url": template,
                        "body": {"type": "object"}
                    }), &["url"]),
                    step("transform", json!({
                        "values": {"type": "object", "minProperties": 1}
                    }), &["values"]),
                    step("condition", json!({"if": template}), &["if"]),
                    step("delay", json!({
                        "seconds": {"type": "integer", "minimum": 1, "maximum": crate::step::MAX_DELAY_SECONDS}
                    }), &["seconds"]),
                    step("email", json!({
                        "to": template, "subject": template, "body": template
                    }), &["to", "subject", "body"]),
                    step("deliberate", json!({
                        "question": template,
                        "mode": {"type": "string", "enum": ["deliberation1", "smartroute1"]},
                        "use_case": {"type": "string", "enum": crate::deliberation::UseCase::ALL
                            .iter().map(|u| u.as_str()).collect::<Vec<_>>()},
                        "difficulty": {"type": "string", "enum": ["EASY", "MEDIUM", "HARD"]}
                    }), &["question"]),
                ]}
            }
        },
        "required": ["steps"],
        "additionalProperties": false
    })
}

/// The drafter's instructions: what each step type does and how templates read.
pub const DRAFTER_INSTRUCTIONS: &str = "\
You turn a plain-English description of an automation into a JSON list of steps.
Answer with one JSON object {\"steps\": [...]} and nothing else.
Step types:
- llm: {\"id\", \"type\": \"llm\", \"prompt\", \"output\": \"text\"|\"json\"} asks an AI model.
- http: {\"id\", \"type\": \"http\", \"method\", \"url\", \"body\"} sends a request (e.g. a Slack incoming webhook).
- transform: {\"id\", \"type\": \"transform\", \"values\": {name: template}} computes values.
- condition: {\"id\", \"type\": \"condition\", \"if\": expression} stops the run when false.
- delay: {\"id\", \"type\": \"delay\", \"seconds\"} waits.
- email: {\"id\", \"type\": \"email\", \"to\", \"subject\", \"body\"} sends an email.
- deliberate: {\"id\", \"type\": \"deliberate\", \"question\", \"use_case\"} asks a panel of five AI
  experts and outputs {deliberation_id, synthesis, summary, confidence_index}; it costs
  credits, so use it only when the description asks for a deliberation, a panel or a
  considered decision. use_case is one of general, pricing, code, strategy, marketing,
  logistics.
Ids are lowercase letters, digits and underscores, unique, starting with a letter.
String settings are templates: {{ trigger.FIELD }} reads the trigger payload,
{{ steps.ID.output }} an earlier step's output, {{ secrets.NAME }} a stored secret
(use secrets for webhook URLs and credentials, never literal values). Secrets may be
used only where they are sent out: an http step's url, headers and body, and an email
step's to, subject and body; never in llm prompts, transforms, conditions or questions.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_names_every_runnable_step_type() {
        let schema = draft_schema();
        let kinds: Vec<&str> = schema["properties"]["steps"]["items"]["anyOf"]
            .as_array()
            .expect("anyOf")
            .iter()
            .filter_map(|s| s["properties"]["type"]["enum"][0].as_str())
            .collect();
        assert_eq!(
            kinds,
            [
                "llm",
                "http",
                "transform",
                "condition",
                "delay",
                "email",
                "deliberate"
            ]
        );
    }
}
