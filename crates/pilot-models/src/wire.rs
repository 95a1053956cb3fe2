//! What a wire format supplies — its path, body, headers and parsers — so that one
//! transport ([`crate::provider::Endpoint`]) sends and reads every format alike.

use serde_json::Value;

use crate::answer::Answer;
use crate::config::ProviderConfig;
use crate::error::ModelError;
use crate::request::ChatRequest;
use crate::sse::SseEvent;
use crate::transport::ApiKey;

pub(crate) trait WireFormat {
    /// Appended to the provider's base URL.
    const PATH: &'static str;

    /// Puts a streamed answer together.
    type Stream: StreamAssembler;

    fn request_body(config: &ProviderConfig, model: &str, request: &ChatRequest) -> Value;

    /// Authentication and versioning headers.
    fn headers(api_key: Option<&ApiKey>) -> Vec<(&'static str, String)>;

    /// A whole (non-streamed) answer.
    fn parse_body(body: &Value) -> Result<Answer, ModelError>;
}

/// A streamed answer, put together event by event.
pub(crate) trait StreamAssembler: Default {
    /// Takes one event; `Ok(true)` once the stream is over.
    fn on_event(&mut self, event: &SseEvent) -> Result<bool, ModelError>;

    /// Bytes of answer text held so far (what `max_answer_bytes` bounds).
    fn text_bytes(&self) -> usize;

    /// The answer so far; `Ending::Cut` when the end marker never came.
    fn finish(self) -> Answer;
}
