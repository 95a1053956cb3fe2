//! Every template of a step list checked before it is kept: its syntax, its step
//! references (`steps.<id>` must name an earlier step), and, when the payload's
//! shape is known (a client's sample, or the fixed keys of a schedule or email
//! payload: `trigger_payload`), its trigger fields against it. Each problem names the step, the
//! field and the variable. Pure: the operations call it at create and patch, the
//! drafter before it accepts a draft.

use minijinja::Environment;
use serde_json::Value;

use crate::step::{Step, Steps};
use crate::template::{Form, form_of_value, lookups, single_expression};
use crate::trigger_payload::PayloadShape;

/// How many of a sample's keys a problem lists.
const LISTED_KEYS: usize = 20;

/// One line per problem, `steps[i] (id): field: …`; empty when every template fits.
pub fn check(steps: &Steps, shape: Option<&PayloadShape>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut earlier: Vec<&str> = Vec::new();
    for (index, step) in steps.as_slice().iter().enumerate() {
        let label = format!("steps[{index}] ({})", step.id);
        for (field, text, form) in templates(step) {
            if let Some(error) = syntax_error(&text, form) {
                problems.push(format!("{label}: {field}: template syntax error: {error}"));
                continue;
            }
            for path in lookups(&text, form) {
                let problem = match path.first().map(String::as_str) {
                    Some("steps") => step_reference(&path, &earlier),
                    Some("trigger") => shape.and_then(|shape| trigger_field(&path, shape)),
                    _ => None,
                };
                if let Some(problem) = problem {
                    problems.push(format!("{label}: {field}: {problem}"));
                }
            }
        }
        earlier.push(&step.id);
    }
    problems
}

/// `(field, text, form)` for every string setting of `step`: a condition's `if` is
/// an expression; an `llm` step's `schema` holds no templates.
fn templates(step: &Step) -> Vec<(String, String, Form)> {
    let mut found = Vec::new();
    let Ok(Value::Object(fields)) = serde_json::to_value(step) else {
        return found;
    };
    for (name, value) in &fields {
        if matches!(name.as_str(), "id" | "type" | "schema" | "retry") {
            continue;
        }
        strings(value, name, &mut |field, text| {
            let form = if name == "if" {
                Form::Expression
            } else {
                form_of_value(text)
            };
            found.push((field.to_owned(), text.to_owned(), form));
        });
    }
    found
}

fn strings(value: &Value, at: &str, each: &mut dyn FnMut(&str, &str)) {
    match value {
        Value::String(text) => each(at, text),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                strings(item, &format!("{at}[{index}]"), each);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                strings(item, &format!("{at}.{key}"), each);
            }
        }
        _ => {}
    }
}

fn syntax_error(text: &str, form: Form) -> Option<String> {
    let env = Environment::new();
    let result = match form {
        Form::Template => {
            if !text.contains("{{") && !text.contains("{%") {
                return None;
            }
            env.template_from_str(text).map(|_| ())
        }
        Form::Expression => {
            let bare = single_expression(text).unwrap_or(text.trim());
            env.compile_expression(bare).map(|_| ())
        }
    };
    result.err().map(|error| {
        let mut message = error.kind().to_string();
        if let Some(detail) = error.detail() {
            message = format!("{message}: {detail}");
        }
        message
    })
}

fn step_reference(path: &[String], earlier: &[&str]) -> Option<String> {
    let id = path.get(1)?;
    if earlier.contains(&id.as_str()) {
        return None;
    }
    Some(if earlier.is_empty() {
        format!("steps.{id} is not an earlier step (this is the first step)")
    } else {
        format!(
            "steps.{id} is not an earlier step (the earlier steps are: {})",
            earlier.join(", ")
        )
    })
}

fn trigger_field(path: &[String], shape: &PayloadShape) -> Option<String> {
    let mut fields = &shape.fields;
    for depth in 1..path.len() {
        match fields.get(&path[depth]) {
            Some(Value::Object(inner)) => fields = inner,
            Some(_) => return None,
            None => {
                let keys: Vec<&str> = fields
                    .keys()
                    .take(LISTED_KEYS)
                    .map(String::as_str)
                    .collect();
                let more = fields.len().saturating_sub(LISTED_KEYS);
                let more = if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
                let missing = path[..=depth].join(".");
                let has = if keys.is_empty() {
                    "nothing".to_owned()
                } else {
                    format!("{}{more}", keys.join(", "))
                };
                return Some(format!(
                    "{missing} is not in {} (it has: {has})",
                    shape.name
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn problems(steps: Value, sample: Option<Value>) -> Vec<String> {
        let steps = Steps::parse(&steps).unwrap();
        let shape = sample.map(|s| PayloadShape {
            name: "the samplePayload",
            fields: s.as_object().unwrap().clone(),
        });
        check(&steps, shape.as_ref())
    }

    #[test]
    fn step_references_must_be_earlier_steps() {
        let steps = json!([
            {"id": "a", "type": "transform", "values": {"x": "{{ steps.b.output }}"}},
            {"id": "b", "type": "llm", "prompt": "{{ steps.a.output }} {{ steps.c.output }}"},
            {"id": "c", "type": "condition", "if": "steps.b.output and steps.zz"}
        ]);
        assert_eq!(
            problems(steps, None),
            [
                "steps[0] (a): values.x: steps.b is not an earlier step (this is the first step)",
                "steps[1] (b): prompt: steps.c is not an earlier step (the earlier steps are: a)",
                "steps[2] (c): if: steps.zz is not an earlier step (the earlier steps are: a, b)",
            ]
        );
    }

    #[test]
    fn trigger_fields_are_checked_against_a_sample_and_syntax_always() {
        let steps = json!([
            {"id": "s", "type": "llm", "prompt": "{{ trigger.text }} {{ trigger.total }} {{ trigger | tojson }}"},
            {"id": "n", "type": "http", "url": "https://x.example/{{ trigger.customer.emial }}"},
            {"id": "b", "type": "transform", "values": {"x": "{{ trigger.orderId ", "y": "{{ trigger.items[0].sku }}"}}
        ]);
        let sample =
            json!({"orderId": "1", "total": 49.0, "customer": {"email": "e"}, "items": [1]});
        let found = problems(steps.clone(), Some(sample));
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(
            found[0],
            "steps[0] (s): prompt: trigger.text is not in the samplePayload (it has: orderId, total, customer, items)"
        );
        assert_eq!(
            found[1],
            "steps[1] (n): url: trigger.customer.emial is not in the samplePayload (it has: email)"
        );
        assert!(
            found[2].starts_with("steps[2] (b): values.x: template syntax error"),
            "{found:?}"
        );
        // Without a sample only the syntax is checked.
        assert_eq!(problems(steps, None).len(), 1);
    }
}
