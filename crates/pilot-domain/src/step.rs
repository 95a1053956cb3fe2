//! The step catalog: what a pilot's steps may be, parsed and validated once.
//!
//! A pilot's `steps` arrive as JSON — from a client, or from the drafter model — and
//! become a [`Steps`] only through [`Steps::parse`], which reports every problem with
//! the step's position and id (`steps[2] (notify): url is required`) so the drafter
//! can be asked to repair its answer and a client sees exactly what to fix.
//!
//! Settings that are strings are templates over `trigger`, `steps.<id>.output` and
//! — only in the fields that send them out — `secrets.<NAME>`
//! ([`crate::step_secrets`]); they are rendered when the step runs, not here.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::deliberation::{Difficulty, Mode, UseCase, check_question};
use crate::{step_schema_limits, step_secrets};

/// Most steps a pilot may have.
pub const MAX_STEPS: usize = 25;
/// Longest template (prompt, body, URL …) a step setting may hold, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 20_000;
/// Longest durable wait a `delay` step may ask for: 30 days.
pub const MAX_DELAY_SECONDS: u64 = 30 * 24 * 3600;
/// Bounds of a step's `timeout_ms`.
pub const TIMEOUT_MS_RANGE: (u64, u64) = (100, 300_000);
/// Most attempts a step's `retry` may ask for.
pub const MAX_STEP_ATTEMPTS: u32 = 10;
/// Longest the waits between a step's attempts may add up to: 10 minutes.
pub const MAX_RETRY_WAIT_MS: u64 = 10 * 60 * 1000;
/// Longest a step may hold a worker at worst — every attempt taking its whole
/// `timeout_ms`, plus the waits between them: 30 minutes. (`delay` and `deliberate`
/// wait holding no worker.)
pub const MAX_STEP_WORST_CASE_MS: u64 = 30 * 60 * 1000;

/// One step: an id unique within the pilot, its kind with settings, and how it retries.
///
/// Deserialized by [`Step::from_value`] (serde's `flatten` cannot refuse unknown
/// fields, and a misspelt setting must not pass silently).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    pub id: String,
    #[serde(flatten)]
    pub kind: StepKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<StepRetry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

impl Step {
    /// Reads one step from JSON, refusing unknown fields at every level.
    pub fn from_value(value: &Value) -> Result<Step, String> {
        let Some(object) = value.as_object() else {
            return Err("a step must be a JSON object".to_owned());
        };
        let mut settings = object.clone();
        let id = match settings.remove("id") {
            Some(Value::String(id)) => id,
            Some(_) => return Err("id must be a string".to_owned()),
            None => return Err("id is required".to_owned()),
        };
        let retry = match settings.remove("retry") {
            None | Some(Value::Null) => None,
            Some(raw) => Some(
                serde_json::from_value::<StepRetry>(raw)
                    .map_err(|e| format!("retry: {}", describe_serde(&e)))?,
            ),
        };
        let timeout_ms = match settings.remove("timeout_ms") {
            None | Some(Value::Null) => None,
            Some(raw) => Some(
                raw.as_u64()
                    .ok_or_else(|| "timeout_ms must be a whole number".to_owned())?,
            ),
        };
        if !settings.contains_key("type") {
            return Err("type is required".to_owned());
        }
        let kind = serde_json::from_value::<StepKind>(Value::Object(settings))
            .map_err(|e| describe_serde(&e))?;
        Ok(Step {
            id,
            kind,
            retry,
            timeout_ms,
        })
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Step::from_value(&value).map_err(serde::de::Error::custom)
    }
}

/// A step's own retries, on top of the run's durability: a failed attempt is tried
/// again after `backoff_ms` (doubling) until `max_attempts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRetry {
    pub max_attempts: u32,
    #[serde(default = "StepRetry::default_backoff_ms")]
    pub backoff_ms: u64,
}

impl StepRetry {
    fn default_backoff_ms() -> u64 {
        1_000
    }

    /// The wait after failed attempt `attempt` (from 1): `backoff_ms`, doubled after
    /// each attempt (at most 2^10 times).
    pub fn wait_after(&self, attempt: u32) -> u64 {
        self.backoff_ms
            .saturating_mul(1 << attempt.saturating_sub(1).min(10))
    }

    /// Every wait between `max_attempts` attempts, added up.
    pub fn total_wait_ms(&self) -> u64 {
        (1..self.max_attempts.max(1))
            .map(|attempt| self.wait_after(attempt))
            .fold(0, u64::saturating_add)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum StepKind {
    /// Ask the model; the output is its text, or parsed JSON with `output: "json"`.
    Llm(LlmStep),
    /// An outbound HTTP request through the outbound guard.
    Http(HttpStep),
    /// Compute named values; the output is an object of them.
    Transform(TransformStep),
    /// Stop the run, marked `filtered`, when the expression is false.
    Condition(ConditionStep),
    /// Wait durably: no worker or lease is held meanwhile.
    Delay(DelayStep),
    /// Send an email over the configured SMTP server.
    Email(EmailStep),
    /// Submit a deliberation in the run's workspace and environment, wait durably for
    /// it, and output its result.
    Deliberate(DeliberateStep),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmStep {
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default)]
    pub output: LlmOutput,
    /// With `output: "json"`, the JSON schema the answer must fit (default: any
    /// object). Sent to the provider as structured output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// A model name overriding the configured `step` role's model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LlmOutput {
    #[default]
    Text,
    Json,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpStep {
    #[serde(default = "HttpStep::default_method")]
    pub method: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Any JSON; every string inside it is a template. Sent as `application/json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

impl HttpStep {
    fn default_method() -> String {
        "POST".to_owned()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformStep {
    /// Each value is JSON; a string that is exactly one `{{ expression }}` keeps the
    /// expression's type, any other string is rendered as a template.
    pub values: BTreeMap<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionStep {
    /// An expression, bare (`trigger.total > 100`) or in braces (`{{ … }}`).
    #[serde(rename = "if")]
    pub condition: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelayStep {
    pub seconds: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailStep {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// A deliberation (seed 003) as a step: the settings of `POST /v1/api/deliberations`
/// but `webhook_url` and `metadata`. `question` is a template; the others are fixed
/// names, checked at validation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliberateStep {
    pub question: String,
    /// `deliberation1` (default) or `smartroute1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// `general` (default), `pricing`, `code`, `strategy`, `marketing`, `logistics`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_case: Option<String>,
    /// `EASY`, `MEDIUM` (default), `HARD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<String>,
}

impl DeliberateStep {
    /// The mode, defaulting to `deliberation1`. `deliberation2` needs interactive
    /// pauses, which neither the API nor a pilot run can give.
    pub fn mode(&self) -> Result<Mode, String> {
        match self.mode.as_deref() {
            None => Ok(Mode::Deliberation1),
            Some("deliberation2") => Err(
                "mode deliberation2 (Dream Team with HITL checkpoints) is not available to \
                 pilots: it requires interactive pauses. Use deliberation1 or smartroute1."
                    .to_owned(),
            ),
            Some(raw) => raw.parse(),
        }
    }

    /// The use case, defaulting to `general`.
    pub fn use_case(&self) -> Result<UseCase, String> {
        self.use_case
            .as_deref()
            .map_or(Ok(UseCase::General), str::parse)
    }

    /// The difficulty, defaulting to `MEDIUM`.
    pub fn difficulty(&self) -> Result<Difficulty, String> {
        self.difficulty
            .as_deref()
            .map_or(Ok(Difficulty::Medium), str::parse)
    }
}

impl StepKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            StepKind::Llm(_) => "llm",
            StepKind::Http(_) => "http",
            StepKind::Transform(_) => "transform",
            StepKind::Condition(_) => "condition",
            StepKind::Delay(_) => "delay",
            StepKind::Email(_) => "email",
            StepKind::Deliberate(_) => "deliberate",
        }
    }

    /// A step's `timeout_ms` when it sets none: 120 s for `llm`, 30 s for `http` and
    /// `email`, 5 s for the rest.
    pub fn default_timeout_ms(&self) -> u64 {
        match self {
            StepKind::Llm(_) => 120_000,
            StepKind::Http(_) | StepKind::Email(_) => 30_000,
            _ => 5_000,
        }
    }

    /// A step computed from its inputs alone, in microseconds: no I/O, no waiting,
    /// the same result every time. Running one again after a crash changes nothing.
    pub fn is_pure(&self) -> bool {
        matches!(self, StepKind::Transform(_) | StepKind::Condition(_))
    }

    /// A step whose rendered settings leave Pilot (a request, an email) and are not
    /// stored: the only steps whose templates may read `secrets`
    /// ([`crate::step_secrets`]). Every template setting of such a step sends: an
    /// `http` step's `url`, header values and `body`, an `email` step's `to`,
    /// `subject` and `body`.
    pub fn sends_out(&self) -> bool {
        matches!(self, StepKind::Http(_) | StepKind::Email(_))
    }
}

/// A validated, non-empty list of steps with unique ids.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Steps(Vec<Step>);

/// Every problem found in a step list, each naming where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepErrors(pub Vec<String>);

impl fmt::Display for StepErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

impl std::error::Error for StepErrors {}

const HTTP_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

impl Steps {
    /// Parses and validates a JSON step list, collecting every problem.
    pub fn parse(value: &Value) -> Result<Steps, StepErrors> {
        let Some(items) = value.as_array() else {
            return Err(StepErrors(vec!["steps must be an array".to_owned()]));
        };
        let mut errors = Vec::new();
        if items.is_empty() {
            errors.push("steps must hold at least one step".to_owned());
        }
        if items.len() > MAX_STEPS {
            errors.push(format!("a pilot may have at most {MAX_STEPS} steps"));
        }
        let mut steps = Vec::with_capacity(items.len());
        let mut seen = HashSet::new();
        for (index, item) in items.iter().take(MAX_STEPS).enumerate() {
            let label = step_label(index, item);
            match Step::from_value(item) {
                Ok(step) => {
                    for problem in check_step(&step)
                        .into_iter()
                        .chain(step_secrets::check(&step))
                    {
                        errors.push(format!("{label}: {problem}"));
                    }
                    if !seen.insert(step.id.clone()) {
                        errors.push(format!("{label}: id {:?} is used twice", step.id));
                    }
                    steps.push(step);
                }
                Err(error) => errors.push(format!("{label}: {error}")),
            }
        }
        if errors.is_empty() {
            Ok(Steps(steps))
        } else {
            Err(StepErrors(errors))
        }
    }

    pub fn as_slice(&self) -> &[Step] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or(Value::Array(Vec::new()))
    }
}

fn step_label(index: usize, item: &Value) -> String {
    match item.get("id").and_then(Value::as_str) {
        Some(id) if id.len() <= 40 => format!("steps[{index}] ({id})"),
        _ => format!("steps[{index}]"),
    }
}

/// serde's messages, minus the line and column that mean nothing in a JSON value.
fn describe_serde(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.find(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

fn check_step(step: &Step) -> Vec<String> {
    let mut problems = Vec::new();
    if !valid_step_id(&step.id) {
        problems.push(
            "id must be 1 to 40 characters of a-z, 0-9 and '_', starting with a letter".to_owned(),
        );
    }
    if let Some(timeout) = step.timeout_ms
        && !(TIMEOUT_MS_RANGE.0..=TIMEOUT_MS_RANGE.1).contains(&timeout)
    {
        problems.push(format!(
            "timeout_ms must be between {} and {}",
            TIMEOUT_MS_RANGE.0, TIMEOUT_MS_RANGE.1
        ));
    }
    if let Some(retry) = step.retry {
        if !(1..=MAX_STEP_ATTEMPTS).contains(&retry.max_attempts) {
            problems.push(format!(
                "retry.max_attempts must be between 1 and {MAX_STEP_ATTEMPTS}"
            ));
        } else {
            problems.extend(check_retry_budget(step, retry));
        }
    }
    let mut template = |name: &str, text: &str, required: bool| {
        if required && text.trim().is_empty() {
            problems.push(format!("{name} must not be empty"));
        }
        if text.len() > MAX_TEMPLATE_BYTES {
            problems.push(format!("{name} must be at most {MAX_TEMPLATE_BYTES} bytes"));
        }
    };
    match &step.kind {
        StepKind::Llm(llm) => {
            template("prompt", &llm.prompt, true);
            if let Some(system) = &llm.system {
                template("system", system, false);
            }
            if let Some(schema) = &llm.schema {
                if !schema.is_object() {
                    problems.push("schema must be a JSON schema object".to_owned());
                }
                if llm.output != LlmOutput::Json {
                    problems.push("schema needs output: \"json\"".to_owned());
                }
                problems.extend(step_schema_limits::check(schema));
            }
        }
        StepKind::Http(http) => {
            template("url", &http.url, true);
            for (name, value) in &http.headers {
                template(&format!("headers.{name}"), value, false);
            }
            if !HTTP_METHODS.contains(&http.method.as_str()) {
                problems.push(format!("method must be one of {}", HTTP_METHODS.join(", ")));
            }
            if http.headers.len() > 32 {
                problems.push("at most 32 headers".to_owned());
            }
            let body_size = http.body.as_ref().map_or(0, |b| b.to_string().len());
            if body_size > MAX_TEMPLATE_BYTES {
                problems.push(format!("body must be at most {MAX_TEMPLATE_BYTES} bytes"));
            }
        }
        StepKind::Transform(transform) => {
            if transform.values.is_empty() {
                problems.push("values must name at least one value".to_owned());
            }
            if serde_json::to_string(&transform.values).map_or(0, |s| s.len()) > MAX_TEMPLATE_BYTES
            {
                problems.push(format!("values must be at most {MAX_TEMPLATE_BYTES} bytes"));
            }
        }
        StepKind::Condition(condition) => template("if", &condition.condition, true),
        StepKind::Delay(delay) => {
            if !(1..=MAX_DELAY_SECONDS).contains(&delay.seconds) {
                problems.push(format!(
                    "seconds must be between 1 and {MAX_DELAY_SECONDS} (30 days)"
                ));
            }
        }
        StepKind::Email(email) => {
            template("to", &email.to, true);
            template("subject", &email.subject, true);
            template("body", &email.body, true);
        }
        StepKind::Deliberate(deliberate) => {
            template("question", &deliberate.question, true);
            // A question without template syntax is what will be asked: check its
            // length now rather than when the run reaches it.
            let question = deliberate.question.trim();
            if !question.is_empty()
                && !question.contains("{{")
                && !question.contains("{%")
                && let Err(problem) = check_question(question, None)
            {
                problems.push(problem);
            }
            for problem in [
                deliberate.mode().err(),
                deliberate.use_case().err(),
                deliberate.difficulty().err(),
            ]
            .into_iter()
            .flatten()
            {
                problems.push(problem);
            }
        }
    }
    problems
}

/// A step's retries, bounded in what they can make a worker wait for.
fn check_retry_budget(step: &Step, retry: StepRetry) -> Vec<String> {
    let mut problems = Vec::new();
    let waits = retry.total_wait_ms();
    if waits > MAX_RETRY_WAIT_MS {
        problems.push(format!(
            "retry waits {waits} ms in all between its {} attempts (backoff_ms {}, doubling \
             after each); at most {MAX_RETRY_WAIT_MS}",
            retry.max_attempts, retry.backoff_ms
        ));
    }
    let waits_in_a_worker = !matches!(step.kind, StepKind::Delay(_) | StepKind::Deliberate(_));
    if waits_in_a_worker {
        let timeout = step
            .timeout_ms
            .unwrap_or_else(|| step.kind.default_timeout_ms());
        let worst = u64::from(retry.max_attempts)
            .saturating_mul(timeout)
            .saturating_add(waits);
        if worst > MAX_STEP_WORST_CASE_MS {
            problems.push(format!(
                "retry and timeout_ms let the step hold a worker for up to {worst} ms ({} \
                 attempts of {timeout} ms and {waits} ms of backoff); at most \
                 {MAX_STEP_WORST_CASE_MS} (30 minutes)",
                retry.max_attempts
            ));
        }
    }
    problems
}

/// `^[a-z][a-z0-9_]{0,39}$`
pub fn valid_step_id(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= 40
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_valid_list_parses_and_round_trips() {
        let raw = json!([
            {"id": "summarize", "type": "llm", "prompt": "Summarize {{ trigger }}"},
            {"id": "gate", "type": "condition", "if": "trigger.total > 10"},
            {"id": "notify", "type": "http", "url": "{{ secrets.SLACK_URL }}",
             "body": {"text": "{{ steps.summarize.output }}"}, "retry": {"max_attempts": 3}},
            {"id": "wait", "type": "delay", "seconds": 60, "timeout_ms": 1000},
            {"id": "ask", "type": "deliberate", "question": "Should we refund {{ trigger.id }}?",
             "mode": "smartroute1", "use_case": "pricing", "difficulty": "HARD"}
        ]);
        let steps = Steps::parse(&raw).expect("valid");
        assert_eq!(steps.len(), 5);
        let StepKind::Deliberate(ask) = &steps.as_slice()[4].kind else {
            panic!("deliberate step")
        };
        assert_eq!(ask.mode(), Ok(Mode::Smartroute1));
        assert_eq!(ask.use_case(), Ok(UseCase::Pricing));
        assert_eq!(ask.difficulty(), Ok(Difficulty::Hard));
        let StepKind::Http(http) = &steps.as_slice()[2].kind else {
            panic!("http step")
        };
        assert_eq!(http.method, "POST");
        let again = Steps::parse(&steps.to_value()).expect("round trip");
        assert_eq!(again, steps);
    }

    #[test]
    fn every_problem_is_reported_with_its_place() {
        let raw = json!([
            {"id": "Bad Id", "type": "llm", "prompt": ""},
            {"id": "x", "type": "teleport"},
            {"id": "x", "type": "http", "url": "https://a.example", "method": "BREW"},
            {"id": "x", "type": "delay", "seconds": 0},
            {"id": "d", "type": "deliberate", "question": "Why?", "use_case": "legal"},
            {"id": "u", "type": "llm", "prompt": "hi", "colour": "red"}
        ]);
        let errors = Steps::parse(&raw).unwrap_err().0;
        let all = errors.join("\n");
        assert!(all.contains("steps[0] (Bad Id): id must be"), "{all}");
        assert!(
            all.contains("steps[0] (Bad Id): prompt must not be empty"),
            "{all}"
        );
        assert!(
            all.contains("steps[1] (x): unknown variant `teleport`"),
            "{all}"
        );
        assert!(all.contains("steps[2] (x): method must be one of"), "{all}");
        assert!(
            all.contains("steps[3] (x): id \"x\" is used twice"),
            "{all}"
        );
        assert!(all.contains("seconds must be between 1 and"), "{all}");
        assert!(
            all.contains("steps[4] (d): question must be 10 to 2000 characters (got 4)"),
            "{all}"
        );
        assert!(
            all.contains("steps[4] (d): use_case must be one of general, pricing"),
            "{all}"
        );
        assert!(all.contains("unknown field `colour`"), "{all}");
    }

    #[test]
    fn empty_too_long_and_non_arrays_are_refused() {
        assert!(Steps::parse(&json!({})).is_err());
        assert!(Steps::parse(&json!([])).is_err());
        let many: Vec<Value> = (0..=MAX_STEPS)
            .map(|i| json!({"id": format!("s{i}"), "type": "delay", "seconds": 1}))
            .collect();
        let errors = Steps::parse(&Value::Array(many)).unwrap_err();
        assert!(errors.to_string().contains("at most 25 steps"));
    }

    #[test]
    fn deliberate_steps_are_checked_like_a_submission() {
        let problems = |step: Value| match Steps::parse(&json!([step])) {
            Ok(_) => String::new(),
            Err(errors) => errors.to_string(),
        };
        let question = "Should we raise prices for {{ trigger.plan }}?";
        // Defaults: deliberation1, general, MEDIUM.
        let steps =
            Steps::parse(&json!([{"id": "ask", "type": "deliberate", "question": question}]))
                .expect("valid");
        let StepKind::Deliberate(ask) = &steps.as_slice()[0].kind else {
            panic!("deliberate step")
        };
        assert_eq!(
            (ask.mode(), ask.use_case(), ask.difficulty()),
            (
                Ok(Mode::Deliberation1),
                Ok(UseCase::General),
                Ok(Difficulty::Medium)
            )
        );
        for (step, needle) in [
            (json!({"question": "  "}), "question must not be empty"),
            (
                json!({"question": "x".repeat(MAX_TEMPLATE_BYTES + 1)}),
                "question must be at most 20000 bytes",
            ),
            (
                json!({"question": "too short"}),
                "question must be 10 to 2000 characters (got 9)",
            ),
            (
                json!({"question": "é".repeat(2001)}),
                "question must be 10 to 2000 characters (got 2001)",
            ),
            (
                json!({"question": question, "mode": "deliberation2"}),
                "not available to pilots",
            ),
            (
                json!({"question": question, "mode": "turbo"}),
                "mode must be one of",
            ),
            (
                json!({"question": question, "use_case": "legal"}),
                "use_case must be one of",
            ),
            (
                json!({"question": question, "difficulty": "hard"}),
                "difficulty must be one of",
            ),
            (
                json!({"question": question, "webhook_url": "https://x.example"}),
                "unknown field",
            ),
        ] {
            let mut step = step;
            step["id"] = json!("ask");
            step["type"] = json!("deliberate");
            let found = problems(step.clone());
            assert!(found.contains(needle), "{step} → {found}");
        }
        // A template's length is only known once rendered; exactly 10 characters passes.
        assert_eq!(
            problems(json!({"id": "a", "type": "deliberate", "question": "{{ x }}"})),
            ""
        );
        assert_eq!(
            problems(json!({"id": "a", "type": "deliberate", "question": "0123456789"})),
            ""
        );
        assert_eq!(
            problems(json!({"id": "a", "type": "deliberate", "question": "é".repeat(2000)})),
            ""
        );
    }

    #[test]
    fn llm_schemas_are_bounded_naming_the_step_and_the_path() {
        let raw = json!([{"id": "extract", "type": "llm", "prompt": "Tags of {{ trigger.text }}",
        "output": "json", "schema": {"type": "object", "properties": {
            "tags": {"type": "array", "minItems": 100_000_000, "items": {"type": "string"}}
        }}}]);
        assert_eq!(
            Steps::parse(&raw).unwrap_err().to_string(),
            "steps[0] (extract): schema/properties/tags/minItems is 100000000; at most 1000"
        );
        let raw = json!([{"id": "top", "type": "llm", "prompt": "p", "output": "json",
            "schema": {"type": "array", "minItems": 100_000_000, "items": {"type": "string"}}}]);
        assert_eq!(
            Steps::parse(&raw).unwrap_err().to_string(),
            "steps[0] (top): schema/minItems is 100000000; at most 1000"
        );
        let fits = json!([{"id": "ok", "type": "llm", "prompt": "p", "output": "json",
            "schema": {"type": "array", "minItems": 3, "maxItems": 1000, "items": {"type": "string"}}}]);
        assert!(Steps::parse(&fits).is_ok());
    }

    #[test]
    fn retries_are_bounded_in_their_waits_and_their_worst_case() {
        let problems = |step: Value| match Steps::parse(&json!([step])) {
            Ok(_) => String::new(),
            Err(errors) => errors.to_string(),
        };
        // The old ceiling: 10 attempts, 600 s doubling, about 85 hours of sleep.
        let found = problems(
            json!({"id": "call", "type": "http", "url": "https://x.example",
            "retry": {"max_attempts": 10, "backoff_ms": 600_000}}),
        );
        assert!(
            found.contains(
                "steps[0] (call): retry waits 306600000 ms in all between its 10 \
                            attempts (backoff_ms 600000, doubling after each); at most 600000"
            ),
            "{found}"
        );
        // Ten attempts of five minutes each: 50 minutes in a worker.
        let found = problems(
            json!({"id": "call", "type": "http", "url": "https://x.example",
            "timeout_ms": 300_000, "retry": {"max_attempts": 10, "backoff_ms": 0}}),
        );
        assert!(
            found.contains("retry and timeout_ms let the step hold a worker for up to 3000000 ms"),
            "{found}"
        );
        // The default backoff with the most attempts fits, on default timeouts.
        assert_eq!(
            problems(
                json!({"id": "ask", "type": "llm", "prompt": "p", "retry": {"max_attempts": 10}})
            ),
            ""
        );
        let retry = StepRetry {
            max_attempts: 10,
            backoff_ms: 1_000,
        };
        assert_eq!(retry.total_wait_ms(), 511_000);
        assert_eq!((retry.wait_after(1), retry.wait_after(3)), (1_000, 4_000));
        // A deliberate step waits without a worker: only its waits are bounded.
        let question = "Should we raise prices for {{ trigger.plan }}?";
        assert_eq!(
            problems(
                json!({"id": "ask", "type": "deliberate", "question": question,
                "timeout_ms": 300_000, "retry": {"max_attempts": 10, "backoff_ms": 1_000}})
            ),
            ""
        );
    }

    #[test]
    fn step_ids_are_checked() {
        assert!(valid_step_id("a"));
        assert!(valid_step_id("send_2"));
        assert!(!valid_step_id("2send"));
        assert!(!valid_step_id(""));
        assert!(!valid_step_id(&"a".repeat(41)));
    }
}
