//! Step settings as templates: minijinja over `trigger`, `steps.<id>.output` and —
//! for a step that sends them out — `secrets.<NAME>`.
//!
//! Undefined variables are errors (strict mode), so `{{ trigger.emial }}` fails the
//! step with a message naming what was missing instead of sending an empty string.
//!
//! **Secrets only where they are sent.** A step's [`Templates`] are made one of two
//! ways, and only one of them has secrets: [`Templates::sending`] for an `http` or
//! `email` step (`StepKind::sends_out`: every template field of those steps sends),
//! [`Templates::local`] for every other step, whose context has no `secrets` key at
//! all — so nothing a template does there (`| upper`, a slice, `{{ debug() }}`) can
//! reach a secret, whatever validation (`pilot_domain::step_secrets`) saw. In sending
//! templates the `debug()` global, which prints the whole context, is removed.
//!
//! **Bounded.** Templates are user input, and one evaluation of minijinja can do a
//! lot of work, so every evaluation runs on fuel ([`FUEL`]: minijinja charges each
//! instruction and every byte a template produces, so this bounds its CPU and its
//! memory), and a step's evaluations share [`STEP_FUEL`] between them: a step with
//! thousands of template strings cannot multiply the bound. What one evaluation
//! renders is at most [`MAX_RENDERED_BYTES`], and all of a step's at most
//! [`MAX_STEP_RENDERED_BYTES`]. Each evaluation is a short synchronous slice (a few
//! milliseconds at most), and a step's all of them together a few hundred at most, so
//! step timeouts and shutdown are late by no more than that.

use std::sync::atomic::{AtomicU64, Ordering};

use minijinja::{Environment, UndefinedBehavior, Value as JinjaValue};
use pilot_domain::step_secrets::{RULE, SECRETS};
use pilot_domain::template::{self, Form, single_expression};
use serde_json::{Map, Value};

/// Fuel one evaluation (a template, an expression) may use. One fuel is one
/// instruction or 64 bytes of data.
pub const FUEL: u64 = 200_000;
/// Fuel all of one step's evaluations may use together.
pub const STEP_FUEL: u64 = 1_000_000;
/// Longest rendered string (or evaluated value, as JSON) kept, in bytes.
pub const MAX_RENDERED_BYTES: usize = 256 * 1024;
/// Most bytes all of one step's evaluations may render together.
pub const MAX_STEP_RENDERED_BYTES: u64 = 1024 * 1024;

/// The name an expression's value is kept under while it is evaluated.
const VALUE_SLOT: &str = "__pilot_value";

/// What templates can see, but secrets: those only [`Templates::sending`] is given.
#[derive(Clone, Debug, Default)]
pub struct TemplateContext {
    pub trigger: Value,
    /// A webhook run's request besides its body (`{{ request.method }}`); absent
    /// for other runs.
    pub request: Option<Value>,
    /// Earlier steps' outputs by step id.
    pub outputs: Map<String, Value>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct TemplateError(pub String);

/// Renders templates and evaluates expressions for one step, against one context.
pub struct Templates {
    context: JinjaValue,
    /// The same context as JSON, to name what a failed lookup missed.
    root: Map<String, Value>,
    /// Whether the context holds `secrets` (a sending step).
    sending: bool,
    fuel_left: AtomicU64,
    bytes_left: AtomicU64,
}

impl Templates {
    /// For a step that does not send: its context has no `secrets`.
    pub fn local(context: &TemplateContext) -> Templates {
        Templates::build(context, None)
    }

    /// For a step that sends (`http`, `email`): `secrets` holds the run's secrets.
    pub fn sending(context: &TemplateContext, secrets: &[(String, String)]) -> Templates {
        Templates::build(context, Some(secrets))
    }

    fn build(context: &TemplateContext, secrets: Option<&[(String, String)]>) -> Templates {
        let steps: Map<String, Value> = context
            .outputs
            .iter()
            .map(|(id, output)| (id.clone(), serde_json::json!({ "output": output })))
            .collect();
        let mut root = Map::new();
        root.insert("trigger".into(), context.trigger.clone());
        if let Some(request) = &context.request {
            root.insert("request".into(), request.clone());
        }
        root.insert("steps".into(), Value::Object(steps));
        if let Some(secrets) = secrets {
            let secrets: Map<String, Value> = secrets
                .iter()
                .map(|(name, value)| (name.clone(), Value::String(value.clone())))
                .collect();
            root.insert(SECRETS.into(), Value::Object(secrets));
        }
        Templates {
            context: JinjaValue::from(minijinja::value::Serde(Value::Object(root.clone()))),
            root,
            sending: secrets.is_some(),
            fuel_left: AtomicU64::new(STEP_FUEL),
            bytes_left: AtomicU64::new(MAX_STEP_RENDERED_BYTES),
        }
    }

    /// An environment for one evaluation: strict, on `fuel`, and for sending
    /// templates without `debug()`.
    fn environment<'source>(&self, fuel: u64) -> Environment<'source> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(fuel));
        if self.sending {
            env.remove_global("debug");
        }
        env
    }

    /// The fuel the next evaluation may use, or the error when the step has none.
    fn allowance(&self) -> Result<u64, TemplateError> {
        match self.fuel_left.load(Ordering::Relaxed).min(FUEL) {
            0 => Err(TemplateError(format!(
                "template error: the step's templates used all their fuel ({STEP_FUEL})"
            ))),
            fuel => Ok(fuel),
        }
    }

    fn charge(&self, fuel: u64, bytes: usize) -> Result<(), TemplateError> {
        let take = |left: &AtomicU64, amount: u64| {
            let before = left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                    Some(left.saturating_sub(amount))
                })
                .unwrap_or(0);
            before >= amount
        };
        take(&self.fuel_left, fuel);
        if bytes > MAX_RENDERED_BYTES {
            return Err(TemplateError(format!(
                "template renders to more than {MAX_RENDERED_BYTES} bytes"
            )));
        }
        if !take(&self.bytes_left, bytes as u64) {
            return Err(TemplateError(format!(
                "the step's templates render more than {MAX_STEP_RENDERED_BYTES} bytes in all"
            )));
        }
        Ok(())
    }

    /// Renders a template to a string.
    pub fn render(&self, template: &str) -> Result<String, TemplateError> {
        if !template.contains("{{") && !template.contains("{%") {
            return Ok(template.to_owned());
        }
        let fuel = self.allowance()?;
        let env = self.environment(fuel);
        let rendered = env
            .template_from_str(template)
            .and_then(|compiled| compiled.render_captured(&self.context));
        match rendered {
            Ok(captured) => {
                let used = captured
                    .state()
                    .fuel_levels()
                    .map_or(fuel, |(used, _)| used);
                let output = captured.into_output();
                self.charge(used, output.len())?;
                Ok(output)
            }
            Err(error) => {
                self.charge(fuel, 0)?;
                Err(self.describe(error, template, Form::Template))
            }
        }
    }

    /// Evaluates an expression (bare, or wrapped in `{{ … }}`) to a JSON value.
    pub fn eval(&self, expression: &str) -> Result<Value, TemplateError> {
        let bare = single_expression(expression).unwrap_or(expression.trim());
        let value = self.evaluate(bare)?;
        if value.is_undefined() {
            return Err(TemplateError(
                match self.first_missing(bare, Form::Expression) {
                    Some(missing) => format!("template error: {missing}"),
                    None => format!("{bare:?} is undefined"),
                },
            ));
        }
        let json = serde_json::to_string(&value).map_err(|e| TemplateError(e.to_string()))?;
        self.charge(0, json.len())?;
        serde_json::from_str(&json).map_err(|e| TemplateError(e.to_string()))
    }

    /// Whether an expression holds (Jinja truthiness: empty, zero, none are false).
    pub fn truthy(&self, expression: &str) -> Result<bool, TemplateError> {
        let bare = single_expression(expression).unwrap_or(expression.trim());
        Ok(self.evaluate(bare)?.is_true())
    }

    /// One expression's value, on the step's fuel. It is checked to be one whole
    /// expression, then evaluated as `{% set __pilot_value = (…) %}`: the same
    /// expression, run as a template so that its fuel use can be read and charged.
    fn evaluate(&self, bare: &str) -> Result<JinjaValue, TemplateError> {
        let fuel = self.allowance()?;
        let wrapped = format!("{{% set {VALUE_SLOT} = ({bare}) %}}");
        let env = self.environment(fuel);
        if let Err(error) = env.compile_expression(bare) {
            return Err(self.describe(error, bare, Form::Expression));
        }
        let evaluated = env
            .template_from_str(&wrapped)
            .and_then(|compiled| compiled.render_captured(&self.context));
        match evaluated {
            Ok(captured) => {
                let used = captured
                    .state()
                    .fuel_levels()
                    .map_or(fuel, |(used, _)| used);
                self.charge(used, 0)?;
                Ok(captured
                    .state()
                    .lookup(VALUE_SLOT)
                    .unwrap_or(JinjaValue::UNDEFINED))
            }
            Err(error) => {
                self.charge(fuel, 0)?;
                Err(self.describe(error, bare, Form::Expression))
            }
        }
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

    /// minijinja's error with its detail (which names the undefined variable or the
    /// syntax problem), without the template source dump. A template that reads
    /// `secrets` where there are none fails saying why.
    fn describe(&self, error: minijinja::Error, source: &str, form: Form) -> TemplateError {
        if !self.sending && template::reads(source, form, SECRETS) {
            return TemplateError(format!(
                "template error: secrets are not available in this step: {RULE}"
            ));
        }
        let about_undefined = error.kind() == minijinja::ErrorKind::UndefinedError
            || (error.kind() == minijinja::ErrorKind::InvalidOperation
                && error.to_string().contains("undefined"));
        if about_undefined && let Some(missing) = self.first_missing(source, form) {
            return TemplateError(format!("template error: {missing}"));
        }
        let mut message = error.to_string();
        if let Some(detail) = error.detail()
            && !message.contains(detail)
        {
            message = format!("{message}: {detail}");
        }
        TemplateError(format!("template error: {message}"))
    }
}

impl Templates {
    /// The first path `source` reads (by `pilot_domain::template::lookups`) that the
    /// context lacks, said with what is there instead: `trigger.text is undefined;
    /// the payload has: orderId, total`. `None` when every path it reads is there
    /// (the undefined value came from elsewhere, e.g. a loop variable's attribute).
    fn first_missing(&self, source: &str, form: Form) -> Option<String> {
        template::lookups(source, form)
            .iter()
            .find_map(|path| self.missing_in(path))
    }

    fn missing_in(&self, path: &[String]) -> Option<String> {
        let (root, rest) = path.split_first()?;
        // A name the context does not provide is the template's own (a loop
        // variable, a `{% set %}`): not ours to judge.
        let mut value = self.root.get(root)?;
        for (depth, segment) in rest.iter().enumerate() {
            let next = match value {
                Value::Object(map) => map.get(segment),
                Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            match next {
                Some(next) => value = next,
                None => {
                    let missing = path[..depth + 2].join(".");
                    let parent = &path[..depth + 1];
                    return Some(format!(
                        "{missing} is undefined; {}",
                        Self::what_is_there(parent, value)
                    ));
                }
            }
        }
        None
    }

    /// What a lookup found where it expected a key: the keys there (the first
    /// [`LISTED_KEYS`], in their order), or the value's kind.
    fn what_is_there(parent: &[String], value: &Value) -> String {
        let name = match parent {
            [root] if root == "trigger" => "the payload".to_owned(),
            [root] if root == "steps" => "the earlier steps".to_owned(),
            [root] if root == SECRETS => {
                return "no such secret in this workspace and environment".to_owned();
            }
            _ => parent.join("."),
        };
        let kind = match value {
            Value::Object(map) if map.is_empty() => return format!("{name} is empty"),
            Value::Object(map) => {
                let keys: Vec<&str> = map.keys().take(LISTED_KEYS).map(String::as_str).collect();
                let more = map.len().saturating_sub(LISTED_KEYS);
                let more = if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
                if parent.len() == 1 && parent[0] == "steps" {
                    return format!("{name} are: {}{more}", keys.join(", "));
                }
                return format!("{name} has: {}{more}", keys.join(", "));
            }
            Value::Array(items) => format!("an array of {}", items.len()),
            Value::String(_) => "a string".to_owned(),
            Value::Number(_) => "a number".to_owned(),
            Value::Bool(_) => "a boolean".to_owned(),
            Value::Null => "null".to_owned(),
        };
        format!("{name} is {kind}")
    }
}

/// How many keys a missing-variable error lists.
pub const LISTED_KEYS: usize = 20;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn context() -> TemplateContext {
        let mut outputs = Map::new();
        outputs.insert("summarize".into(), json!("A short summary"));
        TemplateContext {
            trigger: json!({"orderId": "1234", "total": 49.0, "items": [1, 2]}),
            request: Some(json!({"method": "POST", "headers": {"x-event": "order"}})),
            outputs,
        }
    }

    fn secrets() -> Vec<(String, String)> {
        vec![("TOKEN".into(), "s3cret-token".into())]
    }

    fn templates() -> Templates {
        Templates::local(&context())
    }

    #[test]
    fn renders_trigger_steps_and_in_sending_steps_secrets() {
        let t = templates();
        assert_eq!(
            t.render("Order {{ trigger.orderId }}: {{ steps.summarize.output }}")
                .unwrap(),
            "Order 1234: A short summary"
        );
        assert_eq!(
            t.render("{{ request.method }} {{ request.headers['x-event'] }}")
                .unwrap(),
            "POST order"
        );
        assert_eq!(t.render("plain").unwrap(), "plain");
        let sending = Templates::sending(&context(), &secrets());
        assert_eq!(
            sending.render("Bearer {{ secrets.TOKEN }}").unwrap(),
            "Bearer s3cret-token"
        );
    }

    #[test]
    fn local_templates_cannot_reach_secrets_by_any_means() {
        // (A failed evaluation is charged its whole allowance: one step each.)
        for template in [
            "{{ secrets.TOKEN }}",
            "{{ secrets.TOKEN | upper }}",
            "{{ secrets.TOKEN[1:] }}",
            "{{ secrets | list | join('-') }}",
            "{% set secrets = secrets %}{{ secrets.TOKEN }}",
        ] {
            let error = templates().render(template).unwrap_err();
            assert!(
                error.0.contains("secrets are not available in this step"),
                "{template}: {error}"
            );
        }
        let error = templates()
            .eval("{{ secrets.TOKEN | reverse }}")
            .unwrap_err();
        assert!(error.0.contains("secrets are not available"), "{error}");
        assert!(templates().truthy("secrets.TOKEN | length > 1").is_err());
        // debug() shows the context: trigger and steps, and nothing of secrets.
        let dump = templates().render("{{ debug() }}").unwrap();
        assert!(dump.contains("orderId"), "{dump}");
        assert!(
            !dump.contains("secrets") && !dump.contains("TOKEN"),
            "{dump}"
        );
    }

    #[test]
    fn sending_templates_have_no_debug_dump() {
        let sending = Templates::sending(&context(), &secrets());
        let error = sending.render("{{ debug() }}").unwrap_err();
        assert!(error.0.contains("unknown function"), "{error}");
    }

    #[test]
    fn a_missing_variable_is_an_error_that_names_it() {
        let error = templates().render("{{ trigger.emial }}").unwrap_err();
        assert_eq!(
            error.0,
            "template error: trigger.emial is undefined; the payload has: orderId, total, items"
        );
        let error = templates()
            .render("Hi {{ trigger.orderId }}, {{ trigger.text | upper }}")
            .unwrap_err();
        assert_eq!(
            error.0,
            "template error: trigger.text is undefined; the payload has: orderId, total, items"
        );
        let error = templates().render("{{ steps.nope.output }}").unwrap_err();
        assert_eq!(
            error.0,
            "template error: steps.nope is undefined; the earlier steps are: summarize"
        );
        let error = templates()
            .render("{{ trigger.orderId.digits }}")
            .unwrap_err();
        assert_eq!(
            error.0,
            "template error: trigger.orderId.digits is undefined; trigger.orderId is a string"
        );
        let error = templates().eval("{{ trigger.missing * 2 }}").unwrap_err();
        assert!(error.0.contains("trigger.missing is undefined"), "{error}");
        let sending = Templates::sending(&context(), &[]);
        let error = sending.render("{{ secrets.GONE }}").unwrap_err();
        assert_eq!(
            error.0,
            "template error: secrets.GONE is undefined; no such secret in this workspace and environment"
        );
        // The payload's keys are listed in its order, at most LISTED_KEYS of them.
        let trigger: Map<String, Value> = (0..25).map(|i| (format!("k{i:02}"), json!(i))).collect();
        let wide = Templates::local(&TemplateContext {
            trigger: Value::Object(trigger),
            request: None,
            outputs: Map::new(),
        });
        let error = wide.render("{{ trigger.text }}").unwrap_err();
        assert!(
            error.0.ends_with("the payload has: k00, k01, k02, k03, k04, k05, k06, k07, k08, k09, k10, k11, k12, k13, k14, k15, k16, k17, k18, k19 and 5 more"),
            "{error}"
        );
    }

    #[test]
    fn single_expressions_keep_their_type() {
        let t = templates();
        let out = t
            .render_json(&json!({
                "double": "{{ trigger.total * 2 }}",
                "count": "{{ trigger.items | length }}",
                "label": "total={{ trigger.total }}",
                "nested": "{{ {'a': [1, 2]} }}",
                "fixed": 7
            }))
            .unwrap();
        assert_eq!(
            out,
            json!({"double": 98.0, "count": 2, "label": "total=49.0",
                   "nested": {"a": [1, 2]}, "fixed": 7})
        );
        assert_eq!(
            t.eval("{{ trigger.missing }}").unwrap_err().0,
            "template error: trigger.missing is undefined; the payload has: orderId, total, items"
        );
        assert!(t.eval("trigger.a }} {{ trigger.b").is_err());
    }

    #[test]
    fn conditions_use_truthiness_bare_or_braced() {
        let t = templates();
        assert!(t.truthy("trigger.total > 10").unwrap());
        assert!(!t.truthy("{{ trigger.total > 100 }}").unwrap());
        assert!(t.truthy("trigger.orderId == '1234'").unwrap());
        assert!(!t.truthy("trigger.missing").unwrap(), "undefined is false");
        assert!(t.truthy("trigger.missing > 1").is_err());
    }

    #[test]
    fn runaway_templates_run_out_of_fuel_cpu_and_memory_alike() {
        for runaway in [
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            // Memory: a 100 MB string, then doubling a 1 MB one.
            "{% set s = 'x' * 100000000 %}{{ s | length }}",
            "{% set s = 'x' * 1000000 %}{% for i in range(40) %}{% set s = s ~ s %}{% endfor %}",
        ] {
            let error = templates().render(runaway).unwrap_err();
            assert!(error.0.contains("fuel"), "{runaway}: {error}");
        }
    }

    #[test]
    fn a_steps_evaluations_share_one_fuel_budget_and_byte_budget() {
        // Each costs most of one evaluation's fuel; together they pass the step's.
        let heavy = "{% for i in range(20000) %}{% endfor %}x";
        let t = templates();
        let mut rendered = 0;
        let error = loop {
            match t.render(heavy) {
                Ok(_) => rendered += 1,
                Err(error) => break error,
            }
            assert!(rendered < 100, "the step budget never ran out");
        };
        assert!(rendered >= 5, "{rendered}");
        assert!(error.0.contains("fuel"), "{error}");
        // Another step starts afresh.
        assert!(templates().render(heavy).is_ok());

        // Bytes: 200 KiB values, five of them pass the step's 1 MiB.
        let big = json!({"big": "{{ 'x' * 200000 }}"});
        let t = templates();
        let outcomes: Vec<bool> = (0..6).map(|_| t.render_json(&big).is_ok()).collect();
        assert_eq!(outcomes, [true, true, true, true, true, false]);
        let error = templates().render("{{ 'x' * 300000 }}").unwrap_err();
        assert!(error.0.contains("more than 262144 bytes"), "{error}");
    }
}
