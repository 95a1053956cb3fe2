//! What a call returns.

use std::time::Duration;

use pilot_domain::Credits;
use serde_json::Value;

use crate::usage::Usage;

/// A model's answer, with what it consumed and cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    /// The answer; for structured output, the JSON text.
    pub text: String,
    pub usage: Usage,
    /// The model name the call was priced and metered under.
    pub model: String,
    /// The configured provider's name (`scripted` for the built-in model).
    pub provider: String,
    /// From the call's start to its answer, retries included.
    pub latency: Duration,
    pub cost: Credits,
    /// `true` when the built-in scripted model answered: not a real model's words.
    pub scripted: bool,
}

/// A structured-output answer: the JSON, parsed, beside the completion it came in.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonCompletion {
    pub value: Value,
    pub completion: Completion,
}
