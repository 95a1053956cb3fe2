//! The HTTP plumbing both wire formats share: posting JSON, turning error statuses
//! into [`ModelError`]s (with `Retry-After`), reading a JSON body, and walking an SSE
//! body event by event.
//!
//! Nothing here reads a body whole: bodies are read chunk by chunk up to a limit
//! ([`read_body`]), an error body up to [`ERROR_BODY_BYTES`], and a stream stops once
//! its text, or an event still being received, passes the answer limit
//! ([`read_events`]).

use std::fmt;
use std::time::SystemTime;

use reqwest::header::RETRY_AFTER;
use serde_json::Value;

use crate::error::ModelError;
use crate::retry::parse_retry_after;
use crate::sse::{SseEvent, SseParser};
use crate::wire::StreamAssembler;

/// An API key read from the environment. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: String) -> ApiKey {
        ApiKey(key)
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// The longest provider error message kept.
const MESSAGE_LIMIT: usize = 300;

/// How much of an error response's body is read for its message.
pub(crate) const ERROR_BODY_BYTES: usize = 64 * 1024;

/// What a non-streamed body may hold beyond the answer's text: the JSON around it,
/// and the escaping of the text inside a JSON string (up to twice its size for an
/// answer that is itself JSON), so the body limit is `2 × max_answer_bytes + this`.
pub(crate) const BODY_ENVELOPE_BYTES: usize = 64 * 1024;

/// The body limit for an answer limit of `max_answer_bytes`.
pub(crate) fn body_limit(max_answer_bytes: u64) -> usize {
    usize::try_from(max_answer_bytes)
        .unwrap_or(usize::MAX)
        .saturating_mul(2)
        .saturating_add(BODY_ENVELOPE_BYTES)
}

/// Posts `body` as JSON; a non-success status becomes the matching error.
pub(crate) async fn post_json(
    http: &reqwest::Client,
    url: &str,
    headers: &[(&'static str, String)],
    body: &Value,
) -> Result<reqwest::Response, ModelError> {
    let mut request = http.post(url).json(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.map_err(transport_error)?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_retry_after(value, SystemTime::now()));
    let text = match read_body(response, ERROR_BODY_BYTES).await {
        Ok(Body::Whole(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        Ok(Body::TooLarge { .. }) | Err(_) => String::new(),
    };
    Err(ModelError::from_status(
        status.as_u16(),
        retry_after,
        provider_message(&text),
    ))
}

/// A body read up to a limit.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Body {
    Whole(Vec<u8>),
    /// Longer than the limit: reading stopped after `received` bytes (or the
    /// `Content-Length` said so before any was read).
    TooLarge {
        received: u64,
    },
}

/// Reads the body chunk by chunk, stopping as soon as it passes `limit` bytes.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Body, ModelError> {
    if let Some(length) = response.content_length()
        && length > limit as u64
    {
        return Ok(Body::TooLarge { received: length });
    }
    let expected = response.content_length().unwrap_or(0) as usize;
    let mut bytes = Vec::with_capacity(expected.min(limit));
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if bytes.len() + chunk.len() > limit {
            return Ok(Body::TooLarge {
                received: (bytes.len() + chunk.len()) as u64,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Body::Whole(bytes))
}

/// A reqwest failure as a transport error, with its causes (reqwest's own message
/// alone often just says "error sending request").
pub(crate) fn transport_error(error: reqwest::Error) -> ModelError {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    ModelError::Transport(message)
}

/// The provider's explanation from an error body: `error.message` (both formats put
/// it there), else the body itself, shortened.
pub(crate) fn provider_message(body: &str) -> String {
    let from_json = serde_json::from_str::<Value>(body).ok().and_then(|json| {
        json.pointer("/error/message")
            .or_else(|| json.get("error"))
            .or_else(|| json.get("message"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    shorten(from_json.as_deref().unwrap_or(body).trim())
}

pub(crate) fn shorten(text: &str) -> String {
    match text.char_indices().nth(MESSAGE_LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Parses a body as JSON.
pub(crate) fn parse_json(bytes: &[u8]) -> Result<Value, ModelError> {
    serde_json::from_slice(bytes).map_err(|error| {
        ModelError::BadResponse(format!(
            "the body is not JSON ({error}): {}",
            shorten(&String::from_utf8_lossy(bytes))
        ))
    })
}

/// How reading a stream ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Streamed {
    /// The body ended, or the assembler saw the end marker.
    Ended,
    /// The text, or an event still arriving, passed the limit after `received`
    /// bytes of body: reading stopped there.
    TooLarge { received: u64 },
}

/// Hands each SSE event of the body to `stream` until the body ends or the stream
/// says it is over, stopping once the text it holds passes `max_text` bytes or the
/// parser holds more than `max_text` plus [`BODY_ENVELOPE_BYTES`] of an event that
/// has not ended yet.
pub(crate) async fn read_events<S: StreamAssembler>(
    mut response: reqwest::Response,
    stream: &mut S,
    max_text: usize,
) -> Result<Streamed, ModelError> {
    let mut parser = SseParser::new();
    let max_pending = max_text.saturating_add(BODY_ENVELOPE_BYTES);
    let mut received: u64 = 0;
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        received += chunk.len() as u64;
        for event in parser.push(&chunk) {
            if stream.on_event(&event)? {
                return Ok(Streamed::Ended);
            }
            if stream.text_bytes() > max_text {
                return Ok(Streamed::TooLarge { received });
            }
        }
        if parser.pending_bytes() > max_pending {
            return Ok(Streamed::TooLarge { received });
        }
    }
    Ok(Streamed::Ended)
}

/// Parses one event's data as JSON.
pub(crate) fn event_json(event: &SseEvent) -> Result<Value, ModelError> {
    serde_json::from_str(&event.data).map_err(|error| {
        ModelError::BadResponse(format!(
            "a stream event is not JSON ({error}): {}",
            shorten(&event.data)
        ))
    })
}

/// A non-negative integer field, if present.
pub(crate) fn count(value: &Value, field: &str) -> Option<u64> {
    value.get(field).and_then(Value::as_u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_providers_message() {
        assert_eq!(
            provider_message(r#"{"error":{"message":"bad model","type":"invalid"}}"#),
            "bad model"
        );
        assert_eq!(provider_message(r#"{"error":"plain"}"#), "plain");
        assert_eq!(provider_message(" upstream down \n"), "upstream down");
        let long = "x".repeat(1_000);
        assert_eq!(provider_message(&long).chars().count(), MESSAGE_LIMIT + 1);
    }

    #[test]
    fn api_keys_never_show_in_debug() {
        let key = ApiKey::new("sk-very-secret".into());
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
        assert_eq!(key.expose(), "sk-very-secret");
    }
}
