//! A configured provider, built once at start: an HTTP endpoint and the wire format
//! it speaks, or the reason it cannot be used (a missing key), which every call to it
//! then reports.

use crate::answer::Answer;
use crate::anthropic::Anthropic;
use crate::config::{ProviderConfig, ProviderKind};
use crate::error::ModelError;
use crate::openai::OpenAi;
use crate::request::ChatRequest;
use crate::transport::{ApiKey, post_json, read_events, read_json};
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

    pub(crate) async fn complete(
        &self,
        model: &str,
        request: &ChatRequest,
    ) -> Result<Answer, ModelError> {
        match self {
            Provider::OpenAi(endpoint) => endpoint.complete::<OpenAi>(model, request).await,
            Provider::Anthropic(endpoint) => endpoint.complete::<Anthropic>(model, request).await,
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
    /// One attempt: the request in format `W`, the answer whole or streamed.
    async fn complete<W: WireFormat>(
        &self,
        model: &str,
        request: &ChatRequest,
    ) -> Result<Answer, ModelError> {
        let body = W::request_body(&self.config, model, request);
        let headers = W::headers(self.api_key.as_ref());
        let response = post_json(&self.http, &self.url, &headers, &body).await?;
        if self.config.stream {
            let mut stream = W::Stream::default();
            read_events(response, |event| stream.on_event(&event)).await?;
            Ok(stream.finish())
        } else {
            W::parse_body(&read_json(response).await?)
        }
    }
}
