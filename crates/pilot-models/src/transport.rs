//! The HTTP plumbing both wire formats share: posting JSON, turning error statuses
//! into [`ModelError`]s (with `Retry-After`), reading a JSON body, and walking an SSE
//! body event by event.

use std::fmt;
use std::time::SystemTime;

use reqwest::header::RETRY_AFTER;
use serde_json::Value;

use crate::error::ModelError;
use crate::retry::parse_retry_after;
use crate::sse::{SseEvent, SseParser};

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
    let text = response.text().await.unwrap_or_default();
    Err(ModelError::from_status(
        status.as_u16(),
        retry_after,
        provider_message(&text),
    ))
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

/// The whole body, parsed as JSON.
pub(crate) async fn read_json(response: reqwest::Response) -> Result<Value, ModelError> {
    let bytes = response.bytes().await.map_err(transport_error)?;
    serde_json::from_slice(&bytes).map_err(|error| {
        ModelError::BadResponse(format!(
            "the body is not JSON ({error}): {}",
            shorten(&String::from_utf8_lossy(&bytes))
        ))
    })
}

/// Hands each SSE event of the body to `on_event` until the body ends or `on_event`
/// says the stream is over (`Ok(true)`).
pub(crate) async fn read_events(
    mut response: reqwest::Response,
    mut on_event: impl FnMut(SseEvent) -> Result<bool, ModelError>,
) -> Result<(), ModelError> {
    let mut parser = SseParser::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        for event in parser.push(&chunk) {
            if on_event(event)? {
                return Ok(());
            }
        }
    }
    Ok(())
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
