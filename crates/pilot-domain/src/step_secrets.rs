//! Where a step may use `secrets`: only in the fields that send them out.
//!
//! A secret that a template transforms (`{{ secrets.TOKEN | upper }}`, a slice, a
//! join) is no longer the exact value that redaction finds, and redacting every
//! derived value cannot be done. So the rule is about *where* secrets resolve, not
//! about cleaning up after them: `secrets.*` may be read only by
//!
//! * an `http` step's `url`, `headers` values and `body`, and
//! * an `email` step's `to`, `subject` and `body`
//!
//! ([`StepKind::sends_out`]), whose rendered values leave Pilot and are not stored.
//! Anywhere else — `transform` values, a `condition`'s `if`, an `llm` step's
//! `prompt` and `system`, a `deliberate` step's `question` — a reference is refused
//! when the steps are validated ([`check`], through `Steps::parse`, so for steps a
//! client sends and steps the drafter drafts alike), naming the field. References are
//! found with minijinja's own lexer ([`crate::template::reads`]).
//!
//! The engine makes the rule hold at run time too, whatever validation saw: it
//! renders every field of a step that does not send with a context that has no
//! `secrets` at all, so nothing there can reach a secret — not a filter, not
//! `{{ debug() }}` — and a reference fails the step naming `secrets`.

use serde_json::Value;

use crate::step::{Step, StepKind, Steps};
use crate::template::{Form, form_of_value, lookups, reads};

/// The template variable secrets are read from.
pub const SECRETS: &str = "secrets";

/// The rule, as every refusal states it.
pub const RULE: &str = "secrets may be used only where they are sent out: an http step's url, \
     headers and body, and an email step's to, subject and body";

/// One problem per field of `step` that reads `secrets` but does not send.
pub fn check(step: &Step) -> Vec<String> {
    let mut fields: Vec<String> = Vec::new();
    let mut look = |field: &str, text: &str, form: Form| {
        if reads(text, form, SECRETS) {
            fields.push(field.to_owned());
        }
    };
    match &step.kind {
        StepKind::Llm(llm) => {
            look("prompt", &llm.prompt, Form::Template);
            if let Some(system) = &llm.system {
                look("system", system, Form::Template);
            }
        }
        StepKind::Transform(transform) => {
            for (name, value) in &transform.values {
                strings(value, &format!("values.{name}"), &mut |field, text| {
                    look(field, text, form_of_value(text));
                });
            }
        }
        StepKind::Condition(condition) => look("if", &condition.condition, Form::Expression),
        StepKind::Deliberate(deliberate) => {
            look("question", &deliberate.question, Form::Template);
        }
        StepKind::Http(_) | StepKind::Email(_) | StepKind::Delay(_) => {}
    }
    fields
        .into_iter()
        .map(|field| format!("{field} reads secrets; {RULE}"))
        .collect()
}

/// The secrets `steps` read (`secrets.NAME`, `secrets['NAME']`) where secrets are
/// available — the fields of the steps that send — each once, in order.
pub fn referenced(steps: &Steps) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for step in steps.as_slice() {
        if !step.kind.sends_out() {
            continue;
        }
        let value = serde_json::to_value(step).unwrap_or(Value::Null);
        strings(&value, "", &mut |_, text| {
            for path in lookups(text, form_of_value(text)) {
                if let [root, name, ..] = path.as_slice()
                    && root == SECRETS
                    && !names.contains(name)
                {
                    names.push(name.clone());
                }
            }
        });
    }
    names
}

/// Calls `each` with every string inside `value` and its path under `at`.
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::step::Steps;

    fn problems(step: serde_json::Value) -> String {
        match Steps::parse(&json!([step])) {
            Ok(_) => String::new(),
            Err(errors) => errors.to_string(),
        }
    }

    #[test]
    fn secrets_are_refused_in_every_field_that_does_not_send() {
        let refused = [
            (
                json!({"id": "shape", "type": "transform", "values": {"token": "{{ secrets.TOKEN | upper }}"}}),
                "steps[0] (shape): values.token reads secrets",
            ),
            (
                json!({"id": "shape", "type": "transform", "values": {"t": "{{ secrets.TOKEN[::-1] }}"}}),
                "values.t reads secrets",
            ),
            (
                json!({"id": "shape", "type": "transform",
                       "values": {"nested": {"list": ["ok", "x={{ secrets | list | join('-') }}"]}}}),
                "values.nested.list[1] reads secrets",
            ),
            (
                json!({"id": "shape", "type": "transform",
                       "values": {"s": "{% set t = secrets.TOKEN %}{{ t | reverse }}"}}),
                "values.s reads secrets",
            ),
            (
                json!({"id": "shape", "type": "transform",
                       "values": {"l": "{% for k, v in secrets | items %}{{ v }}{% endfor %}"}}),
                "values.l reads secrets",
            ),
            (
                json!({"id": "gate", "type": "condition", "if": "secrets.TOKEN | length > 3"}),
                "steps[0] (gate): if reads secrets",
            ),
            (
                json!({"id": "gate", "type": "condition", "if": "{{ secrets.TOKEN == 'x' }}"}),
                "if reads secrets",
            ),
            (
                json!({"id": "ask", "type": "llm", "prompt": "Use {{ secrets.TOKEN }}"}),
                "steps[0] (ask): prompt reads secrets",
            ),
            (
                json!({"id": "ask", "type": "llm", "prompt": "hi", "system": "{{ secrets.A }}"}),
                "steps[0] (ask): system reads secrets",
            ),
            (
                json!({"id": "ask", "type": "deliberate",
                       "question": "Should we rotate {{ secrets.TOKEN }} now?"}),
                "steps[0] (ask): question reads secrets",
            ),
        ];
        for (step, needle) in refused {
            let found = problems(step.clone());
            assert!(found.contains(needle), "{step} → {found}");
            assert!(found.contains(super::RULE), "{found}");
        }
    }

    #[test]
    fn secrets_are_accepted_in_every_field_that_sends() {
        for step in [
            json!({"id": "call", "type": "http", "url": "{{ secrets.HOOK_URL }}"}),
            json!({"id": "call", "type": "http", "url": "https://x.example/{{ secrets.PATH | urlencode }}",
                   "headers": {"Authorization": "Bearer {{ secrets.TOKEN }}"},
                   "body": {"token": "{{ secrets.TOKEN }}", "deep": ["{{ secrets.A | upper }}"]}}),
            json!({"id": "mail", "type": "email", "to": "{{ secrets.OPS_ADDRESS }}",
                   "subject": "Key {{ secrets.KEY_ID }}", "body": "{{ secrets.BODY }}"}),
            // Not references: a field named secrets, a word, a string.
            json!({"id": "t", "type": "transform", "values": {
                "a": "{{ trigger.secrets }}", "b": "secrets", "c": "{{ 'secrets' }}",
                "d": "{{ steps.secrets.output }}"}}),
            json!({"id": "g", "type": "condition", "if": "trigger.secrets > 1"}),
        ] {
            assert_eq!(problems(step.clone()), "", "{step}");
        }
    }

    #[test]
    fn the_secrets_sending_steps_read_are_listed_once_in_order() {
        let steps = Steps::parse(&json!([
            {"id": "a", "type": "transform", "values": {"x": "{{ trigger.a }}"}},
            {"id": "b", "type": "http", "url": "{{ secrets.HOOK }}",
             "headers": {"Authorization": "Bearer {{ secrets['TOKEN'] }}"},
             "body": {"t": "{{ secrets.HOOK }}", "n": "{{ steps.a.output }}"}},
            {"id": "c", "type": "email", "to": "{{ secrets.TO }}", "subject": "s", "body": "b"}
        ]))
        .unwrap();
        assert_eq!(super::referenced(&steps), ["HOOK", "TOKEN", "TO"]);
    }
}
