//! The OpenAI-compatible Chat Completions wire format (OpenAI, Ollama, vLLM,
//! llama.cpp server, LM Studio, …).
//!
//! `POST {base_url}/chat/completions` with `Authorization: Bearer <key>` when a key is
//! configured. Usage comes from `usage.prompt_tokens` / `usage.completion_tokens`: in
//! the body, or — when streaming — in the last chunk, which the server sends only
//! when asked with `stream_options.include_usage` (the last usage seen wins, for
//! servers that repeat it on every chunk). A stream ends with `data: [DONE]`; one
//! that stops before it and before any `finish_reason` was cut off.
//!
//! Structured output is `response_format: {"type": "json_schema", "json_schema":
//! {"name", "schema", "strict": true}}`, or `{"type": "json_object"}` plus the schema
//! in a system message for servers that only know JSON mode (`json_mode = "object"`).

use serde_json::{Map, Value, json};

use crate::answer::{Answer, Ending};
use crate::config::{JsonMode, ProviderConfig};
use crate::error::ModelError;
use crate::request::{ChatRequest, MessageRole};
use crate::sse::SseEvent;
use crate::transport::{ApiKey, count, event_json};
use crate::usage::Usage;
use crate::wire::{StreamAssembler, WireFormat};

/// The OpenAI-compatible format.
pub(crate) struct OpenAi;

impl WireFormat for OpenAi {
    const PATH: &'static str = "/chat/completions";
    type Stream = StreamState;

    fn request_body(config: &ProviderConfig, model: &str, request: &ChatRequest) -> Value {
        request_body(config, model, request)
    }

    fn headers(api_key: Option<&ApiKey>) -> Vec<(&'static str, String)> {
        api_key
            .map(|key| ("authorization", format!("Bearer {}", key.expose())))
            .into_iter()
            .collect()
    }

    fn parse_body(body: &Value) -> Result<Answer, ModelError> {
        parse_body(body)
    }
}

/// The request body for `model`.
pub(crate) fn request_body(config: &ProviderConfig, model: &str, request: &ChatRequest) -> Value {
    let mut messages: Vec<Value> = request
        .messages
        .iter()
        .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
        .collect();
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    if let Some(schema) = &request.json_schema {
        let format = match config.json_mode {
            JsonMode::Schema => json!({
                "type": "json_schema",
                "json_schema": {"name": schema.name(), "schema": schema.schema, "strict": true},
            }),
            JsonMode::Object => {
                messages.insert(
                    0,
                    json!({
                        "role": MessageRole::System.as_str(),
                        "content": format!(
                            "Answer with one JSON object that follows this JSON schema:\n{}",
                            schema.schema
                        ),
                    }),
                );
                json!({"type": "json_object"})
            }
        };
        body.insert("response_format".into(), format);
    }
    body.insert("messages".into(), Value::Array(messages));
    if let Some(max_tokens) = request.max_tokens {
        body.insert("max_tokens".into(), json!(max_tokens));
    }
    if let Some(temperature) = request.temperature {
        body.insert("temperature".into(), json!(temperature));
    }
    if config.stream {
        body.insert("stream".into(), json!(true));
        if config.include_usage {
            body.insert("stream_options".into(), json!({"include_usage": true}));
        }
    }
    Value::Object(body)
}

fn usage_of(body: &Value) -> Option<Usage> {
    let usage = body.get("usage").filter(|u| u.is_object())?;
    Some(Usage::reported(
        count(usage, "prompt_tokens")?,
        count(usage, "completion_tokens")?,
    ))
}

fn ending(finish_reason: Option<&str>, refusal: &str) -> Ending {
    if !refusal.is_empty() {
        Ending::Filtered(refusal.to_owned())
    } else if finish_reason == Some("content_filter") {
        Ending::Filtered("finish_reason: content_filter".into())
    } else {
        Ending::Complete
    }
}

/// A non-streamed answer.
pub(crate) fn parse_body(body: &Value) -> Result<Answer, ModelError> {
    let choice = body
        .pointer("/choices/0")
        .ok_or_else(|| ModelError::BadResponse("the answer has no choices".into()))?;
    let message = choice.get("message").unwrap_or(&Value::Null);
    let text = match message.get("content") {
        Some(Value::String(text)) => text.clone(),
        None | Some(Value::Null) => String::new(),
        Some(other) => {
            return Err(ModelError::BadResponse(format!(
                "message.content is not text: {other}"
            )));
        }
    };
    let refusal = message.get("refusal").and_then(Value::as_str).unwrap_or("");
    Ok(Answer {
        text,
        reported: usage_of(body),
        ending: ending(choice.get("finish_reason").and_then(Value::as_str), refusal),
    })
}

/// A streamed answer, put together chunk by chunk.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    text: String,
    refusal: String,
    usage: Option<Usage>,
    finish_reason: Option<String>,
    done: bool,
}

impl StreamAssembler for StreamState {
    /// A chunk, or `[DONE]` (the one payload that is not JSON).
    fn on_event(&mut self, event: &SseEvent) -> Result<bool, ModelError> {
        if event.data.trim() == "[DONE]" {
            self.done = true;
            return Ok(true);
        }
        let chunk = &event_json(event)?;
        if let Some(error) = chunk.get("error") {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .map_or_else(|| error.to_string(), str::to_owned);
            return Err(ModelError::BadResponse(format!(
                "the stream reported an error: {message}"
            )));
        }
        if let Some(usage) = usage_of(chunk) {
            self.usage = Some(usage);
        }
        let choices = chunk.get("choices").and_then(Value::as_array);
        for choice in choices.into_iter().flatten() {
            if choice.get("index").and_then(Value::as_u64).unwrap_or(0) != 0 {
                continue;
            }
            let delta = choice.get("delta").unwrap_or(&Value::Null);
            if let Some(text) = delta.get("content").and_then(Value::as_str) {
                self.text.push_str(text);
            }
            if let Some(refusal) = delta.get("refusal").and_then(Value::as_str) {
                self.refusal.push_str(refusal);
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish_reason = Some(reason.to_owned());
            }
        }
        Ok(false)
    }

    fn text_bytes(&self) -> usize {
        self.text.len() + self.refusal.len()
    }

    fn finish(self) -> Answer {
        let ending = if !self.done && self.finish_reason.is_none() {
            Ending::Cut
        } else {
            ending(self.finish_reason.as_deref(), &self.refusal)
        };
        Answer {
            text: self.text,
            reported: self.usage,
            ending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::JsonSchema;

    fn chunks(state: &mut StreamState, raw: &[&str]) {
        for data in raw {
            let event = SseEvent {
                event: None,
                data: (*data).to_owned(),
            };
            state.on_event(&event).unwrap();
        }
    }

    #[test]
    fn body_asks_for_a_strict_schema_or_json_mode() {
        let request = ChatRequest::prompt("hi")
            .with_schema(JsonSchema::new("verdict", json!({"type": "object"})))
            .with_max_tokens(50);
        let body = request_body(&ProviderConfig::default(), "m", &request);
        assert_eq!(
            body["response_format"],
            json!({"type": "json_schema", "json_schema": {
                "name": "verdict", "schema": {"type": "object"}, "strict": true}})
        );
        assert_eq!(body["max_tokens"], 50);
        assert!(body.get("stream").is_none());

        let object_mode = ProviderConfig {
            json_mode: JsonMode::Object,
            stream: true,
            ..ProviderConfig::default()
        };
        let body = request_body(&object_mode, "m", &request);
        assert_eq!(body["response_format"], json!({"type": "json_object"}));
        assert_eq!(body["messages"][0]["role"], "system");
        assert!(
            body["messages"][0]["content"]
                .as_str()
                .unwrap()
                .contains("JSON schema")
        );
        assert_eq!(body["stream_options"], json!({"include_usage": true}));
    }

    #[test]
    fn parses_a_body_with_and_without_usage() {
        let answer = parse_body(&json!({
            "choices": [{"message": {"content": "hello"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}
        }))
        .unwrap();
        assert_eq!(answer.text, "hello");
        assert_eq!(answer.reported, Some(Usage::reported(9, 2)));
        assert_eq!(answer.ending, Ending::Complete);

        let bare = parse_body(&json!({"choices": [{"message": {"content": "x"}}]})).unwrap();
        assert_eq!(bare.reported, None);

        let filtered = parse_body(&json!({
            "choices": [{"message": {"content": null}, "finish_reason": "content_filter"}]
        }))
        .unwrap();
        assert!(matches!(filtered.ending, Ending::Filtered(_)));
        assert!(parse_body(&json!({"choices": []})).is_err());
    }

    #[test]
    fn a_stream_keeps_the_last_usage_and_notices_being_cut() {
        let mut state = StreamState::default();
        chunks(
            &mut state,
            &[
                r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}],"usage":null}"#,
                r#"{"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}"#,
                r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}"#,
                "[DONE]",
            ],
        );
        let answer = state.finish();
        assert_eq!(answer.text, "Hello");
        assert_eq!(answer.reported, Some(Usage::reported(5, 2)));
        assert_eq!(answer.ending, Ending::Complete);

        let mut cut = StreamState::default();
        chunks(
            &mut cut,
            &[r#"{"choices":[{"index":0,"delta":{"content":"Hel"}}]}"#],
        );
        assert_eq!(cut.finish().ending, Ending::Cut);
    }
}
