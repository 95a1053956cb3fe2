//! Pilot's model layer: one door ([`Models`]) to every model Pilot calls.
//!
//! Callers — the drafter, `llm` steps, the deliberation panel, `pilot ask` — say
//! *what* a call is for (a [`Role`]) and *on whose behalf* (a [`CallContext`]:
//! workspace, environment, owner). The layer decides *where* it goes: the environment
//! picks the provider (`live` → `models.live_provider`, `test` → the built-in
//! [scripted model](scripted) by default), the role picks the model
//! (`models.roles.*`). Then it:
//!
//! 1. sends the request in the provider's wire format — OpenAI-compatible Chat
//!    Completions ([`openai`]) or Anthropic Messages ([`anthropic`]), streamed or not
//!    — through a thin client of our own on reqwest (wire formats over one
//!    transport), so token usage is parsed exactly;
//! 2. bounds each attempt by `timeout_ms` and retries rate limits, 5xx answers and
//!    connection failures with jittered exponential backoff, honouring `Retry-After`
//!    ([`retry`]); other 4xx are final;
//! 3. meters the call: tokens (the provider's count, or an estimate marked as one —
//!    never a silent zero, see [`usage`]), latency and cost in credits from the
//!    model's configured price, recorded through a [`UsageSink`] ([`metering`]);
//! 4. returns a [`Completion`], or a typed [`ModelError`].
//!
//! Structured output: a [`ChatRequest`] may carry a [`JsonSchema`]; it becomes
//! `response_format` (OpenAI-compatible) or a forced tool call (Anthropic), and
//! [`Models::complete_json`] checks the answer is JSON. What the JSON means is the
//! caller's to validate.
//!
//! This crate knows nothing of storage or HTTP serving: records leave through the
//! sink the binary provides.

mod answer;
pub mod anthropic;
pub mod config;
pub mod error;
pub mod metering;
mod models;
pub mod openai;
mod provider;
pub mod request;
pub mod response;
pub mod retry;
pub mod roles;
pub mod scripted;
pub mod sse;
mod transport;
pub mod usage;
mod wire;

pub use config::{
    ConfigError, JsonMode, ModelsConfig, ProviderConfig, ProviderKind, RolesConfig, SCRIPTED,
};
pub use error::ModelError;
pub use metering::{CallContext, MemorySink, SinkError, UsageSink};
pub use models::{Models, ModelsBuilder, Route, SecretsFn, parse_json_answer};
pub use request::{ChatRequest, JsonSchema, Message, MessageRole};
pub use response::{Completion, JsonCompletion};
pub use retry::{RetryPolicy, Sleeper, TokioSleeper};
pub use roles::Role;
pub use transport::ApiKey;
pub use usage::{UnknownUsage, Usage};
