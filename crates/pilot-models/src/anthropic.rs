//! Anthropic's Messages wire format.
//!
//! `POST {base_url}/v1/messages` with `x-api-key` and `anthropic-version`. System
//! messages go in the top-level `system` field; `max_tokens` is required (the
//! provider's `max_tokens` setting fills it in when the call sets none).
//!
//! Usage: `usage.input_tokens` (plus any cache-creation and cache-read input tokens,
//! which are input too) and `usage.output_tokens`. When streaming, `message_start`
//! carries the input count and `message_delta` events carry **cumulative** counts:
//! the last one is the total — summing them would overcount. A stream ends with
//! `message_stop`; one that stops before it was cut off.
//!
//! Structured output is a forced tool call: the schema is the `input_schema` of a
//! tool named after it, `tool_choice` names that tool, and the tool call's `input`
//! is the answer's JSON text.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::answer::{Answer, Ending};
use crate::config::ProviderConfig;
use crate::error::ModelError;
use crate::request::{ChatRequest, MessageRole};
use crate::sse::SseEvent;
use crate::transport::{ApiKey, count, event_json};
use crate::usage::Usage;
use crate::wire::{StreamAssembler, WireFormat};

pub(crate) const API_VERSION: &str = "2023-06-01";

/// Anthropic's Messages format.
pub(crate) struct Anthropic;

impl WireFormat for Anthropic {
    const PATH: &'static str = "/v1/messages";
    type Stream = StreamState;

    fn request_body(config: &ProviderConfig, model: &str, request: &ChatRequest) -> Value {
        request_body(config, model, request)
    }

    fn headers(api_key: Option<&ApiKey>) -> Vec<(&'static str, String)> {
        let mut headers = vec![("anthropic-version", API_VERSION.to_owned())];
        if let Some(key) = api_key {
            headers.push(("x-api-key", key.expose().to_owned()));
        }
        headers
    }

    fn parse_body(body: &Value) -> Result<Answer, ModelError> {
        parse_body(body)
    }
}

pub(crate) fn request_body(config: &ProviderConfig, model: &str, request: &ChatRequest) -> Value {
    let system: Vec<&str> = request
        .messages
        .iter()
        .filter(|m| m.role == MessageRole::System)
        .map(|m| m.content.as_str())
        .collect();
    let messages: Vec<Value> = request
        .messages
        .iter()
        .filter(|m| m.role != MessageRole::System)
        .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
        .collect();
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert(
        "max_tokens".into(),
        json!(request.max_tokens.unwrap_or(config.max_tokens)),
    );
    if !system.is_empty() {
        body.insert("system".into(), json!(system.join("\n\n")));
    }
    body.insert("messages".into(), Value::Array(messages));
    if let Some(temperature) = request.temperature {
        body.insert("temperature".into(), json!(temperature));
    }
    if let Some(schema) = &request.json_schema {
        body.insert(
            "tools".into(),
            json!([{
                "name": schema.name(),
                "description": "Give the answer as this tool's input.",
                "input_schema": schema.schema,
            }]),
        );
        body.insert(
            "tool_choice".into(),
            json!({"type": "tool", "name": schema.name()}),
        );
    }
    if config.stream {
        body.insert("stream".into(), json!(true));
    }
    Value::Object(body)
}

/// Input tokens as billed: fresh, cache writes and cache reads.
fn input_tokens(usage: &Value) -> Option<u64> {
    let fresh = count(usage, "input_tokens")?;
    let cached = count(usage, "cache_creation_input_tokens").unwrap_or(0)
        + count(usage, "cache_read_input_tokens").unwrap_or(0);
    Some(fresh + cached)
}

fn ending(stop_reason: Option<&str>) -> Ending {
    match stop_reason {
        Some("refusal") => Ending::Filtered("stop_reason: refusal".into()),
        _ => Ending::Complete,
    }
}

/// A non-streamed answer: text blocks joined, or the forced tool call's input.
pub(crate) fn parse_body(body: &Value) -> Result<Answer, ModelError> {
    let blocks = body
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| ModelError::BadResponse("the answer has no content blocks".into()))?;
    let tool_input = blocks
        .iter()
        .find(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))
        .map(|b| {
            b.get("input")
                .cloned()
                .unwrap_or_else(|| json!({}))
                .to_string()
        });
    let text = tool_input.unwrap_or_else(|| {
        blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect()
    });
    let reported = body.get("usage").and_then(|usage| {
        Some(Usage::reported(
            input_tokens(usage)?,
            count(usage, "output_tokens")?,
        ))
    });
    Ok(Answer {
        text,
        reported,
        ending: ending(body.get("stop_reason").and_then(Value::as_str)),
    })
}

/// One content block of a streamed answer.
#[derive(Debug)]
enum Block {
    Text(String),
    /// A tool call's input, as the JSON fragments arrive.
    ToolInput(String),
}

/// A streamed answer, put together event by event.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    blocks: BTreeMap<u64, Block>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    stop_reason: Option<String>,
    stopped: bool,
}

impl StreamAssembler for StreamState {
    fn on_event(&mut self, event: &SseEvent) -> Result<bool, ModelError> {
        self.on_json(&event_json(event)?)
    }

    fn text_bytes(&self) -> usize {
        self.blocks
            .values()
            .map(|block| match block {
                Block::Text(text) | Block::ToolInput(text) => text.len(),
            })
            .sum()
    }

    fn finish(self) -> Answer {
        self.assemble()
    }
}

impl StreamState {
    /// Takes one event's JSON; `Ok(true)` once the stream is over.
    fn on_json(&mut self, event: &Value) -> Result<bool, ModelError> {
        let index = event.get("index").and_then(Value::as_u64).unwrap_or(0);
        match event.get("type").and_then(Value::as_str).unwrap_or("") {
            "message_start" => {
                if let Some(usage) = event.pointer("/message/usage") {
                    self.take_usage(usage);
                }
            }
            "content_block_start" => {
                let block = event.get("content_block").unwrap_or(&Value::Null);
                let started = match block.get("type").and_then(Value::as_str) {
                    Some("tool_use") => Block::ToolInput(String::new()),
                    _ => Block::Text(
                        block
                            .get("text")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                    ),
                };
                self.blocks.insert(index, started);
            }
            "content_block_delta" => {
                let delta = event.get("delta").unwrap_or(&Value::Null);
                let block = self
                    .blocks
                    .entry(index)
                    .or_insert_with(|| Block::Text(String::new()));
                match (block, delta.get("type").and_then(Value::as_str)) {
                    (Block::Text(text), Some("text_delta")) => {
                        text.push_str(delta.get("text").and_then(Value::as_str).unwrap_or(""));
                    }
                    (Block::ToolInput(json), Some("input_json_delta")) => {
                        json.push_str(
                            delta
                                .get("partial_json")
                                .and_then(Value::as_str)
                                .unwrap_or(""),
                        );
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(reason) = event.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    self.stop_reason = Some(reason.to_owned());
                }
                if let Some(usage) = event.get("usage") {
                    self.take_usage(usage);
                }
            }
            "message_stop" => {
                self.stopped = true;
                return Ok(true);
            }
            "error" => return Err(stream_error(event.get("error").unwrap_or(&Value::Null))),
            // ping, content_block_stop, and event types added later.
            _ => {}
        }
        Ok(false)
    }

    /// Counts are cumulative: the latest replaces what came before.
    fn take_usage(&mut self, usage: &Value) {
        if let Some(input) = input_tokens(usage) {
            self.input_tokens = Some(input);
        }
        if let Some(output) = count(usage, "output_tokens") {
            self.output_tokens = Some(output);
        }
    }

    fn assemble(self) -> Answer {
        let tool_input = self.blocks.values().find_map(|block| match block {
            Block::ToolInput(json) if json.trim().is_empty() => Some("{}".to_owned()),
            Block::ToolInput(json) => Some(json.clone()),
            Block::Text(_) => None,
        });
        let text = tool_input.unwrap_or_else(|| {
            self.blocks
                .values()
                .filter_map(|block| match block {
                    Block::Text(text) => Some(text.as_str()),
                    Block::ToolInput(_) => None,
                })
                .collect()
        });
        let reported = match (self.input_tokens, self.output_tokens) {
            (Some(input), Some(output)) => Some(Usage::reported(input, output)),
            _ => None,
        };
        let ending = if self.stopped {
            ending(self.stop_reason.as_deref())
        } else {
            Ending::Cut
        };
        Answer {
            text,
            reported,
            ending,
        }
    }
}

/// An `error` event mid-stream, by its type.
fn stream_error(error: &Value) -> ModelError {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message")
        .to_owned();
    match error.get("type").and_then(Value::as_str) {
        Some("overloaded_error") => ModelError::Unavailable {
            status: 529,
            retry_after: None,
            message,
        },
        Some("api_error") => ModelError::Unavailable {
            status: 500,
            retry_after: None,
            message,
        },
        Some("rate_limit_error") => ModelError::RateLimited {
            retry_after: None,
            message,
        },
        _ => ModelError::BadResponse(format!("the stream reported an error: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{JsonSchema, Message};

    #[test]
    fn body_moves_system_out_and_forces_the_schema_tool() {
        let request = ChatRequest::new(vec![Message::system("be brief"), Message::user("hi")])
            .with_schema(JsonSchema::new("verdict", json!({"type": "object"})));
        let body = request_body(&ProviderConfig::default(), "claude", &request);
        assert_eq!(body["system"], "be brief");
        assert_eq!(body["messages"], json!([{"role": "user", "content": "hi"}]));
        assert_eq!(body["max_tokens"], 4_096);
        assert_eq!(body["tools"][0]["name"], "verdict");
        assert_eq!(body["tools"][0]["input_schema"], json!({"type": "object"}));
        assert_eq!(
            body["tool_choice"],
            json!({"type": "tool", "name": "verdict"})
        );
    }

    #[test]
    fn parses_text_tool_input_and_cached_input() {
        let answer = parse_body(&json!({
            "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 3}
        }))
        .unwrap();
        assert_eq!(answer.text, "ab");
        assert_eq!(answer.reported, Some(Usage::reported(15, 3)));

        let tool = parse_body(&json!({
            "content": [{"type": "tool_use", "name": "v", "input": {"ok": true}}],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 1, "output_tokens": 1}
        }))
        .unwrap();
        assert_eq!(tool.text, r#"{"ok":true}"#);

        let refused = parse_body(&json!({"content": [], "stop_reason": "refusal"})).unwrap();
        assert!(matches!(refused.ending, Ending::Filtered(_)));
        assert_eq!(refused.reported, None);
    }

    #[test]
    fn stream_usage_is_cumulative_not_summed() {
        let mut state = StreamState::default();
        let events = [
            json!({"type": "message_start", "message": {"usage": {"input_tokens": 25, "output_tokens": 1}}}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "ping"}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
            json!({"type": "message_delta", "delta": {}, "usage": {"output_tokens": 6}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}}),
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 15}}),
            json!({"type": "message_stop"}),
        ];
        for event in &events {
            state.on_json(event).unwrap();
        }
        let answer = state.finish();
        assert_eq!(answer.text, "Hi!");
        assert_eq!(answer.reported, Some(Usage::reported(25, 15)));
        assert_eq!(answer.ending, Ending::Complete);
    }

    #[test]
    fn stream_errors_and_cut_streams() {
        let mut state = StreamState::default();
        let error = state
            .on_json(
                &json!({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}),
            )
            .unwrap_err();
        assert!(error.is_retryable());

        let mut cut = StreamState::default();
        cut.on_json(&json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use"}}))
            .unwrap();
        cut.on_json(&json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"a\""}}))
            .unwrap();
        let answer = cut.finish();
        assert_eq!(answer.ending, Ending::Cut);
        assert_eq!(answer.text, "{\"a\"");
    }
}
