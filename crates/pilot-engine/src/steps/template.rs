//! Step settings as templates: minijinja over `trigger`, `steps.<id>.output` and
//! `secrets.<NAME>`.
//!
//! Undefined variables are errors (strict mode), so `{{ trigger.emial }}` fails the
//! step with a message naming what was missing instead of sending an empty string.
//! Templates are user input: each evaluation runs on a fuel budget, so a runaway loop
//! ends in an error rather than holding a worker.

use minijinja::{Environment, UndefinedBehavior, Value as JinjaValue};
use serde_json::{Map, Value};

/// Instructions one template may execute before it is stopped.
const FUEL: u64 = 200_000;
/// Longest rendered string kept, in bytes.
const MAX_RENDERED_BYTES: usize = 256 * 1024;

/// What templates can see.
#[derive(Clone, Debug, Default)]
pub struct TemplateContext {
    pub trigger: Value,
    /// Earlier steps' outputs by step id.
    pub outputs: Map<String, Value>,
    /// Secret values by name (cleartext; never stored or logged).
    pub secrets: Map<String, Value>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct TemplateError(pub String);

/// Renders templates and evaluates expressions against one [`TemplateContext`].
pub struct Templates {
    env: Environment<'static>,
    context: JinjaValue,
}

impl Templates {
    pub fn new(context: &TemplateContext) -> Templates {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        let steps: Map<String, Value> = context
            .outputs
            .iter()
            .map(|(id, output)| (id.clone(), serde_json::json!({ "output": output })))
            .collect();
        let context = JinjaValue::from(minijinja::value::Serde(serde_json::json!({
            "trigger": context.trigger,
            "steps": steps,
            "secrets": context.secrets,
        })));
        Templates { env, context }
    }

    /// Renders a template to a string.
    pub fn render(&self, template: &str) -> Result<String, TemplateError> {
        if !template.contains("{{") && !template.contains("{%") {
            return Ok(template.to_owned());
        }
        let rendered = self
            .env
            .render_str(template, &self.context)
            .map_err(describe)?;
        if rendered.len() > MAX_RENDERED_BYTES {
            return Err(TemplateError(format!(
                "template renders to more than {MAX_RENDERED_BYTES} bytes"
            )));
        }
        Ok(rendered)
    }

    /// Evaluates an expression (bare, or wrapped in `{{ … }}`) to a JSON value.
    pub fn eval(&self, expression: &str) -> Result<Value, TemplateError> {
        let bare = single_expression(expression).unwrap_or(expression.trim());
        let compiled = self.env.compile_expression(bare).map_err(describe)?;
        let value = compiled.eval(&self.context).map_err(describe)?;
        if value.is_undefined() {
            return Err(TemplateError(format!("{bare:?} is undefined")));
        }
        serde_json::to_value(&value).map_err(|e| TemplateError(e.to_string()))
    }

    /// Whether an expression holds (Jinja truthiness: empty, zero, none are false).
    pub fn truthy(&self, expression: &str) -> Result<bool, TemplateError> {
        let bare = single_expression(expression).unwrap_or(expression.trim());
        let compiled = self.env.compile_expression(bare).map_err(describe)?;
        let value = compiled.eval(&self.context).map_err(describe)?;
        Ok(value.is_true())
    }

    /// Renders every string inside a JSON value. A string that is exactly one
    /// `{{ expression }}` keeps the expression's JSON type.
    pub fn render_json(&self, value: &Value) -> Result<Value, TemplateError> {
        Ok(match value {
            Value::String(text) => match single_expression(text) {
                Some(_) => self.eval(text)?,
                None => Value::String(self.render(text)?),
            },
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.render_json(item))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(key, item)| Ok((key.clone(), self.render_json(item)?)))
                    .collect::<Result<_, TemplateError>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// `Some(expr)` when `text` is exactly `{{ expr }}` with nothing around it.
fn single_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then_some(inner.trim())
}

/// minijinja's error with its detail (which names the undefined variable or the
/// syntax problem), without the template source dump.
fn describe(error: minijinja::Error) -> TemplateError {
    let mut message = error.to_string();
    if let Some(detail) = error.detail()
        && !message.contains(detail)
    {
        message = format!("{message}: {detail}");
    }
    TemplateError(format!("template error: {message}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn templates() -> Templates {
        let mut outputs = Map::new();
        outputs.insert("summarize".into(), json!("A short summary"));
        let mut secrets = Map::new();
        secrets.insert("TOKEN".into(), json!("s3cret"));
        Templates::new(&TemplateContext {
            trigger: json!({"orderId": "1234", "total": 49.0, "items": [1, 2]}),
            outputs,
            secrets,
        })
    }

    #[test]
    fn renders_trigger_steps_and_secrets() {
        let t = templates();
        assert_eq!(
            t.render("Order {{ trigger.orderId }}: {{ steps.summarize.output }}")
                .unwrap(),
            "Order 1234: A short summary"
        );
        assert_eq!(
            t.render("Bearer {{ secrets.TOKEN }}").unwrap(),
            "Bearer s3cret"
        );
        assert_eq!(t.render("plain").unwrap(), "plain");
    }

    #[test]
    fn a_missing_variable_is_an_error_that_names_it() {
        let error = templates().render("{{ trigger.emial }}").unwrap_err();
        assert!(error.0.contains("undefined"), "{error}");
        let error = templates().render("{{ steps.nope.output }}").unwrap_err();
        assert!(error.0.contains("undefined"), "{error}");
    }

    #[test]
    fn single_expressions_keep_their_type() {
        let t = templates();
        let out = t
            .render_json(&json!({
                "double": "{{ trigger.total * 2 }}",
                "count": "{{ trigger.items | length }}",
                "label": "total={{ trigger.total }}",
                "fixed": 7
            }))
            .unwrap();
        assert_eq!(
            out,
            json!({"double": 98.0, "count": 2, "label": "total=49.0", "fixed": 7})
        );
    }

    #[test]
    fn conditions_use_truthiness_bare_or_braced() {
        let t = templates();
        assert!(t.truthy("trigger.total > 10").unwrap());
        assert!(!t.truthy("{{ trigger.total > 100 }}").unwrap());
        assert!(t.truthy("trigger.orderId == '1234'").unwrap());
        assert!(t.truthy("trigger.missing > 1").is_err());
    }

    #[test]
    fn runaway_templates_run_out_of_fuel() {
        let error = templates()
            .render(
                "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            )
            .unwrap_err();
        assert!(
            error.0.contains("fuel") || error.0.contains("range"),
            "{error}"
        );
    }
}
