//! The scripted model: a built-in provider for test mode and local trials.
//!
//! It never calls out. Its answer is a function of its input alone — the role, every
//! message and the schema, hashed with SHA-256 — so the same request always gets
//! the same answer, on every machine and in every release. Every answer is labelled:
//! the completion has `scripted: true`, provider and model `scripted`, and plain-text
//! answers start with `[scripted] `.
//!
//! What it answers:
//!
//! * **drafter** role: a valid step list built from the description's words (see
//!   [`drafter`]);
//! * a request with a JSON schema: a JSON instance of that schema, strings made of the
//!   prompt's words (see [`schema`]); this is how it answers a persona, a peer review
//!   or an arbiter's synthesis in the shape each asks for;
//! * anything else: a line of text with a hash of the input and the prompt's first
//!   words.
//!
//! Answers are bounded by `models.max_answer_bytes`: a schema whose answer cannot
//! fit is refused before anything is built (see [`schema`]).
//!
//! Usage is `ceil(characters / 4)` of prompt and answer, reported as known. Magic
//! markers in the input make it fail on purpose: see [`markers`].

mod dice;
pub mod drafter;
pub mod markers;
pub mod schema;

use std::time::Duration;

use crate::answer::{Answer, Ending};
use crate::error::ModelError;
use crate::request::{ChatRequest, MessageRole};
use crate::roles::Role;
use crate::usage::{Usage, estimate_tokens};

use dice::{Dice, words};
use markers::{Markers, strip};

/// Every plain-text answer starts with this.
pub const TEXT_PREFIX: &str = "[scripted] ";

/// What `[[scripted:malformed]]` answers: not JSON, and no schema's instance.
pub const MALFORMED_ANSWER: &str = "[scripted] {\"malformed\": true, \"cut\": [";

/// How many of the prompt's first words a plain-text answer quotes.
const QUOTED_WORDS: usize = 12;

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Scripted;

impl Scripted {
    /// Answers `request` for `role`; `timeout` is what a `timeout` marker reports. An
    /// answer to a schema is built within `max_answer_bytes`, or refused before it is
    /// built ([`ModelError::AnswerTooLarge`], nothing metered: nothing was spent).
    pub(crate) async fn complete(
        &self,
        role: &Role,
        request: &ChatRequest,
        timeout: Duration,
        max_answer_bytes: u64,
    ) -> Result<Answer, ModelError> {
        let found = Markers::scan(request.messages.iter().map(|m| m.content.as_str()));
        if found.timeout {
            return Err(ModelError::Timeout(timeout));
        }
        if let Some(wait) = found.slow {
            tokio::time::sleep(wait).await;
        }
        if found.fail {
            return Err(ModelError::Unavailable {
                status: 500,
                retry_after: None,
                message: "scripted failure ([[scripted:fail]])".into(),
            });
        }
        if found.block {
            return Err(ModelError::ContentFiltered(
                "scripted guardrail block ([[scripted:block]])".into(),
            ));
        }
        let text = if found.malformed {
            MALFORMED_ANSWER.to_owned()
        } else {
            answer(role, request, max_answer_bytes).map_err(|oversize| {
                ModelError::AnswerTooLarge {
                    limit: max_answer_bytes,
                    what: format!("the scripted answer: {}", oversize.what),
                }
            })?
        };
        if text.len() as u64 > max_answer_bytes {
            return Err(ModelError::AnswerTooLarge {
                limit: max_answer_bytes,
                what: format!("the scripted answer ({} bytes)", text.len()),
            });
        }
        let reported = Usage::reported(
            estimate_tokens(request.prompt_chars()),
            estimate_tokens(text.chars().count()),
        );
        Ok(Answer {
            text,
            reported: Some(reported),
            ending: Ending::Complete,
        })
    }
}

/// The deterministic answer (no markers involved).
fn answer(
    role: &Role,
    request: &ChatRequest,
    max_answer_bytes: u64,
) -> Result<String, schema::Oversize> {
    let schema_text = request
        .json_schema
        .as_ref()
        .map(|s| format!("{}:{}", s.name(), s.schema))
        .unwrap_or_default();
    let label = role.label();
    let mut parts = vec![label.as_str(), schema_text.as_str()];
    for message in &request.messages {
        parts.push(message.role.as_str());
        parts.push(&message.content);
    }
    let (mut dice, digest) = Dice::from_parts(parts);
    // The words of what the user said (not of instructions in system messages).
    let said: Vec<String> = request
        .messages
        .iter()
        .filter(|m| m.role == MessageRole::User)
        .flat_map(|m| words(&strip(&m.content)))
        .collect();

    if *role == Role::Drafter {
        // The payload's shape says which fields exist; its words choose no steps.
        let user: Vec<String> = request
            .messages
            .iter()
            .filter(|m| m.role == MessageRole::User)
            .map(|m| strip(&m.content))
            .collect();
        let payload = drafter::Payload::read(&user);
        let said: Vec<String> = user
            .iter()
            .flat_map(|text| text.lines())
            .filter(|line| !line.starts_with(drafter::PAYLOAD_LINE))
            .flat_map(words)
            .collect();
        return Ok(drafter::steps(&said, &payload).to_string());
    }
    if let Some(schema) = &request.json_schema {
        return schema::Instance::new(&schema.schema, &mut dice, &said, max_answer_bytes)
            .generate()
            .map(|value| value.to_string());
    }
    let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let quoted: Vec<&str> = said.iter().take(QUOTED_WORDS).map(String::as_str).collect();
    let about = if quoted.is_empty() {
        "an empty prompt".to_owned()
    } else if said.len() > QUOTED_WORDS {
        format!("\"{} …\"", quoted.join(" "))
    } else {
        format!("\"{}\"", quoted.join(" "))
    };
    Ok(format!(
        "{TEXT_PREFIX}{label} answer {hex} to {about}: a real model would answer here; \
         this scripted one gives the same answer to the same input every time."
    ))
}
