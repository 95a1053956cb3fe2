//! What a caller asks of a model: messages, limits, and optionally a JSON schema the
//! answer must follow (structured output).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who says a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageRole {
    System,
    User,
    Assistant,
}

impl MessageRole {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageRole::System => "system",
            MessageRole::User => "user",
            MessageRole::Assistant => "assistant",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: MessageRole,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Message {
        Message {
            role: MessageRole::System,
            content: content.into(),
        }
    }

    pub fn user(content: impl Into<String>) -> Message {
        Message {
            role: MessageRole::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Message {
        Message {
            role: MessageRole::Assistant,
            content: content.into(),
        }
    }
}

/// A JSON schema for structured output, with the name providers want for it.
///
/// OpenAI-compatible servers receive it as `response_format` (`json_schema`, strict);
/// Anthropic as a tool the model is made to call. Either way the answer is checked
/// in our code: see `Models::complete_json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JsonSchema {
    name: String,
    pub schema: Value,
}

impl JsonSchema {
    /// `name` is made fit for both wire formats: characters other than ASCII letters,
    /// digits, `_` and `-` become `_`, and it is cut to 64 characters.
    pub fn new(name: &str, schema: Value) -> JsonSchema {
        let mut clean: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(64)
            .collect();
        if clean.is_empty() {
            clean.push_str("answer");
        }
        JsonSchema {
            name: clean,
            schema,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// One call's input.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    /// Longest answer, in tokens. Anthropic requires one: its provider's
    /// `max_tokens` setting is used when this is unset.
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    /// Ask for JSON following this schema.
    pub json_schema: Option<JsonSchema>,
    /// A model name that overrides the role's configured one.
    pub model: Option<String>,
}

impl ChatRequest {
    pub fn new(messages: Vec<Message>) -> ChatRequest {
        ChatRequest {
            messages,
            ..ChatRequest::default()
        }
    }

    /// One user message.
    pub fn prompt(text: impl Into<String>) -> ChatRequest {
        ChatRequest::new(vec![Message::user(text)])
    }

    pub fn with_system(mut self, text: impl Into<String>) -> ChatRequest {
        self.messages.insert(0, Message::system(text));
        self
    }

    pub fn with_schema(mut self, schema: JsonSchema) -> ChatRequest {
        self.json_schema = Some(schema);
        self
    }

    pub fn with_max_tokens(mut self, max_tokens: u32) -> ChatRequest {
        self.max_tokens = Some(max_tokens);
        self
    }

    pub fn with_temperature(mut self, temperature: f32) -> ChatRequest {
        self.temperature = Some(temperature);
        self
    }

    pub fn with_model(mut self, model: impl Into<String>) -> ChatRequest {
        self.model = Some(model.into());
        self
    }

    /// Characters of prompt sent (every message), for estimating unreported usage.
    pub fn prompt_chars(&self) -> usize {
        self.messages
            .iter()
            .map(|m| m.content.chars().count())
            .sum()
    }
}
