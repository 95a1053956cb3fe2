//! A configured provider, built once at start: an HTTP endpoint and the wire format
//! it speaks, or the reason it cannot be used (a missing key), which every call to it
//! then reports.

use crate::answer::{Answer, Ending};
use crate::anthropic::Anthropic;
use crate::config::{ProviderConfig, ProviderKind};
use crate::error::ModelError;
use crate::openai::OpenAi;
use crate::request::ChatRequest;
use crate::transport::{
    ApiKey, Body, Streamed, body_limit, parse_json, post_json, read_body, read_events,
};
use crate::wire::{StreamAssembler, WireFormat};

#[derive(Debug)]
pub(crate) enum Provider {
    OpenAi(Endpoint),
    Anthropic(Endpoint),
    Unavailable(String),
}

impl Provider {
    /// `key` is the API key as read from the environment (`Err` when it had to be
    /// there and was not); `http` is the shared client, or why none could be built.
    pub(crate) fn build(
        config: &ProviderConfig,
        key: Result<Option<ApiKey>, String>,
        http: &Result<reqwest::Client, String>,
    ) -> Provider {
        let (api_key, http) = match (key, http) {
            (Ok(key), Ok(http)) => (key, http.clone()),
            (Err(reason), _) => return Provider::Unavailable(reason),
            (_, Err(reason)) => return Provider::Unavailable(reason.clone()),
        };
        let endpoint = |path: &str| Endpoint {
            url: format!("{}{path}", config.base_url()),
            api_key,
            config: config.clone(),
            http,
        };
        match config.kind {
            ProviderKind::OpenAi => Provider::OpenAi(endpoint(OpenAi::PATH)),
            ProviderKind::Anthropic => Provider::Anthropic(endpoint(Anthropic::PATH)),
        }
    }

    /// One attempt; an answer over `max_answer_bytes` comes back empty, marked
    /// [`Ending::TooLarge`], for the caller to meter and refuse.
    pub(crate) async fn complete(
        &self,
        model: &str,
        request: &ChatRequest,
        max_answer_bytes: u64,
    ) -> Result<Answer, ModelError> {
        match self {
            Provider::OpenAi(endpoint) => {
                endpoint
                    .complete::<OpenAi>(model, request, max_answer_bytes)
                    .await
            }
            Provider::Anthropic(endpoint) => {
                endpoint
                    .complete::<Anthropic>(model, request, max_answer_bytes)
                    .await
            }
            Provider::Unavailable(reason) => Err(ModelError::NotConfigured(reason.clone())),
        }
    }
}

/// Where a provider is and how to reach it.
#[derive(Debug)]
pub(crate) struct Endpoint {
    url: String,
    api_key: Option<ApiKey>,
    config: ProviderConfig,
    http: reqwest::Client,
}

impl Endpoint {
    /// One attempt: the request in format `W`, the answer whole or streamed, read
    /// no further than the answer limit allows.
    async fn complete<W: WireFormat>(
        &self,
        model: &str,
        request: &ChatRequest,
        max_answer_bytes: u64,
    ) -> Result<Answer, ModelError> {
        let body = W::request_body(&self.config, model, request);
        let headers = W::headers(self.api_key.as_ref());
        let response = post_json(&self.http, &self.url, &headers, &body).await?;
        let max_text = usize::try_from(max_answer_bytes).unwrap_or(usize::MAX);
        let mut answer = if self.config.stream {
            let mut stream = W::Stream::default();
            match read_events(response, &mut stream, max_text).await? {
                Streamed::Ended => stream.finish(),
                Streamed::TooLarge { received } => too_large(stream.finish(), received),
            }
        } else {
            match read_body(response, body_limit(max_answer_bytes)).await? {
                Body::Whole(bytes) => W::parse_body(&parse_json(&bytes)?)?,
                Body::TooLarge { received } => too_large(
                    Answer {
                        text: String::new(),
                        reported: None,
                        ending: Ending::Complete,
                    },
                    received,
                ),
            }
        };
        if answer.text.len() > max_text {
            let received = answer.text.len() as u64;
            answer = too_large(answer, received);
        }
        Ok(answer)
    }
}

/// `answer` marked as cut off at the answer limit, its text dropped (its usage, if
/// any was reported, kept for metering).
fn too_large(answer: Answer, received: u64) -> Answer {
    Answer {
        text: String::new(),
        reported: answer.reported,
        ending: Ending::TooLarge { received },
    }
}
