//! The step catalog as a JSON schema, in two sizes from one set of definitions:
//!
//! * [`draft_schema`], given to the drafter model so it answers in the shape
//!   [`crate::Steps::parse`] accepts: the settings a draft needs, nothing optional
//!   that a model would only get wrong;
//! * [`steps_schema`], the whole catalog as the APIs take and show a pilot's
//!   `steps` — every setting, `retry` and `timeout_ms` included, with the parser's
//!   bounds — which the OpenAPI document uses as it is.
//!
//! The parser stays the judge: a model may ignore a schema, a client may send
//! anything, and a step list is validated in code either way (unique ids, template
//! and schema bounds, where secrets may be read: nothing a JSON schema can say).

use serde_json::{Map, Value, json};

use crate::step::{
    MAX_DELAY_SECONDS, MAX_STEP_ATTEMPTS, MAX_STEPS, MAX_TEMPLATE_BYTES, TIMEOUT_MS_RANGE,
};

/// The schema of a drafter's answer: `{"steps": [ … ]}`.
pub fn draft_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"steps": catalog(Size::Draft)},
        "required": ["steps"],
        "additionalProperties": false
    })
}

/// A pilot's `steps` as `POST`/`PATCH /api/v1/pilots` take them and the pilot views
/// show them: the whole catalog.
pub fn steps_schema() -> Value {
    catalog(Size::Full)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Size {
    /// What the drafter is asked for.
    Draft,
    /// Everything the parser accepts.
    Full,
}

/// The step list: an array of one object schema per step type.
fn catalog(size: Size) -> Value {
    let full = size == Size::Full;
    let template = if full {
        // Required templates: not blank, at most MAX_TEMPLATE_BYTES (bytes bound
        // characters from above).
        json!({"type": "string", "minLength": 1, "maxLength": MAX_TEMPLATE_BYTES, "pattern": "\\S"})
    } else {
        json!({"type": "string", "minLength": 1, "maxLength": 2000})
    };
    let optional_template = json!({"type": "string", "maxLength": MAX_TEMPLATE_BYTES});
    let id = json!({"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"});
    let step = |kind: &str, properties: Value, extra: Value, required: &[&str]| {
        let mut props = properties.as_object().cloned().unwrap_or_default();
        if full {
            props.extend(extra.as_object().cloned().unwrap_or_default());
            props.extend(common_settings());
        }
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
    let mut methods = vec!["GET", "POST", "PUT", "PATCH", "DELETE"];
    if full {
        methods.push("HEAD");
    }
    json!({
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_STEPS,
        "items": {"anyOf": [
            step("llm", json!({
                "prompt": template,
                "output": {"type": "string", "enum": ["text", "json"]}
            }), json!({
                "system": optional_template,
                "schema": {"type": "object"},
                "model": {"type": "string"}
            }), &["prompt"]),
            step("http", json!({
                "method": {"type": "string", "enum": methods},
                "url": template,
                "body": {"type": "object"}
            }), json!({
                "headers": {"type": "object", "maxProperties": 32, "additionalProperties": optional_template},
                "body": {}
            }), &["url"]),
            step("transform", json!({
                "values": {"type": "object", "minProperties": 1}
            }), json!({}), &["values"]),
            step("condition", json!({"if": template}), json!({}), &["if"]),
            step("delay", json!({
                "seconds": {"type": "integer", "minimum": 1, "maximum": MAX_DELAY_SECONDS}
            }), json!({}), &["seconds"]),
            step("email", json!({
                "to": template, "subject": template, "body": template
            }), json!({}), &["to", "subject", "body"]),
            step("deliberate", json!({
                "question": template,
                "mode": {"type": "string", "enum": ["deliberation1", "smartroute1"]},
                "use_case": {"type": "string", "enum": crate::deliberation::UseCase::ALL
                    .iter().map(|u| u.as_str()).collect::<Vec<_>>()},
                "difficulty": {"type": "string", "enum": ["EASY", "MEDIUM", "HARD"]}
            }), json!({}), &["question"]),
        ]}
    })
}

/// What every step may set besides its type's settings: its own retries and its
/// timeout.
fn common_settings() -> Map<String, Value> {
    let settings = json!({
        "retry": {
            "type": ["object", "null"],
            "properties": {
                "max_attempts": {"type": "integer", "minimum": 1, "maximum": MAX_STEP_ATTEMPTS},
                "backoff_ms": {"type": "integer", "minimum": 0, "maximum": crate::step::MAX_RETRY_WAIT_MS}
            },
            "required": ["max_attempts"],
            "additionalProperties": false
        },
        "timeout_ms": {
            "type": ["integer", "null"],
            "minimum": TIMEOUT_MS_RANGE.0,
            "maximum": TIMEOUT_MS_RANGE.1
        }
    });
    settings.as_object().cloned().unwrap_or_default()
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
    fn the_apis_catalog_is_the_drafters_and_the_optional_settings() {
        let draft = draft_schema();
        let full = steps_schema();
        let kinds = |schema: &Value| schema["items"]["anyOf"].as_array().cloned().unwrap();
        let drafted = kinds(&draft["properties"]["steps"]);
        let whole = kinds(&full);
        assert_eq!(drafted.len(), whole.len());
        for (d, f) in drafted.iter().zip(&whole) {
            assert_eq!(d["properties"]["type"], f["properties"]["type"]);
            assert_eq!(d["required"], f["required"]);
            for name in d["properties"].as_object().unwrap().keys() {
                assert!(f["properties"].get(name).is_some(), "{name}");
            }
            for name in ["retry", "timeout_ms"] {
                assert!(d["properties"].get(name).is_none());
                assert!(f["properties"].get(name).is_some());
            }
        }
        assert_eq!(full["maxItems"], crate::step::MAX_STEPS);
    }

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
